"""Writes for the documents for the authorities (S4): a privacy officer signs an operator's impact assessment
(a new version each time), and issues the security protection document, kept whole as it stood."""

from __future__ import annotations

import hashlib
import json

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import Actor, audit_entry_create
from core.errors import ValidationFailed
from portal.documents.selectors import protection_document
from portal.models import ImpactAssessment, IssuedDocument, User
from stores.models import Operator

ASSESSMENT_FIELDS = ("purpose", "necessity", "impact", "measures")


def _next_version(model, operator: Operator) -> int:
    return (model.objects.filter(operator=operator).aggregate(last=Max("version"))["last"] or 0) + 1


@transaction.atomic
def impact_assessment_sign(*, operator: Operator, staff: User, **texts: str) -> ImpactAssessment:
    """The privacy officer's completed assessment, signed in their name: a new version; earlier ones stay."""
    operator = Operator.objects.select_for_update().get(pk=operator.pk)  # one new version at a time
    missing = {
        name: [_("Complete this part before signing.")] for name in ASSESSMENT_FIELDS if not texts.get(name, "").strip()
    }
    if missing or set(texts) - set(ASSESSMENT_FIELDS):
        raise ValidationFailed(
            _("Every part of the assessment is needed."), code="assessment_incomplete", fields=missing
        )
    signed = ImpactAssessment.objects.create(
        operator=operator,
        version=_next_version(ImpactAssessment, operator),
        signed_by=staff,
        signer_name=staff.display_name or staff.email,
        signed_at=timezone.now(),
        **{name: texts[name].strip() for name in ASSESSMENT_FIELDS},
    )
    audit_entry_create(
        actor=Actor.staff(staff),
        action="impact_assessment.signed",
        target=signed,
        data={"operator": operator.pk, "version": signed.version},
    )
    return signed


@transaction.atomic
def protection_document_issue(*, operator: Operator, staff: User) -> IssuedDocument:
    """Issue the document as the figures stand now, in the active language: kept whole, with its hash, as the
    next version."""
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    version = _next_version(IssuedDocument, operator)
    content = protection_document(operator)
    content["version"] = version
    body = json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    issued = IssuedDocument.objects.create(
        operator=operator,
        version=version,
        language=content["language"],
        content=content,
        content_sha256=hashlib.sha256(body).hexdigest(),
        issued_by=staff,
    )
    audit_entry_create(
        actor=Actor.staff(staff),
        action="protection_document.issued",
        target=issued,
        data={
            "operator": operator.pk,
            "version": version,
            "sha256": issued.content_sha256,
            "people_with_a_template": content["templates"]["people"],
        },
    )
    return issued
