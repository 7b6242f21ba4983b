"""Writes for accounts: registration, email verification, login tokens, password reset, profile."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.functional import Promise
from django.utils.http import urlencode, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.services import consents_end_below_minimum_age
from core.audit import Actor, audit_entry_create
from core.errors import AuthenticationRequired, Conflict, Forbidden, TooManyRequests, ValidationFailed
from core.mail import mail_after_commit
from core.time_zones import UNKNOWN_TIME_ZONE, time_zone_is_known
from portal.models import ApiToken, EmailVerification, FootprintRetention, Language, User, WebSession
from portal.selectors import password_reset_user_get, sha256_hex, user_get_active_by_email
from portal.user_agents import user_agent_label

OLDEST_PLAUSIBLE_AGE_YEARS = 130


def _validate_password(password: str, user: User | None = None) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as error:
        raise ValidationFailed(
            _("The password is too weak."),
            code="password_too_weak",
            fields={"password": list(error.messages)},
        ) from error


def _validate_date_of_birth(date_of_birth: date) -> None:
    today = timezone.localdate()
    if date_of_birth > today:
        raise ValidationFailed(
            _("The date of birth is in the future."),
            code="invalid_date_of_birth",
            fields={"date_of_birth": [_("The date of birth is in the future.")]},
        )
    if today.year - date_of_birth.year > OLDEST_PLAUSIBLE_AGE_YEARS:
        raise ValidationFailed(
            _("The date of birth is not plausible."),
            code="invalid_date_of_birth",
            fields={"date_of_birth": [_("The date of birth is not plausible.")]},
        )


def _mail(*, user: User, subject: Promise, template: str, context: dict, to: str | None = None) -> None:
    """Mail the user (at `to`, by default their address) in their language once the transaction commits."""
    mail_after_commit(
        to=to or user.email,
        language=user.language,
        subject=subject,
        template=template,
        context={"user": user, **context},
    )


@transaction.atomic
def user_register(
    *,
    email: str,
    password: str,
    display_name: str,
    date_of_birth: date,
    language: str = Language.ENGLISH,
    channel: str,
    send_verification: bool = True,
) -> User:
    email = User.objects.normalize_email(email).strip().lower()
    taken = Conflict(
        _("An account with this email already exists."),
        code="email_taken",
        fields={"email": [_("An account with this email already exists.")]},
    )
    if User.objects.filter(email__iexact=email).exists():
        raise taken
    _validate_date_of_birth(date_of_birth)
    user = User(email=email, display_name=display_name.strip(), date_of_birth=date_of_birth, language=language)
    _validate_password(password, user)
    user.set_password(password)
    # The unique check is the database's: the check above and full_clean's can both pass for two
    # sign-ups at once, and only one insert succeeds.
    user.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        if User.objects.filter(email__iexact=email).exists():
            raise taken from error
        raise
    audit_entry_create(
        actor=Actor.shopper(user, channel), action="account.registered", target=user, data={"language": language}
    )
    if send_verification:
        email_verification_send(user=user, channel=channel)
    return user


@transaction.atomic
def email_verification_send(*, user: User, channel: str) -> None:
    """Mail a fresh six-digit code; earlier codes stop working. The audit entry says a code was
    sent and until when it works, never the code."""
    if user.email_verified:
        raise Conflict(_("This email address is already verified."), code="email_already_verified")
    now = timezone.now()
    EmailVerification.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    code = f"{secrets.randbelow(1_000_000):06d}"
    verification = EmailVerification.objects.create(
        user=user,
        code_hash=sha256_hex(f"{user.pk}:{code}"),
        expires_at=now + settings.EMAIL_VERIFICATION_LIFETIME,
    )
    audit_entry_create(
        actor=Actor.shopper(user, channel),
        action="account.verification_code_sent",
        target=user,
        data={"expires_at": verification.expires_at.isoformat()},
    )
    link = f"{settings.SITE_URL}{reverse('portal:verify_email')}?{urlencode({'email': user.email})}"
    _mail(
        user=user,
        subject=gettext_lazy("Your FaceConsent verification code"),
        template="portal/email/verify_email.txt",
        context={
            "code": code,
            "link": link,
            "hours": int(settings.EMAIL_VERIFICATION_LIFETIME.total_seconds() // 3600),
        },
    )


def _count_use(key: str, *, window: int) -> int:
    """Count one more use of `key` in the shared cache, within a window that starts at its first use."""
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def _within_limit(key: str, *, limit: int, window: int) -> bool:
    """Count one more use of `key`; False once more than `limit` uses fall in the window."""
    return _count_use(key, window=window) <= limit


def email_verification_resend(*, email: str, channel: str) -> None:
    """Send a new code to an unverified account; silent for unknown addresses."""
    if not _within_limit(f"verification-resend:{sha256_hex(email.strip().lower())}", limit=1, window=60):
        raise TooManyRequests(
            _("A code was sent a moment ago; wait a minute before asking again."),
            code="verification_resend_too_soon",
            retry_after=60,
        )
    user = user_get_active_by_email(email=email, unverified=True)
    if user is not None:
        email_verification_send(user=user, channel=channel)


def email_verify(*, email: str, code: str, channel: str) -> User:
    """Mark the address verified when the latest code matches; a wrong code uses up a try.

    A verified account's code is checked like any other (its last code, once used, still answers
    that it is right, and changes nothing), so the answer never tells a stranger more than a wrong
    code does; nor does it ever carry the account's profile.
    """
    invalid = ValidationFailed(
        _("The code is not valid."), code="verification_code_invalid", fields={"code": [_("The code is not valid.")]}
    )
    user = user_get_active_by_email(email=email)
    if user is None:
        raise invalid
    with transaction.atomic():
        # Locked: a wrong try is counted under the lock, so parallel guesses cannot share one try.
        verification = EmailVerification.objects.select_for_update().filter(user=user).order_by("-created_at").first()
        if verification is None or (verification.used_at is not None and not user.email_verified):
            raise invalid
        if verification.attempts >= settings.EMAIL_VERIFICATION_MAX_ATTEMPTS:
            raise TooManyRequests(_("Too many wrong codes; ask for a new one."), code="verification_attempts_exceeded")
        if verification.expires_at <= timezone.now():
            raise ValidationFailed(
                _("The code has expired; ask for a new one."),
                code="verification_code_expired",
                fields={"code": [_("The code has expired; ask for a new one.")]},
            )
        matched = hmac.compare_digest(verification.code_hash, sha256_hex(f"{user.pk}:{code.strip()}"))
        if matched and not user.email_verified:
            now = timezone.now()
            verification.used_at = now
            verification.save(update_fields=["used_at"])
            user.email_verified_at = now
            user.save(update_fields=["email_verified_at"])
            audit_entry_create(actor=Actor.shopper(user, channel), action="account.email_verified", target=user)
        elif not matched:
            # Committed with the refusal, so the try counts.
            verification.attempts += 1
            verification.save(update_fields=["attempts"])
            audit_entry_create(
                actor=Actor.shopper(user, channel),
                action="account.verification_code_refused",
                target=user,
                data={"attempts": verification.attempts},
            )
    if not matched:
        raise invalid
    return user


@transaction.atomic
def user_email_mark_verified(*, user: User, actor: Actor) -> User:
    """Mark an address verified without a code: for staff who checked it, and the demo seed."""
    if user.email_verified:
        return user
    user.email_verified_at = timezone.now()
    user.save(update_fields=["email_verified_at"])
    EmailVerification.objects.filter(user=user, used_at__isnull=True).update(used_at=user.email_verified_at)
    audit_entry_create(actor=actor, action="account.email_verified", target=user, data={"by": actor.type})
    return user


@transaction.atomic
def staff_member_create(*, actor: Actor, email: str, password: str, display_name: str, superuser: bool = False) -> User:
    """An account for a member of staff (the admin, the door simulator); its address counts as checked."""
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(_("An account with this email already exists."), code="email_taken")
    user = User(
        email=email,
        display_name=display_name.strip(),
        is_staff=True,
        is_superuser=superuser,
        email_verified_at=timezone.now(),
    )
    _validate_password(password, user)
    user.set_password(password)
    user.full_clean(validate_unique=False, validate_constraints=False)
    user.save()
    audit_entry_create(actor=actor, action="account.staff_created", target=user, data={"superuser": superuser})
    return user


# Login ------------------------------------------------------------------------------------------


def _failure_keys(email: str, client_ip: str) -> dict[str, str]:
    """The counters a failed login adds to: this address trying this account, the account from
    anywhere, and the address against any account."""
    account = sha256_hex(email.strip().lower())
    return {
        "pair": f"login-failures:pair:{sha256_hex(f'{client_ip}|{account}')}",
        "account": f"login-failures:account:{account}",
        "address": f"login-failures:address:{sha256_hex(client_ip)}",
    }


def _failure_limits() -> dict[str, int]:
    """A stranger's wrong passwords lock out only the stranger's own address: the pair's limit is
    the strict one; the account's is gentle (it slows a guess spread over many addresses without
    handing anyone a way to lock its owner out); an address trying many accounts is stopped too."""
    return {
        "pair": settings.LOGIN_FAILURE_LIMIT,
        "account": settings.LOGIN_ACCOUNT_FAILURE_LIMIT,
        "address": settings.LOGIN_FAILURE_LIMIT * 4,
    }


def login_throttle_check(*, email: str, client_ip: str) -> None:
    """Refuse with 429 while this address has failed too often for this account, or for any, or the
    account has been guessed at too often, within the window."""
    keys = _failure_keys(email, client_ip)
    counts = cache.get_many(list(keys.values()))
    limits = _failure_limits()
    if any(int(counts.get(key) or 0) >= limits[name] for name, key in keys.items()):
        raise TooManyRequests(
            _("Too many failed logins; try again in a few minutes."),
            code="too_many_login_attempts",
            retry_after=int(settings.LOGIN_FAILURE_WINDOW.total_seconds()),
        )


def login_failure_record(*, email: str, client_ip: str) -> None:
    window = int(settings.LOGIN_FAILURE_WINDOW.total_seconds())
    for key in _failure_keys(email, client_ip).values():
        _count_use(key, window=window)


def login_success_record(*, email: str, client_ip: str) -> None:
    """The owner got in from this address: its own failures there are forgotten (not the others')."""
    cache.delete(_failure_keys(email, client_ip)["pair"])


def user_authenticate(*, email: str, password: str, client_ip: str) -> User:
    """Check credentials under the failed-login throttle. Used by the API and the web form."""
    from django.contrib.auth import authenticate

    login_throttle_check(email=email, client_ip=client_ip)
    user = authenticate(username=email.strip().lower(), password=password)
    if user is None:
        login_failure_record(email=email, client_ip=client_ip)
        raise AuthenticationRequired(_("The email or password is wrong."), code="invalid_credentials")
    login_success_record(email=email, client_ip=client_ip)
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str


@transaction.atomic
def api_token_create(*, user: User, label: str = "") -> IssuedToken:
    """A bearer token for the app. Shoppers only: a staff member's password alone would get past their
    second factor (decision 0035), so staff sign in on the web."""
    if user.is_staff:
        raise Forbidden(
            _("Staff members sign in on the web, with their second factor; the app is for shoppers."),
            code="staff_app_sign_in_refused",
        )
    key = "fc_" + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        key_hash=sha256_hex(key),
        prefix=key[3:11],
        label=label[:80],
        created_at=now,
        expires_at=now + settings.API_TOKEN_LIFETIME,
        last_used_at=now,
    )
    audit_entry_create(
        actor=Actor.shopper(user, "app"),
        action="account.token_issued",
        target=token,
        data={"expires_at": token.expires_at.isoformat()},
    )
    return IssuedToken(token=token, key=key)


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Actor | None = None, reason: str = "") -> None:
    """Sign an app out: its token stops working at once. Without `actor`, the app itself logged out."""
    if token.revoked_at is not None:
        return
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_entry_create(
        actor=actor or Actor.shopper(token.user, "app"),
        action="account.token_revoked",
        target=token,
        data={"reason": reason} if reason else None,
    )


