"""The signed API for store entrance devices (match a face, or let a shopper in with an entry pass), and the
public list of operators with their current notices."""

from __future__ import annotations

import base64
import binascii

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import MethodNotAllowed, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from biometrics.faces import ENCODING_SIZE, validate_encoding
from consent.apis import NoticeVersionOutputSerializer
from consent.selectors import notice_versions_current
from core.api import errors, paginated, paginated_response
from core.errors import UnsupportedMediaType, ValidationFailed
from core.http import media_type
from core.parsers import json_body
from stores.authentication import DeviceSignatureAuthentication, IsDevice
from stores.door.services import MAX_FRAMES, DoorAnswer, door_entry_pass, door_match
from stores.selectors import operator_get_by_slug, operator_list


class DoorAnswerSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=["match", "no_match"])
    shopper_ref = serializers.CharField(required=False, help_text="Pseudonymous, stable for this operator only.")
    visit_id = serializers.UUIDField(required=False)
    first_visit = serializers.BooleanField(
        required=False,
        help_text="The shopper's first face recognition here (under this consent): show the collection notice, "
        "then confirm it with a `notice_shown` event (`device/events`). Never for a pass alone.",
    )
    notice_version = serializers.IntegerField(
        required=False,
        help_text="With `first_visit`: the notice version to show (its texts: `operators/{slug}/notices`), "
        "and to name in the `notice_shown` event.",
    )


SERVER_TIMING = {
    "worker": "waiting for the match worker",
    "engine": "finding and encoding the face, within the worker's time",
    "record": "confirming and recording the visit",
}


def door_answer(answer: DoorAnswer) -> Response:
    if not answer.matched:
        response = Response({"result": "no_match"})
    else:
        response = Response(
            {
                "result": "match",
                "shopper_ref": answer.shopper_ref,
                "visit_id": str(answer.visit.public_id),
                "first_visit": answer.first_visit,
                **({"notice_version": answer.notice_version_id} if answer.notice_version_id else {}),
            }
        )
    if answer.timings:  # where a door's wait went, for integrators tuning their stores
        response["Server-Timing"] = ", ".join(
            f'{name};dur={duration:.1f};desc="{SERVER_TIMING[name]}"' for name, duration in answer.timings.items()
        )
    return response


class DeviceApi(APIView):
    authentication_classes = [DeviceSignatureAuthentication]
    permission_classes = [IsDevice]

    def initial(self, request, *args, **kwargs):
        """The door serves POST only. Any other method (OPTIONS too, which every view answers) is
        refused before the signature is checked: its nonce is not spent, and a safe method writes nothing."""
        if request.method != "POST":
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def payload(self, request, serializer_class) -> dict:
        """The signed body, parsed as JSON (sent as application/json) and validated."""
        if media_type(request.content_type) != "application/json":
            raise _unsupported_media_type(("application/json",))
        data = json_body(request._request.signed_body or b"{}")
        if not isinstance(data, dict):
            raise ValidationFailed(_("The request body must be a JSON object."), code="invalid")
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def _unsupported_media_type(accepted: tuple[str, ...]) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        _("Send the body as one of: %(types)s.") % {"types": ", ".join(accepted)},
        extra={"accepted": list(accepted)},
    )


@extend_schema_field({"type": "string", "format": "byte"})
class Base64PhotoField(serializers.Field):
    """A photo as base64 text, decoded in one pass (no per-character checks on a megabyte of text)."""

    default_error_messages = {"invalid": "The photo must be base64."}

    def to_internal_value(self, data) -> bytes:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            self.fail("invalid")

    def to_representation(self, value) -> str:
        return base64.b64encode(value).decode()


@extend_schema_field(
    {"type": "array", "items": {"type": "number"}, "minItems": ENCODING_SIZE, "maxItems": ENCODING_SIZE}
)
class EncodingField(serializers.Field):
    """128 finite numbers, checked in one pass (no field object per number): else `invalid_encoding`."""

    def to_internal_value(self, data) -> list[float]:
        if not isinstance(data, list):
            raise ValidationFailed(_("The encoding must be a list of 128 numbers."), code="invalid_encoding")
        return validate_encoding(data).tolist()

    def to_representation(self, value) -> list[float]:
        return list(value)


class FramesField(serializers.ListField):
    """Up to MAX_FRAMES frames of one approach; more answer 400 `too_many_frames` before any is decoded."""

    def to_internal_value(self, data):
        if isinstance(data, list) and len(data) > MAX_FRAMES:
            raise ValidationFailed(
                _("Send at most %(count)d frames of one approach.") % {"count": MAX_FRAMES}, code="too_many_frames"
            )
        return super().to_internal_value(data)


PHOTO_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp", "application/octet-stream")


