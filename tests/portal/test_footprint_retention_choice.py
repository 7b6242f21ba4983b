"""The shopper's own period for their visit records (F7): 3, 18 or 36 months, or the operator's (0, the
default), set on the profile page and over the profile API, audited like other profile changes."""

import pytest

from core.models import AuditEntry
from tests.conftest import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("F7")]

ME = "/api/v1/me"
UNKNOWN = "Choose 3, 18 or 36 months, or the store operator's period."


class TestOverTheApi:
    def test_the_default_is_the_operators_period(self, api_client, shopper):
        api_client.force_authenticate(shopper)
        assert api_client.get(ME).json()["footprint_retention_months"] == 0

    def test_each_offered_period_is_kept_and_audited(self, api_client, shopper):
        api_client.force_authenticate(shopper)
        for months in (3, 18, 36, 0):
            response = api_client.patch(ME, {"footprint_retention_months": months}, format="json")
            assert response.status_code == 200
            assert response.json()["footprint_retention_months"] == months
            shopper.refresh_from_db()
            assert shopper.footprint_retention_months == months
        entries = AuditEntry.objects.filter(action="account.profile_updated").order_by("sequence")
        assert [entry.data for entry in entries] == [
            {"fields": ["footprint_retention_months"], "footprint_retention_months": months}
            for months in (3, 18, 36, 0)
        ]
        assert {(entry.actor_type, entry.actor_id, entry.channel) for entry in entries} == {
            ("shopper", str(shopper.pk), "app")
        }

    def test_the_same_period_again_writes_nothing(self, api_client, shopper):
        api_client.force_authenticate(shopper)
        api_client.patch(ME, {"footprint_retention_months": 0}, format="json")
        assert not AuditEntry.objects.filter(action="account.profile_updated").exists()

    @pytest.mark.parametrize("months", [1, 12, 37, -3, 120000])
    def test_a_period_not_offered_is_refused_with_its_code(self, api_client, shopper, months):
        api_client.force_authenticate(shopper)
        error = assert_error(
            api_client.patch(ME, {"footprint_retention_months": months}, format="json"),
            400,
            "footprint_retention_unknown",
            UNKNOWN,
        )
        assert error["fields"] == {
            "footprint_retention_months": [{"code": "footprint_retention_unknown", "message": UNKNOWN}]
        }
        shopper.refresh_from_db()
        assert shopper.footprint_retention_months == 0

    @pytest.mark.parametrize("value", ["three", None, [3], 3.5, True])
    def test_a_value_that_is_not_a_whole_number_is_refused(self, api_client, shopper, value):
        api_client.force_authenticate(shopper)
        error = assert_error(api_client.patch(ME, {"footprint_retention_months": value}, format="json"), 400, "invalid")
        assert list(error["fields"]) == ["footprint_retention_months"]
        shopper.refresh_from_db()
        assert shopper.footprint_retention_months == 0

    def test_not_logged_in(self, api_client):
        assert_error(api_client.patch(ME, {"footprint_retention_months": 3}, format="json"), 401, "not_authenticated")

    def test_a_token_changes_only_its_own_shoppers_period(self, api_client, shopper, other_shopper, token_for):
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(other_shopper)}")
        assert api_client.patch(ME, {"footprint_retention_months": 3}, format="json").status_code == 200
        shopper.refresh_from_db()
        other_shopper.refresh_from_db()
        assert (shopper.footprint_retention_months, other_shopper.footprint_retention_months) == (0, 3)


class TestOnTheProfilePage:
    def form(self, shopper, **fields):
        return {
            "display_name": shopper.display_name,
            "date_of_birth": "1990-01-01",
            "language": "en",
            "time_zone": "",
            **fields,
        }

    def test_the_page_offers_the_periods(self, client, shopper):
        client.force_login(shopper)
        html = client.get("/profile/").content.decode()
        assert "Keep my visit records" in html
        for label in ("The store operator&#x27;s period", "3 months", "18 months", "36 months"):
            assert label in html

    def test_a_period_is_saved_and_audited(self, client, shopper):
        client.force_login(shopper)
        response = client.post("/profile/", self.form(shopper, footprint_retention_months="18"))
        assert response.status_code == 302
        shopper.refresh_from_db()
        assert shopper.footprint_retention_months == 18
        entry = AuditEntry.objects.get(action="account.profile_updated")
        assert (entry.data, entry.channel) == (
            {"fields": ["footprint_retention_months"], "footprint_retention_months": 18},
            "web",
        )

    def test_a_period_not_offered_is_refused(self, client, shopper):
        client.force_login(shopper)
        response = client.post("/profile/", self.form(shopper, footprint_retention_months="12"))
        assert response.status_code == 400
        assert "Select a valid choice. 12 is not one of the available choices." in response.content.decode()
        shopper.refresh_from_db()
        assert shopper.footprint_retention_months == 0

    def test_left_out_of_a_post_it_stays(self, client, shopper):
        shopper.footprint_retention_months = 3
        shopper.save(update_fields=["footprint_retention_months"])
        client.force_login(shopper)
        assert client.post("/profile/", self.form(shopper, display_name="Renamed")).status_code == 302
        shopper.refresh_from_db()
        assert (shopper.display_name, shopper.footprint_retention_months) == ("Renamed", 3)

    def test_in_chinese(self, client, shopper):
        shopper.language = "zh-hans"
        shopper.save(update_fields=["language"])
        client.force_login(shopper)
        html = client.get("/profile/", headers={"accept-language": "zh-hans"}).content.decode()
        for words in ("我的到店记录保留期限", "门店运营方规定的期限", "3 个月", "18 个月", "36 个月"):
            assert words in html

    def test_not_logged_in(self, client, db):
        response = client.post("/profile/", {"footprint_retention_months": "3"})
        assert response.status_code == 302 and "/login" in response["Location"]


def test_the_database_refuses_a_period_not_offered(shopper):
    from django.db import IntegrityError, transaction

    from portal.models import User

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=shopper.pk).update(footprint_retention_months=12)
