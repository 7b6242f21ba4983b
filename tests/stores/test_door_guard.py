"""At the door: each operator's gallery check sets the 1:N threshold or stops 1:N (one_to_one_required),
while a pass, with or without a face, still lets the right shopper in; and several frames of one approach
(docs/decisions/0025-gallery-check-at-the-door.md)."""

import base64
from unittest import mock

import numpy as np
import pytest

from biometrics import engine
from biometrics.identification import OperatingPoint
from consent.services import entry_pass_issue
from stores.models import MatchEvent, ProbeCounter, Visit
from stores.services import gallery_check_record
from tests.biometrics.photos import astronaut_jpeg, encode, kit_photo
from tests.conftest import assert_error
from tests.factories import UserFactory
from tests.stores.conftest import other_astronaut_photo
from tests.stores.device import match_encoding, match_photo, match_photo_body, signed_post
from tests.stores.gallery import enrolled, lookalike, population
from tests.stores.test_gallery_check import GRID, STOPPED, check_of

pytestmark = pytest.mark.django_db

GUARD = (
    "This operator's doors recognise faces only with an entry pass: its gallery is too large or too dense to"
    " search without one. Ask the shopper for their entry pass."
)


def checked(operator, point: OperatingPoint, size: int = 700):
    return gallery_check_record(
        operator_id=operator.pk, trigger="nightly", check=check_of(size), point=point, thresholds=GRID, tir_floor=0.9
    )


def astronaut_encoding() -> list[float]:
    return engine.analyse_for_enrollment(other_astronaut_photo()).encoding.tolist()


def pass_for(shopper) -> str:
    return entry_pass_issue(shopper=shopper, channel="app").token


