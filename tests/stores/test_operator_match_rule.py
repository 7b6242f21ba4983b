"""M5: an operator's own match ceiling and margin, stricter than the site's settings only, changed through
one audited service (the admin form goes through it), and obeyed by the door at once: 1:1 at the ceiling,
1:N within the ceiling and with the margin; a change sends a new gallery check (docs/decisions/0025)."""

import numpy as np
import pytest

from biometrics.identification import OperatingPoint
from consent.services import entry_pass_issue
from core.audit import Actor
from core.errors import ValidationFailed
from core.models import AuditEntry
from stores.models import GalleryCheck, Operator
from stores.selectors import MatchRule, operator_match_rule
from stores.services import gallery_check_record, operator_match_rule_update
from tests.factories import OperatorFactory, UserFactory
from tests.stores.admin_pages import operator_form
from tests.stores.device import match_encoding
from tests.stores.gallery import enrolled, lookalike
from tests.stores.test_door_guard import checked
from tests.stores.test_gallery_check import check_of

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("M5")]

OFFICER = Actor.system()
TOO_HIGH = "The ceiling may be lower than the site's 0.55, never higher."
TOO_LOW = "The margin may be larger than the site's 0.05, never smaller."


@pytest.fixture(autouse=True)
def site_rule(settings):
    settings.MATCH_THRESHOLD, settings.MATCH_MARGIN = 0.55, 0.05


