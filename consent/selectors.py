"""Reads for consent: notices, consents, their events and entry passes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from biometrics.selectors import shopper_holds_templates
from consent.entry_pass_tokens import EntryPassRefused, entry_pass_token_id
from consent.minors import shopper_may_consent
from consent.models import Consent, ConsentEvent, EntryPass, Notice, NoticeVersion, Purpose
from core.errors import NotFound

# Notices and consents ----------------------------------------------------------------------------


def _latest_published_versions() -> QuerySet[NoticeVersion]:
    """The current version of every notice of every operator (its latest published one), in one query."""
    latest = (
        NoticeVersion.objects.filter(notice=OuterRef("notice"), status=NoticeVersion.Status.PUBLISHED)
        .order_by("-version")
        .values("version")[:1]
    )
    return NoticeVersion.objects.filter(status=NoticeVersion.Status.PUBLISHED, version=Subquery(latest))


def notice_versions_current(*, operator) -> list[NoticeVersion]:
    """The current version of each of the operator's notices, in purpose order."""
    order = {purpose: index for index, purpose in enumerate(Purpose.values)}
    versions = _latest_published_versions().filter(notice__operator=operator).select_related("notice")
    return sorted(versions, key=lambda version: order[version.notice.purpose])


def notice_version_current(*, operator, purpose: str) -> NoticeVersion:
    """The version of the operator's notice for this purpose that is shown now."""
    version = (
        _latest_published_versions()
        .filter(notice__operator=operator, notice__purpose=purpose)
        .select_related("notice__operator")
        .first()
    )
    if version is None:
        raise NotFound(_("This operator has published no notice for this purpose."), code="notice_not_found")
    return version


def notice_version_get_published(*, pk: int) -> NoticeVersion:
    version = (
        NoticeVersion.objects.select_related("notice__operator")
        .filter(pk=pk, status=NoticeVersion.Status.PUBLISHED)
        .first()
    )
    if version is None:
        raise NotFound(_("No such published notice version."), code="notice_version_not_found")
    return version


# What "active" means, in one place: not ended and still within its validity. A consent still marked
# active past its expiry counts as expired everywhere, before `consent_expire_due` records it: in
# queries (these two Q objects) and on a consent in hand (`consent_status_at`).


def consent_active_q(*, now: datetime | None = None) -> Q:
    """Consents in effect: marked active and not past their expiry."""
    return Q(status=Consent.Status.ACTIVE, expires_at__gt=now or timezone.now())


def consent_past_expiry_q(*, now: datetime | None = None) -> Q:
    """Consents still marked active whose validity has run out: expired in all but the record."""
    return Q(status=Consent.Status.ACTIVE, expires_at__lte=now or timezone.now())


def consent_status_at(consent: Consent, *, now: datetime | None = None) -> str:
    """The consent's status as it stands at `now` (expired once past its expiry, recorded or not)."""
    if consent.status == Consent.Status.ACTIVE and consent.expires_at <= (now or timezone.now()):
        return Consent.Status.EXPIRED
    return consent.status


def consent_reaffirm_from(consent: Consent) -> datetime:
    """When reaffirming opens: the last CONSENT_REAFFIRM_WINDOW of the consent's validity."""
    return consent.expires_at - settings.CONSENT_REAFFIRM_WINDOW


def consent_can_reaffirm(consent: Consent, *, now: datetime | None = None) -> bool:
    """Active, and within the last part of its validity: the one rule the service, API and page follow."""
    now = now or timezone.now()
    return consent_status_at(consent, now=now) == Consent.Status.ACTIVE and consent_reaffirm_from(consent) <= now


def notice_shown_get(*, shopper, notice_version: NoticeVersion, channel: str) -> ConsentEvent | None:
    """The first showing of this notice version to this shopper on this channel, if one is on record."""
    return (
        ConsentEvent.objects.filter(
            kind=ConsentEvent.Kind.NOTICE_SHOWN, shopper=shopper, notice_version=notice_version, channel=channel
        )
        .select_related("operator", "notice_version", "consent")
        .order_by("occurred_at", "id")
        .first()
    )


def consent_is_active(*, shopper, operator, purpose: str) -> bool:
    return Consent.objects.filter(consent_active_q(), shopper=shopper, operator=operator, purpose=purpose).exists()


def consents_active_since(*, shopper_id: int, purpose: str) -> dict[int, datetime]:
    """When each of the shopper's active consents for this purpose was given, by operator (one query)."""
    active = Consent.objects.filter(consent_active_q(), shopper_id=shopper_id, purpose=purpose)
    return dict(active.values_list("operator_id", "given_at"))


def consent_active_since_locked(*, shopper_id: int, operator_id: int, purpose: str) -> datetime | None:
    """When the shopper's active consent for this purpose was given (None: no active one), its row locked in
    the caller's transaction: a withdrawal waits for what is being recorded under the consent, or this sees
    the withdrawal."""
    active = (
        Consent.objects.select_for_update(of=("self",))
        .filter(consent_active_q(), shopper_id=shopper_id, operator_id=operator_id, purpose=purpose)
        .order_by("pk")
        .values_list("given_at", flat=True)[:1]
    )
    return next(iter(active), None)


