"""Factories for the test suite."""

from datetime import date

import factory
from django.utils import timezone

from portal.models import User
from stores.models import Operator, Store

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    display_name = factory.Faker("name")
    date_of_birth = date(1990, 1, 1)
    language = "en"
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save_password(self, create, extracted, **kwargs):
        if create:
            self.save(update_fields=["password"])


class OperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operator

    name = factory.Sequence(lambda n: f"Operator {n}")
    slug = factory.Sequence(lambda n: f"operator-{n}")
    contact_email = factory.LazyAttribute(lambda o: f"privacy@{o.slug}.example")
    privacy_officer_name = "Pat Officer"
    privacy_officer_email = factory.LazyAttribute(lambda o: f"dpo@{o.slug}.example")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    operator = factory.SubFactory(OperatorFactory)
    name = factory.Sequence(lambda n: f"Store {n}")
    slug = factory.Sequence(lambda n: f"store-{n}")


NOTICE_TEXTS = {
    "title_en": "Face recognition at the door",
    "title_zh_hans": "入口人脸识别",
    "purpose_en": "To recognise you at the door.",
    "purpose_zh_hans": "在入口识别您。",
    "method_en": "A camera compares a template.",
    "method_zh_hans": "摄像头比对特征。",
    "retention_en": "Kept until you withdraw.",
    "retention_zh_hans": "保存至您撤回。",
    "rights_en": "Withdraw at any time.",
    "rights_zh_hans": "可随时撤回。",
    "contact": "dpo@example.com",
    "retention_days": 365,
    "data_categories": ["facial template (biometric)"],
}


def published_notice(operator, purpose: str = "face_entry", *, material: bool = True, **overrides):
    """Write and publish the next version of an operator's notice through the services."""
    from consent.services import notice_version_create_draft, notice_version_publish
    from core.audit import Actor

    draft = notice_version_create_draft(
        actor=Actor.system(), operator=operator, purpose=purpose, material=material, **{**NOTICE_TEXTS, **overrides}
    )
    notice_version_publish(actor=Actor.system(), version=draft)
    draft.refresh_from_db()
    return draft


def face_consent(shopper, operator=None):
    """Give `face_entry` consent to an operator (a new one unless given) through the services."""
    from consent.models import NoticeVersion
    from consent.services import consent_give

    operator = operator or OperatorFactory()
    version = (
        NoticeVersion.objects.filter(notice__operator=operator, notice__purpose="face_entry", status="published")
        .order_by("-version")
        .first()
    ) or published_notice(operator)
    return consent_give(shopper=shopper, operator=operator, purpose="face_entry", notice_version=version, channel="app")


def consent_to(shopper, operator, purpose: str):
    """Give consent for any purpose to an operator through the services (its notice published if need be)."""
    from consent.models import NoticeVersion
    from consent.services import consent_give

    version = (
        NoticeVersion.objects.filter(notice__operator=operator, notice__purpose=purpose, status="published")
        .order_by("-version")
        .first()
    ) or published_notice(operator, purpose)
    return consent_give(shopper=shopper, operator=operator, purpose=purpose, notice_version=version, channel="app")


def live_store(operator=None, *, mode: str = "1:N", **fields):
    """A store with confirmed signage that has gone live, through the services."""
    from core.audit import Actor
    from stores.services import store_confirm_signage, store_go_live

    store = StoreFactory(operator=operator or OperatorFactory(), mode=mode, **fields)
    store_confirm_signage(actor=Actor.system(), store=store, confirmed_by="Store manager")
    return store_go_live(actor=Actor.system(), store=store)


def registered_device(store=None, *, kind: str = "entrance", location: str = "entrance"):
    """(device, secret) registered through the services."""
    from core.audit import Actor
    from stores.services import device_register

    issued = device_register(
        actor=Actor.system(), store=store or live_store(), name="Door 1", kind=kind, location=location
    )
    return issued.device, issued.secret


def staff_member(*roles: str, **fields):
    """A staff member holding these roles (portal.staff.roles: "Support agent", "Privacy officer", "Admin")."""

    user = UserFactory(is_staff=True, **fields)
    user.groups.add(*[role_group(role) for role in roles])
    return user


def role_group(role: str):
    """The role's group as migration portal.0008 made it; made again when a transactional test's flush took
    the migration's rows away (the permissions then come from portal.staff.roles, as the migration's do)."""
    from django.contrib.auth.models import Group, Permission

    from portal.staff.roles import ADMIN, PRIVACY_OFFICER, PRIVACY_OFFICER_PERMISSIONS, ROLES

    assert role in ROLES, role
    group, created = Group.objects.get_or_create(name=role)
    if created and role == PRIVACY_OFFICER:
        for (app_label, model), actions in PRIVACY_OFFICER_PERMISSIONS.items():
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=[f"{action}_{model}" for action in actions]
                )
            )
    if created and role == ADMIN:
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label__in=("stores", "consent", "core", "portal"))
        )
    return group
