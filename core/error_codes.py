"""Every error code the API answers, with its HTTP status and what it means to a developer.

The codes are raised where they are decided (services, selectors, authentication); this is the
list `/api/errors/` shows. `tests/core/test_error_codes.py` reads the source for every code raised
and fails on a code missing here, or listed here and raised nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    code: str
    statuses: tuple[int, ...]
    meaning: str
    group: str


_GROUPS: dict[str, list[tuple[str, tuple[int, ...], str]]] = {
    "Any request": [
        ("invalid", (400,), "A field is missing or not valid; fields names each one with its own code."),
        ("bad_request", (400,), "The request could not be read at all."),
        ("malformed_body", (400,), "The body could not be parsed in its declared content type."),
        ("malformed_json", (400,), "The body is not valid JSON."),
        ("json_too_deep", (400,), "The JSON body nests deeper than the API accepts."),
        ("too_many_fields", (400,), "A form body holds more fields than the API accepts."),
        ("too_many_files", (400,), "A multipart body holds more files than the API accepts."),
        ("read_only", (400,), "The body sets a field that cannot be changed here."),
        ("not_authenticated", (401,), "The operation needs a signed-in shopper (a bearer token or a session)."),
        ("authentication_failed", (401,), "The credentials sent could not be checked."),
        ("csrf_failed", (403,), "A session-authenticated write came without a valid CSRF token."),
        ("forbidden", (403,), "The caller may not do this."),
        ("not_found", (404,), "No such address or object (or not one the caller may see)."),
        ("method_not_allowed", (405,), "The address does not answer this HTTP method."),
        ("not_acceptable", (406,), "The API cannot answer in the media type the Accept header asks for."),
        ("conflict", (409,), "The request conflicts with the current state."),
        ("gone", (410,), "What the request names existed but is no longer available (a spent or expired link)."),
        ("payload_too_large", (413,), "The request body is larger than the API accepts."),
        ("unsupported_media_type", (415,), "The body's content type is not accepted; accepted lists those that are."),
        ("throttled", (429,), "Too many requests; Retry-After says when to try again."),
        ("too_many_requests", (429,), "Too many requests; Retry-After says when to try again."),
        ("service_unavailable", (503,), "A service the operation needs is down; try again later."),
        ("server_error", (500,), "A fault on our side; it is logged. Please report it with the time of the request."),
    ],
    "Accounts and app tokens": [
        ("email_taken", (409,), "An account already uses this email address."),
        ("password_too_weak", (400,), "The password fails the password rules; the message says which."),
        ("invalid_date_of_birth", (400,), "The date of birth is in the future or implausibly far back."),
        ("invalid_credentials", (401,), "The email or the password is wrong (the answer never says which)."),
        (
            "too_many_login_attempts",
            (429,),
            "Too many failed logins (or wrong current passwords) from this address or for this account.",
        ),
        ("account_disabled", (401,), "The account has been disabled."),
        ("token_malformed", (401,), "The Authorization header is not Bearer <token>."),
        ("token_invalid", (401,), "No such app token."),
        ("token_revoked", (401,), "The app token was revoked (logout, password change or reset, or by the shopper)."),
        ("token_expired", (401,), "The app token has expired; log in again."),
        ("email_already_verified", (409,), "The address is already verified."),
        ("email_not_verified", (403,), "The operation needs a verified email address."),
        ("verification_code_invalid", (400,), "The verification code is wrong."),
        ("verification_code_expired", (400,), "The verification code has expired; ask for a new one."),
        ("verification_attempts_exceeded", (429,), "Too many wrong codes; ask for a new one."),
        ("verification_resend_too_soon", (429,), "A code was sent less than a minute ago."),
        ("password_reset_too_often", (429,), "Password reset mails for this address are limited; try later."),
        ("reset_link_invalid", (400,), "The password reset link is wrong, used or expired."),
        ("unknown_time_zone", (400,), "The time zone is not an IANA name the server knows (Asia/Shanghai is one)."),
        (
            "footprint_retention_unknown",
            (400,),
            "Keep visit records for 3, 18 or 36 months, or 0 for the store operator's period; nothing else.",
        ),
        (
            "current_password_wrong",
            (400,),
            "The current password, asked for to change the password or email or to delete the account, is wrong.",
        ),
        ("email_unchanged", (400,), "The new email address is the account's address already."),
        ("email_change_too_often", (429,), "Email changes for this account are limited; try later."),
        ("email_change_code_invalid", (400,), "The code for the new email address is wrong."),
        ("email_change_code_expired", (400,), "The code for the new email address has expired; ask again."),
        ("email_change_attempts_exceeded", (429,), "Too many wrong codes for the new email address; ask again."),
        ("email_change_not_pending", (409,), "No email change is waiting for a code."),
        ("session_not_found", (404,), "No such signed-in browser of this shopper."),
        ("token_not_found", (404,), "No such signed-in app of this shopper."),
        (
            "staff_account_not_deletable",
            (403,),
            "A staff account cannot delete itself from the portal or the app; an administrator closes it.",
        ),
    ],
    "Notices and consent": [
        ("unknown_purpose", (400,), "No such purpose; see the operator's notices for the purposes it asks."),
        ("operator_not_found", (404,), "No such operator."),
        ("notice_not_found", (404,), "No such notice."),
        ("notice_version_not_found", (404,), "No such notice version."),
        ("notice_version_not_published", (400, 409), "The notice version is a draft, not shown to shoppers."),
        ("notice_version_mismatch", (400,), "The notice version belongs to another operator or purpose."),
        (
            "notice_version_superseded",
            (409,),
            "A newer version of the notice is published; current_notice_version is the one to show and answer.",
        ),
        ("notice_draft_exists", (409,), "The notice already has a draft; edit that one."),
        ("notice_version_immutable", (409,), "A published notice version cannot be changed; draft a new one."),
        (
            "consent_event_immutable",
            (409,),
            "A consent event is append-only: it cannot be changed or deleted (never raised by an API today).",
        ),
        ("decision_required", (400,), "The answer must say whether the shopper gives or refuses consent."),
        ("language_unsupported", (400,), "A receipt's lang is not a language receipts are written in (en, zh-hans)."),
        ("consent_not_found", (404,), "No such consent for this shopper."),
        ("consent_already_active", (409,), "The shopper already has an active consent for this purpose."),
        (
            "reaffirm_too_early",
            (409,),
            "A consent can be reaffirmed only in its last days; reaffirm_from says from when.",
        ),
        ("consent_not_active", (409,), "The consent is not active; status says what it is (withdrawn, expired ...)."),
        ("under_minimum_age", (403,), "The shopper is younger than the minimum age for this purpose."),
    ],
    "Entry passes": [
        ("entry_pass_not_found", (404,), "No such entry pass for this shopper."),
        ("pass_invalid", (403,), "The entry pass token is not one we issued."),
        ("pass_wrong_operator", (403,), "The entry pass is for another operator."),
        ("pass_revoked", (403,), "The entry pass was revoked."),
        ("pass_expired", (403,), "The entry pass has expired."),
        ("pass_used", (409,), "A single-use entry pass was already used."),
    ],
    "Face enrollment": [
        ("consent_required", (403,), "Face enrollment needs an active face_entry consent."),
        ("photos_required", (400,), "Send at least one photo."),
        ("too_many_photos", (400,), "More photos than one enrollment takes."),
        ("image_too_large", (400,), "A photo is larger than the upload limit; fields names the field."),
        ("enrollment_in_progress", (409,), "An enrollment is still being processed."),
        ("enrollment_not_found", (404,), "No such enrollment for this shopper."),
    ],
    "Store devices (signed API)": [
        ("signature_missing", (401,), "The request lacks the device signature headers."),
        ("device_unknown", (401,), "No such device key."),
        ("timestamp_invalid", (401,), "The signed timestamp is not a number of seconds."),
        ("request_expired", (401,), "The signed timestamp is too far from the server's clock."),
        ("signature_invalid", (401,), "The signature does not match the request."),
        ("request_replayed", (401,), "This signed request was already served (nonce reused)."),
        ("device_revoked", (403,), "The device has been revoked."),
        ("device_cannot_match", (403,), "The device is not an entrance device."),
        ("store_not_live", (403,), "The store is not live (signage not confirmed, or closed)."),
        ("probe_required", (400,), "Send exactly one of: a photo, an encoding, an entry pass."),
        ("entry_pass_required", (400,), "This store admits by entry pass only."),
        ("invalid_encoding", (400,), "The encoding must be a list of 128 finite numbers."),
        ("unreadable_image", (400,), "The photo is not a readable JPEG, PNG or WebP image."),
        ("match_unavailable", (503,), "Matching is not available right now; admit by entry pass."),
        (
            "one_to_one_required",
            (409,),
            "The operator's gallery check found 1:N too risky for its target: send the probe with an entry pass"
            " (or the pass alone).",
        ),
        ("too_many_frames", (400,), "More than 3 frames of one approach in one match request."),
        ("too_many_events", (400,), "More than 100 events in one batch from a store device."),
    ],
    "Store events (a device's batch answers each event on its own, inside a 200 or 207)": [
        ("visit_unknown", (404,), "No visit has this id."),
        ("visit_other_store", (403,), "The visit is at another store; only its own store's devices report on it."),
        ("event_time_invalid", (400,), "The event's time is before the visit's entry or in the future."),
        ("visit_already_exited", (409,), "The visit's exit is already on record."),
        ("purchase_items_required", (400,), "A purchase lists no item."),
        ("purchase_total_mismatch", (400,), "A purchase's total is not the sum of its items."),
        ("notice_not_due", (409,), "The visit is not a first recognition: it has no collection notice to confirm."),
        ("notice_version_mismatch", (400,), "The confirmed notice is not the version the match answered."),
        ("notice_already_confirmed", (409,), "The door already confirmed this visit's collection notice."),
    ],
    "The footprint (a shopper deleting part of it)": [
        ("visit_not_found", (404,), "The shopper has no visit with this id."),
        ("event_not_found", (404,), "The shopper has no event with this id."),
        ("range_invalid", (400,), "The last day of the range comes before the first."),
        ("deletion_scope_required", (400,), "Neither `all` nor a range of days was given."),
    ],
    "Operators and stores (staff)": [
        ("slug_taken", (409,), "Another operator or store already uses this slug."),
        ("operator_in_use", (409,), "The operator still has stores, notices or consents."),
        ("store_in_use", (409,), "The store still has devices or visits."),
        ("signage_not_confirmed", (409,), "A store goes live only after its signage is confirmed."),
        ("private_space", (400,), "Devices may not be placed in private spaces (toilets, changing rooms)."),
        (
            "target_fpir_too_high",
            (400,),
            "An operator's target false identification rate may be lower than the site's, never higher.",
        ),
        ("match_threshold_too_high", (400,), "An operator's match ceiling may be lower than the site's, never higher."),
        ("match_margin_too_low", (400,), "An operator's match margin may be larger than the site's, never smaller."),
        ("shard_exists", (409,), "A match shard of this name exists already."),
        ("shard_unchanged", (400,), "The operator is on that match shard already."),
        (
            "shard_name_invalid",
            (400,),
            "A match shard's name: 1 to 32 lowercase letters, digits and hyphens, starting with a letter or a digit.",
        ),
    ],
    "Notifications (the shopper's feed)": [
        ("notification_ids_or_all", (400,), "Marking read needs either a non-empty ids list or all: true, not both."),
        ("too_many_notification_ids", (400,), "More than 100 notification ids in one call to mark read."),
        ("notification_not_found", (404,), "An id is not one of the shopper's notifications; nothing was marked."),
    ],
    "Privacy requests (erasure and access)": [
        ("request_kind_unknown", (400,), "A privacy request is for erasure or access."),
        ("request_not_found", (404,), "No such privacy request of this shopper."),
        ("request_state_invalid", (409,), "The request's state does not allow this step (its status says why)."),
        ("identity_code_missing", (409,), "No identity code is waiting for this request; send one."),
        ("identity_code_expired", (400,), "The identity code is older than 10 minutes; send a new one."),
        ("identity_code_wrong", (400,), "The identity code is wrong (a code sent for another request is wrong here)."),
        ("identity_code_attempts_exceeded", (429,), "Three wrong identity codes used this one up; send a new one."),
        (
            "assessment_incomplete",
            (400,),
            "A part of the impact assessment (purpose, necessity, impact, measures) is empty.",
        ),
        ("access_link_unknown", (404,), "No access request's download link has this token."),
        ("access_link_used", (410,), "The download link was used: it works once. Ask for a new copy."),
        ("access_link_expired", (410,), "The download link is older than 7 days. Ask for a new copy."),
        ("access_link_account_gone", (410,), "The account the download link was for has been erased since."),
        ("refusal_reason_unknown", (400,), "A request is refused for one of the listed reasons only."),
        ("shopper_not_found", (404,), "No such shopper (staff console)."),
        ("record_reason_required", (409,), "A shopper's record opens only for one of their open requests."),
    ],
    "Staff sign-in (the second factor, on the web)": [
        (
            "staff_app_sign_in_refused",
            (403,),
            "Staff members cannot sign in to the app API: they sign in on the web with their second factor.",
        ),
        (
            "second_factor_required",
            (403,),
            "A staff member signed in with a password only: confirm the second factor on the web first.",
        ),
        ("staff_only", (403,), "Only staff members have a second factor."),
        ("second_factor_exists", (409,), "The staff member's authenticator app is set up already."),
        ("second_factor_missing", (409,), "The staff member has no authenticator app set up yet."),
        ("second_factor_code_wrong", (400,), "The code is wrong, or was used already."),
        ("second_factor_throttled", (429,), "Too many wrong codes; wait before the next try."),
        ("role_unknown", (400,), "Staff roles are Support agent, Privacy officer and Admin."),
        ("not_staff", (409,), "Only a staff account holds a role."),
    ],
}

ERROR_CODES: dict[str, ErrorCode] = {
    code: ErrorCode(code, statuses, meaning, group)
    for group, rows in _GROUPS.items()
    for code, statuses, meaning in rows
}


def error_code_groups() -> list[tuple[str, list[ErrorCode]]]:
    """The codes by group, in the order a developer meets them."""
    return [(group, [ERROR_CODES[code] for code, _statuses, _meaning in rows]) for group, rows in _GROUPS.items()]