class DeviceMatchApi(DeviceApi):
    class InputSerializer(serializers.Serializer):
        photo = Base64PhotoField(required=False, help_text="The photo, base64 (JPEG, PNG or WebP).")
        encoding = EncodingField(
            required=False, help_text="Or 128 numbers computed on the device: no photo leaves the store."
        )
        photos = FramesField(
            child=Base64PhotoField(),
            required=False,
            min_length=1,
            max_length=MAX_FRAMES,
            help_text="Or 1-3 frames of one approach, each a base64 photo: a match needs every frame with a face "
            "to name the same shopper. 4 or more: 400 too_many_frames.",
        )
        encodings = FramesField(
            child=EncodingField(),
            required=False,
            min_length=1,
            max_length=MAX_FRAMES,
            help_text="Or 1-3 frames of one approach, each 128 numbers computed on the device.",
        )
        entry_pass = serializers.CharField(
            required=False,
            help_text="1:1: check the face against this pass only. A pass its shopper made for another operator "
            "is refused (403 pass_wrong_operator) before any matching.",
        )

    @extend_schema(
        operation_id="device_match",
        request={
            "application/json": InputSerializer,
            **{content_type: OpenApiTypes.BINARY for content_type in PHOTO_CONTENT_TYPES},
        },
        responses={200: DoorAnswerSerializer, **errors(400, 401, 403, 409, 413, 415, 503)},
        description=(
            "Answers `match` with a pseudonymous reference, or `no_match`; nothing else. Send JSON (a base64 "
            "photo or an encoding, with an entry pass in 1:1 stores), or the photo itself as the body with "
            "its image content type: the same check, without a third more bytes to send and decode. A door "
            "may send up to 3 frames of one approach instead (`photos` or `encodings`): it is a match only when "
            "every frame with a face names the same shopper; frames that disagree answer `no_match`, 4 or more "
            "400 `too_many_frames`. Where the operator's gallery check found 1:N too risky (its gallery too large "
            "or too dense for its target false identification rate), a probe without an entry pass answers 409 "
            "`one_to_one_required`: ask for the entry pass (with this face, or at `device/entry-pass`)."
        ),
    )
    def post(self, request):
        if media_type(request.content_type) in PHOTO_CONTENT_TYPES:
            body = request._request.signed_body
            data = {"photo": body} if body else {}
        elif media_type(request.content_type) == "application/json":
            data = self._json_payload(request)
        else:
            raise _unsupported_media_type(("application/json", *PHOTO_CONTENT_TYPES))
        return door_answer(
            door_match(
                device=request.auth,
                photo=data.get("photo"),
                encoding=data.get("encoding"),
                entry_pass=data.get("entry_pass"),
                photos=data.get("photos"),
                encodings=data.get("encodings"),
            )
        )

    def _json_payload(self, request) -> dict:
        try:
            return self.payload(request, self.InputSerializer)
        except ValidationError as error:
            if "photo" in error.detail or "photos" in error.detail:
                raise ValidationFailed(_("The photo must be base64."), code="unreadable_image") from error
            raise


class DeviceEntryPassApi(DeviceApi):
    class InputSerializer(serializers.Serializer):
        entry_pass = serializers.CharField(help_text="The token from the shopper's QR code.")

    @extend_schema(
        operation_id="device_entry_pass",
        request=InputSerializer,
        responses={200: DoorAnswerSerializer, **errors(400, 401, 403, 409, 413, 415)},
        description=(
            "Let a shopper in with an entry pass instead of a face; no consent is needed. Refused with 403 "
            "`pass_invalid`, `pass_expired`, `pass_revoked`, or `pass_wrong_operator` when its shopper made it for "
            "another operator's stores (no visit, nothing about the shopper, and the pass stays usable there); "
            "409 `pass_used` once it has let someone in."
        ),
    )
    def post(self, request):
        data = self.payload(request, self.InputSerializer)
        return door_answer(door_entry_pass(device=request.auth, token=data["entry_pass"]))


class OperatorOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    legal_name = serializers.CharField()
    jurisdiction = serializers.CharField()
    contact_email = serializers.EmailField()
    privacy_officer_name = serializers.CharField()
    privacy_officer_email = serializers.EmailField()


class OperatorListApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="operator_list", responses={200: paginated(OperatorOutputSerializer, "OperatorPage")})
    def get(self, request):
        return paginated_response(request, self, operator_list(), OperatorOutputSerializer)


class OperatorNoticesApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="operator_notices",
        responses={200: paginated(NoticeVersionOutputSerializer, "NoticeVersionPage"), **errors(404)},
    )
    def get(self, request, slug: str):
        operator = operator_get_by_slug(slug=slug)
        # Paginated like every other list, though an operator has one notice per purpose.
        versions = notice_versions_current(operator=operator)
        return paginated_response(request, self, versions, NoticeVersionOutputSerializer)
