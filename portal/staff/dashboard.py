"""Reads for the staff dashboard (S2): the requests waiting and late, consents given and withdrawn per week,
each operator's last gallery self-check, and the audit log's verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncWeek
from django.utils import timezone

from core.audit import audit_chain_verify
from core.models import AuditEntry
from portal.models import PrivacyRequest
from stores.models import GalleryCheck, Operator

WEEKS = 12
GIVEN, WITHDRAWN = "consent.given", "consent.withdrawn"  # the audit log's actions counted by the chart


@dataclass(frozen=True)
class Week:
    starts: date
    given: int
    withdrawn: int


def request_counts(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    open_ = PrivacyRequest.objects.filter(status__in=PrivacyRequest.OPEN)
    return open_.aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lte=now)))


def consent_weeks(*, now: datetime | None = None, weeks: int = WEEKS) -> list[Week]:
    """Consents given and withdrawn in each of the last `weeks` weeks (Monday to Sunday, the site's zone),
    the oldest first; weeks without any are there with zeros. Counted from the audit log, which keeps these
    entries (by id only) after an account's erasure has deleted its consent events: the figures of the past
    do not change when a shopper leaves."""
    now = now or timezone.localtime()
    this_monday = timezone.localdate(now) - timedelta(days=timezone.localdate(now).weekday())
    first = this_monday - timedelta(weeks=weeks - 1)
    rows = (
        AuditEntry.objects.filter(
            action__in=[GIVEN, WITHDRAWN],
            occurred_at__gte=timezone.make_aware(datetime.combine(first, datetime.min.time())),
        )
        .annotate(week=TruncWeek("occurred_at"))
        .values("week", "action")
        .annotate(count=Count("pk"))
    )
    counts: dict[tuple[date, str], int] = {}
    for row in rows:
        week = row["week"].date() if isinstance(row["week"], datetime) else row["week"]
        counts[(week, row["action"])] = row["count"]
    return [
        Week(starts, counts.get((starts, GIVEN), 0), counts.get((starts, WITHDRAWN), 0))
        for starts in (first + timedelta(weeks=n) for n in range(weeks))
    ]


def gallery_checks_latest() -> list[tuple[Operator, GalleryCheck | None]]:
    """Each operator with its last gallery self-check (none yet: None), by name. Two queries."""
    latest = GalleryCheck.objects.filter(operator=OuterRef("pk")).order_by("-id").values("id")[:1]
    operators = list(Operator.objects.annotate(last_check=Subquery(latest)).order_by("name"))
    checks = GalleryCheck.objects.in_bulk([operator.last_check for operator in operators if operator.last_check])
    return [(operator, checks.get(operator.last_check)) for operator in operators]


def audit_verdict() -> dict:
    """`audit_chain_verify`'s verdict, read now (a page's read writes nothing, so it is not kept)."""
    report = audit_chain_verify()
    return {
        "intact": report.intact,
        "checked": report.checked,
        "broken_sequence": report.broken_sequence,
        "reason": report.reason,
        "at": timezone.now(),
    }
