"""`Authorization: Bearer <token>` for the app, with distinct codes for each way a token fails."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from core.errors import DomainError
from portal.middleware import user_language_activate
from portal.selectors import api_token_get_usable


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Finds the token and its user; writes nothing, so a GET with a token stays a read."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("The Authorization header is malformed."), code="token_malformed")
        try:
            key = header[1].decode()
        except UnicodeError as error:
            raise exceptions.AuthenticationFailed(_("The token is not valid."), code="token_invalid") from error
        try:
            token = api_token_get_usable(key=key)
        except DomainError as error:
            raise exceptions.AuthenticationFailed(error.message, code=error.code) from error
        # The app's answers (errors included) speak the profile's language unless the request
        # names one: DRF authenticates after every middleware, so the language is set here.
        if "HTTP_ACCEPT_LANGUAGE" not in request.META:
            user_language_activate(request, token.user)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A token from POST /api/v1/auth/login."}
