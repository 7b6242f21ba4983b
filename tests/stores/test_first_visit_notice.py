"""C11: the door shows the collection notice at a shopper's first face recognition at a store (again after a
material notice change), confirms it with a `notice_shown` event, and the store's report flags first visits
without a confirmation within a minute."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from biometrics import processing
from biometrics.models import Enrollment
from consent.services import entry_pass_issue
from stores.models import StoreEvent, Visit
from stores.selectors import first_visits_without_notice
from tests.factories import UserFactory, face_consent, published_notice
from tests.stores.device import match_encoding, signed_post
from tests.stores.gallery import enrolled, lookalike

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("C11")]


@pytest.fixture
def face(door):
    """A consenting shopper with a template at the door's operator, and a probe of their face."""
    device, _ = door
    rng = np.random.default_rng(11)
    template = rng.normal(0, 0.1, 128)
    shopper = enrolled(device.store.operator, template)
    shopper.template = template
    return shopper, lookalike(template, 0.2, rng).tolist()


def enroll_again(shopper) -> None:
    """The shopper's face stored anew (their templates went with their last face consent)."""
    enrollment = Enrollment.objects.create(shopper=shopper, channel="app", photo_count=1)
    processing._enrollment_finish(enrollment_id=enrollment.pk, results=[], encodings=[shopper.template])


def by_pass(client, device, secret, shopper) -> dict:
    token = entry_pass_issue(shopper=shopper, channel="app").token
    return signed_post(client, device, secret, "/api/v1/device/entry-pass", {"entry_pass": token}).json()


def shown(client, device, secret, answer: dict, *, event_id="n1", version=None, after=timedelta(seconds=5)):
    visit = Visit.objects.get(public_id=answer["visit_id"])
    event = {
        "event_id": event_id,
        "visit_id": answer["visit_id"],
        "kind": "notice_shown",
        "occurred_at": (visit.entered_at + after).isoformat(),
        "notice_version": version or answer.get("notice_version") or 1,
    }
    return signed_post(client, device, secret, "/api/v1/device/events", {"events": [event]}).json()["results"][0]


class TestFirstRecognition:
    def test_a_visit_by_pass_first_does_not_use_up_the_first_face_recognition(self, client, door, face):
        device, secret = door
        shopper, probe = face
        assert by_pass(client, device, secret, shopper)["first_visit"] is False  # no face: no collection notice

        first = match_encoding(client, device, secret, probe).json()
        again = match_encoding(client, device, secret, probe).json()

        consent = shopper.consents.get(purpose="face_entry")
        assert (first["first_visit"], first["notice_version"]) == (True, consent.notice_version_id)
        assert again["first_visit"] is False and "notice_version" not in again

    def test_after_a_material_notice_change_the_next_recognition_shows_the_notice_again(self, client, door, face):
        device, secret = door
        shopper, probe = face
        assert match_encoding(client, device, secret, probe).json()["first_visit"] is True
        assert match_encoding(client, device, secret, probe).json()["first_visit"] is False

        changed = published_notice(device.store.operator, material=True)  # ends the consent it rested on
        assert match_encoding(client, device, secret, probe).json() == {"result": "no_match"}
        face_consent(shopper, device.store.operator)
        enroll_again(shopper)

        renewed = match_encoding(client, device, secret, probe).json()
        assert (renewed["first_visit"], renewed["notice_version"]) == (True, changed.pk)


class TestConfirmation:
    def test_the_door_confirms_the_notice_and_the_visit_keeps_it(self, client, door, face):
        device, secret = door
        _shopper, probe = face
        answer = match_encoding(client, device, secret, probe).json()

        assert shown(client, device, secret, answer)["status"] == "stored"

        visit = Visit.objects.get(public_id=answer["visit_id"])
        assert visit.notice_shown_at == visit.entered_at + timedelta(seconds=5)
        event = StoreEvent.objects.get(kind="notice_shown")
        assert (event.visit, event.notice_version_id) == (visit, answer["notice_version"])
        again = shown(client, device, secret, answer, event_id="n2")
        assert again["error"]["code"] == "notice_already_confirmed"

    def test_only_the_version_the_door_was_told_and_only_for_a_first_recognition(self, client, door, face):
        device, secret = door
        shopper, probe = face
        first = match_encoding(client, device, secret, probe).json()
        later = match_encoding(client, device, secret, probe).json()
        pass_only = by_pass(client, device, secret, shopper)
        other_version = published_notice(device.store.operator, material=False)

        wrong = shown(client, device, secret, first, version=other_version.pk)
        assert (wrong["status"], wrong["error"]["code"]) == ("refused", "notice_version_mismatch")
        assert wrong["error"]["message"] == f"This visit's collection notice is version {first['notice_version']}."
        assert shown(client, device, secret, later, event_id="n2")["error"]["code"] == "notice_not_due"
        assert shown(client, device, secret, pass_only, event_id="n3")["error"]["code"] == "notice_not_due"
        assert Visit.objects.filter(notice_shown_at__isnull=False).count() == 0

    def test_the_confirmation_needs_no_analytics_consent(self, client, door, face):
        device, secret = door
        shopper, probe = face
        assert not shopper.consents.filter(purpose="store_analytics").exists()
        assert shown(client, device, secret, match_encoding(client, device, secret, probe).json())["status"] == "stored"


class TestStoreReport:
    def test_first_visits_without_a_confirmation_within_a_minute_are_flagged(self, client, door, face):
        device, secret = door
        _shopper, probe = face
        answers = []
        for _ in range(3):
            answers.append(match_encoding(client, device, secret, probe).json())
            Visit.objects.filter(public_id=answers[-1]["visit_id"]).update(first_visit=True)  # three first visits
        in_time, late, never = (Visit.objects.get(public_id=answer["visit_id"]) for answer in answers)
        Visit.objects.filter(pk=in_time.pk).update(notice_shown_at=in_time.entered_at + timedelta(seconds=30))
        Visit.objects.filter(pk=late.pk).update(notice_shown_at=late.entered_at + timedelta(seconds=90))
        other_shopper_visit = by_pass(client, device, secret, UserFactory())  # no notice due

        assert list(first_visits_without_notice(store_id=device.store_id)) == []  # not a minute old yet
        a_minute_later = timezone.now() + timedelta(seconds=61)
        flagged = set(first_visits_without_notice(store_id=device.store_id, now=a_minute_later))
        assert flagged == {late, never}
        assert other_shopper_visit["first_visit"] is False

    def test_the_admin_lists_the_flagged_visits(self, client, door, face, admin_client):
        device, secret = door
        _shopper, probe = face
        answer = match_encoding(client, device, secret, probe).json()
        Visit.objects.filter(public_id=answer["visit_id"]).update(entered_at=timezone.now() - timedelta(minutes=5))

        page = admin_client.get("/admin/stores/visit/", {"notice": "unconfirmed"})

        assert page.status_code == 200
        assert [visit.public_id for visit in page.context["cl"].result_list] == [
            Visit.objects.get(public_id=answer["visit_id"]).public_id
        ]
