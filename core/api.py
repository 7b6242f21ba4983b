"""Helpers every API module uses: documented error answers and paginated lists."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from core.pagination import PageNumberPagination


class JsonBooleanField(serializers.BooleanField):
    """`true` or `false` as JSON sends them. DRF's own also takes "yes", "on", 1 and "1", which the schema
    does not allow: an app that sends them has a bug it should hear about."""

    default_error_messages = {"invalid": _("Must be true or false.")}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid")


class JsonIntegerField(serializers.IntegerField):
    """A JSON integer. DRF's own also takes "18", 18.0 and true, which the schema does not allow."""

    default_error_messages = {"invalid": _("Must be a whole number.")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "type": "object",
        "description": "Each field that failed, with one entry per reason (a code and a message).",
        "additionalProperties": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                "required": ["code", "message"],
            },
        },
        "example": {"email": [{"code": "invalid", "message": "Enter a valid email address."}]},
    }
)
class FieldErrorsField(serializers.DictField):
    """`fields` of an error: {"field": [{"code", "message"}]}."""


ERROR_RESPONSE = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(help_text="Stable; act on it. Every code and its meaning: /api/errors/."),
                "message": serializers.CharField(help_text="For people, in the request's language."),
                "fields": FieldErrorsField(),
                # Extra keys a few refusals carry (DomainError.extra); each is named here.
                "status": serializers.CharField(
                    required=False, help_text="consent_not_active: the consent's status (withdrawn, expired ...)."
                ),
                "current_notice_version": serializers.IntegerField(
                    required=False, help_text="notice_version_superseded: the version to show and answer instead."
                ),
                "reaffirm_from": serializers.DateTimeField(
                    required=False,
                    help_text="reaffirm_too_early: when reaffirming opens (the consent's reaffirm_from).",
                ),
                "accepted": serializers.ListField(
                    child=serializers.CharField(),
                    required=False,
                    help_text="unsupported_media_type: the content types this operation accepts.",
                ),
            },
        )
    },
)


# One typical answer per status, shown as the example of each documented error response.
_ERROR_EXAMPLES: dict[int, tuple[str, str, dict]] = {
    400: (
        "invalid",
        "Some fields are not valid.",
        {"email": [{"code": "invalid", "message": "Enter a valid email address."}]},
    ),
    401: ("not_authenticated", "Authentication is required.", {}),
    403: ("forbidden", "You are not allowed to do this.", {}),
    404: ("not_found", "Not found.", {}),
    409: ("conflict", "This conflicts with the current state.", {}),
    413: ("payload_too_large", "The request body is too large.", {}),
    415: ("unsupported_media_type", "This content type is not accepted here.", {}),
    429: ("too_many_requests", "Too many requests; try again later.", {}),
    503: ("service_unavailable", "The service is not available right now.", {}),
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Schema entries for the error answers an operation can give, each with a typical example."""
    responses = {}
    for status in statuses:
        code, message, fields = _ERROR_EXAMPLES[status]
        example = OpenApiExample(code, value={"error": {"code": code, "message": message, "fields": fields}})
        responses[status] = OpenApiResponse(ERROR_RESPONSE, examples=[example])
    return responses


def paginated(serializer_class: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """The schema of a page of `serializer_class` items."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


def paginated_response(request, view, queryset, serializer_class) -> Response:
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