# Web sessions -----------------------------------------------------------------------------------


@transaction.atomic
def web_session_start(*, user: User, session_key: str, user_agent: str) -> WebSession:
    """Name a browser that just signed in (from its User-Agent) so the sessions page can list it.

    Records of this shopper's sessions that have ended on their own (expired, or swept by
    `clearsessions`) are dropped here: they name nothing that can still act.
    """
    now = timezone.now()
    live = Session.objects.filter(expire_date__gt=now).values("session_key")
    WebSession.objects.filter(user=user).exclude(session_key__in=live).delete()
    record, _created = WebSession.objects.update_or_create(
        session_key=session_key,
        defaults={"user": user, "label": user_agent_label(user_agent), "created_at": now, "last_used_at": now},
    )
    audit_entry_create(actor=Actor.shopper(user, "web"), action="account.session_started", target=record)
    return record


@transaction.atomic
def web_session_end(*, session: WebSession, actor: Actor, reason: str) -> None:
    """Sign a browser out: its Django session row goes, so its next request is anonymous."""
    Session.objects.filter(session_key=session.session_key).delete()
    target = ("portal.websession", str(session.pk))
    session.delete()
    audit_entry_create(actor=actor, action="account.session_ended", target=target, data={"reason": reason})


@transaction.atomic
def sessions_end_others(
    *, user: User, actor: Actor, reason: str, keep_session_key: str = "", keep_token: ApiToken | None = None
) -> int:
    """Sign out every browser and app of this shopper but the one asking (its session or its token);
    each with its own audit entry. Returns how many were signed out."""
    ended = 0
    sessions = WebSession.objects.select_for_update().filter(user=user).order_by("pk")
    for session in sessions.exclude(session_key=keep_session_key or None):
        web_session_end(session=session, actor=actor, reason=reason)
        ended += 1
    tokens = ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True).order_by("pk")
    if keep_token is not None:
        tokens = tokens.exclude(pk=keep_token.pk)
    for token in tokens:
        api_token_revoke(token=token, actor=actor, reason=reason)
        ended += 1
    return ended


