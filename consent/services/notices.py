"""Writes for notices: drafts, edits of drafts, publication (which may ask every shopper again)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import Consent, Notice, NoticeVersion, Purpose
from consent.services.consents import consents_invalidate
from core.audit import Actor, audit_entry_create
from core.errors import Conflict, ValidationFailed

EDITABLE_FIELDS = (
    "material",
    "title_en",
    "title_zh_hans",
    "purpose_en",
    "purpose_zh_hans",
    "method_en",
    "method_zh_hans",
    "retention_en",
    "retention_zh_hans",
    "rights_en",
    "rights_zh_hans",
    "contact",
    "contact_zh_hans",
    "retention_days",
    "data_categories",
)


@transaction.atomic
def notice_version_create_draft(*, actor: Actor, operator: Any, purpose: str, **texts: Any) -> NoticeVersion:
    """Start the next version of an operator's notice for a purpose, as an editable draft."""
    if purpose not in Purpose.values:
        raise ValidationFailed(
            _("Unknown purpose."), code="unknown_purpose", fields={"purpose": [_("Unknown purpose.")]}
        )
    unknown = set(texts) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("Unknown notice fields."), code="invalid", fields={name: [_("Unknown field.")] for name in unknown}
        )
    notice, _created = Notice.objects.get_or_create(operator=operator, purpose=purpose)
    Notice.objects.select_for_update().get(pk=notice.pk)
    if notice.versions.filter(status=NoticeVersion.Status.DRAFT).exists():
        raise Conflict(_("This notice already has a draft; edit or publish it first."), code="notice_draft_exists")
    number = (notice.versions.aggregate(last=Max("version"))["last"] or 0) + 1
    version = NoticeVersion(notice=notice, version=number, **texts)
    version.full_clean()
    version.save()
    audit_entry_create(
        actor=actor,
        action="notice.draft_created",
        target=version,
        data={"operator": operator.pk, "purpose": purpose, "version": number},
    )
    return version


@transaction.atomic
def notice_version_update_draft(*, actor: Actor, version: NoticeVersion, **changes: Any) -> NoticeVersion:
    version = NoticeVersion.objects.select_for_update().get(pk=version.pk)
    if version.is_published:
        raise Conflict(
            _("A published notice version cannot be changed; write a new version."), code="notice_version_immutable"
        )
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("Unknown notice fields."), code="invalid", fields={name: [_("Unknown field.")] for name in unknown}
        )
    # Only what really changes is written and logged; a change to nothing writes nothing.
    changed = [name for name, value in changes.items() if getattr(version, name) != value]
    if not changed:
        return version
    for name in changed:
        setattr(version, name, changes[name])
    version.full_clean()
    version.save(update_fields=changed)
    audit_entry_create(actor=actor, action="notice.draft_changed", target=version, data={"fields": sorted(changed)})
    return version


@transaction.atomic
def notice_version_publish(*, actor: Actor, version: NoticeVersion) -> int:
    """Publish a draft. A material version ends every consent given on an earlier version.

    Returns how many consents were invalidated; each gets its event and audit entry here, so
    from the moment this returns none of them lets anyone be recognised.
    """
    version = NoticeVersion.objects.select_for_update().select_related("notice").get(pk=version.pk)
    if version.is_published:
        raise Conflict(_("This version is already published."), code="notice_version_immutable")
    version.full_clean()
    now = timezone.now()
    version.status = NoticeVersion.Status.PUBLISHED
    version.published_at = now
    version.save(update_fields=["status", "published_at"])
    audit_entry_create(
        actor=actor,
        action="notice.published",
        target=version,
        data={"version": version.version, "material": version.material},
    )
    if not version.material:
        return 0
    outdated = (
        Consent.objects.select_for_update()
        .filter(
            notice_version__notice=version.notice,
            status=Consent.Status.ACTIVE,
            notice_version__version__lt=version.version,
        )
        .select_related("shopper")
    )
    return consents_invalidate(outdated, actor=actor, now=now, notice_version=version)
