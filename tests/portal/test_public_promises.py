"""What the public pages and the API description promise, each held to the code that keeps it.

The retention page, sentence by sentence, and the test that keeps each (docs/decisions/0030-retention.md):
1. the template goes with the last face consent, withdrawn (tests/biometrics/test_enrollment.py
   TestTemplateLifecycle), run out (below) or ended for want of a recognition
   (tests/stores/test_retention.py TestFaceConsents::test_exactly_the_consents_past_their_period_end);
2. a consent runs out after CONSENT_VALIDITY, recorded within 15 minutes (below);
3. a face consent no door used for the operator's `template_retention_days` ends within a day, with a
   mail, counted from the later of its giving or reaffirming and the last recognition on record
   (TestFaceConsents, test_a_recognition_whose_visit_was_purged_no_longer_counts, TestSchedule);
4. the shopper deletes templates at will (TestTemplateLifecycle);
5. enrollment photos are never stored (tests/biometrics/leaks.py), a door photo is dropped once searched
   (tests/stores/test_door_probes.py);
6. what a visit record holds (tests/stores/test_door_match.py, tests/stores/test_device_events.py);
7. visit records go within a day once past the shorter of the operator's `footprint_retention_days` and
   the shopper's 3, 18 or 36 months (tests/stores/test_retention.py TestFootprint, the acceptance test);
8. entry passes go within an hour of their lifetime's end (the acceptance test, TestSchedule);
9. unmatched probes and dropped events leave counts per device and day (test_door_probes.py,
   test_device_events.py), deleted after 90 days (tests/stores/test_retention.py TestCounters).
Each period the page states is the one those jobs read (below).
"""

import json
from datetime import timedelta

import numpy as np
import pytest
import yaml
from django.utils import timezone

from biometrics.keys import key_ring
from biometrics.models import FaceTemplate
from consent.models import Consent
from consent.receipts import ReceiptLinks, consent_receipt_build
from consent.services import consent_expire_due
from portal.celery import app as celery_app
from tests.factories import OperatorFactory, face_consent, published_notice

pytestmark = pytest.mark.django_db

# Words for what is not built yet: the footprint's tables partitioned by month, which docs/deploy.md names as
# the next step at a national network's size. None of the public texts may promise it.
NOT_BUILT = ("partitioned by month", "partitions by month", "partitioning by month")


@pytest.fixture
def operator():
    return OperatorFactory(
        name="Fresh Mart", slug="fresh-mart", template_retention_days=400, footprint_retention_days=200
    )


def retention_page(client, language: str = "en") -> str:
    response = client.get("/operators/fresh-mart/retention/", headers={"accept-language": language})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.requirement("C7", "C10")
def test_the_retention_page_states_the_consent_validity_the_code_applies(client, operator, shopper, settings):
    settings.CONSENT_VALIDITY = timedelta(days=200)
    assert "A consent runs out 200 days after you gave or last reaffirmed it." in retention_page(client)
    consent = face_consent(shopper, operator)
    assert consent.expires_at - consent.given_at == timedelta(days=200)


@pytest.mark.requirement("C7")
def test_a_consent_past_its_validity_is_ended_and_the_template_destroyed_within_15_minutes(operator, shopper):
    """The page: "within 15 minutes it is recorded as expired and, if it was the last consent to
    face recognition, your face template is destroyed"."""
    schedule = next(
        entry["schedule"] for entry in celery_app.conf.beat_schedule.values() if entry["task"] == "consent.expire_due"
    )
    assert sorted(schedule.minute) == [0, 15, 30, 45]
    consent = face_consent(shopper, operator)
    sealed = key_ring().seal(np.zeros(128), owner=str(shopper.public_id))
    FaceTemplate.objects.create(shopper=shopper, key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext)
    Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert consent_expire_due() == 1
    assert Consent.objects.get(pk=consent.pk).status == "expired"
    assert not FaceTemplate.objects.filter(shopper=shopper).exists()


@pytest.mark.requirement("C10")
def test_the_retention_page_states_the_periods_the_jobs_apply(client, operator):
    """The page's figures are the operator's own, which the jobs read (tests/stores/test_retention.py)."""
    published_notice(operator)
    html = retention_page(client)
    assert (
        "If no door of Fresh Mart recognises you by face for 400 days, counted from when you gave or last"
        " reaffirmed your consent to face recognition or from the last recognition whose visit record is still"
        " kept, whichever is later, that consent ends within a day and you are told by email." in html
    )
    assert (
        "A visit record, with everything reported about the visit, is deleted within a day once it is 200 days"
        " old, or sooner if you chose a shorter period on your profile page (3, 18 or 36 months): the shorter of"
        " the two applies." in html
    )
    assert "An entry pass is deleted within an hour after its lifetime ends, whether it was used or not." in html
    assert "these counts are deleted after 90 days." in html
    assert "No schedule destroys these records yet." not in html
    for words in NOT_BUILT:
        assert words not in html.lower(), words