def web_session_rekey(*, old_key: str, new_key: str) -> None:
    """The same browser got a new session key (Django cycles it when the password changes): its
    record follows. Bookkeeping of a session that goes on, so no audit entry."""
    if old_key and new_key and old_key != new_key:
        WebSession.objects.filter(session_key=old_key).update(session_key=new_key)


def session_last_use_record(*, session_key: str = "", token: ApiToken | None = None) -> None:
    """Stamp the time a browser or an app last made a change (a POST, PUT, PATCH or DELETE).

    Bookkeeping shown on the sessions page, not a change of the account: no audit entry. Never
    called for a read (docs/decisions/0023-account-security-and-last-use.md).
    """
    now = timezone.now()
    if token is not None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(last_used_at=now)
    elif session_key:
        WebSession.objects.filter(session_key=session_key).update(last_used_at=now)


# Password reset ---------------------------------------------------------------------------------


@transaction.atomic
def password_reset_request(*, email: str, channel: str) -> None:
    """Mail a reset link when the account exists; say nothing either way to the caller.

    Each address gets at most PASSWORD_RESET_MAIL_LIMIT requests an hour, counted whether or not an
    account has it, so the limit tells nobody which addresses have accounts.
    """
    window = 60 * 60
    if not _within_limit(
        f"password-reset:{sha256_hex(email.strip().lower())}", limit=settings.PASSWORD_RESET_MAIL_LIMIT, window=window
    ):
        raise TooManyRequests(
            _("A reset link was sent to this address several times already; wait an hour or use the last one."),
            code="password_reset_too_often",
            retry_after=window,
        )
    user = user_get_active_by_email(email=email)
    if user is None or not user.has_usable_password():
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = f"{settings.SITE_URL}{reverse('portal:password_reset_confirm', kwargs={'uidb64': uid, 'token': token})}"
    _mail(
        user=user,
        subject=gettext_lazy("Reset your FaceConsent password"),
        template="portal/email/password_reset.txt",
        context={"link": link, "uid": uid, "token": token, "minutes": settings.PASSWORD_RESET_TIMEOUT // 60},
    )
    audit_entry_create(actor=Actor.shopper(user, channel), action="account.password_reset_requested", target=user)


@transaction.atomic
def password_reset_confirm(*, uidb64: str, token: str, new_password: str, channel: str) -> User:
    user = password_reset_user_get(uidb64=uidb64, token=token)
    _validate_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    # A reset means the old password may be known to someone else: sign out every app and browser
    # (Django refuses the browsers' sessions anyway once the password changes; this also drops them
    # from the sessions page).
    actor = Actor.shopper(user, channel)
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit_entry_create(actor=actor, action="account.password_reset", target=user)
    for session in WebSession.objects.filter(user=user).order_by("pk"):
        web_session_end(session=session, actor=actor, reason="password_reset")
    return user


# Profile ----------------------------------------------------------------------------------------


FOOTPRINT_RETENTION_UNKNOWN = gettext_lazy("Choose 3, 18 or 36 months, or the store operator's period.")


@transaction.atomic
def user_profile_update(
    *,
    user: User,
    channel: str,
    display_name: str | None = None,
    language: str | None = None,
    date_of_birth: date | None = None,
    time_zone: str | None = None,
    recognition_email: bool | None = None,
    footprint_retention_months: int | None = None,
) -> User:
    """Change the shopper's own details; None leaves a field as it is. An empty `time_zone` goes back
    to the default (the zone of the operator a page concerns, else the site's). `recognition_email`
    turns on (or off) the mail each time a door recognises the shopper (stores.feed).
    `footprint_retention_months` is 3, 18 or 36, or 0 for the operator's period; the retention job
    applies the shorter of it and the operator's (stores.retention.services)."""
    changes = {}
    if display_name is not None and display_name.strip() != user.display_name:
        changes["display_name"] = display_name.strip()
    if language is not None and language != user.language:
        changes["language"] = language
    if time_zone is not None and time_zone.strip() != user.time_zone:
        time_zone = time_zone.strip()
        if time_zone and not time_zone_is_known(time_zone):
            message = str(UNKNOWN_TIME_ZONE)
            raise ValidationFailed(message, code="unknown_time_zone", fields={"time_zone": [message]})
        changes["time_zone"] = time_zone
    if recognition_email is not None and recognition_email != user.recognition_email:
        changes["recognition_email"] = recognition_email
    if footprint_retention_months is not None and footprint_retention_months != user.footprint_retention_months:
        if footprint_retention_months not in FootprintRetention.values:
            message = str(FOOTPRINT_RETENTION_UNKNOWN)
            raise ValidationFailed(
                message, code="footprint_retention_unknown", fields={"footprint_retention_months": [message]}
            )
        changes["footprint_retention_months"] = footprint_retention_months
    if date_of_birth is not None and date_of_birth != user.date_of_birth:
        _validate_date_of_birth(date_of_birth)
        changes["date_of_birth"] = date_of_birth
    if not changes:
        return user
    for name, value in changes.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password"])
    user.save(update_fields=list(changes))
    audit_entry_create(
        actor=Actor.shopper(user, channel),
        action="account.profile_updated",
        target=user,
        data={
            "fields": sorted(changes),
            # The period is a promise about destruction: the log keeps which one the shopper chose.
            **(
                {"footprint_retention_months": changes["footprint_retention_months"]}
                if "footprint_retention_months" in changes
                else {}
            ),
        },
    )
    if "date_of_birth" in changes:
        # Effective before this returns: from then on no door can recognise the shopper (C8).
        consents_end_below_minimum_age(shopper=user, actor=Actor.shopper(user, channel))
    return user
