"""Writes for a signed-in shopper's account security: change the password, change the email address
(verified at the new address first), sign out other browsers and apps."""

from __future__ import annotations

import hmac
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import Actor, audit_entry_create
from core.errors import Conflict, TooManyRequests, ValidationFailed
from portal.models import ApiToken, EmailChange, EmailVerification, User, WebSession
from portal.selectors import sha256_hex
from portal.services import (
    _mail,
    _validate_password,
    _within_limit,
    login_failure_record,
    login_throttle_check,
    sessions_end_others,
    web_session_end,
)

EMAIL_CHANGE_REQUEST_LIMIT = 5  # an hour, per account: each request mails an address the caller names


def _current_password_check(*, user: User, password: str, client_ip: str) -> None:
    """The current password, under the failed-login throttle: a wrong one counts as a failed login
    (docs/decisions/0003), so a stolen session cannot guess it faster than the login form can."""
    login_throttle_check(email=user.email, client_ip=client_ip)
    if not user.check_password(password):
        login_failure_record(email=user.email, client_ip=client_ip)
        raise ValidationFailed(
            _("The current password is wrong."),
            code="current_password_wrong",
            fields={"current_password": [_("The current password is wrong.")]},
        )


def password_change(
    *,
    user: User,
    current_password: str,
    new_password: str,
    client_ip: str,
    channel: str,
    keep_session_key: str = "",
    keep_token: ApiToken | None = None,
) -> int:
    """Set a new password; every other browser and app is signed out (the one asking stays: its
    session or its token). Returns how many were signed out. The shopper is told by mail."""
    # Not in the transaction: a wrong password's count must be kept when the refusal is raised.
    _current_password_check(user=user, password=current_password, client_ip=client_ip)
    try:
        _validate_password(new_password, user)
    except ValidationFailed as error:
        raise ValidationFailed(
            error.message, code=error.code, fields={"new_password": error.fields["password"]}
        ) from error
    actor = Actor.shopper(user, channel)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit_entry_create(actor=actor, action="account.password_changed", target=user)
        ended = sessions_end_others(
            user=user, actor=actor, reason="password_changed", keep_session_key=keep_session_key, keep_token=keep_token
        )
        _mail(
            user=user,
            subject=gettext_lazy("Your FaceConsent password was changed"),
            template="portal/email/password_changed.txt",
            context={"ended": ended},
        )
    return ended


def _email_taken(field: str) -> Conflict:
    return Conflict(
        _("An account with this email already exists."),
        code="email_taken",
        fields={field: [_("An account with this email already exists.")]},
    )


def _email_free_check(*, email: str, user: User) -> None:
    """No other account has this address (the database's unique index still decides a race)."""
    if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise _email_taken("new_email")


def _code_hash(*, user: User, new_email: str, code: str) -> str:
    return sha256_hex(f"email-change:{user.pk}:{new_email}:{code}")


