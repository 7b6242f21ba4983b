"""Every URL of FaceConsent: pages, /api/v1/, the schema and /healthz."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from portal import account_apis, apis, export_views, footprint_apis, views
from portal.api_docs import api_docs, error_codes
from portal.health import healthz
from portal.privacy import apis as privacy_apis

api_v1 = [
    path("auth/register", apis.RegisterApi.as_view(), name="register"),
    path("auth/verify-email", apis.EmailVerifyApi.as_view(), name="verify_email"),
    path("auth/verify-email/resend", apis.EmailVerifyResendApi.as_view(), name="verify_email_resend"),
    path("auth/login", apis.LoginApi.as_view(), name="login"),
    path("auth/logout", apis.LogoutApi.as_view(), name="logout"),
    path("auth/password-reset", apis.PasswordResetApi.as_view(), name="password_reset"),
    path("auth/password-reset/confirm", apis.PasswordResetConfirmApi.as_view(), name="password_reset_confirm"),
    path("me", apis.ProfileApi.as_view(), name="profile"),
    path("me/password", account_apis.PasswordChangeApi.as_view(), name="password_change"),
    path("me/delete", account_apis.AccountDeleteApi.as_view(), name="account_delete"),
    path("me/requests", privacy_apis.PrivacyRequestsApi.as_view(), name="privacy_requests"),
    path("me/requests/<uuid:public_id>", privacy_apis.PrivacyRequestApi.as_view(), name="privacy_request"),
    path("me/footprint", footprint_apis.FootprintApi.as_view(), name="footprint"),
    path("me/export", export_views.ExportApi.as_view(), name="export"),
    path("me/footprint/delete", footprint_apis.FootprintDeleteApi.as_view(), name="footprint_delete"),
    path("me/footprint/visits/<uuid:visit_id>", footprint_apis.FootprintVisitDeleteApi.as_view(), name="visit_delete"),
    path("me/footprint/events/<uuid:event_id>", footprint_apis.FootprintEventDeleteApi.as_view(), name="event_delete"),
    path("me/email", account_apis.EmailChangeApi.as_view(), name="email_change"),
    path("me/email/confirm", account_apis.EmailChangeConfirmApi.as_view(), name="email_change_confirm"),
    path("me/sessions", account_apis.SignedInListApi.as_view(), name="sessions"),
    path("me/sessions/revoke-others", account_apis.SignedInRevokeOthersApi.as_view(), name="sessions_revoke_others"),
    path(
        "me/sessions/web/<int:session_id>/revoke", account_apis.WebSessionRevokeApi.as_view(), name="web_session_revoke"
    ),
    path("me/sessions/app/<int:token_id>/revoke", account_apis.ApiTokenRevokeApi.as_view(), name="api_token_revoke"),
    path("", include("consent.urls")),
    path("consents/<uuid:public_id>/receipt", apis.ConsentReceiptApi.as_view(), name="consent_receipt"),
    path("", include("biometrics.urls")),
    path("", include("stores.urls")),
    path("", include("stores.feed.urls")),
]

urlpatterns = [
    path("", include("portal.web_urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", api_docs, name="api_docs"),
    path("api/errors/", error_codes, name="api_errors"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("i18n/setlang/", views.language_switch, name="set_language"),
    path("admin/", admin.site.urls),
]

handler400 = "core.exception_handler.bad_request_view"
handler403 = "core.exception_handler.permission_denied_view"
handler404 = "core.exception_handler.not_found_view"
handler500 = "core.exception_handler.server_error_view"
