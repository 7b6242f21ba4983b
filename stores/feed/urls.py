"""API routes for the shopper's feed (mounted under /api/v1/)."""

from django.urls import path

from stores.feed import apis

urlpatterns = [
    path("me/notifications", apis.NotificationListApi.as_view(), name="notification_list"),
    path("me/notifications/unread", apis.NotificationUnreadApi.as_view(), name="notification_unread"),
    path("me/notifications/read", apis.NotificationReadApi.as_view(), name="notification_read"),
]
