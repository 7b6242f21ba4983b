"""The gallery check: each operator's own gallery measures its false identification risk, sets the
door's threshold, or stops 1:N (docs/decisions/0025-gallery-check-at-the-door.md)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from biometrics.identification import OperatingPoint, SelfCheck, ThresholdFigures
from core.audit import audit_chain_verify
from core.models import AuditEntry
from portal.celery import app as celery_app
from stores.door.matching import INDEXES, gallery_check_due, gallery_check_run, gallery_checks_run
from stores.models import GalleryCheck, MatchEvent, Visit
from stores.services import gallery_check_record
from tests.factories import OperatorFactory, UserFactory, face_consent, live_store, registered_device
from tests.stores.gallery import lookalikes, population

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("M5")]


@pytest.fixture
def sent(monkeypatch) -> list:
    """The gallery checks sent, each as (its arguments, the queue it went to), instead of sending them."""
    sent: list = []
    monkeypatch.setattr(
        celery_app.tasks["stores.gallery_check"],
        "apply_async",
        lambda kwargs, queue: sent.append((kwargs, queue)),
        raising=False,
    )
    return sent


GRID = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55]


def check_of(size: int, *, upper: float = 0.001, margin: float = 0.05) -> SelfCheck:
    figures = tuple(ThresholdFigures(t, size, 0, 0.0, upper, 10, 10, 1.0, 0.7) for t in GRID)
    return SelfCheck(gallery_size=size, sampled=False, margin=margin, figures=figures)


STOPPED = OperatingPoint(None, False, "tir_below_floor", 0.008, 0.4)
ON = OperatingPoint(0.55, True, "target_met", 0.009, 0.98)


def record(operator, point, size=700):
    return gallery_check_record(
        operator_id=operator.pk, trigger="on_demand", check=check_of(size), point=point, thresholds=GRID, tir_floor=0.9
    )


class TestRecord:
    def test_a_check_is_stored_with_its_rule_and_figures_and_logged(self, settings):
        settings.MATCH_TARGET_FPIR = 0.01
        operator = OperatorFactory(target_fpir=0.005)
        recorded = record(operator, ON)
        stored = GalleryCheck.objects.get()
        assert stored == recorded
        assert (stored.gallery_size, stored.sampled, stored.margin, stored.target_fpir, stored.tir_floor) == (
            700,
            False,
            0.05,
            0.005,
            0.9,
        )
        assert stored.thresholds == GRID and len(stored.figures) == len(GRID)
        assert stored.figures[-1] == {
            "threshold": 0.55,
            "strangers": 700,
            "false_matches": 0,
            "fpir": 0.0,
            "fpir_upper": 0.001,
            "genuine": 10,
            "true_matches": 10,
            "tir": 1.0,
            "tir_lower": 0.7,
            "genuine_entries": 0,
        }
        assert (stored.threshold, stored.one_to_n, stored.reason) == (0.55, True, "target_met")
        entry = AuditEntry.objects.get()
        assert (entry.action, entry.target_id) == ("gallery_check.recorded", str(stored.pk))
        assert entry.data == {
            "operator": operator.slug,
            "trigger": "on_demand",
            "gallery_size": 700,
            "sampled": False,
            "threshold": 0.55,
            "one_to_n": True,
            "fpir_upper": 0.009,
            "tir": 0.98,
        }

    def test_the_privacy_officer_is_told_when_one_to_n_stops_and_when_it_resumes_only(
        self, mailoutbox, django_capture_on_commit_callbacks
    ):
        operator = OperatorFactory(privacy_officer_email="dpo@mart.example", privacy_officer_name="Pat")
        with django_capture_on_commit_callbacks(execute=True):
            record(operator, ON)  # 1:N was on before any check: nothing to tell
        assert mailoutbox == []
        with django_capture_on_commit_callbacks(execute=True):
            stopped = record(operator, STOPPED)
        assert len(mailoutbox) == 1
        mail = mailoutbox[0]
        assert mail.to == ["dpo@mart.example"]
        assert mail.subject == "FaceConsent: your doors now recognise faces only with an entry pass"
        assert "Hello Pat," in mail.body and "one_to_one_required" in mail.body
        assert "Reason on record: tir_below_floor" in mail.body and "700 enrolled shoppers" in mail.body
        entry = AuditEntry.objects.get(action="operator.one_to_n_stopped")
        assert entry.target_id == str(operator.pk)
        assert entry.data == {"gallery_check": stopped.pk, "reason": "tir_below_floor", "target_fpir": 0.01}
        with django_capture_on_commit_callbacks(execute=True):
            record(operator, STOPPED)  # still stopped: no new mail, no new entry
        assert len(mailoutbox) == 1 and AuditEntry.objects.filter(action="operator.one_to_n_stopped").count() == 1
        with django_capture_on_commit_callbacks(execute=True):
            record(operator, ON)
        assert len(mailoutbox) == 2
        assert mailoutbox[1].subject == "FaceConsent: your doors recognise faces without an entry pass again"
        assert AuditEntry.objects.filter(action="operator.one_to_n_resumed").count() == 1
        assert audit_chain_verify().intact

    def test_a_first_check_that_stops_one_to_n_is_told(self, mailoutbox, django_capture_on_commit_callbacks):
        operator = OperatorFactory()
        with django_capture_on_commit_callbacks(execute=True):
            record(operator, STOPPED)
        assert len(mailoutbox) == 1 and AuditEntry.objects.filter(action="operator.one_to_n_stopped").exists()

    def test_a_gone_operator_stores_nothing(self):
        operator = OperatorFactory()
        operator_id = operator.pk
        operator.delete()
        assert (
            gallery_check_record(
                operator_id=operator_id, trigger="nightly", check=check_of(5), point=ON, thresholds=GRID, tir_floor=0.9
            )
            is None
        )
        assert not GalleryCheck.objects.exists()


class TestRun:
    """In this process's indexes (tasks run in the caller here), on galleries in the database."""

    def test_a_sparse_gallery_keeps_one_to_n_at_the_ceiling(self):
        operator = OperatorFactory()
        population(operator, 650)
        check = gallery_check_run(operator_id=operator.pk, trigger="on_demand")
        assert (check.gallery_size, check.threshold, check.one_to_n, check.reason) == (650, 0.55, True, "target_met")
        assert check.figures[-1]["false_matches"] == 0 and check.figures[-1]["fpir_upper"] <= 0.01
        assert check.figures[-1]["genuine"] > 100  # the shoppers holding several templates

    def test_lookalikes_lower_the_threshold_and_denser_ones_stop_one_to_n(self):
        operator = OperatorFactory()
        held = population(operator, 650)
        first_templates = [encodings[0] for encodings in held.values()]
        lookalikes(operator, first_templates[:6], distance=0.52, each=2)
        lowered = gallery_check_run(operator_id=operator.pk, trigger="on_demand")
        assert (lowered.threshold, lowered.one_to_n, lowered.reason) == (0.5, True, "target_met")
        at_ceiling = lowered.figures[-1]
        assert at_ceiling["threshold"] == 0.55 and at_ceiling["false_matches"] >= 12
        assert at_ceiling["fpir_upper"] > 0.01

        lookalikes(operator, first_templates[10:80], distance=0.22)
        stopped = gallery_check_run(operator_id=operator.pk, trigger="on_demand")
        assert (stopped.gallery_size, stopped.threshold, stopped.one_to_n) == (732, None, False)
        assert stopped.reason == "tir_below_floor"
        assert AuditEntry.objects.filter(action="operator.one_to_n_stopped", target_id=str(operator.pk)).exists()

    def test_confirmed_pass_and_face_entries_join_the_genuine_side(self, settings):
        settings.MATCH_GALLERY_CHECK_ENTRY_DAYS = 90
        operator = OperatorFactory()
        population(operator, 650)
        assert gallery_check_run(operator_id=operator.pk, trigger="on_demand").one_to_n
        # The operator's doors let 2,000 shoppers in with a pass and a face, each time with another shopper
        # barely farther than the pass's (within the margin): 1:N would have named none of them.
        here = live_store(operator)
        confirmed_entries(here, 2000, distance=0.30, nearest_other=0.32)
        confirmed_entries(live_store(), 5, distance=0.30, nearest_other=0.32)  # another operator's doors
        confirmed_entries(here, 5, distance=0.30, nearest_other=0.32, days_ago=91)  # before the window
        confirmed_entries(here, 5, distance=0.30, nearest_other=None)  # recorded without the nearest other

        stopped = gallery_check_run(operator_id=operator.pk, trigger="on_demand")

        at_ceiling = stopped.figures[-1]
        assert at_ceiling["genuine_entries"] == 2000
        assert at_ceiling["genuine"] == 2000 + population_genuine(stopped)
        assert at_ceiling["tir"] < 0.2
        assert (stopped.threshold, stopped.one_to_n, stopped.reason) == (None, False, "tir_below_floor")

    def test_a_small_gallery_keeps_one_to_n(self):
        operator = OperatorFactory()
        held = population(operator, 5)
        lookalikes(operator, [encodings[0] for encodings in held.values()], distance=0.2)
        check = gallery_check_run(operator_id=operator.pk, trigger="on_demand")
        assert (check.gallery_size, check.threshold, check.one_to_n, check.reason) == (10, 0.55, True, "small_gallery")

    def test_a_lower_target_of_the_operator_is_the_one_held_to(self):
        operator = OperatorFactory(target_fpir=0.001)
        population(operator, 650)
        check = gallery_check_run(operator_id=operator.pk, trigger="on_demand")
        assert check.target_fpir == 0.001
        assert (check.one_to_n, check.reason) == (False, "too_few_strangers")  # 650 strangers cannot show 0.1%

    def test_the_nightly_run_checks_every_operator_with_a_gallery(self):
        with_gallery, without = OperatorFactory(), OperatorFactory()
        population(with_gallery, 3)
        recorded = gallery_checks_run(trigger="nightly")
        assert [GalleryCheck.objects.get(pk=pk).operator for pk in recorded] == [with_gallery]
        assert not without.gallery_checks.exists()

    def test_the_command_runs_a_check_and_prints_its_figures(self, capsys):
        operator = OperatorFactory(slug="mart")
        population(operator, 650)
        call_command("gallery_check", "mart")
        printed = capsys.readouterr().out
        assert "mart: 650 shoppers, 650 searched against the others; target FPIR 0.01" in printed
        assert "threshold in force: 0.55; 1:N on" in printed and "reason: target_met" in printed
        genuine = GalleryCheck.objects.get().figures[0]["genuine"]
        assert f"genuine probes: {genuine} from shoppers' other templates, 0 confirmed entries" in printed
        assert printed.count("\n") == 2 + len(GRID) + 2
        assert GalleryCheck.objects.get().trigger == "on_demand"