def consent_active_locked(*, shopper_id: int, operator_id: int, purpose: str) -> bool:
    """Whether the shopper's consent for this purpose is active, its row locked as `consent_active_since_locked`
    locks it."""
    return consent_active_since_locked(shopper_id=shopper_id, operator_id=operator_id, purpose=purpose) is not None


def face_consents_unrenewed_since(*, operator_id: int, since: datetime, now: datetime) -> QuerySet[Consent]:
    """Active face_entry consents to this operator neither given nor reaffirmed since `since`: the ones the
    template retention may end, once their last recognition is older too (stores.retention.services)."""
    return (
        Consent.objects.filter(
            consent_active_q(now=now), operator_id=operator_id, purpose=Purpose.FACE_ENTRY, given_at__lt=since
        )
        .filter(Q(reaffirmed_at__isnull=True) | Q(reaffirmed_at__lt=since))
        .order_by("pk")
    )


def consent_lock_for_retention(*, consent_id: int) -> Consent | None:
    """The consent, its row locked in the caller's transaction (None when gone): the door locks it too
    before it records a match, so a retention check made under this lock sees every recognition."""
    return Consent.objects.select_for_update(of=("self",)).filter(pk=consent_id).first()


def shopper_has_face_consent(shopper) -> bool:
    """Active `face_entry` consent for at least one operator: the condition for holding a face."""
    return Consent.objects.filter(consent_active_q(), shopper=shopper, purpose=Purpose.FACE_ENTRY).exists()


@dataclass(frozen=True)
class FaceWithdrawalOutlook:
    """What a withdrawal would do to the shopper's face templates, read before the click: they go with
    the last face_entry consent (C6), as `consent_end` and `consents_withdraw_all` do it."""

    holds_templates: bool
    face_operator_ids: frozenset[int]

    def withdrawal_deletes_templates(self, consent: Consent) -> bool:
        """Withdrawing this one consent would delete the templates."""
        return (
            self.holds_templates
            and consent.purpose == Purpose.FACE_ENTRY
            and self.face_operator_ids <= {consent.operator_id}
        )

    def withdrawing_all_deletes_templates(self, operator=None) -> bool:
        """Withdrawing everything given to this operator (or, without one, to all) would delete them."""
        return self.holds_templates and (operator is None or self.face_operator_ids <= {operator.pk})


def face_withdrawal_outlook(*, shopper) -> FaceWithdrawalOutlook:
    operator_ids = Consent.objects.filter(consent_active_q(), shopper=shopper, purpose=Purpose.FACE_ENTRY).values_list(
        "operator_id", flat=True
    )
    return FaceWithdrawalOutlook(
        holds_templates=shopper_holds_templates(shopper=shopper), face_operator_ids=frozenset(operator_ids)
    )


def face_consent_pairs(*, shopper_id: int | None = None) -> list[tuple[int, int]]:
    """(operator id, shopper id) for every active `face_entry` consent: who may be matched where."""
    consents = Consent.objects.filter(consent_active_q(), purpose=Purpose.FACE_ENTRY)
    if shopper_id is not None:
        consents = consents.filter(shopper_id=shopper_id)
    return list(consents.values_list("operator_id", "shopper_id"))


def face_consent_for_match(*, shopper_id: int, operator_id: int, now: datetime | None = None) -> QuerySet[Consent]:
    """The active `face_entry` consent that lets this operator recognise this shopper, to be locked in
    the caller's transaction (a withdrawal waits for the match being recorded, or the match sees the
    withdrawal). Only the consent row is locked: the notice version and the shopper are shared by
    every door, and locking them would make concurrent matches wait on one another."""
    return (
        Consent.objects.select_for_update(of=("self",))
        .filter(consent_active_q(now=now), purpose=Purpose.FACE_ENTRY, shopper_id=shopper_id, operator_id=operator_id)
        .order_by()
    )


def consent_list_for_shopper(*, shopper, filters: dict | None = None) -> QuerySet[Consent]:
    filters = filters or {}
    consents = Consent.objects.filter(shopper=shopper).select_related("operator", "notice_version__notice")
    if filters.get("operator"):
        consents = consents.filter(operator__slug=filters["operator"])
    if filters.get("purpose"):
        consents = consents.filter(purpose=filters["purpose"])
    if filters.get("status") == Consent.Status.ACTIVE:
        consents = consents.filter(consent_active_q())
    elif filters.get("status") == Consent.Status.EXPIRED:
        consents = consents.filter(Q(status=Consent.Status.EXPIRED) | consent_past_expiry_q())
    elif filters.get("status"):
        consents = consents.filter(status=filters["status"])
    return consents.order_by("-given_at", "-id")


def consent_get_for_shopper(*, shopper, public_id) -> Consent:
    """The shopper's own consent; anybody else's is simply not found."""
    consent = (
        Consent.objects.select_related("operator", "notice_version__notice", "shopper")
        .filter(shopper=shopper, public_id=public_id)
        .first()
    )
    if consent is None:
        raise NotFound(_("No such consent."), code="consent_not_found")
    return consent


