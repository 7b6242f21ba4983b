"""Seed a demo operator, live store, entrance device, shopper and staff member; safe to run again."""

import json
import os
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from consent.models import NoticeVersion
from consent.services import notice_version_create_draft, notice_version_publish
from core.audit import Actor
from core.time_zones import site_time_zone
from portal.demo_notices import CONTACT, CONTACT_ZH, DEMO_NOTICES, RIGHTS_EN, RIGHTS_ZH
from portal.models import User
from portal.services import staff_member_create, user_email_mark_verified, user_register
from portal.simulator_views import demo_device_credentials, demo_device_file
from stores.models import Device, Operator, Store
from stores.sealing import device_secret_open
from stores.services import (
    device_register,
    device_rotate_secret,
    operator_create,
    operator_update,
    store_confirm_signage,
    store_create,
    store_go_live,
)

DEMO_EMAIL = "shopper@demo.faceconsent.local"
# Demo Mart's stores are in Shanghai: shoppers without a zone of their own see its pages' times there.
DEMO_TIME_ZONE = "Asia/Shanghai"
DEMO_PASSWORD = "demo-shopper-2026"
# Staff log in to the admin with it, and from there reach the door simulator.
DEMO_STAFF_EMAIL = "staff@demo.faceconsent.local"
DEMO_STAFF_PASSWORD = "demo-staff-2026"
DEMO_DEVICE_NAME = "Demo Mart Central door"


class Command(BaseCommand):
    help = (
        "Create the demo operator 'Demo Mart', its live store and entrance device, a demo shopper and a demo"
        " staff member (idempotent)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Seed even outside the embedded default.")

    def handle(self, *args, force: bool = False, **options) -> None:
        if not (settings.EMBEDDED or settings.DEBUG or force):
            raise CommandError("Refusing to seed a demo account into a deployment; pass --force to do it anyway.")
        with transaction.atomic():
            operator, store = self._seed()
            device, new_secret = self._demo_device(store)
        # Written once the secret is committed; a failed write is repaired by the next run (rotation).
        if new_secret is not None:
            _write_demo_device_file(device.device_id, new_secret)
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"  Operator: {operator.name} ({operator.slug})")
        self.stdout.write(f"  Store:    {store.name} (live)")
        self.stdout.write(f"  Notices:  {', '.join(DEMO_NOTICES)} (version 1, published)")
        self.stdout.write(f"  Shopper:  {DEMO_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(
            f"  Staff:    {DEMO_STAFF_EMAIL} / {DEMO_STAFF_PASSWORD} (the admin at {settings.SITE_URL}/admin/;"
            " the first sign-in sets up an authenticator app)"
        )
        self.stdout.write(f"  Device:   {device.name} ({device.device_id}), credentials in {demo_device_file()}")
        self._print_client_usage()

    def _seed(self) -> tuple[Operator, Store]:
        system = Actor.system()
        operator = Operator.objects.filter(slug="demo-mart").first() or operator_create(
            actor=system,
            name="Demo Mart",
            slug="demo-mart",
            legal_name="Demo Mart Retail Ltd.",
            contact_email="privacy@demo-mart.example",
            contact_address="1 Demo Street, Shanghai",
            time_zone=DEMO_TIME_ZONE,
            privacy_officer_name="Dana Officer",
            privacy_officer_email="dpo@demo-mart.example",
        )
        if operator.time_zone == site_time_zone() != DEMO_TIME_ZONE:
            # Seeded before operators had a zone: the migration gave it the site's.
            operator = operator_update(actor=system, operator=operator, time_zone=DEMO_TIME_ZONE)
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
                    contact_zh_hans=CONTACT_ZH,
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
        if not User.objects.filter(email=DEMO_STAFF_EMAIL).exists():
            staff_member_create(
                actor=system,
                email=DEMO_STAFF_EMAIL,
                password=DEMO_STAFF_PASSWORD,
                display_name="Demo Staff",
                superuser=True,
            )
        if store.signage_confirmed_at is None:
            store = store_confirm_signage(actor=system, store=store, confirmed_by="Demo seed")
        if not store.is_live:
            store = store_go_live(actor=system, store=store)
        return operator, store

    def _demo_device(self, store: Store) -> tuple[Device, str | None]:
        """The demo entrance device, and its secret when it was just made (or remade) and must be written."""
        system = Actor.system()
        device = (
            Device.objects.filter(store=store, name=DEMO_DEVICE_NAME, kind=Device.Kind.ENTRANCE, revoked_at=None)
            .order_by("created_at")
            .first()
        )
        if device is None:
            issued = device_register(
                actor=system,
                store=store,
                name=DEMO_DEVICE_NAME,
                kind=Device.Kind.ENTRANCE,
                location=Device.Location.ENTRANCE,
            )
            return issued.device, issued.secret
        credentials = demo_device_credentials()
        if _file_holds_secret_of(device, credentials):
            # Rewritten (same secret) only when the site's address has changed since.
            return device, None if credentials["url"] == settings.SITE_URL else credentials["secret"]
        # The secret is shown only once, so a lost file means a new secret, not a recovered one.
        return device, device_rotate_secret(actor=system, device=device).secret

    def _print_client_usage(self) -> None:
        credentials = demo_device_credentials()
        if credentials is None:  # only when the file could not be written
            self.stdout.write(self.style.WARNING(f"  {demo_device_file()} is missing; run seed_demo again."))
            return
        client = (
            f".venv/bin/python -m stores.client --url {settings.SITE_URL}"
            f" --device {credentials['device_id']} --secret {credentials['secret']}"
        )
        self.stdout.write("  Call the device API as the demo door with the reference client:")
        self.stdout.write(f"    {client} match --photo face.jpg")
        self.stdout.write(f"    {client} entry-pass --token TOKEN")
        if settings.ENTRANCE_SIMULATOR:
            self.stdout.write(
                f"  or, as the demo staff member, open the door simulator at {settings.SITE_URL}/simulator/"
                " (it asks for the admin's login and second factor) to do it from the browser."
            )


def _file_holds_secret_of(device: Device, credentials: dict[str, str] | None) -> bool:
    if credentials is None or credentials["device_id"] != device.device_id:
        return False
    secret = device_secret_open(device.secret_nonce, device.secret_ciphertext, device_id=device.device_id)
    return credentials["secret"] == secret


def _write_demo_device_file(device_id: str, secret: str) -> None:
    """{"url", "device_id", "secret"}, readable by this user only, replaced in one step."""
    path = demo_device_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"url": settings.SITE_URL, "device_id": device_id, "secret": secret}, file, indent=2)
        file.write("\n")
    partial.chmod(0o600)
    os.replace(partial, path)
