"""Reads for the account security pages: the shopper's signed-in browsers and apps, a pending email
change. Each protected row is found only among the shopper's own (someone else's answers not found)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.sessions.models import Session
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotFound
from portal.models import ApiToken, EmailChange, User, WebSession


@dataclass(frozen=True)
class SignedIn:
    """One browser (kind "web") or app install (kind "app") signed in to the account."""

    kind: str
    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None
    current: bool


def _live_web_sessions(user: User):
    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    return WebSession.objects.filter(user=user, session_key__in=live)


def _usable_tokens(user: User):
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now())


def signed_in_list(
    *, user: User, current_session_key: str = "", current_token: ApiToken | None = None
) -> list[SignedIn]:
    """Every live browser session and usable app token of the shopper, the most recently used
    first (two queries)."""
    rows = [
        SignedIn(
            "web",
            s.pk,
            s.label,
            s.created_at,
            s.last_used_at,
            bool(current_session_key) and s.session_key == current_session_key,
        )
        for s in _live_web_sessions(user)
    ]
    rows += [
        SignedIn(
            "app", t.pk, t.label, t.created_at, t.last_used_at, current_token is not None and t.pk == current_token.pk
        )
        for t in _usable_tokens(user)
    ]
    return sorted(rows, key=lambda row: (row.last_used_at or row.created_at, row.created_at), reverse=True)


def web_session_get_for_user(*, user: User, pk: int) -> WebSession:
    session = _live_web_sessions(user).filter(pk=pk).first()
    if session is None:
        raise NotFound(_("There is no such signed-in browser."), code="session_not_found")
    return session


def api_token_get_for_user(*, user: User, pk: int) -> ApiToken:
    token = _usable_tokens(user).filter(pk=pk).first()
    if token is None:
        raise NotFound(_("There is no such signed-in app."), code="token_not_found")
    return token


def email_change_pending(*, user: User) -> EmailChange | None:
    """The change waiting for its code, if one is and it has not run out."""
    return (
        EmailChange.objects.filter(user=user, used_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-pk")
        .first()
    )