def email_change_request(*, user: User, new_email: str, password: str, client_ip: str, channel: str) -> EmailChange:
    """Mail a six-digit code to the new address; nothing changes until it is entered. The old
    address stays the login and is told that a change was asked for. An earlier request stops
    working."""
    _current_password_check(user=user, password=password, client_ip=client_ip)
    new_email = User.objects.normalize_email(new_email).strip().lower()
    if new_email == user.email.lower():
        raise ValidationFailed(
            _("This is already your email address."),
            code="email_unchanged",
            fields={"new_email": [_("This is already your email address.")]},
        )
    _email_free_check(email=new_email, user=user)
    if not _within_limit(f"email-change:{user.pk}", limit=EMAIL_CHANGE_REQUEST_LIMIT, window=60 * 60):
        raise TooManyRequests(
            _("You asked to change your email address several times already; wait an hour."),
            code="email_change_too_often",
            retry_after=60 * 60,
        )
    with transaction.atomic():
        now = timezone.now()
        EmailChange.objects.select_for_update().filter(user=user, used_at__isnull=True).update(used_at=now)
        code = f"{secrets.randbelow(1_000_000):06d}"
        change = EmailChange.objects.create(
            user=user,
            new_email=new_email,
            code_hash=_code_hash(user=user, new_email=new_email, code=code),
            created_at=now,
            expires_at=now + settings.EMAIL_VERIFICATION_LIFETIME,
        )
        # The addresses are not logged: the entry says that a change was asked for, and until when.
        audit_entry_create(
            actor=Actor.shopper(user, channel),
            action="account.email_change_requested",
            target=user,
            data={"expires_at": change.expires_at.isoformat()},
        )
        hours = int(settings.EMAIL_VERIFICATION_LIFETIME.total_seconds() // 3600)
        _mail(
            user=user,
            to=new_email,
            subject=gettext_lazy("Confirm your new FaceConsent email address"),
            template="portal/email/email_change_code.txt",
            context={
                "code": code,
                "hours": hours,
                "link": f"{settings.SITE_URL}{reverse('portal:email_change_confirm')}",
            },
        )
        _mail(
            user=user,
            subject=gettext_lazy("A change of your FaceConsent email address was asked for"),
            template="portal/email/email_change_requested.txt",
            context={"new_email": new_email, "hours": hours},
        )
    return change


def email_change_confirm(*, user: User, code: str, channel: str) -> User:
    """Make the pending new address the account's, verified, when the code is right; a wrong code
    uses up a try. The old address is told."""
    invalid = ValidationFailed(
        _("The code is not valid."), code="email_change_code_invalid", fields={"code": [_("The code is not valid.")]}
    )
    actor = Actor.shopper(user, channel)
    with transaction.atomic():
        # Locked: a wrong try is counted under the lock, so parallel guesses cannot share one try.
        change = EmailChange.objects.select_for_update().filter(user=user, used_at__isnull=True).order_by("-pk").first()
        if change is None:
            raise Conflict(_("No change of email address is waiting for a code."), code="email_change_not_pending")
        if change.attempts >= settings.EMAIL_VERIFICATION_MAX_ATTEMPTS:
            raise TooManyRequests(
                _("Too many wrong codes; ask for the change again."), code="email_change_attempts_exceeded"
            )
        if change.expires_at <= timezone.now():
            raise ValidationFailed(
                _("The code has expired; ask for the change again."),
                code="email_change_code_expired",
                fields={"code": [_("The code has expired; ask for the change again.")]},
            )
        matched = hmac.compare_digest(
            change.code_hash, _code_hash(user=user, new_email=change.new_email, code=code.strip())
        )
        if not matched:
            # Committed with the refusal, so the try counts.
            change.attempts += 1
            change.save(update_fields=["attempts"])
            audit_entry_create(
                actor=actor,
                action="account.email_change_code_refused",
                target=user,
                data={"attempts": change.attempts},
            )
    if not matched:
        raise invalid
    return _email_change_apply(user=user, change_id=change.pk, actor=actor)


@transaction.atomic
def _email_change_apply(*, user: User, change_id: int, actor: Actor) -> User:
    change = EmailChange.objects.select_for_update().get(pk=change_id)
    if change.used_at is not None:  # a parallel confirmation with the same code got there first
        user.refresh_from_db(fields=["email", "email_verified_at"])
        return user
    _email_free_check(email=change.new_email, user=user)
    old_email, old_verified_at = user.email, user.email_verified_at
    now = timezone.now()
    user.email = change.new_email
    user.email_verified_at = now
    # The unique check is the database's: two accounts (or a sign-up) may pass the check above for
    # one address at once, and only one write succeeds.
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "email_verified_at"])
    except IntegrityError as error:
        user.email, user.email_verified_at = old_email, old_verified_at
        if User.objects.filter(email__iexact=change.new_email).exclude(pk=user.pk).exists():
            raise _email_taken("new_email") from error
        raise
    change.used_at = now
    change.completed = True
    change.save(update_fields=["used_at", "completed"])
    # A code mailed to the old address for verifying it no longer verifies anything.
    EmailVerification.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    audit_entry_create(actor=actor, action="account.email_changed", target=user)
    _mail(
        user=user,
        to=old_email,
        subject=gettext_lazy("Your FaceConsent email address was changed"),
        template="portal/email/email_changed.txt",
        context={"old_email": old_email, "new_email": change.new_email},
    )
    return user


@transaction.atomic
def email_change_cancel(*, user: User, channel: str) -> bool:
    """Drop the pending change, if any: its code stops working. Returns whether one was pending."""
    cancelled = EmailChange.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())
    if cancelled:
        audit_entry_create(actor=Actor.shopper(user, channel), action="account.email_change_cancelled", target=user)
    return bool(cancelled)


def web_session_logout(*, user: User, session_key: str) -> None:
    """The browser logs itself out: its record goes with its session (audited)."""
    session = WebSession.objects.filter(user=user, session_key=session_key).first()
    if session is not None:
        web_session_end(session=session, actor=Actor.shopper(user, "web"), reason="logout")


def account_export_record(*, user: User, channel: str) -> None:
    """The shopper downloads everything held about them: the log says when, and from where (F3)."""
    audit_entry_create(actor=Actor.shopper(user, channel), action="account.exported", target=user)