class TestWhenDue:
    @pytest.mark.parametrize(
        ("size", "last", "due"),
        [
            (20, None, False),  # small for 1% on the published tail alone: 1:N, no check needed
            (21, None, True),
            (1000, 1000, False),
            (1100, 1000, False),
            (1101, 1000, True),
            (899, 1000, True),
            (5, 1000, True),  # shrank: 1:N may come back
        ],
    )
    def test_a_gallery_is_checked_when_it_moved_by_more_than_a_tenth(self, settings, size, last, due):
        settings.MATCH_TARGET_FPIR, settings.MATCH_GALLERY_CHECK_CHANGE = 0.01, 0.10
        assert gallery_check_due(size, last) is due

    def test_a_lower_target_makes_a_small_gallery_smaller(self):
        assert gallery_check_due(15, None, target_fpir=0.005) is True

    def test_a_match_worker_sends_each_due_check_once(self, sent):
        operator, small = OperatorFactory(), OperatorFactory()
        population(operator, 30)
        population(small, 4)
        INDEXES.refresh()
        assert INDEXES.checks_due() == [operator.pk]
        INDEXES.send_due_checks()
        # To the queue of the operator's shard, where the workers holding its index are (decision 0041).
        assert sent == [
            ({"operator_id": operator.pk, "trigger": "gallery_changed"}, f"match.{operator.match_shard.name}")
        ]
        INDEXES.send_due_checks()  # nothing moved since
        INDEXES._sizes_moved = True
        INDEXES.send_due_checks()  # moved, but another worker (or this one) sent it within five minutes
        assert len(sent) == 1
        record(operator, ON, size=30)
        assert INDEXES.checks_due() == []


