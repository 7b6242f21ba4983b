"""API routes for notices, consents and entry passes (mounted under /api/v1/; an operator's notices are
listed under stores' operator routes)."""

from django.urls import path

from consent import apis

urlpatterns = [
    path("notices/<int:notice_version_id>/shown", apis.NoticeShownApi.as_view(), name="notice_shown"),
    path("consents", apis.ConsentListApi.as_view(), name="consent_list"),
    path("consents/refuse", apis.ConsentRefuseApi.as_view(), name="consent_refuse"),
    path("consents/withdraw-all", apis.ConsentWithdrawAllApi.as_view(), name="consent_withdraw_all"),
    path("consents/<uuid:public_id>", apis.ConsentDetailApi.as_view(), name="consent_detail"),
    path("consents/<uuid:public_id>/withdraw", apis.ConsentWithdrawApi.as_view(), name="consent_withdraw"),
    path("consents/<uuid:public_id>/reaffirm", apis.ConsentReaffirmApi.as_view(), name="consent_reaffirm"),
    path("consent-events", apis.ConsentEventListApi.as_view(), name="consent_event_list"),
    path("entry-passes", apis.EntryPassIssueApi.as_view(), name="entry_pass_issue"),
    path("entry-passes/<int:entry_pass_id>/revoke", apis.EntryPassRevokeApi.as_view(), name="entry_pass_revoke"),
]
