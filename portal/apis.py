"""JSON API for shoppers' accounts (register, verify, log in and out, reset, profile), and consent receipts."""

from __future__ import annotations

from django.contrib.auth import logout
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from consent.selectors import consent_get_for_shopper
from core.api import JsonBooleanField, JsonIntegerField, errors
from core.http import client_address
from core.models import Channel
from core.time_zones import TIME_ZONE_MAX_LENGTH
from portal.account.services import web_session_logout
from portal.models import ApiToken, Language, User
from portal.receipt_schema import ConsentReceiptSerializer
from portal.receipts import consent_receipt, receipt_language
from portal.services import (
    api_token_create,
    api_token_revoke,
    email_verification_resend,
    email_verify,
    password_reset_confirm,
    password_reset_request,
    user_authenticate,
    user_profile_update,
    user_register,
)
from portal.throttling import AnonymousAccountThrottle


class ProfileOutputSerializer(serializers.ModelSerializer):
    # The account's public id, never its row id (sequential, it would count and name accounts).
    id = serializers.UUIDField(source="public_id", read_only=True)
    email_verified = serializers.BooleanField(read_only=True)
    footprint_retention_months = serializers.IntegerField(
        read_only=True,
        help_text="How long your visit records are kept: 3, 18 or 36 months, or 0 for the store operator's period.",
    )

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "display_name",
            "date_of_birth",
            "language",
            "time_zone",
            "recognition_email",
            "footprint_retention_months",
            "email_verified",
            "date_joined",
        ]
        read_only_fields = fields


