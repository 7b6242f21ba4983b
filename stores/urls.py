"""The device API and the operators (mounted under /api/v1/)."""

from django.urls import path

from stores import apis
from stores.footprint import apis as footprint_apis

urlpatterns = [
    path("device/match", apis.DeviceMatchApi.as_view(), name="device_match"),
    path("device/entry-pass", apis.DeviceEntryPassApi.as_view(), name="device_entry_pass"),
    path("device/events", footprint_apis.DeviceEventsApi.as_view(), name="device_events"),
    path("operators", apis.OperatorListApi.as_view(), name="operator_list"),
    path("operators/<slug:slug>/notices", apis.OperatorNoticesApi.as_view(), name="operator_notices"),
]
