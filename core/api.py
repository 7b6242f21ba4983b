"""Helpers every API module uses: documented error answers and paginated lists."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from core.pagination import PageNumberPagination

ERROR_RESPONSE = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(child=serializers.ListField(child=serializers.DictField())),
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


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Schema entries for the error answers an operation can give."""
    return {code: OpenApiResponse(ERROR_RESPONSE) for code in statuses}


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