class TestGuard:
    @pytest.mark.requirement("M5")
    def test_one_to_n_stopped_answers_one_to_one_required_to_photos_and_encodings(self, client, door, astronaut):
        device, secret = door
        checked(device.store.operator, STOPPED)
        assert_error(match_photo(client, device, secret, other_astronaut_photo()), 409, "one_to_one_required", GUARD)
        assert_error(match_photo_body(client, device, secret, astronaut_jpeg()), 409, "one_to_one_required", GUARD)
        assert_error(match_encoding(client, device, secret, astronaut_encoding()), 409, "one_to_one_required", GUARD)
        assert not Visit.objects.exists() and not ProbeCounter.objects.exists()

    @pytest.mark.requirement("C9", "M4")
    def test_one_to_n_stopped_still_lets_the_right_shopper_in_with_a_pass(self, client, door, astronaut):
        device, secret = door
        checked(device.store.operator, STOPPED)
        with_face = match_photo(client, device, secret, other_astronaut_photo(), entry_pass=pass_for(astronaut))
        assert with_face.status_code == 200 and with_face.json()["result"] == "match"
        assert Visit.objects.get().method == "face_and_pass"
        # Someone else's face with the astronaut's pass is no match.
        other = match_photo(client, device, secret, kit_photo("obama/obama_1.jpg"), entry_pass=pass_for(astronaut))
        assert other.json() == {"result": "no_match"}
        alone = signed_post(client, device, secret, "/api/v1/device/entry-pass", {"entry_pass": pass_for(astronaut)})
        assert alone.status_code == 200 and alone.json()["result"] == "match"

    def test_a_pass_with_a_face_records_how_far_the_nearest_other_shopper_was(self, client, door):
        device, secret = door
        operator = device.store.operator
        rng = np.random.default_rng(4)
        template = rng.normal(0, 0.1, 128)
        shopper = enrolled(operator, template)
        other_template = lookalike(template, 0.5, rng)
        enrolled(operator, other_template)
        probe = lookalike(template, 0.2, rng)

        with_pass = match_encoding(client, device, secret, probe.tolist(), entry_pass=pass_for(shopper))
        assert with_pass.json()["result"] == "match"
        confirmed = MatchEvent.objects.get(mode="1:1")
        assert confirmed.distance == pytest.approx(0.2, abs=1e-4)
        assert confirmed.nearest_other_distance == pytest.approx(np.linalg.norm(probe - other_template), abs=1e-4)
        # 1:N weighed every shopper already; its match records none.
        assert match_encoding(client, device, secret, probe.tolist()).json()["result"] == "match"
        assert MatchEvent.objects.get(mode="1:N").nearest_other_distance is None

    @pytest.mark.requirement("M5")
    def test_one_to_n_resumed_matches_again(self, client, door, astronaut):
        device, secret = door
        checked(device.store.operator, STOPPED)
        checked(device.store.operator, OperatingPoint(0.55, True, "target_met", 0.009, 0.98))
        assert match_encoding(client, device, secret, astronaut_encoding()).json()["result"] == "match"

    @pytest.mark.requirement("M5")
    def test_the_door_uses_the_threshold_the_check_chose(self, client, door):
        device, secret = door
        operator = device.store.operator
        rng = np.random.default_rng(2)
        template = rng.normal(0, 0.1, 128)
        enrolled(operator, template)
        probe = lookalike(template, 0.45, rng).tolist()  # within MATCH_THRESHOLD (0.55)
        assert match_encoding(client, device, secret, probe).json()["result"] == "match"
        checked(operator, OperatingPoint(0.4, True, "target_met", 0.009, 0.95))
        assert match_encoding(client, device, secret, probe).json() == {"result": "no_match"}
        near = lookalike(template, 0.3, rng).tolist()
        assert match_encoding(client, device, secret, near).json()["result"] == "match"

    @pytest.mark.requirement("M4", "M5")
    def test_a_pass_with_a_face_is_compared_at_the_ceiling_whatever_the_check_chose(self, client, door):
        device, secret = door
        rng = np.random.default_rng(2)
        template = rng.normal(0, 0.1, 128)
        shopper = enrolled(device.store.operator, template)
        checked(device.store.operator, OperatingPoint(0.3, True, "target_met", 0.009, 0.95))
        probe = lookalike(template, 0.45, rng).tolist()
        assert match_encoding(client, device, secret, probe).json() == {"result": "no_match"}
        assert match_encoding(client, device, secret, probe, entry_pass=pass_for(shopper)).json()["result"] == "match"

    @pytest.mark.requirement("M5")
    def test_before_any_check_a_gallery_too_large_for_the_target_needs_a_pass(self, client, door, settings):
        settings.MATCH_TARGET_FPIR = 0.01  # 20 shoppers on the model's published tail alone
        device, secret = door
        operator = device.store.operator
        held = population(operator, 21)
        shopper_id, encodings = next(iter(held.items()))
        probe = encodings[0].tolist()
        assert_error(match_encoding(client, device, secret, probe), 409, "one_to_one_required", GUARD)
        shopper = UserFactory._meta.model.objects.get(pk=shopper_id)
        assert match_encoding(client, device, secret, probe, entry_pass=pass_for(shopper)).json()["result"] == "match"

    @pytest.mark.requirement("M5")
    def test_before_any_check_a_small_gallery_keeps_one_to_n(self, client, door, settings):
        settings.MATCH_TARGET_FPIR = 0.01
        device, secret = door
        held = population(device.store.operator, 20)
        probe = next(iter(held.values()))[0].tolist()
        assert match_encoding(client, device, secret, probe).json()["result"] == "match"

    @pytest.mark.requirement("M5")
    def test_before_any_check_the_operators_lower_target_makes_the_small_gallery_smaller(self, client, door):
        device, secret = door
        operator = device.store.operator
        operator.target_fpir = 0.005  # 10 shoppers
        operator.save(update_fields=["target_fpir"])
        held = population(operator, 11)
        probe = next(iter(held.values()))[0].tolist()
        assert_error(match_encoding(client, device, secret, probe), 409, "one_to_one_required", GUARD)


def frames(client, device, secret, *, photos=None, encodings=None, **extra):
    payload = {**extra}
    if photos is not None:
        payload["photos"] = [base64.b64encode(photo).decode() for photo in photos]
    if encodings is not None:
        payload["encodings"] = [list(encoding) for encoding in encodings]
    return signed_post(client, device, secret, "/api/v1/device/match", payload)