def test_the_check_is_a_match_worker_task_and_runs_nightly_on_every_shard(sent):
    from stores.models import MatchShard
    from stores.tasks import gallery_checks_nightly_task

    assert celery_app.amqp.router.route({}, "stores.gallery_check")["queue"].name == "match"
    nightly = [entry["task"] for entry in celery_app.conf.beat_schedule.values()]
    assert "stores.gallery_checks_nightly" in nightly and "stores.gallery_check" not in nightly
    MatchShard.objects.create(name="b")
    assert gallery_checks_nightly_task() == ["a", "b"]
    assert sent == [
        ({"trigger": "nightly", "shard": "a"}, "match.a"),
        ({"trigger": "nightly", "shard": "b"}, "match.b"),
    ]


def population_genuine(check) -> int:
    """The genuine probes from shoppers holding several templates (the same at every threshold)."""
    return check.figures[0]["genuine"] - check.figures[0]["genuine_entries"]


def confirmed_entries(store, count: int, *, distance: float, nearest_other: float | None, days_ago: int = 0):
    """`count` pass-plus-face entries of one consenting shopper at `store`, written in bulk."""
    shopper = UserFactory()
    consent = face_consent(shopper, store.operator)
    device, _ = registered_device(store)
    when = timezone.now() - timedelta(days=days_ago)
    visits = Visit.objects.bulk_create(
        Visit(shopper=shopper, store=store, device=device, method="face_and_pass", entered_at=when)
        for _ in range(count)
    )
    MatchEvent.objects.bulk_create(
        MatchEvent(
            visit=visit,
            shopper=shopper,
            device=device,
            store=store,
            distance=distance,
            nearest_other_distance=nearest_other,
            mode="1:1",
            consent=consent,
            notice_version=consent.notice_version,
            occurred_at=when,
        )
        for visit in visits
    )
