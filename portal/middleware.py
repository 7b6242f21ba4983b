"""Pages speak the signed-in person's chosen language; changes stamp the last use of a session or token."""

from django.utils import translation

from portal.models import ApiToken
from portal.services import session_last_use_record


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "language", None):
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class LastUseMiddleware:
    """Stamps when a browser session or an app token last made a change: after a POST, PUT, PATCH or
    DELETE by a signed-in shopper. A read never writes (docs/decisions/0016, 0022)."""

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
