"""An account's consent history leaves with the account (decision 0033).

This is the one path by which consent events are deleted: the model, its queryset and (on PostgreSQL)
a trigger refuse every other (decision 0029). What stays is the audit log's record of each consent
given and ended, which names the consent, operator, purpose and notice version by id only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from consent.models import Consent, ConsentEvent, EntryPass
from consent.selectors import consent_active_q
from consent.services.consents import consent_end
from core.audit import Actor


def consent_history_erase(*, shopper: Any, actor: Actor, now: datetime) -> dict[str, int]:
    """End every active consent of the shopper (each with its audit entry, no mail), then delete their
    entry passes, consent events and consents. In the caller's transaction, which holds the shopper's
    lock and has already removed the visits that name the consents (their match events protect them)."""
    events = ConsentEvent.objects.filter(shopper=shopper)
    # What the account held, as the shopper was shown before confirming; the withdrawals below add events
    # that go with the rest a moment later (their audit entries stay).
    counts = {"consents": Consent.objects.filter(shopper=shopper).count(), "consent_events": events.count()}
    active = Consent.objects.select_for_update(of=("self",)).filter(consent_active_q(now=now), shopper=shopper)
    for consent in active.select_related("shopper").order_by("pk"):
        consent_end(
            consent=consent,
            status=Consent.Status.WITHDRAWN,
            kind=ConsentEvent.Kind.WITHDRAWN,
            actor=actor,
            now=now,
            reason="account_deleted",
            notify=False,
        )
    entry_passes = EntryPass.objects.filter(shopper=shopper).delete()[0]
    if connection.vendor == "postgresql":
        # Lets the trigger accept this shopper's rows, and only theirs, until the transaction ends.
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('faceconsent.erasing_shopper', %s, true)", [str(shopper.pk)])
    events._raw_delete(events.db)  # the queryset's delete() refuses, as it must everywhere else
    Consent.objects.filter(shopper=shopper).delete()
    return {**counts, "entry_passes": entry_passes}
