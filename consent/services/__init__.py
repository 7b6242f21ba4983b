"""Writes for consent: notices, consents and entry passes."""

from consent.services.consents import (
    ConsentEnded,
    ConsentsWithdrawn,
    NoticeShown,
    consent_answer,
    consent_end_not_recognised,
    consent_expire_due,
    consent_give,
    consent_reaffirm,
    consent_refuse,
    consent_withdraw,
    consents_end_below_minimum_age,
    consents_withdraw_all,
    notice_shown_record,
)
from consent.services.entry_passes import (
    EntryPassesPurged,
    IssuedEntryPass,
    entry_pass_issue,
    entry_pass_revoke,
    entry_pass_use,
    entry_passes_purge,
)
from consent.services.notices import notice_version_create_draft, notice_version_publish, notice_version_update_draft

__all__ = [
    "ConsentEnded",
    "ConsentsWithdrawn",
    "EntryPassesPurged",
    "IssuedEntryPass",
    "NoticeShown",
    "consent_answer",
    "consent_end_not_recognised",
    "consent_expire_due",
    "consent_give",
    "consent_reaffirm",
    "consent_refuse",
    "consent_withdraw",
    "consents_end_below_minimum_age",
    "consents_withdraw_all",
    "entry_pass_issue",
    "entry_pass_revoke",
    "entry_pass_use",
    "entry_passes_purge",
    "notice_shown_record",
    "notice_version_create_draft",
    "notice_version_publish",
    "notice_version_update_draft",
]
