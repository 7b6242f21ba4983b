"""Seed a demo operator, store and shopper; safe to run again."""

from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from consent.models import NoticeVersion
from consent.services import notice_version_create_draft, notice_version_publish
from core.audit import Actor
from portal.demo_notices import CONTACT, DEMO_NOTICES, RIGHTS_EN, RIGHTS_ZH
from portal.models import User
from portal.services import user_email_mark_verified, user_register
from stores.models import Operator, Store
from stores.services import operator_create, store_create

DEMO_EMAIL = "shopper@demo.faceconsent.local"
DEMO_PASSWORD = "demo-shopper-2026"


class Command(BaseCommand):
    help = "Create the demo operator 'Demo Mart', its store and a demo shopper (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Seed even outside the embedded default.")

    @transaction.atomic
    def handle(self, *args, force: bool = False, **options) -> None:
        if not (settings.EMBEDDED or settings.DEBUG or force):
            raise CommandError("Refusing to seed a demo account into a deployment; pass --force to do it anyway.")
        system = Actor.system()
        operator = Operator.objects.filter(slug="demo-mart").first() or operator_create(
            actor=system,
            name="Demo Mart",
            slug="demo-mart",
            legal_name="Demo Mart Retail Ltd.",
            contact_email="privacy@demo-mart.example",
            contact_address="1 Demo Street, Shanghai",
            privacy_officer_name="Dana Officer",
            privacy_officer_email="dpo@demo-mart.example",
        )
        store = Store.objects.filter(operator=operator, slug="central").first() or store_create(
            actor=system,
            operator=operator,
            name="Demo Mart Central",
            slug="central",
            address="1 Demo Street, Shanghai",
        )
        for purpose, texts in DEMO_NOTICES.items():
            if not NoticeVersion.objects.filter(notice__operator=operator, notice__purpose=purpose).exists():
                draft = notice_version_create_draft(
                    actor=system,
                    operator=operator,
                    purpose=purpose,
                    contact=CONTACT,
                    rights_en=RIGHTS_EN,
                    rights_zh_hans=RIGHTS_ZH,
                    **texts,
                )
                notice_version_publish(actor=system, version=draft)
        shopper = User.objects.filter(email=DEMO_EMAIL).first()
        if shopper is None:
            shopper = user_register(
                email=DEMO_EMAIL,
                password=DEMO_PASSWORD,
                display_name="Demo Shopper",
                date_of_birth=date(1990, 5, 17),
                language="en",
                channel="system",
                send_verification=False,
            )
            user_email_mark_verified(user=shopper, actor=system)
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"  Operator: {operator.name} ({operator.slug})")
        self.stdout.write(f"  Store:    {store.name}")
        self.stdout.write(f"  Notices:  {', '.join(DEMO_NOTICES)} (version 1, published)")
        self.stdout.write(f"  Shopper:  {DEMO_EMAIL} / {DEMO_PASSWORD}")
