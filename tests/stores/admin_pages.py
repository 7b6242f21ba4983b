"""The operator and store pages of the admin, as a browser posts them."""

from __future__ import annotations

from stores.models import Operator, Store

OPERATOR_FORM = {
    "name": "Mart",
    "slug": "mart",
    "legal_name": "",
    "jurisdiction": "CN",
    "time_zone": "Asia/Shanghai",
    "contact_email": "privacy@mart.example",
    "contact_address": "",
    "privacy_officer_name": "Pat Officer",
    "privacy_officer_email": "dpo@mart.example",
    "template_retention_days": "365",
    "footprint_retention_days": "365",
    "target_fpir": "",
    "match_threshold": "",
    "match_margin": "",
}


def operator_form(operator: Operator | None = None, *, new=(), change=None, delete=(), **overrides) -> dict:
    """The operator page as posted: the operator's fields, its stores (as they are, `change`d, or
    ticked to `delete`) and `new` stores."""
    data = dict(OPERATOR_FORM)
    if operator is not None:
        data.update({name: str(getattr(operator, name) or "") for name in OPERATOR_FORM})
    data.update(overrides)
    existing = list(operator.stores.order_by("pk")) if operator is not None else []
    rows = [
        {
            "id": store.pk,
            "operator": operator.pk,
            "name": store.name,
            "slug": store.slug,
            "address": store.address,
            "mode": store.mode,
        }
        | ((change or {}) if store.pk == getattr(change, "pk", None) else {})
        | ({"DELETE": "on"} if store in delete else {})
        for store in existing
    ]
    rows += [{"name": name, "slug": name.lower(), "address": "", "mode": "1:N"} for name in new]
    data.update(
        {
            "stores-TOTAL_FORMS": len(rows),
            "stores-INITIAL_FORMS": len(existing),
            "stores-MIN_NUM_FORMS": 0,
            "stores-MAX_NUM_FORMS": 1000,
        }
    )
    for index, row in enumerate(rows):
        data.update({f"stores-{index}-{name}": value for name, value in row.items()})
    return data


class StoreChange(dict):
    """Field changes for one existing store in `operator_form`."""

    def __init__(self, store, **changes):
        super().__init__(changes)
        self.pk = store.pk


def store_form(store: Store | None = None, **overrides) -> dict:
    data = {"operator": "", "name": "Central", "slug": "central", "address": "", "mode": "1:N"}
    if store is not None:
        data.update({name: getattr(store, name) for name in ["name", "slug", "address", "mode"]})
        data["operator"] = store.operator_id
    return {**data, **overrides}
