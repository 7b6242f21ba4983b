"""Reads for operators: the list shoppers choose from, and one operator by its slug.

Operators are this app's (docs/decisions/0014-layers.md): consent reaches them only through its
own foreign keys, never as a list or a lookup of its own.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from core.errors import NotFound
from stores.models import Operator


def operator_list() -> QuerySet[Operator]:
    """Every operator, by name."""
    return Operator.objects.order_by("name")


def operator_get_by_slug(*, slug: str) -> Operator:
    operator = Operator.objects.filter(slug=slug).first()
    if operator is None:
        raise NotFound(_("No such operator."), code="operator_not_found")
    return operator