class AnonymousAccountApi(APIView):
    """Endpoints anyone may call; throttled per client to slow down abuse."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonymousAccountThrottle]


class RegisterApi(AnonymousAccountApi):
    """Create a shopper account; a six-digit code is mailed to verify the address."""

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
        display_name = serializers.CharField(max_length=80)
        date_of_birth = serializers.DateField()
        language = serializers.ChoiceField(choices=Language.choices, default=Language.ENGLISH)

    @extend_schema(
        operation_id="account_register",
        request=InputSerializer,
        responses={201: ProfileOutputSerializer, **errors(400, 409, 415, 429)},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_register(**serializer.validated_data, channel=Channel.APP)
        return Response(ProfileOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class EmailVerifyApi(AnonymousAccountApi):
    """Confirm an address with the code mailed to it."""

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        code = serializers.RegexField(r"^\s*\d{6}\s*$", error_messages={"invalid": "Enter the six-digit code."})

    class OutputSerializer(serializers.Serializer):
        email_verified = serializers.BooleanField()

    @extend_schema(
        operation_id="account_verify_email",
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 429)},
        description=(
            "Checks the six-digit code mailed to the address. Answers only whether the address is verified, "
            "never the account's profile: the caller is not logged in. An unknown address, a wrong code and "
            "a verified account's old code all answer `verification_code_invalid`."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email_verify(**serializer.validated_data, channel=Channel.APP)
        return Response({"email_verified": True})


class EmailVerifyResendApi(AnonymousAccountApi):
    """Mail a new verification code (at most once a minute)."""

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()

    @extend_schema(
        operation_id="account_verify_email_resend", request=InputSerializer, responses={202: None, **errors(400, 429)}
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email_verification_resend(**serializer.validated_data, channel=Channel.APP)
        return Response(status=status.HTTP_202_ACCEPTED)


class LoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        device_label = serializers.CharField(
            max_length=80,
            required=False,
            allow_blank=True,
            default="",
            help_text="A name for this app install, kept with its token.",
        )

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expires_at = serializers.DateTimeField()
        user = ProfileOutputSerializer()

    @extend_schema(
        operation_id="account_login",
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 401, 429)},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_authenticate(
            email=serializer.validated_data["email"],
            password=serializer.validated_data["password"],
            client_ip=client_address(request),
        )
        issued = api_token_create(user=user, label=serializer.validated_data["device_label"])
        return Response(
            self.OutputSerializer({"token": issued.key, "expires_at": issued.token.expires_at, "user": user}).data
        )


class LogoutApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="account_logout", request=None, responses={204: None, **errors(401)})
    def post(self, request):
        if isinstance(request.auth, ApiToken):
            api_token_revoke(token=request.auth)
        else:
            if request.session.session_key:
                web_session_logout(user=request.user, session_key=request.session.session_key)
            logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetApi(AnonymousAccountApi):
    """Mail a password reset link, if an account has this address (the answer is the same either way)."""

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()

    @extend_schema(
        operation_id="account_password_reset",
        request=InputSerializer,
        responses={202: None, **errors(400, 429)},
        description="Mails a reset link when the account exists; answers 202 either way.",
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_reset_request(**serializer.validated_data, channel=Channel.APP)
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(AnonymousAccountApi):
    """Set a new password with the link's uid and token; every app token is revoked."""

    class InputSerializer(serializers.Serializer):
        uid = serializers.CharField(max_length=64)
        token = serializers.CharField(max_length=128)
        new_password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(
        operation_id="account_password_reset_confirm",
        request=InputSerializer,
        responses={204: None, **errors(400, 429)},
        description=(
            "Sets the new password from the link's uid and token; every app token is revoked. Answers no "
            "profile: log in with the new password."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        password_reset_confirm(
            uidb64=data["uid"], token=data["token"], new_password=data["new_password"], channel=Channel.APP
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProfileApi(APIView):
    permission_classes = [IsAuthenticated]

    class UpdateInputSerializer(serializers.Serializer):
        display_name = serializers.CharField(max_length=80, required=False)
        language = serializers.ChoiceField(choices=Language.choices, required=False)
        date_of_birth = serializers.DateField(required=False)
        time_zone = serializers.CharField(
            max_length=TIME_ZONE_MAX_LENGTH,
            required=False,
            allow_blank=True,
            help_text="An IANA name (Asia/Shanghai); empty for the default, the zone of the operator a page "
            "concerns, else the site's. Pages show times in it; the API answers ISO 8601 with the offset. "
            "A name the time zone database does not know: 400 unknown_time_zone.",
        )
        recognition_email = JsonBooleanField(
            required=False,
            help_text="Mail me each time a door recognises me or my entry pass lets me in (off by default). "
            "The notifications list (GET /api/v1/me/notifications) holds them either way.",
        )
        # An integer, not a choice field: any other value answers the service's own code and message.
        footprint_retention_months = JsonIntegerField(
            required=False,
            help_text="How long your visit records (visits, what stores reported, door matches) are kept: 3, 18 "
            "or 36 months, or 0 for the store operator's period. Each operator's records go after the shorter "
            "of this and the operator's period. Another number: 400 footprint_retention_unknown.",
        )

        def validate(self, attrs):
            unknown = set(self.initial_data) - set(self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field cannot be changed here."] for name in sorted(unknown)}, code="read_only"
                )
            return attrs

    @extend_schema(operation_id="account_profile", responses={200: ProfileOutputSerializer, **errors(401)})
    def get(self, request):
        return Response(ProfileOutputSerializer(request.user).data)

    @extend_schema(
        operation_id="account_profile_update",
        request=UpdateInputSerializer,
        responses={200: ProfileOutputSerializer, **errors(400, 401)},
    )
    def patch(self, request):
        serializer = self.UpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_profile_update(user=request.user, channel=Channel.APP, **serializer.validated_data)
        return Response(ProfileOutputSerializer(user).data)


# Served here rather than with the other consent APIs: a receipt links to the portal's pages.
class ConsentReceiptApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="consent_receipt",
        responses={200: ConsentReceiptSerializer, **errors(400, 401, 404)},
        parameters=[
            OpenApiParameter("download", bool, description="Answer as a file to save."),
            OpenApiParameter(
                "lang",
                str,
                description="The receipt's language (en, zh-hans). Without it, the first language of "
                "Accept-Language the portal speaks, else the shopper's. Any other: 400 language_unsupported.",
            ),
        ],
    )
    def get(self, request, public_id):
        consent = consent_get_for_shopper(shopper=request.user, public_id=public_id)
        language = receipt_language(request, shopper=request.user, accept_language=True)
        # The builder's own dict, not the serializer's output: the schema test then sees any field
        # the schema does not name.
        response = Response(consent_receipt(consent=consent, language=language))
        if request.query_params.get("download") in ("1", "true"):
            response["Content-Disposition"] = f'attachment; filename="consent-receipt-{consent.public_id}.json"'
        return response
