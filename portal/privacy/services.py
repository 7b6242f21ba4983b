"""Writes for privacy requests (F5, F6; decision 0036): open one (the shopper, or staff on their behalf),
verify the identity of a shopper who called (a code mailed to the account), refuse or mark a duplicate,
carry out an erasure on the `erasure` queue, durably: recorded before it starts, and finished by the next
delivery if a worker dies half-way, exactly once (`privacy_erasure_carry_out` is one transaction), and answer
an access request with a download link that works once and expires (`privacy_access_deliver`).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import Actor, audit_entry_create
from core.errors import Conflict, TooManyRequests, ValidationFailed
from core.mail import mail_after_commit, mail_shopper_after_commit
from portal.erasure.selectors import shopper_traces
from portal.erasure.services import account_erase
from portal.models import AccessLink, IdentityCode, PrivacyRequest, User
from portal.privacy.selectors import (
    access_link_refusal,
    access_token_hash,
    jurisdiction_for,
    operators_of,
    response_days,
)
from portal.selectors import sha256_hex

ERASURE_TASK = "portal.erasure_carry_out"  # routed to the `erasure` queue (CELERY_TASK_ROUTES)
IDENTITY_CODE_LIFETIME = timedelta(minutes=10)
IDENTITY_CODE_TRIES = 3
ACCESS_LINK_LIFETIME = timedelta(days=7)
# Why a request may be refused: each a code the shopper is told, with a message.
REFUSAL_REASONS = {
    "identity_not_verified": gettext_lazy("We could not verify that the request comes from the account's owner."),
    "manifestly_unfounded": gettext_lazy("The request is manifestly unfounded or excessive."),
    "legal_hold": gettext_lazy("A law requires us to keep this data for now."),
}


def _status_conflict(request: PrivacyRequest, wanted: str) -> Conflict:
    return Conflict(
        _("This request is %(status)s; it cannot be %(wanted)s.") % {"status": request.status, "wanted": wanted},
        code="request_state_invalid",
    )


@transaction.atomic
def privacy_request_open(*, shopper: User, kind: str, channel: str, opened_by: User | None = None) -> PrivacyRequest:
    """A new request. From the shopper (signed in: their identity is verified) or from staff on their behalf
    (`opened_by`; the identity is verified by a code sent to the account's address). A second open request of
    the same kind is recorded as a duplicate of the first."""
    if kind not in PrivacyRequest.Kind.values:
        message = _("A request is for erasure or access.")
        raise ValidationFailed(message, code="request_kind_unknown", fields={"kind": [message]})
    now = timezone.now()
    jurisdiction = jurisdiction_for(shopper)
    first = (
        PrivacyRequest.objects.select_for_update()
        .filter(shopper=shopper, kind=kind, status__in=PrivacyRequest.OPEN)
        .order_by("pk")
        .first()
    )
    request = PrivacyRequest.objects.create(
        kind=kind,
        shopper=shopper,
        channel=channel,
        opened_by=opened_by,
        jurisdiction=jurisdiction,
        received_at=now,
        due_at=now + timedelta(days=response_days(jurisdiction)),
        status=PrivacyRequest.Status.DUPLICATE if first else PrivacyRequest.Status.RECEIVED,
        duplicate_of=first,
        finished_at=now if first else None,
    )
    request.operators.set(operators_of(shopper))
    if first is None and opened_by is None:
        request.status, request.identity_verified_at = PrivacyRequest.Status.IDENTITY_VERIFIED, now
        request.save(update_fields=["status", "identity_verified_at"])
    actor = Actor.staff(opened_by) if opened_by is not None else Actor.shopper(shopper, channel)
    audit_entry_create(
        actor=actor,
        action="privacy_request.received",
        target=request,
        data={
            "kind": kind,
            "status": request.status,
            "jurisdiction": jurisdiction,
            "due_at": request.due_at.isoformat(),
            **({"duplicate_of": str(first.public_id)} if first else {}),
        },
    )
    if kind == PrivacyRequest.Kind.ACCESS and request.status == PrivacyRequest.Status.IDENTITY_VERIFIED:
        # The shopper asked while signed in: nothing is left to check, so the link goes at once.
        _access_link_send(request, actor=actor)
    return request


def _code_hash(request: PrivacyRequest, code: str) -> str:
    return sha256_hex(f"identity:{request.public_id}:{code}")


@transaction.atomic
def identity_code_send(*, request: PrivacyRequest, staff: User) -> IdentityCode:
    """Mail a code to the account's address (the one on record, never one the caller gives); the shopper reads
    it back to the staff member. A new code replaces any earlier one."""
    request = PrivacyRequest.objects.select_for_update(of=("self",)).select_related("shopper").get(pk=request.pk)
    if request.status != PrivacyRequest.Status.RECEIVED or request.shopper is None:
        raise _status_conflict(request, "sent an identity code")
    now = timezone.now()
    request.identity_codes.filter(used_at__isnull=True).update(used_at=now)
    code = f"{secrets.randbelow(10**6):06d}"
    sent = IdentityCode.objects.create(
        request=request, code_hash=_code_hash(request, code), created_at=now, expires_at=now + IDENTITY_CODE_LIFETIME
    )
    audit_entry_create(
        actor=Actor.staff(staff),
        action="privacy_request.identity_code_sent",
        target=request,
        data={"expires_at": sent.expires_at.isoformat()},
    )
    shopper = request.shopper
    mail_after_commit(
        to=shopper.email,
        language=shopper.language,
        subject=gettext_lazy("Your FaceConsent identity code"),
        template="portal/email/identity_code.txt",
        context={"name": shopper.display_name, "code": code, "kind": request.get_kind_display()},
    )
    return sent


def identity_code_verify(*, request: PrivacyRequest, code: str, staff: User) -> PrivacyRequest:
    """The code the shopper read back. Refused when there is none, it has expired, it is wrong (a code of
    another request is wrong here), or three wrong tries used it up; a wrong try is counted whatever follows."""
    with transaction.atomic():
        request = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != PrivacyRequest.Status.RECEIVED:
            raise _status_conflict(request, "verified")
        sent = request.identity_codes.select_for_update().filter(used_at__isnull=True).order_by("-pk").first()
        if sent is None:
            raise Conflict(
                _("No identity code was sent for this request, or it was used up."), code="identity_code_missing"
            )
        now = timezone.now()
        if sent.expires_at <= now:
            raise ValidationFailed(_("The identity code has expired: send a new one."), code="identity_code_expired")
        right = hmac.compare_digest(sent.code_hash, _code_hash(request, code.strip()))
        if right:
            sent.used_at = now
            sent.save(update_fields=["used_at"])
            request.status, request.identity_verified_at = PrivacyRequest.Status.IDENTITY_VERIFIED, now
            request.save(update_fields=["status", "identity_verified_at"])
            audit_entry_create(actor=Actor.staff(staff), action="privacy_request.identity_verified", target=request)
            return request
        sent.attempts += 1
        if sent.attempts >= IDENTITY_CODE_TRIES:  # used up: the next try finds no code waiting
            sent.used_at = now
        sent.save(update_fields=["attempts", "used_at"])
        audit_entry_create(
            actor=Actor.staff(staff),
            action="privacy_request.identity_code_refused",
            target=request,
            data={"attempts": sent.attempts},
        )
    # Outside the transaction: the count above stays.
    if sent.attempts >= IDENTITY_CODE_TRIES:
        raise TooManyRequests(_("Three wrong identity codes: send a new one."), code="identity_code_attempts_exceeded")
    message = _("The identity code is wrong.")
    raise ValidationFailed(message, code="identity_code_wrong", fields={"code": [message]})


@transaction.atomic
def privacy_request_refuse(*, request: PrivacyRequest, reason: str, staff: User) -> PrivacyRequest:
    request = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
    if not request.is_open or request.status == PrivacyRequest.Status.IN_PROGRESS:
        raise _status_conflict(request, "refused")
    if reason not in REFUSAL_REASONS:
        message = _("Choose one of the reasons a request may be refused for.")
        raise ValidationFailed(message, code="refusal_reason_unknown", fields={"reason": [message]})
    request.status, request.refusal_reason, request.finished_at = PrivacyRequest.Status.REFUSED, reason, timezone.now()
    request.save(update_fields=["status", "refusal_reason", "finished_at"])
    audit_entry_create(
        actor=Actor.staff(staff), action="privacy_request.refused", target=request, data={"reason": reason}
    )
    return request


@transaction.atomic
def privacy_erasure_start(*, request: PrivacyRequest, staff: User) -> PrivacyRequest:
    """Record that the erasure starts, then hand it to the `erasure` queue (after the commit): whatever happens
    to the worker, the request says in_progress until an erasure finishes it."""
    request = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
    if request.kind != PrivacyRequest.Kind.ERASURE or request.status != PrivacyRequest.Status.IDENTITY_VERIFIED:
        raise _status_conflict(request, "started")
    request.status, request.started_at = PrivacyRequest.Status.IN_PROGRESS, timezone.now()
    request.save(update_fields=["status", "started_at"])
    audit_entry_create(actor=Actor.staff(staff), action="privacy_request.started", target=request)
    request_id = request.pk
    transaction.on_commit(lambda: current_app.tasks[ERASURE_TASK].delay(request_id), robust=True)
    return request


@transaction.atomic
def privacy_erasure_carry_out(*, request_id: int) -> PrivacyRequest | None:
    """The erasure itself, in one transaction: the account and everything about it (`account_erase`, which
    mails the receipt after the commit), then the check over every table, then the request completed with
    what went. Run again for a request already completed, it does nothing: a delivery after a worker died
    half-way finds the transaction rolled back and does it all, once."""
    request = (
        PrivacyRequest.objects.select_for_update(of=("self",)).filter(pk=request_id).select_related("shopper").first()
    )
    if request is None or request.status != PrivacyRequest.Status.IN_PROGRESS:
        return request
    counts: dict[str, int] = {}
    clean = True
    shopper = request.shopper
    if shopper is not None:
        who = {"shopper_id": shopper.pk, "public_id": str(shopper.public_id), "email": shopper.email}
        counts = account_erase(shopper=shopper, actor=Actor.system()).counts
        traces = shopper_traces(**who)
        clean = traces.clean
    request.refresh_from_db()
    request.status, request.finished_at = PrivacyRequest.Status.COMPLETED, timezone.now()
    request.result = {"counts": counts, "nothing_left": clean}
    request.save(update_fields=["status", "finished_at", "result"])
    audit_entry_create(
        actor=Actor.system(), action="privacy_request.completed", target=request, data={"nothing_left": clean, **counts}
    )
    return request


def shopper_record_open(*, staff: User, shopper: User, request: PrivacyRequest) -> None:
    """A staff member opens a shopper's record for one of the shopper's open requests: who looked at whom, and
    why, goes in the log before anything is shown."""
    if request.shopper_id != shopper.pk or not request.is_open:
        raise Conflict(_("A record is opened for one of this shopper's open requests."), code="record_reason_required")
    audit_entry_create(
        actor=Actor.staff(staff),
        action="shopper.record_viewed",
        target=shopper,
        data={"request": str(request.public_id), "kind": request.kind},
    )


def _access_link_send(request: PrivacyRequest, *, actor: Actor) -> AccessLink:
    """Complete an access request: a new link, mailed to the account's address on record. The token is in the
    mail only; the request records when the link expires."""
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    link = AccessLink.objects.create(
        request=request, token_hash=access_token_hash(token), created_at=now, expires_at=now + ACCESS_LINK_LIFETIME
    )
    request.status, request.finished_at = PrivacyRequest.Status.COMPLETED, now
    request.result = {"delivered": "download_link", "link_expires_at": link.expires_at.isoformat()}
    request.save(update_fields=["status", "finished_at", "result"])
    audit_entry_create(
        actor=actor,
        action="privacy_request.completed",
        target=request,
        data={"delivered": "download_link", "link_expires_at": link.expires_at.isoformat()},
    )
    shopper = request.shopper
    mail_shopper_after_commit(
        shopper,
        subject=gettext_lazy("Your copy of your FaceConsent data"),
        template="portal/email/access_link.txt",
        context={
            "name": shopper.display_name,
            "link": f"{settings.SITE_URL}{reverse('portal:access_link', kwargs={'token': token})}",
            "expires_at": link.expires_at,
        },
    )
    return link


@transaction.atomic
def privacy_access_deliver(*, request: PrivacyRequest, staff: User) -> PrivacyRequest:
    """Answer an access request whose identity is verified: the download link goes to the account's address."""
    request = PrivacyRequest.objects.select_for_update(of=("self",)).select_related("shopper").get(pk=request.pk)
    if (
        request.kind != PrivacyRequest.Kind.ACCESS
        or request.status != PrivacyRequest.Status.IDENTITY_VERIFIED
        or request.shopper is None
    ):
        raise _status_conflict(request, "answered with a download link")
    _access_link_send(request, actor=Actor.staff(staff))
    return request


@transaction.atomic
def access_link_use(*, token: str) -> User:
    """The shopper follows the mailed link and asks for the download: the link is spent (it works once) and the
    log says so; the caller streams the export of the account it returns."""
    link = (
        AccessLink.objects.select_for_update(of=("self",))
        .select_related("request__shopper")
        .filter(token_hash=access_token_hash(token))
        .first()
    )
    refusal = access_link_refusal(link)
    if refusal is not None:
        raise refusal
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    shopper = link.request.shopper
    audit_entry_create(
        actor=Actor.shopper(shopper, "web"),
        action="privacy_request.copy_downloaded",
        target=link.request,
        data={"link_created_at": link.created_at.isoformat()},
    )
    return shopper