def consent_events_for_shopper(*, shopper, filters: dict | None = None) -> QuerySet[ConsentEvent]:
    filters = filters or {}
    events = ConsentEvent.objects.filter(shopper=shopper).select_related("operator", "notice_version", "consent")
    if filters.get("operator"):
        events = events.filter(operator__slug=filters["operator"])
    if filters.get("purpose"):
        events = events.filter(purpose=filters["purpose"])
    return events.order_by("-occurred_at", "-id")


@dataclass(frozen=True)
class ConsentChoice:
    """One row of a shopper's consent screen: an operator's purpose, its notice and the answer."""

    operator: object
    purpose: str
    notice_version: NoticeVersion
    consent: Consent | None
    # Below the minimum age for this purpose under the operator's law: the screen says why instead of asking.
    too_young: bool = False
    # Withdrawing this consent would delete the face template (C6): the screen says so beside the button.
    withdrawal_deletes_templates: bool = False

    @property
    def needs_answer(self) -> bool:
        """No active consent, or one given on a notice that has since changed materially."""
        return self.consent is None

    @property
    def on_older_notice(self) -> bool:
        return self.consent is not None and self.consent.notice_version_id != self.notice_version.pk

    @property
    def can_reaffirm(self) -> bool:
        return self.consent is not None and consent_can_reaffirm(self.consent)

    @property
    def reaffirm_from(self) -> datetime | None:
        return None if self.consent is None else consent_reaffirm_from(self.consent)


def consent_choices_for_shopper(*, shopper) -> list[ConsentChoice]:
    """Every operator's current notices, each with the shopper's active consent if any and what
    withdrawing it would do to the face template: operators by name, purposes in their order. Four
    queries, however many operators there are."""
    active = {
        (consent.operator_id, consent.purpose): consent
        for consent in Consent.objects.filter(consent_active_q(), shopper=shopper).select_related("notice_version")
    }
    outlook = face_withdrawal_outlook(shopper=shopper)
    order = {purpose: index for index, purpose in enumerate(Purpose.values)}
    versions = sorted(
        _latest_published_versions().select_related("notice__operator"),
        key=lambda version: (version.notice.operator.name, version.notice.operator_id, order[version.notice.purpose]),
    )
    choices = []
    for version in versions:
        operator, purpose = version.notice.operator, version.notice.purpose
        consent = active.get((operator.pk, purpose))
        choices.append(
            ConsentChoice(
                operator,
                purpose,
                version,
                consent,
                too_young=not shopper_may_consent(shopper=shopper, operator=operator, purpose=purpose),
                withdrawal_deletes_templates=consent is not None and outlook.withdrawal_deletes_templates(consent),
            )
        )
    return choices


def consenting_operators(choices: list[ConsentChoice]) -> list:
    """The operators on a consent screen that hold an active consent of the shopper, in screen order:
    the ones "withdraw everything" can be asked for."""
    return list({choice.operator.pk: choice.operator for choice in choices if choice.consent}.values())


def entry_pass_get_for_shopper(*, shopper, pk: int) -> EntryPass:
    entry_pass = EntryPass.objects.filter(shopper=shopper, pk=pk).first()
    if entry_pass is None:
        raise NotFound(_("No such entry pass."), code="entry_pass_not_found")
    return entry_pass


def entry_pass_get_by_token(*, token: str, operator_id: int) -> EntryPass:
    """The pass behind a token shown at one of this operator's doors, or a refusal: pass_invalid,
    pass_wrong_operator, pass_revoked or pass_expired."""
    token_id = entry_pass_token_id(token=token)
    entry_pass = EntryPass.objects.select_related("shopper").filter(token_id=token_id).first()
    if entry_pass is None:
        raise EntryPassRefused(_("This entry pass is not valid."), code="pass_invalid")
    # First, so that a door the shopper did not choose learns nothing else about the pass or its holder.
    if entry_pass.operator_id is not None and entry_pass.operator_id != operator_id:
        raise EntryPassRefused(_("This entry pass does not work at this store."), code="pass_wrong_operator")
    if not entry_pass.shopper.is_active:
        raise EntryPassRefused(_("This entry pass is not valid."), code="pass_invalid")
    if entry_pass.revoked_at is not None:
        raise EntryPassRefused(_("This entry pass has been revoked."), code="pass_revoked")
    if entry_pass.expires_at <= timezone.now():
        raise EntryPassRefused(_("This entry pass has expired; show a fresh one."), code="pass_expired")
    return entry_pass


def operator_has_consent_records(*, operator_id: int) -> bool:
    """Whether consent holds anything of this operator's: a notice, a consent event (a consent given,
    a refusal ...) or an entry pass. An operator with any of them answers for them and is kept."""
    return (
        Notice.objects.filter(operator_id=operator_id).exists()
        or ConsentEvent.objects.filter(operator_id=operator_id).exists()
        or EntryPass.objects.filter(operator_id=operator_id).exists()
    )
