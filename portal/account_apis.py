"""JSON API for a signed-in shopper's account security: change the password or the email address,
list the browsers and apps signed in, and sign them out."""

from __future__ import annotations

from django.contrib.auth import logout, update_session_auth_hash
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import errors
from core.audit import Actor
from core.http import client_address
from core.models import Channel
from portal.account.selectors import (
    api_token_get_for_user,
    email_change_pending,
    signed_in_list,
    web_session_get_for_user,
)
from portal.account.services import (
    email_change_cancel,
    email_change_confirm,
    email_change_request,
    password_change,
)
from portal.apis import ProfileOutputSerializer
from portal.erasure.services import CATEGORIES, account_delete
from portal.models import ApiToken
from portal.services import api_token_revoke, sessions_end_others, web_session_end, web_session_rekey


def _token(request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def _session_key(request) -> str:
    """The browser session the call came with, when it was not made with a token."""
    if _token(request) is not None:
        return ""
    return request.session.session_key or ""


def _actor(request) -> Actor:
    return Actor.shopper(request.user, Channel.APP if _token(request) else Channel.WEB)


class SignedOutSerializer(serializers.Serializer):
    signed_out = serializers.IntegerField(help_text="How many other browsers and apps were signed out.")


class PasswordChangeApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        current_password = serializers.CharField(max_length=128, trim_whitespace=False)
        new_password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(
        operation_id="account_password_change",
        request=InputSerializer,
        responses={200: SignedOutSerializer, **errors(400, 401, 429)},
        description=(
            "Sets a new password. Every other app token and browser session is signed out; the token (or "
            "session) making the call stays valid. A wrong current password answers `current_password_wrong` "
            "and counts as a failed login: after as many as the login allows, `429 too_many_login_attempts`."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session_key = _session_key(request)
        ended = password_change(
            user=request.user,
            **serializer.validated_data,
            client_ip=client_address(request),
            channel=_actor(request).channel,
            keep_session_key=session_key,
            keep_token=_token(request),
        )
        if session_key:
            update_session_auth_hash(request, request.user)
            web_session_rekey(old_key=session_key, new_key=request.session.session_key)
        return Response({"signed_out": ended})


class EmailChangeOutputSerializer(serializers.Serializer):
    email = serializers.EmailField(help_text="The address you log in with and mail goes to.")
    pending_email = serializers.EmailField(allow_null=True, help_text="A new address waiting for its code.")
    pending_expires_at = serializers.DateTimeField(allow_null=True)


def _email_state(user) -> dict:
    pending = email_change_pending(user=user)
    return {
        "email": user.email,
        "pending_email": pending.new_email if pending else None,
        "pending_expires_at": pending.expires_at if pending else None,
    }


class EmailChangeApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        new_email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False, help_text="The current password.")

    @extend_schema(operation_id="account_email", responses={200: EmailChangeOutputSerializer, **errors(401)})
    def get(self, request):
        return Response(EmailChangeOutputSerializer(_email_state(request.user)).data)

    @extend_schema(
        operation_id="account_email_change",
        request=InputSerializer,
        responses={202: EmailChangeOutputSerializer, **errors(400, 401, 409, 429)},
        description=(
            "Mails a six-digit code to the new address; the change takes effect only with "
            "`POST /api/v1/me/email/confirm`. Until then the old address stays the login; it is told of the "
            "request. An address another account has answers `409 email_taken`."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email_change_request(
            user=request.user,
            **serializer.validated_data,
            client_ip=client_address(request),
            channel=_actor(request).channel,
        )
        return Response(EmailChangeOutputSerializer(_email_state(request.user)).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(operation_id="account_email_change_cancel", responses={204: None, **errors(401)})
    def delete(self, request):
        email_change_cancel(user=request.user, channel=_actor(request).channel)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailChangeConfirmApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        code = serializers.RegexField(r"^\s*\d{6}\s*$", error_messages={"invalid": "Enter the six-digit code."})

    @extend_schema(
        operation_id="account_email_change_confirm",
        request=InputSerializer,
        responses={200: ProfileOutputSerializer, **errors(400, 401, 409, 429)},
        description=(
            "Makes the pending address the account's (verified) when the code is right; the old address is "
            "told. A wrong code uses up one of five tries. `409 email_taken` when another account took the "
            "address meanwhile; `409 email_change_not_pending` when no change waits."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = email_change_confirm(
            user=request.user, code=serializer.validated_data["code"], channel=_actor(request).channel
        )
        return Response(ProfileOutputSerializer(user).data)


class SignedInOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["web", "app"], help_text="A browser session or an app token.")
    id = serializers.IntegerField()
    label = serializers.CharField(help_text="The device label given at login, or the browser's name.")
    created_at = serializers.DateTimeField(help_text="When it signed in.")
    last_used_at = serializers.DateTimeField(
        allow_null=True, help_text="Its sign-in or its last change (POST, PUT, PATCH, DELETE); reads do not count."
    )
    current = serializers.BooleanField(help_text="The one making this call.")


class SignedInListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="account_sessions", responses={200: SignedInOutputSerializer(many=True), **errors(401)})
    def get(self, request):
        rows = signed_in_list(
            user=request.user, current_session_key=_session_key(request), current_token=_token(request)
        )
        return Response(SignedInOutputSerializer(rows, many=True).data)


class WebSessionRevokeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="account_session_revoke", request=None, responses={204: None, **errors(401, 404)})
    def post(self, request, session_id: int):
        session = web_session_get_for_user(user=request.user, pk=session_id)
        current = session.session_key == _session_key(request)
        web_session_end(session=session, actor=_actor(request), reason="signed_out")
        if current:
            logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenRevokeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="account_token_revoke",
        request=None,
        responses={204: None, **errors(401, 404)},
        description="Signs an app out. Revoking the token making the call logs this app out.",
    )
    def post(self, request, token_id: int):
        token = api_token_get_for_user(user=request.user, pk=token_id)
        api_token_revoke(token=token, actor=_actor(request), reason="signed_out")
        return Response(status=status.HTTP_204_NO_CONTENT)


class SignedInRevokeOthersApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="account_sessions_revoke_others",
        request=None,
        responses={200: SignedOutSerializer, **errors(401)},
        description="Signs out every browser and app of the account but the one making the call.",
    )
    def post(self, request):
        ended = sessions_end_others(
            user=request.user,
            actor=_actor(request),
            reason="signed_out",
            keep_session_key=_session_key(request),
            keep_token=_token(request),
        )
        return Response({"signed_out": ended})


class AccountDeletedSerializer(serializers.Serializer):
    counts = inline_serializer(
        "AccountDeletionCounts",
        {
            category: serializers.IntegerField(min_value=0, help_text=str(label))
            for category, label in CATEGORIES.items()
        },
        help_text="What went, by category.",
    )
    deleted_at = serializers.DateTimeField()


class AccountDeleteApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(
        operation_id="account_delete",
        request=InputSerializer,
        responses={200: AccountDeletedSerializer, **errors(400, 401, 403, 429)},
        description=(
            "Deletes the account and everything held about it, before answering: face templates (no door can "
            "recognise you from then on), enrollments, the whole footprint, notifications, consents with their "
            "history, entry passes, and every signed-in app and browser, this token included. Answers the "
            "deletion receipt, also mailed. The audit log keeps only that these things took place, under a "
            "number that no longer leads to anyone. Confirm with the password: a wrong one answers "
            "`current_password_wrong` and counts as a failed login."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        erased = account_delete(
            user=request.user,
            password=serializer.validated_data["password"],
            client_ip=client_address(request),
            channel=_actor(request).channel,
        )
        if _session_key(request):
            logout(request)
        return Response({"counts": erased.counts, "deleted_at": erased.deleted_at})
