"""`POST /api/v1/device/events`: a store device's batch of events about visits, each answered on its own."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.api import FieldErrorsField, errors
from core.errors import ValidationFailed
from core.exception_handler import field_errors
from stores.apis import DeviceApi
from stores.footprint.services import (
    MAX_EVENTS,
    OUTCOMES,
    EventOutcome,
    Outcome,
    ReportedEvent,
    ReportedItem,
    store_events_record,
)
from stores.models import StoreEvent

# Most lines in one purchase.
MAX_ITEMS = 200
MAX_QUANTITY = 10_000
# A day at one shelf is already more than anyone stands there.
MAX_DWELL_SECONDS = 24 * 60 * 60
# What each kind carries beyond the common fields; anything else is refused, not ignored.
KIND_FIELDS = {
    StoreEvent.Kind.EXIT: set(),
    StoreEvent.Kind.SHELF_DWELL: {"shelf", "seconds"},
    StoreEvent.Kind.PURCHASE: {"items", "total", "currency"},
    StoreEvent.Kind.NOTICE_SHOWN: {"notice_version"},
}
COMMON_FIELDS = {"event_id", "visit_id", "kind", "occurred_at"}


class PurchaseItemSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)


class EventSerializer(serializers.Serializer):
    event_id = serializers.RegexField(
        r"^[A-Za-z0-9._:-]{1,64}$",
        help_text="The device's own id for this event (letters, digits, . _ : -): sent again, it is stored once.",
    )
    visit_id = serializers.UUIDField(help_text="The `visit_id` the door's match or entry pass answered.")
    kind = serializers.ChoiceField(choices=StoreEvent.Kind.choices)
    occurred_at = serializers.DateTimeField(help_text="When it happened (ISO 8601 with a time zone).")
    shelf = serializers.CharField(max_length=64, required=False, help_text="shelf_dwell: the shelf's id.")
    seconds = serializers.IntegerField(
        min_value=1, max_value=MAX_DWELL_SECONDS, required=False, help_text="shelf_dwell: how long, in seconds."
    )
    items = PurchaseItemSerializer(
        many=True, required=False, max_length=MAX_ITEMS, help_text="purchase: what was bought."
    )
    total = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, help_text="purchase: the sum of its items."
    )
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, help_text="purchase: ISO 4217 code, e.g. CNY.")
    notice_version = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="notice_shown: the `notice_version` the match answered with `first_visit`, once the door showed it.",
    )

    def validate(self, attrs):
        wanted = KIND_FIELDS[attrs["kind"]]
        unexpected = sorted(set(self.initial_data) - COMMON_FIELDS - wanted)
        if unexpected:
            raise serializers.ValidationError(
                {name: [_("Not a field of this kind of event.")] for name in unexpected}, code="invalid"
            )
        missing = sorted(wanted - set(attrs))
        if missing:
            raise serializers.ValidationError({name: [_("This field is required.")] for name in missing})
        return attrs


class InputSerializer(serializers.Serializer):
    events = serializers.ListField(
        child=serializers.JSONField(),
        min_length=1,
        help_text=f"1-{MAX_EVENTS} events; each is kept, dropped or refused on its own.",
    )


class EventsRequestSerializer(serializers.Serializer):
    """The request as documented: each event's fields. The view reads the list loosely and checks each event
    on its own, so one bad event is refused alone."""

    events = EventSerializer(many=True, min_length=1, max_length=MAX_EVENTS)


class EventErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = FieldErrorsField()


class EventResultSerializer(serializers.Serializer):
    event_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=OUTCOMES)
    error = EventErrorSerializer(required=False)
    for_offers = serializers.BooleanField(
        required=False,
        help_text="Purchases only (stored or already stored): whether the store may use it to choose offers for "
        "the shopper (their `personalised_offers` consent to this operator is active and was given before the "
        "purchase). A withdrawal ends it for every purchase at once; send a purchase again to ask anew.",
    )


class EventsAnswerSerializer(serializers.Serializer):
    results = EventResultSerializer(many=True, help_text="One per event sent, in the order sent.")
    stored = serializers.IntegerField()
    already_stored = serializers.IntegerField()
    dropped = serializers.IntegerField()
    refused = serializers.IntegerField()


class DeviceEventsApi(DeviceApi):
    @extend_schema(
        operation_id="device_events",
        request=EventsRequestSerializer,
        responses={200: EventsAnswerSerializer, 207: EventsAnswerSerializer, **errors(400, 401, 403, 413, 415)},
        description=(
            "Report what happened during visits at this device's store: `exit`, `shelf_dwell` (shelf, seconds), "
            "`purchase` (items with quantity and unit price, total, currency), and `notice_shown` (the door showed "
            "the collection notice of a `first_visit`, naming its `notice_version`), each tied to the `visit_id` a "
            "match or an entry pass answered. Each event is answered on its own, in order: `stored`; "
            "`already_stored` (this device sent its `event_id` before: nothing is stored twice); `dropped` (an exit "
            "or shelf dwell of a shopper whose `store_analytics` consent to this operator is not active: not "
            "kept, only counted per device and day); or `refused` with its error code (`visit_unknown`, "
            "`visit_other_store`, `event_time_invalid`, `visit_already_exited`, `purchase_total_mismatch`, "
            "`notice_not_due`, `notice_version_mismatch`, `notice_already_confirmed`, or `invalid` with the fields). "
            "A purchase (stored or already stored) says `for_offers`: whether the store may use it to choose "
            "offers for the shopper; sending it again asks anew. "
            "200 when none is refused, 207 when some are."
        ),
    )
    def post(self, request):
        data = self.payload(request, InputSerializer)
        if len(data["events"]) > MAX_EVENTS:
            raise ValidationFailed(
                _("Send at most %(count)d events at once.") % {"count": MAX_EVENTS}, code="too_many_events"
            )
        results: list[dict | None] = []
        valid: list[ReportedEvent] = []
        for sent in data["events"]:
            event = EventSerializer(data=sent) if isinstance(sent, dict) else None
            if event is None or not event.is_valid():
                detail = event.errors if event is not None else {"non_field_errors": [_("An event is an object.")]}
                results.append(_refused_invalid(sent, detail))
                continue
            results.append(None)
            valid.append(_reported(event.validated_data))
        outcomes = iter(store_events_record(device=request.auth, events=valid) if valid else [])
        answered = [result if result is not None else _result(next(outcomes)) for result in results]
        counts = {status: sum(result["status"] == status for result in answered) for status in OUTCOMES}
        return Response({"results": answered, **counts}, status=207 if counts[Outcome.REFUSED] else 200)


def _reported(data: dict) -> ReportedEvent:
    return ReportedEvent(
        event_id=data["event_id"],
        visit_id=data["visit_id"],
        kind=data["kind"],
        occurred_at=data["occurred_at"],
        shelf=data.get("shelf", ""),
        dwell_seconds=data.get("seconds"),
        items=tuple(ReportedItem(**item) for item in data.get("items", [])),
        total=data.get("total"),
        currency=data.get("currency", ""),
        notice_version=data.get("notice_version"),
    )


def _result(outcome: EventOutcome) -> dict:
    result = {"event_id": outcome.event_id, "status": outcome.status}
    if outcome.error is not None:
        result["error"] = {"code": outcome.error.code, "message": outcome.error.message, "fields": {}}
    if outcome.for_offers is not None:
        result["for_offers"] = outcome.for_offers
    return result


def _refused_invalid(sent, detail) -> dict:
    event_id = sent.get("event_id") if isinstance(sent, dict) else None
    return {
        "event_id": event_id if isinstance(event_id, str) and len(event_id) <= 64 else None,
        "status": Outcome.REFUSED,
        "error": {"code": "invalid", "message": _("Some fields are not valid."), "fields": field_errors(detail)},
    }
