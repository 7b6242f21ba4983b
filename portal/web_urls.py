"""Shopper web pages."""

from django.urls import path

from portal import consent_views, face_views, simulator_views, views

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
    path("consents/", consent_views.consent_overview, name="consents"),
    path("consents/withdraw-all/", consent_views.consent_withdraw_all_view, name="consent_withdraw_all"),
    path("consents/<slug:slug>/<str:purpose>/decide/", consent_views.consent_decide, name="consent_decide"),
    path("consents/<uuid:public_id>/withdraw/", consent_views.consent_withdraw_view, name="consent_withdraw"),
    path("consents/<uuid:public_id>/reaffirm/", consent_views.consent_reaffirm_view, name="consent_reaffirm"),
    path("consents/<uuid:public_id>/receipt/", consent_views.consent_receipt_download, name="consent_receipt"),
    path("entry-pass/", consent_views.entry_pass, name="entry_pass"),
    path("face/", face_views.face, name="face"),
    path("face/enroll/", face_views.face_enroll, name="face_enroll"),
    path("face/delete/", face_views.face_delete, name="face_delete"),
    path("operators/<slug:slug>/retention/", consent_views.operator_retention, name="operator_retention"),
    path("operators/<slug:slug>/notices/<int:pk>/", consent_views.notice_version_public, name="notice_version"),
    path("simulator/", simulator_views.simulator, name="simulator"),
]
