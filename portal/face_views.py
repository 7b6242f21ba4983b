"""The shopper's face page: enroll 1-3 photos, watch the progress, delete the templates."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from biometrics.faces import ENROLLMENT_REASONS, REASONS
from biometrics.models import Enrollment
from biometrics.selectors import face_status_for_shopper
from biometrics.services import enrollment_start, face_consent_given, shopper_old_enough_for_face, templates_delete
from biometrics.uploads import photo_size_check
from core.audit import Actor
from core.errors import DomainError
from core.minors import minimum_age
from core.models import Channel


@login_required
@require_GET
def face(request: HttpRequest) -> HttpResponse:
    user = request.user
    old_enough = shopper_old_enough_for_face(shopper=user)
    status = face_status_for_shopper(shopper=user)
    reasons = {code: str(_(message)) for code, message in {**REASONS, **ENROLLMENT_REASONS}.items()}
    latest = status.latest_enrollment
    return render(
        request,
        "portal/face.html",
        {
            # The page shows the shopper's latest enrollment, whatever `?enrollment=` names: a shopper
            # has one enrollment in progress at most, and the page must never follow one that is not theirs.
            "face": status,
            "consented": face_consent_given(user),
            "old_enough": old_enough,
            "minimum_age": minimum_age(),
            "max_photos": settings.ENROLL_MAX_PHOTOS,
            "status_labels": {value: str(label) for value, label in Enrollment.Status.choices},
            "reasons": reasons,
            # A finished enrollment is shown as it ended, with no script; an unfinished one is followed.
            "latest_results": [
                {
                    "photo": result["photo"],
                    "accepted": result["accepted"],
                    "why": reasons.get(result.get("code"), result.get("message")),
                }
                for result in (latest.results if latest else [])
            ],
            "latest_reason": reasons.get(latest.reason, latest.reason) if latest and latest.reason else "",
        },
    )


@login_required
@require_POST
def face_enroll(request: HttpRequest) -> HttpResponse:
    uploads = request.FILES.getlist("photos")
    try:
        photo_size_check(request=request)
        enrollment = enrollment_start(
            shopper=request.user, photos=[upload.read() for upload in uploads], channel=Channel.WEB
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("portal:face")
    messages.info(request, _("Your photos are being processed; they are deleted as soon as they are encoded."))
    return redirect(f"{reverse('portal:face')}?{urlencode({'enrollment': enrollment.public_id})}")


@login_required
@require_POST
def face_delete(request: HttpRequest) -> HttpResponse:
    deleted = templates_delete(
        shopper=request.user, actor=Actor.shopper(request.user, Channel.WEB), reason="deleted by the shopper"
    )
    if deleted:
        messages.success(request, _("Your face templates are deleted. No store can recognise you now."))
    return redirect("portal:face")
