"""Writes for operators and stores."""

from __future__ import annotations

from django.db import transaction

from core.audit import Actor, audit_entry_create
from stores.models import Operator, Store


@transaction.atomic
def operator_create(
    *,
    actor: Actor,
    name: str,
    slug: str,
    contact_email: str,
    privacy_officer_name: str,
    privacy_officer_email: str,
    legal_name: str = "",
    jurisdiction: str = "CN",
    contact_address: str = "",
) -> Operator:
    operator = Operator(
        name=name,
        slug=slug,
        legal_name=legal_name,
        jurisdiction=jurisdiction,
        contact_email=contact_email,
        contact_address=contact_address,
        privacy_officer_name=privacy_officer_name,
        privacy_officer_email=privacy_officer_email,
    )
    operator.full_clean()
    operator.save()
    audit_entry_create(actor=actor, action="operator.created", target=operator, data={"slug": slug})
    return operator


@transaction.atomic
def store_create(*, actor: Actor, operator: Operator, name: str, slug: str, address: str = "") -> Store:
    store = Store(operator=operator, name=name, slug=slug, address=address)
    store.full_clean()
    store.save()
    audit_entry_create(
        actor=actor, action="store.created", target=store, data={"operator": operator.slug, "slug": slug}
    )
    return store
