"""S2: the staff dashboard: open and overdue requests (overdue ones stand out), consents given and withdrawn per
week as a chart (with the same figures as a table), each operator's last gallery self-check, and the audit
log's verdict from audit_verify."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from consent.services import consent_withdraw
from core.models import AuditEntry
from portal.models import PrivacyRequest
from portal.privacy.services import privacy_request_open
from tests.conftest import staff_signed_in
from tests.factories import OperatorFactory, UserFactory, face_consent, staff_member

pytestmark = pytest.mark.django_db

DASHBOARD = "/staff/"


@pytest.fixture
def console(client):
    return staff_signed_in(client, staff_member("Privacy officer"))


def figure(html: str, name: str) -> str:
    return re.search(rf'data-figure="{name}"[^>]*>([^<]+)<', html).group(1).strip()


@pytest.mark.requirement("F5")
def test_open_and_overdue_requests(console):
    late = privacy_request_open(shopper=UserFactory(), kind="erasure", channel="app")
    PrivacyRequest.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=1))
    privacy_request_open(shopper=UserFactory(), kind="erasure", channel="app")
    html = console.get(DASHBOARD).content.decode()
    assert figure(html, "open") == "2 open"
    assert figure(html, "overdue") == "1 overdue"
    assert 'data-figure="overdue" class="badge warn"' in html


def test_the_weekly_chart_counts_consents_given_and_withdrawn(console):
    operator = OperatorFactory()
    three_weeks_ago = timezone.now() - timedelta(weeks=3)
    with mock.patch("django.utils.timezone.now", return_value=three_weeks_ago):
        old = face_consent(UserFactory(), operator)
    face_consent(UserFactory(), operator)
    consent_withdraw(consent=old, channel="app")

    html = console.get(DASHBOARD).content.decode()
    bars = re.findall(r'<rect class="bar-(\w+)" data-week="([\d-]+)" data-kind="\w+" data-count="(\d+)"', html)
    assert len(bars) == 24  # 12 weeks, two bars each
    counted = {(kind, week): int(count) for kind, week, count in bars if int(count)}
    this_week = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    then = timezone.localdate(three_weeks_ago) - timedelta(days=timezone.localdate(three_weeks_ago).weekday())
    assert counted == {
        ("given", then.isoformat()): 1,
        ("given", this_week.isoformat()): 1,
        ("withdrawn", this_week.isoformat()): 1,
    }
    # The tallest bar fills the chart's height; the same figures stand in the table below it.
    assert re.search(r'data-count="1" x="\d+" y="0" width="10" height="120"', html)


def test_each_operators_last_gallery_check(console):
    from stores.services import gallery_check_record
    from tests.core.test_audit_coverage import _gallery_check, _one_to_n_on  # a self-check's figures

    checked, unchecked = OperatorFactory(name="Checked Mart"), OperatorFactory(name="New Mart")
    gallery_check_record(
        operator_id=checked.pk,
        trigger="nightly",
        check=_gallery_check(),
        point=_one_to_n_on(),
        thresholds=[0.55],
        tir_floor=0.9,
    )
    html = console.get(DASHBOARD).content.decode()
    row = re.search(rf'<tr data-operator="{checked.slug}">.*?</tr>', html, re.S).group()
    assert "700" in row and "0.55" in row and ">on<" in row
    assert "Not checked yet" in re.search(rf'<tr data-operator="{unchecked.slug}">.*?</tr>', html, re.S).group()


@pytest.mark.requirement("S3")
def test_the_audit_logs_verdict(console):
    privacy_request_open(shopper=UserFactory(), kind="erasure", channel="app")
    html = console.get(DASHBOARD).content.decode()
    assert 'data-audit="intact"' in html
    assert f"all {AuditEntry.objects.count()} entries hold together" in html
    AuditEntry.objects.filter(pk=AuditEntry.objects.order_by("sequence").first().pk).update(action="tampered")
    html = console.get(DASHBOARD).content.decode()
    assert 'data-audit="broken"' in html and "Broken at entry #1" in html
