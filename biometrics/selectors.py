"""Reads for enrollments and templates. Nothing here ever returns a template's content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max
from django.utils.translation import gettext as _

from biometrics.models import Enrollment, FaceTemplate
from core.errors import NotFound


def enrollment_get_for_shopper(*, shopper, public_id) -> Enrollment:
    enrollment = Enrollment.objects.filter(shopper=shopper, public_id=public_id).first()
    if enrollment is None:
        raise NotFound(_("No such enrollment."), code="enrollment_not_found")
    return enrollment


@dataclass(frozen=True)
class FaceStatus:
    enrolled: bool
    templates: int
    enrolled_at: datetime | None
    latest_enrollment: Enrollment | None


def shopper_holds_templates(*, shopper) -> bool:
    """Whether any face template of the shopper is stored."""
    return FaceTemplate.objects.filter(shopper=shopper).exists()


def face_status_for_shopper(*, shopper) -> FaceStatus:
    summary = FaceTemplate.objects.filter(shopper=shopper).aggregate(last=Max("created_at"))
    count = FaceTemplate.objects.filter(shopper=shopper).count()
    return FaceStatus(
        enrolled=count > 0,
        templates=count,
        enrolled_at=summary["last"],
        latest_enrollment=Enrollment.objects.filter(shopper=shopper).order_by("-created_at").first(),
    )
