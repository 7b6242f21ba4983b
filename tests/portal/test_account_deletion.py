"""F4: the shopper deletes their account. Everything held about them goes before the call answers, a
receipt says what went, and a scan of every table finds nothing of them but audit entries that name a
row id and nothing else (decision 0033)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from biometrics.models import Enrollment, MatchIndexChange
from consent.models import ConsentEvent
from consent.services import entry_pass_issue
from core.audit import audit_chain_verify
from core.models import AuditEntry
from portal.erasure.selectors import account_holdings, shopper_traces
from portal.models import EmailChange, User
from stores.feed.services import notification_record
from stores.retention.services import counters_purge_old
from tests.conftest import assert_error
from tests.consent.test_withdrawal import held_template
from tests.factories import DEFAULT_PASSWORD, UserFactory, consent_to, face_consent, live_store
from tests.portal.test_account_security import app_login, signed_in, web_login
from tests.portal.test_footprint import footprint

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("F4")]

API = "/api/v1/me/delete"


def full_account(display_name: str = "Zhao Mingyue") -> User:
    """A shopper holding something in every table the product keeps about people."""
    shopper = UserFactory(display_name=display_name, email=f"{display_name.replace(' ', '.').lower()}@example.com")
    store = live_store()
    face_consent(shopper, store.operator)
    consent_to(shopper, store.operator, "store_analytics")
    held_template(shopper)
    Enrollment.objects.create(shopper=shopper, channel="app", photo_count=1, status="done")
    visits = footprint(shopper, store, visits=3)
    notification_record(visit=visits[0], kind="recognised")
    entry_pass_issue(shopper=shopper, channel="app")
    EmailChange.objects.create(
        user=shopper, new_email="next@example.com", code_hash="0" * 64, expires_at=timezone.now()
    )
    return shopper


def identity(shopper: User) -> dict:
    return {
        "shopper_id": shopper.pk,
        "public_id": str(shopper.public_id),
        "email": shopper.email,
        "display_name": shopper.display_name,
    }


class TestApi:
    def test_everything_goes_before_the_answer_and_the_receipt_says_what(
        self, mailoutbox, django_capture_on_commit_callbacks
    ):
        shopper = full_account()
        bystander = full_account("Someone Else")
        web = web_login(shopper)
        app = app_login(shopper)
        who = identity(shopper)
        held = account_holdings(user=shopper)
        assert all(held[category] for category in held if category not in ("email_codes",)), held
        before_others = shopper_traces(**identity(bystander))

        with django_capture_on_commit_callbacks(execute=True):
            answer = app.post(API, {"password": DEFAULT_PASSWORD}, format="json")

        assert answer.status_code == 200, answer.content
        assert answer.json()["counts"] == held
        left = shopper_traces(**who)
        # Only the match workers' notes to drop the shopper name the row id, until the daily job prunes them.
        notes = MatchIndexChange.objects.filter(shopper_id=who["shopper_id"]).count()
        assert notes and left.index_notes == notes and left.clean, left.rows
        # The bystander keeps every row they had.
        assert shopper_traces(**identity(bystander)) == before_others
        counters_purge_old(now=timezone.now() + timedelta(hours=settings.MATCH_INDEX_NOTES_KEPT_HOURS, minutes=1))
        left = shopper_traces(**who)
        assert left.clean and left.index_notes == 0, left.rows
        # What stays: audit entries naming a row id that leads nowhere, holding no address, name or public id.
        assert left.audit_entries_by_id > 0
        assert not User.objects.filter(email__iexact=who["email"]).exists()
        # Signed out everywhere: the token and the browser session are gone.
        assert app.get("/api/v1/me").status_code == 401
        assert not signed_in(web)
        # The receipt, to the address the account had, listing each category with its count.
        (receipt,) = [mail for mail in mailoutbox if mail.to == [who["email"]] and "deleted" in mail.subject]
        assert receipt.subject == "Your FaceConsent account was deleted"
        assert "Face templates: 1" in receipt.body and "Visits: 3" in receipt.body
        assert f"Consent history entries: {held['consent_events']}" in receipt.body
        assert "Zhao Mingyue" in receipt.body
        # No other mail for the consents or the template that went with the account.
        assert [mail.subject for mail in mailoutbox if mail.to == [who["email"]]] == [receipt.subject]
        entry = AuditEntry.objects.get(action="account.deleted")
        assert (entry.target_id, entry.data) == (str(who["shopper_id"]), held)
        assert audit_chain_verify().intact

    def test_a_wrong_password_changes_nothing(self):
        shopper = full_account()
        app = app_login(shopper)
        held = account_holdings(user=shopper)
        assert_error(app.post(API, {"password": "not the password"}, format="json"), 400, "current_password_wrong")
        assert account_holdings(user=shopper) == held

    def test_wrong_passwords_answer_429_after_the_login_limit(self, settings):
        shopper = full_account()
        app = app_login(shopper)
        for _ in range(settings.LOGIN_FAILURE_LIMIT):
            app.post(API, {"password": "not the password"}, format="json")
        assert_error(app.post(API, {"password": DEFAULT_PASSWORD}, format="json"), 429, "too_many_login_attempts")
        assert User.objects.filter(pk=shopper.pk).exists()

    def test_needs_login_and_a_password(self, api_client):
        assert_error(api_client.post(API, {"password": DEFAULT_PASSWORD}, format="json"), 401, "not_authenticated")
        api_client.force_authenticate(UserFactory())
        assert_error(api_client.post(API, {}, format="json"), 400, "invalid")

    def test_a_staff_account_is_not_closed_from_the_portal(self, api_client):
        staff = UserFactory(is_staff=True)
        api_client.force_authenticate(staff)
        assert_error(
            api_client.post(API, {"password": DEFAULT_PASSWORD}, format="json"), 403, "staff_account_not_deletable"
        )
        assert User.objects.filter(pk=staff.pk).exists()

    def test_the_address_can_sign_up_again(self, api_client):
        shopper = full_account()
        email = shopper.email
        app_login(shopper).post(API, {"password": DEFAULT_PASSWORD}, format="json")
        answer = api_client.post(
            "/api/v1/auth/register",
            {"email": email, "password": "a fresh passphrase", "display_name": "Again", "date_of_birth": "1990-01-01"},
            format="json",
        )
        assert answer.status_code == 201, answer.content


class TestPage:
    def test_shows_what_goes_then_deletes_and_shows_the_receipt_signed_out(self, client):
        shopper = full_account()
        page = web_login(shopper)
        shown = page.get("/profile/delete/")
        assert shown.status_code == 200
        text = shown.content.decode()
        assert "Face templates: 1" in text and "Visits: 3" in text

        wrong = page.post("/profile/delete/", {"password": "not the password"})
        assert wrong.status_code == 400 and "The current password is wrong." in wrong.content.decode()
        assert User.objects.filter(pk=shopper.pk).exists()

        done = page.post("/profile/delete/", {"password": DEFAULT_PASSWORD})
        assert done.status_code == 200
        assert "Your account is deleted" in done.content.decode() and "Visits: 3" in done.content.decode()
        assert not User.objects.filter(pk=shopper.pk).exists()
        assert not signed_in(page)
        assert not Session.objects.exists()

    def test_the_profile_links_to_it(self, client):
        shopper = UserFactory()
        client.force_login(shopper)
        assert 'href="/profile/delete/"' in client.get("/profile/").content.decode()


def test_after_the_whole_footprint_goes_no_store_table_names_the_shopper(api_client):
    shopper = full_account()
    api_client.force_authenticate(shopper)
    assert api_client.post("/api/v1/me/footprint/delete", {"all": True}, format="json").status_code == 200
    left = shopper_traces(**identity(shopper))
    assert not [table for table in left.rows if table.startswith("stores.")], left.rows
    # The account itself, its consents, face and entry pass stay: the footprint was all that was asked.
    assert {"portal.user", "consent.consent", "biometrics.facetemplate", "consent.entrypass"} <= set(left.rows)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_only_the_erasure_of_that_shopper_gets_past_the_trigger():
    from django.db import IntegrityError, transaction

    shopper, other = full_account(), full_account("Other Person")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('faceconsent.erasing_shopper', %s, true)", [str(shopper.pk)])
        with pytest.raises(IntegrityError), transaction.atomic():
            cursor.execute("DELETE FROM consent_consentevent WHERE shopper_id = %s", [other.pk])
        with pytest.raises(IntegrityError), transaction.atomic():
            cursor.execute("UPDATE consent_consentevent SET channel = 'web' WHERE shopper_id = %s", [shopper.pk])
        cursor.execute("DELETE FROM consent_consentevent WHERE shopper_id = %s", [shopper.pk])
    assert not ConsentEvent.objects.filter(shopper=shopper).exists()
    # The setting ended with its transaction.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM consent_consentevent WHERE shopper_id = %s", [other.pk])
