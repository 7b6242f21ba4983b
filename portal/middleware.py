"""Pages speak the signed-in person's chosen language (docs/decisions/0019-language-choice.md) and
show times in their time zone."""

from django.utils import timezone, translation

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