def refused(call, code: str, field: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        call()
    assert (raised.value.status, raised.value.code, raised.value.message) == (400, code, message)
    assert raised.value.fields == {field: [message]}


def rule_changes():
    return list(AuditEntry.objects.filter(action="operator.match_rule_changed").order_by("id"))


class TestService:
    def test_without_its_own_rule_an_operator_has_the_sites(self):
        assert operator_match_rule(OperatorFactory()) == MatchRule(0.55, 0.05)

    def test_a_stricter_rule_is_kept_audited_and_sends_a_gallery_check(self, django_capture_on_commit_callbacks):
        operator = OperatorFactory()
        staff = UserFactory(is_staff=True)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            operator_match_rule_update(
                actor=Actor.staff(staff), operator=operator, match_threshold=0.45, match_margin=0.1
            )
        stored = Operator.objects.get(pk=operator.pk)
        assert (stored.match_threshold, stored.match_margin) == (0.45, 0.1)
        assert operator_match_rule(stored) == MatchRule(0.45, 0.1)
        [entry] = rule_changes()
        assert (entry.actor_type, entry.actor_id, entry.channel) == ("staff", str(staff.pk), "staff")
        assert (entry.target_type, entry.target_id) == ("stores.operator", str(operator.pk))
        assert entry.data == {
            "fields": ["match_margin", "match_threshold"],
            "match_margin": [None, 0.1],
            "match_threshold": [None, 0.45],
            "in_force": {"ceiling": 0.45, "margin": 0.1},
        }
        # The gallery check it sent (run here, in this process) measured under the new rule.
        assert len(callbacks) == 1
        check = GalleryCheck.objects.get(operator=operator)
        assert check.trigger == "rule_changed"
        assert check.margin == 0.1
        assert max(check.thresholds) == 0.45 and 0.5 not in check.thresholds
        assert (check.threshold, check.one_to_n, check.reason) == (0.45, True, "small_gallery")

    def test_a_ceiling_above_the_sites_is_refused(self):
        operator = OperatorFactory()
        refused(
            lambda: operator_match_rule_update(actor=OFFICER, operator=operator, match_threshold=0.6),
            "match_threshold_too_high",
            "match_threshold",
            TOO_HIGH,
        )
        assert Operator.objects.get(pk=operator.pk).match_threshold is None
        assert not rule_changes()

    def test_a_margin_below_the_sites_is_refused(self):
        operator = OperatorFactory()
        refused(
            lambda: operator_match_rule_update(actor=OFFICER, operator=operator, match_margin=0.01),
            "match_margin_too_low",
            "match_margin",
            TOO_LOW,
        )
        assert Operator.objects.get(pk=operator.pk).match_margin is None
        assert not rule_changes()

    @pytest.mark.parametrize(
        ("values", "field", "message"),
        [
            ({"match_threshold": 0.0}, "match_threshold", "The ceiling must be at least 0.05."),
            ({"match_threshold": -1}, "match_threshold", "The ceiling must be at least 0.05."),
            ({"match_margin": 0.9}, "match_margin", "The margin must be at most 0.5."),
            ({"match_margin": "0.1"}, "match_margin", "Enter a number."),
            ({"match_threshold": True}, "match_threshold", "Enter a number."),
            ({"match_threshold": float("nan")}, "match_threshold", "The ceiling must be at least 0.05."),
        ],
    )
    def test_values_no_face_distance_can_mean_are_invalid(self, values, field, message):
        operator = OperatorFactory()
        refused(
            lambda: operator_match_rule_update(actor=OFFICER, operator=operator, **values), "invalid", field, message
        )
        assert not rule_changes()

    def test_no_change_writes_nothing_and_none_goes_back_to_the_sites(self, django_capture_on_commit_callbacks):
        operator = operator_match_rule_update(actor=OFFICER, operator=OperatorFactory(), match_threshold=0.5)
        with django_capture_on_commit_callbacks() as callbacks:
            operator_match_rule_update(actor=OFFICER, operator=operator, match_threshold=0.5)
        assert not callbacks and len(rule_changes()) == 1
        operator = operator_match_rule_update(actor=OFFICER, operator=operator, match_margin=0.07)
        assert operator.match_threshold == 0.5  # left out, kept
        operator = operator_match_rule_update(actor=OFFICER, operator=operator, match_threshold=None)
        assert operator_match_rule(Operator.objects.get(pk=operator.pk)) == MatchRule(0.55, 0.07)
        assert rule_changes()[-1].data == {
            "fields": ["match_threshold"],
            "match_threshold": [0.5, None],
            "in_force": {"ceiling": 0.55, "margin": 0.07},
        }

    def test_a_site_setting_tightened_later_still_wins(self, settings):
        operator = operator_match_rule_update(
            actor=OFFICER, operator=OperatorFactory(), match_threshold=0.5, match_margin=0.06
        )
        settings.MATCH_THRESHOLD, settings.MATCH_MARGIN = 0.45, 0.08
        assert operator_match_rule(operator) == MatchRule(0.45, 0.08)


class TestAdmin:
    def test_the_admin_changes_the_rule_through_the_service(self, admin_client, admin_user):
        operator = OperatorFactory()
        response = admin_client.post(
            f"/admin/stores/operator/{operator.pk}/change/",
            operator_form(operator, match_threshold="0.5", match_margin="0.08"),
        )
        assert response.status_code == 302
        assert operator_match_rule(Operator.objects.get(pk=operator.pk)) == MatchRule(0.5, 0.08)
        [entry] = rule_changes()
        assert (entry.actor_type, entry.actor_id) == ("staff", str(admin_user.pk))
        assert entry.data["match_threshold"] == [None, 0.5] and entry.data["match_margin"] == [None, 0.08]
        # The rest of the form, untouched, changed nothing else.
        assert not AuditEntry.objects.filter(action="operator.changed").exists()

    def test_a_looser_rule_is_refused_beside_its_fields(self, admin_client):
        operator = OperatorFactory()
        response = admin_client.post(
            f"/admin/stores/operator/{operator.pk}/change/",
            operator_form(operator, match_threshold="0.6", match_margin="0.02"),
        )
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert errors["match_threshold"] == [TOO_HIGH] and errors["match_margin"] == [TOO_LOW]
        assert operator_match_rule(Operator.objects.get(pk=operator.pk)) == MatchRule(0.55, 0.05)
        assert not AuditEntry.objects.exists()


def near(template: np.ndarray, distance: float, rng) -> list[float]:
    return lookalike(template, distance, rng).tolist()


def two_shoppers_and_a_probe(operator, *, nearest: float, second: float, seed: int = 3):
    """Two shoppers and a probe `nearest` from the first and `second` from the other (orthogonal offsets)."""
    rng = np.random.default_rng(seed)
    probe = rng.normal(0, 0.1, 128)
    first, other = np.linalg.qr(rng.normal(size=(128, 2)))[0].T
    shopper = enrolled(operator, probe + nearest * first)
    enrolled(operator, probe + second * other)
    return shopper, probe.tolist()


class TestTheDoorObeys:
    def test_a_pass_with_a_face_is_compared_at_the_operators_ceiling(self, client, door):
        device, secret = door
        operator = device.store.operator
        rng = np.random.default_rng(2)
        template = rng.normal(0, 0.1, 128)
        shopper = enrolled(operator, template)
        probe = near(template, 0.45, rng)
        token = entry_pass_issue(shopper=shopper, channel="app").token
        assert match_encoding(client, device, secret, probe, entry_pass=token).json()["result"] == "match"

        operator_match_rule_update(actor=OFFICER, operator=operator, match_threshold=0.4)

        token = entry_pass_issue(shopper=shopper, channel="app").token
        assert match_encoding(client, device, secret, probe, entry_pass=token).json() == {"result": "no_match"}
        token = entry_pass_issue(shopper=shopper, channel="app").token
        closer = near(template, 0.35, rng)
        assert match_encoding(client, device, secret, closer, entry_pass=token).json()["result"] == "match"

    def test_before_any_check_one_to_n_searches_within_the_operators_ceiling(self, client, door):
        device, secret = door
        operator = device.store.operator
        rng = np.random.default_rng(2)
        template = rng.normal(0, 0.1, 128)
        enrolled(operator, template)
        probe = near(template, 0.45, rng)
        assert match_encoding(client, device, secret, probe).json()["result"] == "match"

        operator_match_rule_update(actor=OFFICER, operator=operator, match_threshold=0.4)

        assert not GalleryCheck.objects.exists()  # the check it sends runs after the commit
        assert match_encoding(client, device, secret, probe).json() == {"result": "no_match"}
        operator_match_rule_update(actor=OFFICER, operator=operator, match_threshold=None)
        assert match_encoding(client, device, secret, probe).json()["result"] == "match"

    def test_the_checks_threshold_is_never_above_a_ceiling_lowered_since(self, client, door):
        device, secret = door
        operator = device.store.operator
        rng = np.random.default_rng(2)
        template = rng.normal(0, 0.1, 128)
        enrolled(operator, template)
        checked(operator, OperatingPoint(0.5, True, "target_met", 0.009, 0.95))
        probe = near(template, 0.45, rng)
        assert match_encoding(client, device, secret, probe).json()["result"] == "match"

        operator_match_rule_update(actor=OFFICER, operator=operator, match_threshold=0.4)

        assert match_encoding(client, device, secret, probe).json() == {"result": "no_match"}
        # A check chosen lower than the ceiling still holds.
        checked(operator, OperatingPoint(0.3, True, "target_met", 0.009, 0.95))
        assert match_encoding(client, device, secret, near(template, 0.35, rng)).json() == {"result": "no_match"}
        assert match_encoding(client, device, secret, near(template, 0.25, rng)).json()["result"] == "match"

    def test_one_to_n_needs_the_operators_margin_between_the_best_and_the_next(self, client, door):
        device, secret = door
        operator = device.store.operator
        shopper, probe = two_shoppers_and_a_probe(operator, nearest=0.3, second=0.37)
        answer = match_encoding(client, device, secret, probe).json()
        assert answer["result"] == "match"  # 0.07 apart: more than the site's 0.05

        operator_match_rule_update(actor=OFFICER, operator=operator, match_margin=0.1)

        assert match_encoding(client, device, secret, probe).json() == {"result": "no_match"}
        # A pass with a face is one comparison: no margin to clear.
        token = entry_pass_issue(shopper=shopper, channel="app").token
        assert match_encoding(client, device, secret, probe, entry_pass=token).json()["result"] == "match"

    def test_after_a_check_the_larger_of_its_margin_and_the_operators_applies(self, client, door):
        device, secret = door
        operator = device.store.operator
        _, probe = two_shoppers_and_a_probe(operator, nearest=0.3, second=0.37)
        checked(operator, OperatingPoint(0.55, True, "target_met", 0.009, 0.95))  # measured at margin 0.05
        assert match_encoding(client, device, secret, probe).json()["result"] == "match"

        operator_match_rule_update(actor=OFFICER, operator=operator, match_margin=0.1)
        assert match_encoding(client, device, secret, probe).json() == {"result": "no_match"}

        # Back to the site's margin: the check in force was measured at 0.1 by then, so 0.1 holds until
        # the check the change sends has measured the gallery at 0.05.
        gallery_check_record(
            operator_id=operator.pk,
            trigger="rule_changed",
            check=check_of(700, margin=0.1),
            point=OperatingPoint(0.55, True, "target_met", 0.009, 0.95),
            thresholds=[0.55],
            tir_floor=0.9,
        )
        operator_match_rule_update(actor=OFFICER, operator=operator, match_margin=None)
        assert match_encoding(client, device, secret, probe).json() == {"result": "no_match"}
        checked(operator, OperatingPoint(0.55, True, "target_met", 0.009, 0.95))
        assert match_encoding(client, device, secret, probe).json()["result"] == "match"
