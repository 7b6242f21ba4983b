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


AUDIT_PAGE = 50


@dataclass(frozen=True)
class AuditFilters:
    """What the audit log viewer narrows to: an action (or a prefix ending in a dot, `consent.`), a target
    (`type` and optionally its id), an actor's id; and where the page starts (entries before `before`)."""

    action: str = ""
    target_type: str = ""
    target_id: str = ""
    actor_id: str = ""
    before: int | None = None


def audit_entries_page(filters: AuditFilters, *, size: int = AUDIT_PAGE) -> tuple[list[AuditEntry], int | None]:
    """The newest entries that match, one page, and the sequence number the next (older) page starts before,
    or None at the end. Paged by sequence, so a page costs the same at the chain's millionth entry."""
    entries = AuditEntry.objects.order_by("-sequence")
    if filters.action.endswith("."):
        entries = entries.filter(action__startswith=filters.action)
    elif filters.action:
        entries = entries.filter(action=filters.action)
    if filters.target_type:
        entries = entries.filter(target_type=filters.target_type)
        if filters.target_id:
            entries = entries.filter(target_id=filters.target_id)
    if filters.actor_id:
        entries = entries.filter(actor_id=filters.actor_id)
    if filters.before is not None:
        entries = entries.filter(sequence__lt=filters.before)
    page = list(entries[: size + 1])
    more = len(page) > size
    page = page[:size]
    return page, (page[-1].sequence if more else None)


def audit_actions() -> list[str]:
    """The actions the log holds, for the viewer's filter: their families (`consent.`) and each action."""
    actions = sorted(AuditEntry.objects.order_by().values_list("action", flat=True).distinct())
    families = sorted({action.split(".")[0] + "." for action in actions if "." in action})
    return families + actions
