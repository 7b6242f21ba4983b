"""`GET /api/v1/me/footprint`: the shopper's footprint as a timeline of visits, newest first (F2)."""

from __future__ import annotations

from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import pagination, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import JsonBooleanField, errors
from core.time_zones import time_zone_for
from stores.footprint.selectors import KINDS, FootprintFilters, day_bounds, footprint_events_attach, footprint_visits
from stores.footprint.services import footprint_delete
from stores.models import Store, StoreEvent, Visit


class FootprintPagination(pagination.CursorPagination):
    """Newest first, by position rather than page number: the first page costs the same at any size."""

    ordering = ("-entered_at", "-id")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class FilterSerializer(serializers.Serializer):
    operator = serializers.SlugField(required=False, help_text="Only this operator's stores (its slug).")
    store = serializers.SlugField(required=False, help_text="Only stores with this slug.")
    kind = serializers.ChoiceField(
        choices=KINDS,
        required=False,
        help_text="How the shopper came in (face, face_and_pass, entry_pass), or visits holding an event of "
        "this kind, showing those events only.",
    )
    date_from = serializers.DateField(required=False, help_text="First day, in the shopper's time zone.")
    date_to = serializers.DateField(required=False, help_text="Last day, in the shopper's time zone.")

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": [_("The last day comes before the first.")]}, code="invalid")
        return attrs


class PurchaseItemOutputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)


class EventOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    kind = serializers.ChoiceField(choices=StoreEvent.Kind.choices)
    occurred_at = serializers.DateTimeField()
    shelf = serializers.CharField()
    seconds = serializers.IntegerField(source="dwell_seconds", allow_null=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    items = PurchaseItemOutputSerializer(many=True, source="item_list")
    notice_version = serializers.IntegerField(source="notice_version.version", allow_null=True, default=None)
    for_offers = serializers.BooleanField(
        help_text="A purchase the store may use to choose offers for you: your `personalised_offers` consent to "
        "its operator is active and was given before it. Withdrawing ends it for every purchase at once."
    )


class NoticeVersionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    title = serializers.SerializerMethodField()

    def get_title(self, version) -> str:
        return version.title_zh_hans if (get_language() or "").startswith("zh") else version.title_en


class MatchOutputSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=Store.Mode.choices)
    occurred_at = serializers.DateTimeField()
    consent = serializers.UUIDField(source="consent.public_id", help_text="The consent that allowed it.")
    notice_version = NoticeVersionRefSerializer(help_text="The notice version that consent rests on.")


class VisitOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    operator = serializers.CharField(source="store.operator.name")
    store = serializers.CharField(source="store.name")
    door = serializers.CharField(source="device.name")
    method = serializers.ChoiceField(choices=Visit.Method.choices)
    entered_at = serializers.DateTimeField()
    exited_at = serializers.DateTimeField(allow_null=True)
    first_visit = serializers.BooleanField()
    notice_shown_at = serializers.DateTimeField(allow_null=True)
    match = serializers.SerializerMethodField()
    events = EventOutputSerializer(many=True, source="event_list")

    @extend_schema_field(MatchOutputSerializer(allow_null=True))
    def get_match(self, visit):
        match = getattr(visit, "match_event", None)
        return MatchOutputSerializer(match).data if match is not None else None


def footprint_filters(data: dict, *, shopper) -> FootprintFilters:
    return FootprintFilters(
        operator=data.get("operator"),
        store=data.get("store"),
        kind=data.get("kind"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        time_zone=time_zone_for(shopper=shopper),
    )


class FootprintApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="footprint",
        parameters=[FilterSerializer, OpenApiParameter("cursor", str, description="From `next` or `previous`.")],
        responses={
            200: inline_serializer(
                "FootprintPage",
                {
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": VisitOutputSerializer(many=True),
                },
            ),
            **errors(400, 401, 404),
        },
        description=(
            "Every visit the operators' stores recorded about the shopper, newest first: store, door, time, how "
            "they came in (face, face and entry pass, entry pass alone), the match and the consent and notice "
            "version that allowed it, and what the store's devices reported (exit, shelf dwell, purchases with "
            "their lines, the collection notice shown). Paginated by cursor: follow `next`."
        ),
    )
    def get(self, request):
        given = FilterSerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        visits = footprint_visits(
            shopper=request.user, filters=footprint_filters(given.validated_data, shopper=request.user)
        )
        paginator = FootprintPagination()
        page = footprint_events_attach(
            paginator.paginate_queryset(visits, request, view=self), kind=given.validated_data.get("kind")
        )
        return paginator.get_paginated_response(VisitOutputSerializer(page, many=True).data)


class DeletionReceiptSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["event", "visit", "range", "all"])
    counts = inline_serializer(
        "DeletionCounts",
        {
            "visits": serializers.IntegerField(),
            "match_events": serializers.IntegerField(),
            "store_events": serializers.IntegerField(),
            "purchase_items": serializers.IntegerField(),
        },
    )
    deleted_at = serializers.DateTimeField()


class DeleteInputSerializer(serializers.Serializer):
    all = JsonBooleanField(required=False, help_text="Delete the whole footprint.")
    date_from = serializers.DateField(required=False, help_text="Or the visits from this day (your time zone) ...")
    date_to = serializers.DateField(required=False, help_text="... to this day, included.")

    def validate(self, attrs):
        if attrs.get("all") and (attrs.get("date_from") or attrs.get("date_to")):
            raise serializers.ValidationError(
                {"all": [_("Delete everything, or some days: not both.")]}, code="invalid"
            )
        return attrs


def deletion_answer(receipt) -> Response:
    return Response(
        DeletionReceiptSerializer(
            {"scope": receipt.scope, "counts": receipt.counts, "deleted_at": receipt.deleted_at}
        ).data
    )


class FootprintDeleteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="footprint_delete",
        request=DeleteInputSerializer,
        responses={200: DeletionReceiptSerializer, **errors(400, 401)},
        description="Delete the whole footprint (`all`), or the visits of some days, with everything in them. "
        "Answers the deletion receipt (also mailed): what went, by category, and when.",
    )
    def post(self, request):
        given = DeleteInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        since, until = day_bounds(data.get("date_from"), data.get("date_to"), time_zone_for(shopper=request.user))
        receipt = footprint_delete(
            shopper=request.user, channel="app", since=since, until=until, everything=bool(data.get("all"))
        )
        return deletion_answer(receipt)


class FootprintVisitDeleteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="footprint_visit_delete",
        request=None,
        responses={200: DeletionReceiptSerializer, **errors(401, 404)},
        description="Delete one visit with everything in it (its match, events and purchases).",
    )
    def delete(self, request, visit_id):
        return deletion_answer(footprint_delete(shopper=request.user, channel="app", visit_id=visit_id))


class FootprintEventDeleteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="footprint_event_delete",
        request=None,
        responses={200: DeletionReceiptSerializer, **errors(401, 404)},
        description="Delete one event a store reported (an exit, a shelf dwell, a purchase with its lines).",
    )
    def delete(self, request, event_id):
        return deletion_answer(footprint_delete(shopper=request.user, channel="app", event_id=event_id))
