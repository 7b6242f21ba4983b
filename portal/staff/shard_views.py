"""The staff console's page of the match shards (decision 0041): each shard with its load, whether a worker of it
is ready, and its operators. Privacy officers and admins move an operator to another shard; admins add a shard.
Each change is the audited service's, with the staff member as its actor."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from core.audit import Actor
from core.errors import DomainError
from portal.staff.roles import ADMIN, PRIVACY_OFFICER, has_role
from portal.staff.views import role_required
from portal.views import _show_error
from stores.door.probes import shards_ready
from stores.models import MatchShard, Operator
from stores.shards.selectors import shard_map
from stores.shards.services import match_shard_create, operator_shard_move


class MoveForm(forms.Form):
    operator = forms.ModelChoiceField(Operator.objects.all(), to_field_name="slug", widget=forms.HiddenInput)
    shard = forms.ModelChoiceField(MatchShard.objects.all(), to_field_name="name", label=gettext_lazy("Move to"))


class ShardCreateForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=32,
        help_text=gettext_lazy("Lowercase letters, digits and hyphens, as in MATCH_SHARDS: b, north-2."),
    )


def _page(
    request: HttpRequest,
    *,
    move_form: MoveForm | None = None,
    create_form: ShardCreateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = shard_map()
    ready = shards_ready([row.shard.name for row in rows])
    # A refused move is shown on its operator's row; one naming no operator we have, above the shards.
    refused = move_form.cleaned_data.get("operator") if move_form is not None else None
    move_errors = [error for errors in move_form.errors.values() for error in errors] if move_form is not None else []
    return render(
        request,
        "portal/staff/shards.html",
        {
            "rows": [(row, None if ready is None else ready[row.shard.name]) for row in rows],
            "shards": [row.shard for row in rows],
            "refused": refused,
            "move_errors": move_errors,
            "can_create": has_role(request.user, ADMIN),
            "create_form": create_form or ShardCreateForm(),
        },
        status=status,
    )


@role_required(PRIVACY_OFFICER)
@require_safe
def shards_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@role_required(PRIVACY_OFFICER)
@require_POST
def shard_move(request: HttpRequest) -> HttpResponse:
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _page(request, move_form=form, status=400)
    operator, shard = form.cleaned_data["operator"], form.cleaned_data["shard"]
    try:
        operator_shard_move(actor=Actor.staff(request.user), operator=operator, shard=shard)
    except DomainError as error:
        _show_error(form, error)
        return _page(request, move_form=form, status=400)
    messages.success(
        request,
        _(
            "%(operator)s is moving to shard %(shard)s. Its route switches once a worker of %(shard)s has built its"
            " index; until then shard %(current)s answers its doors."
        )
        % {"operator": operator.name, "shard": shard.name, "current": operator.match_shard.name},
    )
    return redirect("portal:staff_shards")


@role_required(ADMIN)
@require_POST
def shard_create(request: HttpRequest) -> HttpResponse:
    form = ShardCreateForm(request.POST)
    if form.is_valid():
        try:
            shard = match_shard_create(actor=Actor.staff(request.user), name=form.cleaned_data["name"])
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(
                request,
                _(
                    "Shard %(shard)s is created. Start match workers with MATCH_SHARDS=%(shard)s now: until one is"
                    " ready, the doors of its operators answer 503, and new operators go to the least loaded shard,"
                    " which this one may be."
                )
                % {"shard": shard.name},
            )
            return redirect("portal:staff_shards")
    return _page(request, create_form=form, status=400)
