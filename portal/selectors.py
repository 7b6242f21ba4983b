"""Reads for accounts: who a login token, a reset link or an email verification code belongs to."""

from __future__ import annotations

import hashlib

from django.contrib.auth.tokens import default_token_generator
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _

from core.errors import AuthenticationRequired, ValidationFailed
from portal.models import ApiToken, User


def sha256_hex(value: str) -> str:
    """What is stored of a token or a code, and the key a counter is kept under: its SHA-256."""
    return hashlib.sha256(value.encode()).hexdigest()


def api_token_get_usable(*, key: str) -> ApiToken:
    """The live token for this key, with its user; each way a token fails has its own code."""
    token = ApiToken.objects.select_related("user").filter(key_hash=sha256_hex(key)).first()
    if token is None:
        raise AuthenticationRequired(_("The token is not valid."), code="token_invalid")
    if token.revoked_at is not None:
        raise AuthenticationRequired(_("The token has been revoked; log in again."), code="token_revoked")
    if token.expires_at <= timezone.now():
        raise AuthenticationRequired(_("The token has expired; log in again."), code="token_expired")
    if not token.user.is_active:
        raise AuthenticationRequired(_("This account is disabled."), code="account_disabled")
    return token


def user_get_active_by_email(*, email: str, unverified: bool = False) -> User | None:
    """The active account with this address, whatever its case (only if its address is not yet
    verified, with `unverified`); None when there is none."""
    users = User.objects.filter(email__iexact=email.strip(), is_active=True)
    if unverified:
        users = users.filter(email_verified_at__isnull=True)
    return users.first()


def password_reset_user_get(*, uidb64: str, token: str) -> User:
    """The account a reset link is for, or a refusal when the link is wrong or used up."""
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))), is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise ValidationFailed(_("This reset link is not valid or has already been used."), code="reset_link_invalid")
    return user
