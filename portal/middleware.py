"""Pages speak the signed-in person's chosen language and show times in their time zone."""

from django.utils import timezone, translation

from portal.time_zones import time_zone_activate


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "language", None):
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
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
