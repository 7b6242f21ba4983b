"""The shopper's privacy requests over the API: ask for erasure or a copy of everything, and follow them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import errors
from portal.models import ApiToken, PrivacyRequest
from portal.privacy.selectors import privacy_request_of, privacy_request_overdue, privacy_requests_of
from portal.privacy.services import privacy_request_open


class PrivacyRequestOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    kind = serializers.ChoiceField(choices=PrivacyRequest.Kind.choices)
    status = serializers.ChoiceField(choices=PrivacyRequest.Status.choices)
    received_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(help_text="The answer is due by then: 30 days in China, 28 in the EU.")
    overdue = serializers.SerializerMethodField()
    finished_at = serializers.DateTimeField(allow_null=True)
    refusal_reason = serializers.CharField(help_text="Why it was refused (a code), or empty.")

    def get_overdue(self, request: PrivacyRequest) -> bool:
        return privacy_request_overdue(request)


class PrivacyRequestsApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=PrivacyRequest.Kind.choices)

    @extend_schema(
        operation_id="privacy_requests_list",
        responses={200: PrivacyRequestOutputSerializer(many=True), **errors(401)},
        description="Your privacy requests, newest first, each with its state and the date its answer is due.",
    )
    def get(self, request):
        return Response(PrivacyRequestOutputSerializer(privacy_requests_of(shopper=request.user), many=True).data)

    @extend_schema(
        operation_id="privacy_request_open",
        request=InputSerializer,
        responses={201: PrivacyRequestOutputSerializer, **errors(400, 401)},
        description=(
            "`kind`: `access` mails a link to the account's address that downloads a copy of everything held "
            "about you (the zip of `POST /api/v1/me/export`); the request answers `completed` at once, and the "
            "link works once, for 7 days. `erasure` asks the support team to erase your account and everything "
            "held about you; they carry it out by `due_at` and you get a deletion receipt by mail. A second "
            "request of a kind while one is open is recorded as `duplicate`. To delete your account yourself, at "
            "once, use `POST /api/v1/me/delete`."
        ),
    )
    def post(self, request):
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        channel = "app" if isinstance(request.auth, ApiToken) else "web"
        opened = privacy_request_open(shopper=request.user, kind=given.validated_data["kind"], channel=channel)
        return Response(PrivacyRequestOutputSerializer(opened).data, status=status.HTTP_201_CREATED)


class PrivacyRequestApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="privacy_request_get",
        responses={200: PrivacyRequestOutputSerializer, **errors(401, 404)},
        description="One of your privacy requests.",
    )
    def get(self, request, public_id):
        return Response(
            PrivacyRequestOutputSerializer(privacy_request_of(shopper=request.user, public_id=public_id)).data
        )
