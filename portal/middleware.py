"""Pages speak the signed-in person's chosen language (docs/decisions/0019-language-choice.md) and
show times in their time zone; changes stamp the last use of a session or token
(docs/decisions/0023-account-security-and-last-use.md)."""

from django.utils import timezone, translation

from portal.models import ApiToken
from portal.services import session_last_use_record
from portal.time_zones import time_zone_activate


def user_language_activate(request, user) -> None:
    """Speak `user`'s profile language for the rest of this request."""
    if getattr(user, "language", None):
        translation.activate(user.language)
        # A DRF request wraps Django's, which the locale middleware reads on the way out.
        getattr(request, "_request", request).LANGUAGE_CODE = translation.get_language()


class UserLanguageMiddleware:
    """A session's user is known here; a bearer token's only once DRF authenticates it (see
    `portal.authentication.BearerTokenAuthentication`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_language_activate(request, user)
        return self.get_response(request)


class UserTimeZoneMiddleware:
    """Pages render times in the shopper's zone (else the site's; a page about one operator narrows
    it with `time_zone_activate`). The API is left alone: it answers ISO 8601 with the offset."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            return self.get_response(request)
        time_zone_activate(request)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class LastUseMiddleware:
    """Stamps when a browser session or an app token last made a change: after a POST, PUT, PATCH or
    DELETE by a signed-in shopper. A read never writes (docs/decisions/0016, 0023)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return response
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return response
        token = getattr(request, "auth", None)
        if isinstance(token, ApiToken):
            session_last_use_record(token=token)
        elif getattr(request, "session", None) is not None and request.session.session_key:
            session_last_use_record(session_key=request.session.session_key)
        return response
