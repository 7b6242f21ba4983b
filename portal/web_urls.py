"""Shopper web pages."""

from django.urls import path

from portal import (
    account_views,
    consent_views,
    export_views,
    face_views,
    footprint_views,
    notification_views,
    simulator_views,
    views,
)
from portal.privacy import views as privacy_views
from portal.staff import console_views
from portal.staff import views as staff_views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("verify-email/", views.verify_email, name="verify_email"),
    path("verify-email/resend/", views.verify_email_resend, name="verify_email_resend"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password-reset/", views.password_reset, name="password_reset"),
    path("password-reset/<uidb64>/<token>/", views.password_reset_confirm_view, name="password_reset_confirm"),
    path("profile/", views.profile, name="profile"),
    path("profile/password/", account_views.password_change_view, name="password_change"),
    path("profile/delete/", account_views.account_delete_view, name="account_delete"),
    path("profile/email/", account_views.email_change_view, name="email_change"),
    path("profile/email/confirm/", account_views.email_change_confirm_view, name="email_change_confirm"),
    path("profile/email/cancel/", account_views.email_change_cancel_view, name="email_change_cancel"),
    path("profile/requests/", privacy_views.privacy_requests_view, name="privacy_requests"),
    path("access/<str:token>/", privacy_views.access_link_view, name="access_link"),
    path("profile/sessions/", account_views.sessions_view, name="sessions"),
    path("profile/sessions/sign-out-others/", account_views.sessions_sign_out_others, name="sessions_sign_out_others"),
    path(
        "profile/sessions/web/<int:session_id>/sign-out/",
        account_views.web_session_sign_out,
        name="web_session_sign_out",
    ),
    path("profile/sessions/app/<int:token_id>/sign-out/", account_views.api_token_sign_out, name="api_token_sign_out"),
    path("consents/", consent_views.consent_overview, name="consents"),
    path("consents/withdraw-all/", consent_views.consent_withdraw_all_view, name="consent_withdraw_all"),
    path("consents/<slug:slug>/<str:purpose>/decide/", consent_views.consent_decide, name="consent_decide"),
    path("consents/<uuid:public_id>/withdraw/", consent_views.consent_withdraw_view, name="consent_withdraw"),
    path("consents/<uuid:public_id>/reaffirm/", consent_views.consent_reaffirm_view, name="consent_reaffirm"),
    path("consents/<uuid:public_id>/receipt/", consent_views.consent_receipt_download, name="consent_receipt"),
    path("entry-pass/", consent_views.entry_pass, name="entry_pass"),
    path("footprint/", footprint_views.footprint, name="footprint"),
    path("footprint/export/", export_views.export_download, name="export"),
    path("footprint/delete/", footprint_views.footprint_delete_view, name="footprint_delete"),
    path("notifications/", notification_views.notifications, name="notifications"),
    path("notifications/read-all/", notification_views.notifications_read_all, name="notifications_read_all"),
    path("face/", face_views.face, name="face"),
    path("face/enroll/", face_views.face_enroll, name="face_enroll"),
    path("face/delete/", face_views.face_delete, name="face_delete"),
    path("operators/<slug:slug>/retention/", consent_views.operator_retention, name="operator_retention"),
    path("operators/<slug:slug>/notices/<int:pk>/", consent_views.notice_version_public, name="notice_version"),
    path("simulator/", simulator_views.simulator, name="simulator"),
    path("staff/second-factor/", staff_views.second_factor, name="staff_second_factor"),
    path("staff/", console_views.dashboard, name="staff_dashboard"),
    path("staff/requests/", console_views.request_queue, name="staff_requests"),
    path("staff/shoppers/", console_views.shopper_search, name="staff_shoppers"),
    path("staff/audit/", console_views.audit_log, name="staff_audit"),
    path("staff/shoppers/<uuid:public_id>/", console_views.shopper_record_view, name="staff_shopper"),
    path("staff/requests/new/", console_views.request_open, name="staff_request_open"),
    path("staff/requests/<uuid:public_id>/", console_views.request_detail, name="staff_request"),
    path("staff/requests/<uuid:public_id>/send-code/", console_views.request_send_code, name="staff_request_send_code"),
    path("staff/requests/<uuid:public_id>/verify/", console_views.request_verify, name="staff_request_verify"),
    path("staff/requests/<uuid:public_id>/start/", console_views.request_start, name="staff_request_start"),
    path("staff/requests/<uuid:public_id>/deliver/", console_views.request_deliver, name="staff_request_deliver"),
    path("staff/requests/<uuid:public_id>/refuse/", console_views.request_refuse, name="staff_request_refuse"),
    path("staff/second-factor/setup/", staff_views.second_factor_setup, name="staff_second_factor_setup"),
]