@pytest.mark.requirement("F7")
def test_the_figures_on_the_page_are_the_ones_the_jobs_use(operator):
    """The 3, 18 and 36 months offered, the 90 days of counters and the hour and day of the schedule."""
    from portal.models import FootprintRetention
    from stores.retention.services import COUNTER_RETENTION_DAYS, shopper_period_choices

    assert shopper_period_choices() == [3, 18, 36]
    assert FootprintRetention.values == [0, 3, 18, 36]
    assert COUNTER_RETENTION_DAYS == 90
    schedules = {entry["task"]: entry["schedule"] for entry in celery_app.conf.beat_schedule.values()}
    for daily in ("stores.retention_footprint", "stores.retention_face_consents", "stores.retention_counters"):
        assert (len(schedules[daily].hour), len(schedules[daily].minute)) == (1, 1)
    hourly = schedules["consent.entry_passes_purge"]
    assert (len(hourly.hour), len(hourly.minute)) == (24, 1)


@pytest.mark.requirement("C10")
def test_the_retention_page_in_chinese(client, operator, settings):
    settings.CONSENT_VALIDITY = timedelta(days=365)
    html = retention_page(client, "zh-hans")
    assert "同意在您作出或最近一次重新确认后 365 天失效。" in html
    assert "如果 Fresh Mart 的任何入口在 400 天内都未通过人脸识别出您" in html
    assert "到店记录连同就这次到店上报的全部内容，在满 200 天后的一天内删除" in html
    assert "入店通行码在有效期结束后一小时内删除，无论是否使用过。" in html
    assert "这些计数在 90 天后删除。" in html
    assert "目前没有任何计划会销毁这些记录。" not in html


def test_the_home_page_promises_what_a_shopper_can_do_today(client):
    html = client.get("/").content.decode()
    assert "every consent comes with a receipt you can download, and you can delete your face template" in html
    for words in NOT_BUILT:
        assert words not in html.lower(), words


