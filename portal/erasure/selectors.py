"""Reads for deleting an account: what it holds (shown before the shopper confirms), and where a person
still shows up in the database (the check run after an account is deleted, F4).

`shopper_traces` looks at every table the project's models know, not at a list that could fall behind a new one:
each foreign key to the user table and each column named `shopper_id` for the row id, each text,
JSON and UUID column for the email address, the public id and (when given) the display name, and the
browser sessions for one signed in as that user. Two kinds of rows are counted apart, as allowed: the audit
log's entries that name the person by row id only (those holding anything else count as traces), and the
notes telling match workers to drop the id, which the daily job deletes after a day.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import models
from django.db.models import Q

from biometrics.models import Enrollment, FaceTemplate, MatchIndexChange
from consent.models import Consent, ConsentEvent, EntryPass
from core.models import AuditEntry
from portal.models import ApiToken, EmailChange, EmailVerification, User, WebSession
from stores.footprint.selectors import footprint_deletion_plan
from stores.models import Notification

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


@dataclass(frozen=True)
class Traces:
    """Rows, by table (`app_label.model`), that name the person; the audit log's share, apart."""

    rows: dict[str, int] = field(default_factory=dict)
    audit_entries_by_id: int = 0  # entries naming the row id only: allowed, they say nothing of the person
    # Notes telling match workers to drop the id (biometrics.MatchIndexChange): allowed, deleted within a day.
    index_notes: int = 0

    @property
    def clean(self) -> bool:
        return not self.rows


def _person_q(model, *, shopper_id: int, public_id: str, values: list[str], user_model) -> Q:
    q = Q(pk__in=[])
    for column in model._meta.concrete_fields:
        if column.is_relation and column.related_model is user_model:
            q |= Q(**{column.attname: shopper_id})
        elif model is user_model and column.primary_key:
            q |= Q(pk=shopper_id)
        elif column.name == "shopper_id" and isinstance(column, models.IntegerField):
            q |= Q(shopper_id=shopper_id)
        elif isinstance(column, models.UUIDField):
            q |= Q(**{column.name: public_id})
        elif isinstance(column, TEXT_FIELDS) and not column.choices:
            for value in values:
                q |= Q(**{f"{column.name}__icontains": value})
    return q


def shopper_traces(*, shopper_id: int, public_id: str, email: str, display_name: str = "") -> Traces:
    """Every row left that names this person, by table; the audit log's entries that name them by row id
    only are counted apart (and are all an erased account may leave)."""
    user_model = get_user_model()
    values = [value for value in (email, public_id, display_name) if value]
    rows: dict[str, int] = {}
    for model in apps.get_models(include_auto_created=True):
        if model in (Session, MatchIndexChange) or model._meta.proxy or not model._meta.managed:
            continue
        person = _person_q(model, shopper_id=shopper_id, public_id=public_id, values=values, user_model=user_model)
        count = model._base_manager.filter(person).count()
        if count:
            rows[model._meta.label_lower] = count
    signed_in = sum(
        1 for session in Session.objects.iterator() if session.get_decoded().get("_auth_user_id") == str(shopper_id)
    )
    if signed_in:
        rows[Session._meta.label_lower] = signed_in
    by_id = AuditEntry.objects.filter(
        Q(actor_id=str(shopper_id), actor_type="shopper")
        | Q(target_type=user_model._meta.label_lower, target_id=str(shopper_id))
        | Q(data__shopper=shopper_id)
    ).count()
    notes = MatchIndexChange.objects.filter(shopper_id=shopper_id).count()
    return Traces(rows=rows, audit_entries_by_id=by_id, index_notes=notes)


def account_holdings(*, user: User) -> dict[str, int]:
    """What deleting the account would remove, by category (`services.CATEGORIES`): shown before the
    shopper confirms. Counted the way the erasure counts, so the receipt and this agree."""
    plan = footprint_deletion_plan(shopper=user, everything=True)
    return {
        "templates": FaceTemplate.objects.filter(shopper=user).count(),
        "enrollments": Enrollment.objects.filter(shopper=user).count(),
        **plan.counts,
        "notifications": Notification.objects.filter(shopper=user).count(),
        "consents": Consent.objects.filter(shopper=user).count(),
        "consent_events": ConsentEvent.objects.filter(shopper=user).count(),
        "entry_passes": EntryPass.objects.filter(shopper=user).count(),
        "web_sessions": WebSession.objects.filter(user=user).count(),
        "app_tokens": ApiToken.objects.filter(user=user).count(),
        "email_codes": EmailChange.objects.filter(user=user).count()
        + EmailVerification.objects.filter(user=user).count(),
    }
