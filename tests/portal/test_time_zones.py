"""Pages show times in the shopper's zone (a profile setting; else the zone of the operator a page
concerns; else the site's) with the zone named, and dates in one format per language. The API
answers ISO 8601 with the offset."""

import re
from datetime import UTC, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from consent.models import Consent, ConsentEvent
from consent.services import consent_give
from core.models import AuditEntry
from tests.conftest import assert_error
from tests.factories import OperatorFactory, UserFactory, published_notice

pytestmark = pytest.mark.django_db

# 08:36 UTC is 16:36 in Shanghai, 03:36 in New York (EST).
GIVEN_AT = datetime(2026, 12, 3, 8, 36, 50, tzinfo=UTC)
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"


def _text(html: str) -> str:
    """What a reader sees: no tags (their attributes carry machine dates), no scripts."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def shanghai_operator():
    return OperatorFactory(name="Fresh Mart", slug="fresh-mart", time_zone="Asia/Shanghai")


def _consent_at(shopper, operator, when=GIVEN_AT):
    notice = published_notice(operator)
    # Given at `when`: consent events are append-only (decision 0029), so the clock is set, not the event.
    with mock.patch("django.utils.timezone.now", return_value=when):
        consent = consent_give(
            shopper=shopper, operator=operator, purpose="face_entry", notice_version=notice, channel="web"
        )
    Consent.objects.filter(pk=consent.pk).update(given_at=when, expires_at=when + timedelta(days=365))
    assert list(ConsentEvent.objects.filter(consent=consent).values_list("occurred_at", flat=True)) == [when]
    return consent


def _page(client, shopper, path="/consents/"):
    client.force_login(shopper)
    response = client.get(path)
    assert response.status_code == 200
    return _text(response.content.decode())


def test_the_consents_page_shows_times_in_the_shoppers_zone_named(client, shanghai_operator):
    shopper = UserFactory(time_zone="America/New_York")
    _consent_at(shopper, shanghai_operator)
    text = _page(client, shopper)
    assert "3 Dec 2026, 03:36 (America/New_York)" in text
    assert "08:36" not in text and "16:36" not in text


def test_without_a_zone_of_their_own_a_shopper_sees_the_operators(client, shanghai_operator):
    shopper = UserFactory(time_zone="")
    _consent_at(shopper, shanghai_operator)
    text = _page(client, shopper)
    assert "3 Dec 2026, 16:36 (Asia/Shanghai)" in text
    assert "UTC" not in text


def test_operators_in_different_zones_leave_the_sites_zone_named(client, shanghai_operator, settings):
    shopper = UserFactory(time_zone="")
    _consent_at(shopper, shanghai_operator)
    _consent_at(shopper, OperatorFactory(time_zone="Europe/Berlin"))
    text = _page(client, shopper)
    assert "3 Dec 2026, 08:36 (UTC)" in text


def test_the_entry_pass_page_shows_its_end_in_the_shoppers_zone(client):
    shopper = UserFactory(time_zone="Asia/Shanghai")
    client.force_login(shopper)
    html = client.post("/entry-pass/").content.decode()
    pass_end = timezone.localtime(shopper.entry_passes.get().expires_at, ZoneInfo("Asia/Shanghai"))
    assert f"Valid until {pass_end:%H:%M:%S} (Asia/Shanghai)." in _text(html)


def test_a_pass_for_one_operator_shows_its_zone_to_a_shopper_without_one(client, shanghai_operator):
    shopper = UserFactory(time_zone="")
    client.force_login(shopper)
    html = client.post("/entry-pass/", {"operator": "fresh-mart"}).content.decode()
    pass_end = timezone.localtime(shopper.entry_passes.get().expires_at, ZoneInfo("Asia/Shanghai"))
    assert f"{pass_end:%H:%M:%S} (Asia/Shanghai)" in _text(html)


def test_a_chinese_page_names_the_zone_in_its_own_punctuation(client, shanghai_operator):
    shopper = UserFactory(language="zh-hans", time_zone="Asia/Shanghai")
    _consent_at(shopper, shanghai_operator)
    assert "2026年12月3日 16:36（Asia/Shanghai）" in _page(client, shopper)
    client.force_login(shopper)
    html = client.post("/entry-pass/").content.decode()
    pass_end = timezone.localtime(shopper.entry_passes.get().expires_at, ZoneInfo("Asia/Shanghai"))
    assert f"{pass_end:%H:%M:%S}（Asia/Shanghai）" in _text(html)


@pytest.mark.parametrize(
    ("language", "date_shape", "foreign"),
    [
        (
            "en",
            rf"\b\d{{1,2}} (?:{MONTHS}) \d{{4}}\b",
            r"年|月|\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2}|a\.m\.|p\.m\.|\.,",
        ),
        (
            "zh-hans",
            r"\d{4}年\d{1,2}月\d{1,2}日",
            rf"\b(?:{MONTHS})\b|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}}",
        ),
    ],
)
def test_each_language_writes_every_date_one_way(client, shanghai_operator, language, date_shape, foreign):
    """The consents page shows a consent's end (a date), when it was given and its history (date and
    time), the face page an enrollment date, the notice page its publication date: one shape each."""
    shopper = UserFactory(language=language, time_zone="Asia/Shanghai")
    _consent_at(shopper, shanghai_operator)
    texts = [
        _page(client, shopper),
        _page(client, shopper, "/consents/fresh-mart/face_entry/decide/"),
        _page(client, shopper, "/operators/fresh-mart/retention/"),
    ]
    for text in texts:
        assert not re.search(foreign, text), re.search(foreign, text)
    dates = re.findall(date_shape, texts[0])
    # The end date (until ...), the consent given on, and the history's event.
    assert len(dates) >= 3, texts[0]
    assert set(dates) >= {"3 Dec 2026" if language == "en" else "2026年12月3日"}
    assert set(dates) >= {"3 Dec 2027" if language == "en" else "2027年12月3日"}


def test_the_profile_page_sets_and_clears_the_zone(client):
    shopper = UserFactory(time_zone="")
    client.force_login(shopper)
    page = client.get("/profile/").content.decode()
    assert 'name="time_zone"' in page and '<option value="Asia/Shanghai">' in page
    form = {"display_name": shopper.display_name, "date_of_birth": "1990-01-01", "language": "en"}
    assert client.post("/profile/", {**form, "time_zone": "Asia/Shanghai"}).status_code == 302
    shopper.refresh_from_db()
    assert shopper.time_zone == "Asia/Shanghai"
    entry = AuditEntry.objects.filter(action="account.profile_updated").latest("id")
    assert entry.data == {"fields": ["time_zone"]}
    assert client.post("/profile/", {**form, "time_zone": "Mars/Olympus"}).status_code == 400
    assert client.post("/profile/", {**form, "time_zone": ""}).status_code == 302
    shopper.refresh_from_db()
    assert shopper.time_zone == ""


def test_the_profile_offers_area_names_and_keeps_a_legacy_one_its_holder_has(client):
    """The select lists "Asia/Shanghai", not the database's aliases ("PRC", "Factory"); an alias set
    through the API stays selectable for the shopper who has it, so the profile still saves."""
    shopper = UserFactory(time_zone="PRC")
    client.force_login(shopper)
    page = client.get("/profile/").content.decode()
    assert '<option value="Asia/Shanghai">' in page and '<option value="UTC">' in page
    assert '<option value="Factory">' not in page and '<option value="ROC">' not in page
    assert '<option value="PRC" selected>' in page
    form = {"display_name": "Renamed", "date_of_birth": "1990-01-01", "language": "en", "time_zone": "PRC"}
    assert client.post("/profile/", form).status_code == 302
    shopper.refresh_from_db()
    assert (shopper.display_name, shopper.time_zone) == ("Renamed", "PRC")


def test_the_api_sets_the_zone_and_refuses_an_unknown_one(api_client):
    shopper = UserFactory()
    api_client.force_authenticate(shopper)
    assert api_client.get("/api/v1/me").json()["time_zone"] == ""
    response = api_client.patch("/api/v1/me", {"time_zone": "Asia/Shanghai"}, format="json")
    assert response.status_code == 200 and response.json()["time_zone"] == "Asia/Shanghai"
    response = api_client.patch("/api/v1/me", {"time_zone": "Mars/Olympus"}, format="json")
    assert_error(response, 400, "unknown_time_zone", "Unknown time zone: use an IANA name such as Asia/Shanghai.")
    assert set(response.json()["error"]["fields"]) == {"time_zone"}
    shopper.refresh_from_db()
    assert shopper.time_zone == "Asia/Shanghai"


def test_the_api_keeps_iso_8601_with_the_offset_whatever_the_zone(api_client, shanghai_operator):
    shopper = UserFactory(time_zone="Asia/Shanghai")
    consent = _consent_at(shopper, shanghai_operator)
    api_client.force_authenticate(shopper)
    listed = api_client.get("/api/v1/consents").json()["results"][0]
    # ISO 8601 with its offset, as before: the shopper's zone is for pages.
    assert listed["given_at"] == "2026-12-03T08:36:50Z"
    assert listed["id"] == str(consent.public_id)


def test_an_operator_refuses_an_unknown_zone():
    from django.core.exceptions import ValidationError

    from core.audit import Actor
    from stores.services import operator_create

    with pytest.raises(ValidationError) as refused:
        operator_create(
            actor=Actor.system(),
            name="Nowhere Mart",
            slug="nowhere",
            contact_email="p@nowhere.example",
            privacy_officer_name="Pat",
            privacy_officer_email="dpo@nowhere.example",
            time_zone="Mars/Olympus",
        )
    assert "time_zone" in refused.value.message_dict


def test_the_demo_operator_is_in_shanghai(settings):
    from django.core.management import call_command

    from stores.models import Operator

    call_command("seed_demo", force=True)
    assert Operator.objects.get(slug="demo-mart").time_zone == "Asia/Shanghai"