def test_the_api_description_promises_nothing_not_built(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    # The profile's own period for visit records names its field after the operator's setting; what it
    # describes runs (tests/stores/test_retention.py).
    text = yaml.safe_dump(schema).lower()
    for name in ("footprint_retention_months", "footprintretentionmonthsenum", "footprint_retention_unknown"):
        text = text.replace(name, "")
    assert schema["info"]["description"].startswith("Accounts, notices, consents, entry passes and face enrollment")
    for words in NOT_BUILT:
        assert words not in text, words


def test_a_receipt_states_no_template_period_that_nothing_applies(shopper, operator):
    """Templates are destroyed with the last face consent or by the shopper, never by inactivity
    yet, so a receipt names no period without a visit."""
    consent = face_consent(shopper, operator)
    receipt = consent_receipt_build(consent=consent, links=ReceiptLinks("https://r", "https://w", "https://n"))
    assert "face_template_days_without_visit" not in receipt["retention"]
    assert "400" not in json.dumps(receipt["retention"])


def test_the_demo_operators_notices_promise_nothing_not_built():
    """`make run` seeds these notices: they are the first a new user reads."""
    from portal.demo_notices import DEMO_NOTICES, RIGHTS_EN

    texts = [RIGHTS_EN.lower()] + [
        str(value).lower() for notice in DEMO_NOTICES.values() for key, value in notice.items() if key.endswith("_en")
    ]
    for text in texts:
        for words in (*NOT_BUILT, "without a visit", "then destroyed"):
            assert words not in text, (words, text)


def test_the_readme_states_the_doors_identification_policy_the_code_applies(settings):
    """README, "Who the door may recognise": 1% target, 90% floor, 20 shoppers keep 1:N, a 409 code,
    three frames at most, a check after a change of more than 10%."""
    from pathlib import Path

    from biometrics.identification import small_gallery_size
    from core.error_codes import ERROR_CODES
    from stores.door.services import MAX_FRAMES

    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    assert "`MATCH_TARGET_FPIR` (1%" in readme and settings.MATCH_TARGET_FPIR == 0.01
    assert "90% of shoppers (`MATCH_TIR_FLOOR`)" in readme and settings.MATCH_TIR_FLOOR == 0.90
    assert "Galleries of at most 20 shoppers keep 1:N" in readme and small_gallery_size(0.01) == 20
    assert "`409 one_to_one_required`" in readme and ERROR_CODES["one_to_one_required"].statuses == (409,)
    assert "up to three frames" in readme and MAX_FRAMES == 3
    assert "a change of\nmore than 10%" in readme and settings.MATCH_GALLERY_CHECK_CHANGE == 0.10


def test_the_readme_states_the_retention_the_jobs_apply(settings):
    """README: the shorter of the two periods, 3, 18 or 36 months, 12 months by default and never more than
    36 for templates, 90-day counters (the jobs: tests/stores/test_retention.py)."""
    from pathlib import Path

    from portal.models import FootprintRetention
    from stores.models import MAX_TEMPLATE_RETENTION_DAYS, Operator
    from stores.retention.services import COUNTER_RETENTION_DAYS

    readme = " ".join((Path(settings.BASE_DIR) / "README.md").read_text().split())
    assert "the shorter of the operator's period and the one the shopper chose (3, 18 or 36 months)" in readme
    assert FootprintRetention.values == [0, 3, 18, 36]
    assert "(12 months by default, never more than 36)" in readme
    assert Operator._meta.get_field("template_retention_days").default == 365
    assert MAX_TEMPLATE_RETENTION_DAYS == 3 * 365
    assert "90-day-old counters go" in readme and COUNTER_RETENTION_DAYS == 90


def test_the_readme_states_the_footprint_the_code_gives(settings):
    """README: the footprint page, the export, the four deletions and the device events exist as it says
    (their behaviour: tests/portal/test_footprint.py, test_export.py, test_footprint_deletion.py and
    tests/stores/test_device_events.py); dwell and exits need store_analytics (NEEDS_ANALYTICS)."""
    from pathlib import Path

    from django.urls import reverse

    from stores.footprint.services import NEEDS_ANALYTICS

    readme = " ".join((Path(settings.BASE_DIR) / "README.md").read_text().split())
    assert "Shoppers see every visit the stores recorded (`/footprint/`" in readme
    assert reverse("portal:footprint") == "/footprint/"
    assert "download everything held about them in one zip" in readme and reverse("api:export") == "/api/v1/me/export"
    assert reverse("api:footprint") == "/api/v1/me/footprint"
    assert reverse("api:footprint_delete") == "/api/v1/me/footprint/delete"
    assert "(`POST /api/v1/device/events`)" in readme and reverse("api:device_events") == "/api/v1/device/events"
    assert "dwell and exits are kept only with the shopper's `store_analytics` consent" in readme
    assert {"exit", "shelf_dwell"} == NEEDS_ANALYTICS


def test_the_readme_states_the_account_deletion_the_code_gives(settings):
    """README: deleting the account, on the page and over the API, as it says (its behaviour:
    tests/portal/test_account_deletion.py and tests/integration/test_account_deletion_worker.py)."""
    from pathlib import Path

    from django.urls import reverse

    from portal.erasure.services import CATEGORIES

    readme = " ".join((Path(settings.BASE_DIR) / "README.md").read_text().split())
    assert "A shopper can delete their whole account (`/profile/delete/`, `POST /api/v1/me/delete`" in readme
    assert (
        reverse("portal:account_delete") == "/profile/delete/" and reverse("api:account_delete") == "/api/v1/me/delete"
    )
    named = ("templates", "enrollments", "visits", "notifications", "consents", "consent_events", "entry_passes")
    assert set(named) <= set(CATEGORIES) and {"web_sessions", "app_tokens"} <= set(CATEGORIES)


def test_the_readme_states_who_moves_operators_on_the_shards_page(settings):
    """README, on the match shards: privacy officers and admins move operators on `/staff/shards/`, which shows
    each shard's load and readiness, and admins add shards there (their behaviour and who may do what:
    tests/portal/test_staff_shards.py and the role table in tests/portal/test_roles.py)."""
    from pathlib import Path

    from django.urls import reverse

    from tests.portal.test_roles import NO, OK, ROLES, TABLE

    readme = " ".join((Path(settings.BASE_DIR) / "README.md").read_text().split())
    assert "Privacy officers and admins move operators on the staff console's page too (`/staff/shards/`" in readme
    assert "where admins also add shards" in readme
    assert reverse("portal:staff_shards") == "/staff/shards/"
    seen = dict(zip(ROLES, TABLE["/staff/shards/"], strict=True))
    assert seen["privacy officer"] == seen["admin"] == OK and seen["support agent"] == NO