class TestFrames:
    def test_frames_that_agree_are_a_match(self, client, door, astronaut, probe_channel):
        device, secret = door
        answer = frames(client, device, secret, photos=[other_astronaut_photo(), astronaut_jpeg()])
        assert answer.status_code == 200 and answer.json()["result"] == "match"
        assert Visit.objects.get().shopper == astronaut
        assert "engine;dur=" in answer["Server-Timing"]

    def test_frames_that_disagree_are_no_match(self, client, door):
        device, secret = door
        operator = device.store.operator
        rng = np.random.default_rng(4)
        first, second = rng.normal(0, 0.1, 128), rng.normal(0, 0.1, 128)
        enrolled(operator, first)
        enrolled(operator, second)
        agreeing = [lookalike(first, 0.2, rng), lookalike(first, 0.25, rng)]
        assert frames(client, device, secret, encodings=agreeing).json()["result"] == "match"
        disagreeing = [lookalike(first, 0.2, rng), lookalike(second, 0.2, rng), lookalike(first, 0.2, rng)]
        assert frames(client, device, secret, encodings=disagreeing).json() == {"result": "no_match"}
        one_unknown = [lookalike(first, 0.2, rng), rng.normal(0, 0.1, 128)]
        assert frames(client, device, secret, encodings=one_unknown).json() == {"result": "no_match"}
        counter = ProbeCounter.objects.get(device=device)
        assert (counter.matched, counter.no_match) == (1, 2)

    def test_a_frame_without_a_face_is_left_out(self, client, door, astronaut, probe_channel):
        device, secret = door
        blank = encode(np.full((300, 300, 3), 200, np.uint8), "PNG")
        assert frames(client, device, secret, photos=[blank, other_astronaut_photo()]).json()["result"] == "match"
        assert frames(client, device, secret, photos=[blank, blank]).json() == {"result": "no_match"}
        assert ProbeCounter.objects.get(device=device).no_face == 1

    def test_a_stranger_in_one_frame_is_no_match(self, client, door, astronaut):
        device, secret = door
        photos = [other_astronaut_photo(), kit_photo("obama/obama_1.jpg")]
        assert frames(client, device, secret, photos=photos).json() == {"result": "no_match"}

    def test_frames_with_a_pass_are_each_compared_with_its_shopper(self, client, door, astronaut):
        device, secret = door
        token = pass_for(astronaut)
        answer = frames(client, device, secret, photos=[other_astronaut_photo(), astronaut_jpeg()], entry_pass=token)
        assert answer.json()["result"] == "match" and Visit.objects.get().method == "face_and_pass"

    def test_four_frames_are_refused(self, client, door, astronaut):
        device, secret = door
        encoding = astronaut_encoding()
        message = "Send at most 3 frames of one approach."
        assert_error(frames(client, device, secret, encodings=[encoding] * 4), 400, "too_many_frames", message)
        photos = [astronaut_jpeg()] * 4
        with mock.patch.object(engine, "probe_encoding") as encoded:
            assert_error(frames(client, device, secret, photos=photos), 400, "too_many_frames", message)
        encoded.assert_not_called()

    def test_one_probe_form_at_a_time(self, client, door, astronaut):
        device, secret = door
        encoding = astronaut_encoding()
        both = frames(client, device, secret, encodings=[encoding], encoding=encoding)
        assert_error(both, 400, "probe_required", "Send either a photo or an encoding.")
        assert_error(frames(client, device, secret, encodings=[]), 400, "invalid")
        bad = frames(client, device, secret, encodings=[encoding, [1.0] * 5])
        assert_error(bad, 400, "invalid_encoding")
        unreadable = signed_post(client, device, secret, "/api/v1/device/match", {"photos": ["not base64!"]})
        assert_error(unreadable, 400, "unreadable_image", "The photo must be base64.")

    def test_one_frame_in_a_list_is_one_probe(self, client, door, astronaut):
        device, secret = door
        assert frames(client, device, secret, encodings=[astronaut_encoding()]).json()["result"] == "match"
        assert frames(client, device, secret, photos=[other_astronaut_photo()]).json()["result"] == "match"

    def test_frames_with_one_to_n_stopped_answer_one_to_one_required(self, client, door, astronaut):
        device, secret = door
        checked(device.store.operator, STOPPED)
        answer = frames(client, device, secret, encodings=[astronaut_encoding()] * 2)
        assert_error(answer, 409, "one_to_one_required", GUARD)
