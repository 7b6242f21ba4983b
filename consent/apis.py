"""JSON API for notices, consents, receipts and entry passes (the shopper's app)."""

from __future__ import annotations

import io

import segno
from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from consent.models import Consent, ConsentEvent, EntryPass, NoticeVersion, Purpose
from consent.selectors import (
    consent_events_for_shopper,
    consent_get_for_shopper,
    consent_list_for_shopper,
    consent_status_at,
    entry_pass_get_for_shopper,
    notice_version_get_published,
)
from consent.services import (
    consent_give,
    consent_reaffirm,
    consent_refuse,
    consent_withdraw,
    entry_pass_issue,
    entry_pass_revoke,
    notice_shown_record,
)
from core.api import errors, paginated, paginated_response
from core.fields import SlugRelatedField
from core.models import Channel


class NoticeTextSerializer(serializers.Serializer):
    title = serializers.CharField()
    purpose = serializers.CharField()
    method = serializers.CharField()
    retention = serializers.CharField()
    rights = serializers.CharField()


NOTICE_TEXTS = inline_serializer(
    name="NoticeTexts",
    fields={"en": NoticeTextSerializer(), "zh-hans": NoticeTextSerializer()},
)


class NoticeVersionOutputSerializer(serializers.ModelSerializer):
    operator = serializers.CharField(source="notice.operator.slug")
    purpose = serializers.CharField(source="notice.purpose")
    data_categories = serializers.ListField(child=serializers.CharField(), help_text="What the purpose collects.")
    text = serializers.SerializerMethodField()

    class Meta:
        model = NoticeVersion
        fields = [
            "id",
            "operator",
            "purpose",
            "version",
            "material",
            "published_at",
            "retention_days",
            "data_categories",
            "contact",
            "text",
        ]

    @extend_schema_field(NOTICE_TEXTS)
    def get_text(self, version: NoticeVersion) -> dict[str, dict[str, str]]:
        return {
            language: {
                field: version.text(field, language)
                for field in ("title", "purpose", "method", "retention", "rights", "contact")
            }
            for language in ("en", "zh-hans")
        }


class ConsentOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    operator = serializers.CharField(source="operator.slug")
    notice_version = serializers.IntegerField(source="notice_version_id")
    notice_version_number = serializers.IntegerField(source="notice_version.version")
    status = serializers.SerializerMethodField()

    class Meta:
        model = Consent
        fields = [
            "id",
            "operator",
            "purpose",
            "status",
            "notice_version",
            "notice_version_number",
            "channel",
            "given_at",
            "expires_at",
            "reaffirmed_at",
            "ended_at",
        ]

    def get_status(self, consent: Consent) -> str:
        return consent_status_at(consent)


class ConsentEventOutputSerializer(serializers.ModelSerializer):
    consent = serializers.UUIDField(source="consent.public_id", allow_null=True, default=None)
    operator = serializers.CharField(source="operator.slug")
    notice_version = serializers.IntegerField(source="notice_version_id", allow_null=True)

    class Meta:
        model = ConsentEvent
        fields = [
            "id",
            "kind",
            "consent",
            "operator",
            "purpose",
            "notice_version",
            "channel",
            "actor_type",
            "occurred_at",
        ]


class ConsentDetailOutputSerializer(ConsentOutputSerializer):
    events = ConsentEventOutputSerializer(many=True, read_only=True)

    class Meta(ConsentOutputSerializer.Meta):
        fields = [*ConsentOutputSerializer.Meta.fields, "events"]


# The operator by its slug, checked against the operators the consent's own foreign key accepts: consent
# never looks operators up itself (docs/decisions/0014-layers.md).
class DecisionInputSerializer(serializers.ModelSerializer):
    serializer_related_field = SlugRelatedField
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    notice_version = serializers.PrimaryKeyRelatedField(
        queryset=NoticeVersion.objects.select_related("notice"),
        help_text="The id of the notice version the shopper was shown.",
    )

    class Meta:
        model = Consent
        fields = ["operator", "purpose", "notice_version"]
        extra_kwargs = {"operator": {"slug_field": "slug"}}
        validators: list = []  # the services decide what may be given or refused


class NoticeShownApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="notice_shown",
        request=None,
        responses={201: ConsentEventOutputSerializer, **errors(401, 404)},
        description="Record that the app showed this notice version to the shopper.",
    )
    def post(self, request, notice_version_id: int):
        version = notice_version_get_published(pk=notice_version_id)
        event = notice_shown_record(shopper=request.user, notice_version=version, channel=Channel.APP)
        return Response(ConsentEventOutputSerializer(event).data, status=status.HTTP_201_CREATED)


class ConsentListApi(APIView):
    permission_classes = [IsAuthenticated]

    class FilterSerializer(serializers.Serializer):
        operator = serializers.SlugField(required=False)
        purpose = serializers.ChoiceField(choices=Purpose.choices, required=False)
        status = serializers.ChoiceField(choices=Consent.Status.choices, required=False)

    @extend_schema(
        operation_id="consent_list",
        parameters=[FilterSerializer],
        responses={200: paginated(ConsentOutputSerializer, "ConsentPage"), **errors(400, 401)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        consents = consent_list_for_shopper(shopper=request.user, filters=filters.validated_data)
        return paginated_response(request, self, consents, ConsentOutputSerializer)

    @extend_schema(
        operation_id="consent_give",
        request=DecisionInputSerializer,
        responses={201: ConsentOutputSerializer, **errors(400, 401, 403, 409)},
        description="An explicit yes to one operator for one purpose, naming the notice version shown.",
    )
    def post(self, request):
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent = consent_give(shopper=request.user, channel=Channel.APP, **serializer.validated_data)
        return Response(ConsentOutputSerializer(consent).data, status=status.HTTP_201_CREATED)


class ConsentRefuseApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="consent_refuse",
        request=DecisionInputSerializer,
        responses={201: ConsentEventOutputSerializer, **errors(400, 401, 409)},
    )
    def post(self, request):
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = consent_refuse(shopper=request.user, channel=Channel.APP, **serializer.validated_data)
        return Response(ConsentEventOutputSerializer(event).data, status=status.HTTP_201_CREATED)


class ConsentDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="consent_detail", responses={200: ConsentDetailOutputSerializer, **errors(401, 404)})
    def get(self, request, public_id):
        consent = consent_get_for_shopper(shopper=request.user, public_id=public_id)
        return Response(ConsentDetailOutputSerializer(consent).data)


class ConsentWithdrawApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="consent_withdraw",
        request=None,
        responses={200: ConsentOutputSerializer, **errors(401, 404, 409)},
        description="Withdraw in one call. When it returns, the consent allows nothing any more.",
    )
    def post(self, request, public_id):
        consent = consent_get_for_shopper(shopper=request.user, public_id=public_id)
        consent = consent_withdraw(consent=consent, channel=Channel.APP)
        return Response(ConsentOutputSerializer(consent).data)


class ConsentReaffirmApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        notice_version = serializers.PrimaryKeyRelatedField(queryset=NoticeVersion.objects.select_related("notice"))

    @extend_schema(
        operation_id="consent_reaffirm",
        request=InputSerializer,
        responses={200: ConsentOutputSerializer, **errors(400, 401, 404, 409)},
    )
    def post(self, request, public_id):
        consent = consent_get_for_shopper(shopper=request.user, public_id=public_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent = consent_reaffirm(consent=consent, channel=Channel.APP, **serializer.validated_data)
        return Response(ConsentOutputSerializer(consent).data)


class ConsentEventListApi(APIView):
    permission_classes = [IsAuthenticated]

    class FilterSerializer(serializers.Serializer):
        operator = serializers.SlugField(required=False)
        purpose = serializers.ChoiceField(choices=Purpose.choices, required=False)

    @extend_schema(
        operation_id="consent_event_list",
        parameters=[FilterSerializer],
        responses={200: paginated(ConsentEventOutputSerializer, "ConsentEventPage"), **errors(400, 401)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        events = consent_events_for_shopper(shopper=request.user, filters=filters.validated_data)
        return paginated_response(request, self, events, ConsentEventOutputSerializer)


@extend_schema_field({"type": "string", "nullable": True, "pattern": r"^[-a-zA-Z0-9_]*$"})
class PassScopeField(SlugRelatedField):
    """An operator's slug; empty, like null, means any operator (as the page's "Any store" sends)."""


QR_FORMATS = ["svg", "png"]


def _qr_svg(token: str) -> str:
    """A standalone SVG document: with its namespace, so that it is an image outside HTML too."""
    buffer = io.BytesIO()
    segno.make(token, error="m").save(buffer, kind="svg", scale=4, xmldecl=False, svgns=True, nl=False)
    return buffer.getvalue().decode()


def _qr_png(token: str) -> str:
    return segno.make(token, error="m").png_data_uri(scale=4)


class EntryPassIssueApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.ModelSerializer):
        serializer_related_field = PassScopeField  # the pass's own foreign key, by slug

        class Meta:
            model = EntryPass
            fields = ["operator"]
            extra_kwargs = {
                "operator": {
                    "slug_field": "slug",
                    "help_text": "Only this operator's doors accept the pass. Leave it out for any operator's.",
                }
            }

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(source="entry_pass.pk")
        token = serializers.CharField(help_text="Put this in the QR code shown at the door.")
        expires_at = serializers.DateTimeField(source="entry_pass.expires_at")
        operator = serializers.SlugField(
            source="entry_pass.operator.slug",
            allow_null=True,
            default=None,
            help_text="The one operator whose doors accept the pass; null: any operator's.",
        )
        qr_svg = serializers.SerializerMethodField(
            help_text="The token's QR code as a standalone SVG document (image/svg+xml, with its namespace): "
            "inline it, or show it as an image from a data: URL."
        )
        qr_png = serializers.SerializerMethodField(
            help_text="With `?qr=png`: the same QR code as a PNG, a data: URL for an <img>; null otherwise."
        )

        def get_qr_svg(self, issued) -> str:
            return _qr_svg(issued.token)

        def get_qr_png(self, issued) -> str | None:
            return _qr_png(issued.token) if self.context.get("qr") == "png" else None

    class QuerySerializer(serializers.Serializer):
        qr = serializers.ChoiceField(choices=QR_FORMATS, default="svg")

    @extend_schema(
        operation_id="entry_pass_issue",
        parameters=[
            OpenApiParameter(
                "qr",
                str,
                enum=QR_FORMATS,
                default="svg",
                description="`png` adds `qr_png`, the QR code as a PNG data: URL; `qr_svg` is always there.",
            )
        ],
        request=InputSerializer,
        responses={201: OutputSerializer, **errors(400, 401)},
        description=(
            "A signed pass to enter without a face (C9). Any shopper may have one; no consent is needed, "
            "and declining face recognition changes nothing else.\n\n"
            "- **Who can read it**: the token holds only a signed random id, no name, email or photo. "
            "Whoever scans the QR code can read that id; only FaceConsent knows whose pass it is.\n"
            f"- **How long it lasts**: {int(settings.ENTRY_PASS_LIFETIME.total_seconds())} seconds "
            "(`ENTRY_PASS_LIFETIME_SECONDS`), until `expires_at`.\n"
            "- **One use**: the first door that lets the shopper in uses it up (`409 pass_used` after that). "
            "Like a ticket, whoever shows it first enters as its owner; in 1:1 stores the face must match too.\n"
            "- **What the store learns**: a door that accepts it identifies the shopper to that store: it "
            "records a visit there and answers with the shopper's pseudonymous reference for that operator.\n"
            "- **Where it works**: any operator's doors, unless `operator` names one; other operators' doors "
            "then refuse it with `403 pass_wrong_operator`, learn nothing about the shopper and leave the "
            "pass unused."
        ),
    )
    def post(self, request):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = entry_pass_issue(
            shopper=request.user, channel=Channel.APP, operator=serializer.validated_data.get("operator")
        )
        return Response(
            self.OutputSerializer(issued, context={"qr": query.validated_data["qr"]}).data,
            status=status.HTTP_201_CREATED,
        )


class EntryPassRevokeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="entry_pass_revoke", request=None, responses={204: None, **errors(401, 404)})
    def post(self, request, entry_pass_id: int):
        entry_pass = entry_pass_get_for_shopper(shopper=request.user, pk=entry_pass_id)
        entry_pass_revoke(entry_pass=entry_pass, channel=Channel.APP)
        return Response(status=status.HTTP_204_NO_CONTENT)
