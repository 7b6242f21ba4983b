"""JSON API for the shopper's feed: the notifications doors left, how many are unread, marking them read."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import JsonBooleanField, errors
from core.models import Channel
from core.pagination import PageNumberPagination
from stores.feed.selectors import notification_list_for_shopper, notification_unread_count
from stores.feed.services import MAX_IDS_PER_CALL, notifications_mark_read
from stores.models import Notification, Visit

NOTICE_FIELDS = ("title", "purpose", "method", "retention", "rights", "contact")


class NotificationNoticeSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The notice version's number.")
    notice_version = serializers.IntegerField(help_text="Its id, as GET /api/v1/operators/{slug}/notices lists it.")
    title = serializers.CharField()
    purpose = serializers.CharField()
    method = serializers.CharField()
    retention = serializers.CharField()
    rights = serializers.CharField()
    contact = serializers.CharField()


class NotificationOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    kind = serializers.ChoiceField(
        choices=Notification.Kind.choices,
        help_text="recognised: a door recognised the face (alone or with an entry pass); entry_pass: an entry "
        "pass let the shopper in without the face.",
    )
    at = serializers.DateTimeField(source="created_at", help_text="When the door let the shopper in.")
    read = serializers.BooleanField(source="is_read")
    first_visit = serializers.BooleanField(help_text="The shopper's first visit to this store.")
    store = serializers.CharField(source="visit.store.name")
    operator = serializers.CharField(source="visit.store.operator.name", help_text="The operator's name.")
    door = serializers.CharField(source="visit.device.name", help_text="The name of the door (device).")
    method = serializers.ChoiceField(choices=Visit.Method.choices, source="visit.method")
    notice = serializers.SerializerMethodField(
        help_text="A first recognised visit only: the collection notice the door showed, in the shopper's "
        "language; null otherwise."
    )

    class Meta:
        model = Notification
        fields = ["id", "kind", "at", "read", "first_visit", "store", "operator", "door", "method", "notice"]

    @extend_schema_field(NotificationNoticeSerializer(allow_null=True))
    def get_notice(self, notification: Notification) -> dict | None:
        version = notification.notice_version
        if version is None:
            return None
        language = self.context["language"]
        return {
            "version": version.version,
            "notice_version": version.pk,
            **{field: version.text(field, language) for field in NOTICE_FIELDS},
        }


class UnreadSerializer(serializers.Serializer):
    unread = serializers.IntegerField(help_text="How many of the shopper's notifications are unread.")


class NotificationListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="notification_list",
        responses={
            200: inline_serializer(
                name="NotificationPage",
                fields={
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": NotificationOutputSerializer(many=True),
                    "unread": serializers.IntegerField(help_text="How many are unread, on every page."),
                },
            ),
            **errors(401, 404),
        },
        description=(
            "Each time a door recognised the shopper or an entry pass let them in, newest first, with the "
            "number unread. Reading the list marks nothing read: POST /api/v1/me/notifications/read does. A page "
            "past the last: `404 not_found`."
        ),
    )
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(notification_list_for_shopper(shopper=request.user), request, view=self)
        context = {"language": request.user.language}
        response = paginator.get_paginated_response(NotificationOutputSerializer(page, many=True, context=context).data)
        response.data["unread"] = notification_unread_count(shopper=request.user)
        return response


class NotificationUnreadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="notification_unread",
        responses={200: UnreadSerializer, **errors(401)},
        description="How many notifications are unread: one count, cheap enough for the app to poll.",
    )
    def get(self, request):
        return Response({"unread": notification_unread_count(shopper=request.user)})


class NotificationReadApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        ids = serializers.ListField(
            child=serializers.UUIDField(),
            required=False,
            help_text=f"The notifications to mark read (at most {MAX_IDS_PER_CALL}).",
        )
        all = JsonBooleanField(required=False, default=False, help_text="Mark every notification read.")

    class OutputSerializer(serializers.Serializer):
        marked = serializers.IntegerField(help_text="How many were unread and are read now.")
        unread = serializers.IntegerField(help_text="How many are still unread.")

    @extend_schema(
        operation_id="notification_read",
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 401, 404)},
        description=(
            "Marks notifications read: those named by `ids`, or every one with `all: true`. Send one or the "
            "other: `400 notification_ids_or_all`. An id that is not one of the shopper's notifications: "
            "`404 notification_not_found`, and nothing is marked. More than "
            f"{MAX_IDS_PER_CALL} ids: `400 too_many_notification_ids`."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        marked = notifications_mark_read(
            shopper=request.user, channel=Channel.APP, ids=data.get("ids"), read_all=data["all"]
        )
        return Response({"marked": marked, "unread": notification_unread_count(shopper=request.user)})
