"""Admin: operators, stores and devices, written only through the services; the door's records, read-only.

Every add, change, inline change, delete and action calls a service, which audits it in the same
transaction (docs/decisions/0015-audited-admin.md). A device's secret is shown to the staff member
once, as a message, and never again; devices are revoked, never deleted.
"""

from django import forms
from django.contrib import admin, messages
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ReadOnlyAdmin, ServiceAdmin
from core.audit import Actor
from core.errors import DomainError, ValidationFailed
from stores.models import Device, GalleryCheck, MatchEvent, Operator, ProbeCounter, Store, Visit
from stores.selectors import notice_unconfirmed_q
from stores.services import (
    device_location_check,
    device_register,
    device_revoke,
    device_rotate_secret,
    device_update,
    match_rule_check,
    operator_create,
    operator_delete,
    operator_match_rule_update,
    operator_update,
    store_confirm_signage,
    store_create,
    store_delete,
    store_go_live,
    store_update,
    target_fpir_check,
)

# What staff edit; each is a keyword of the services (a new model field shows up here only when they take it).
OPERATOR_FIELDS = [
    "name",
    "slug",
    "legal_name",
    "jurisdiction",
    "time_zone",
    "contact_email",
    "contact_address",
    "privacy_officer_name",
    "privacy_officer_email",
    "template_retention_days",
    "footprint_retention_days",
    "target_fpir",
]
# The operator's match rule: a privacy officer's act, through its own service (operator_match_rule_update).
MATCH_RULE_FIELDS = ["match_threshold", "match_margin"]
STORE_FIELDS = ["name", "slug", "address", "mode"]
# Status and signage change only through the actions below (the services), never by editing a form.
STORE_STATE_FIELDS = ["status", "signage_confirmed_at", "signage_confirmed_by"]


def _changed(form, names) -> dict:
    return {name: form.cleaned_data[name] for name in form.changed_data if name in names}


class StoreFormSet(BaseInlineFormSet):
    """An operator's stores, added, changed and deleted through the services (under `actor`)."""

    actor: Actor

    def save_new(self, form, commit=True):
        values = {name: form.cleaned_data[name] for name in STORE_FIELDS}
        return store_create(actor=self.actor, operator=self.instance, **values)

    def save_existing(self, form, obj, commit=True):
        return store_update(actor=self.actor, store=obj, **_changed(form, STORE_FIELDS))

    def delete_existing(self, obj, commit=True):
        store_delete(actor=self.actor, store=obj)


class StoreInline(admin.TabularInline):
    model = Store
    formset = StoreFormSet
    extra = 0
    fields = [*STORE_FIELDS, *STORE_STATE_FIELDS]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = STORE_STATE_FIELDS


class OperatorForm(forms.ModelForm):
    class Meta:
        model = Operator
        fields = [*OPERATOR_FIELDS, *MATCH_RULE_FIELDS]

    def _service_rule(self, name: str):
        # The service's own rule (stricter than the site's, never looser), shown beside the field.
        value = self.cleaned_data.get(name)
        try:
            match_rule_check(**{"match_threshold": None, "match_margin": None, name: value})
        except ValidationFailed as refusal:
            raise forms.ValidationError(refusal.message, code=refusal.code) from refusal
        return value

    def clean_match_threshold(self):
        return self._service_rule("match_threshold")

    def clean_match_margin(self):
        return self._service_rule("match_margin")

    def clean_target_fpir(self):
        # The service's own rule (lower than the site's, never higher), shown beside the field.
        value = self.cleaned_data.get("target_fpir")
        try:
            target_fpir_check(target_fpir=value)
        except ValidationFailed as refusal:
            raise forms.ValidationError(refusal.message, code=refusal.code) from refusal
        return value


@admin.register(Operator)
class OperatorAdmin(ServiceAdmin):
    form = OperatorForm
    list_display = ["name", "slug", "jurisdiction", "contact_email", "privacy_officer_email"]
    search_fields = ["name", "legal_name"]
    fields = [*OPERATOR_FIELDS, *MATCH_RULE_FIELDS]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StoreInline]

    def save_model(self, request, obj, form, change):
        actor = Actor.staff(request.user)
        if change:
            operator = operator_update(actor=actor, operator=obj, **_changed(form, OPERATOR_FIELDS))
        else:
            values = {name: form.cleaned_data[name] for name in OPERATOR_FIELDS}
            operator = operator_create(actor=actor, **values)
        rule = _changed(form, MATCH_RULE_FIELDS)
        if rule:
            operator = operator_match_rule_update(actor=actor, operator=operator, **rule)
        if not change:
            self.continue_with(obj, operator)

    def save_formset(self, request, form, formset, change):
        formset.actor = Actor.staff(request.user)
        formset.save()

    def delete_model(self, request, obj):
        operator_delete(actor=Actor.staff(request.user), operator=obj)


@admin.register(Store)
class StoreAdmin(ServiceAdmin):
    list_display = ["name", "operator", "slug", "mode", "status", "signage_confirmed_at", "signage_confirmed_by"]
    list_filter = ["status", "mode", "operator"]
    list_select_related = ["operator"]
    search_fields = ["name", "address"]
    fields = ["operator", *STORE_FIELDS, *STORE_STATE_FIELDS]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["confirm_signage", "go_live"]

    def get_readonly_fields(self, request, obj=None):
        # A store never moves to another operator: its visits and consents belong to the first.
        return STORE_STATE_FIELDS if obj is None else ["operator", *STORE_STATE_FIELDS]

    def save_model(self, request, obj, form, change):
        actor = Actor.staff(request.user)
        if change:
            store_update(actor=actor, store=obj, **_changed(form, STORE_FIELDS))
        else:
            values = {name: form.cleaned_data[name] for name in STORE_FIELDS}
            self.continue_with(obj, store_create(actor=actor, operator=form.cleaned_data["operator"], **values))

    def delete_model(self, request, obj):
        store_delete(actor=Actor.staff(request.user), store=obj)

    @admin.action(description=gettext_lazy("Confirm signage"))
    def confirm_signage(self, request, queryset):
        confirmed_by = request.user.email[: Store._meta.get_field("signage_confirmed_by").max_length]
        for store in queryset:
            store_confirm_signage(actor=Actor.staff(request.user), store=store, confirmed_by=confirmed_by)
            self.message_user(request, _("Signage confirmed for %(store)s.") % {"store": store})

    @admin.action(description=gettext_lazy("Go live"))
    def go_live(self, request, queryset):
        for store in queryset:
            try:
                store_go_live(actor=Actor.staff(request.user), store=store)
            except DomainError as error:
                self.message_user(request, f"{store}: {error.message}", level=messages.ERROR)
            else:
                self.message_user(request, _("%(store)s is live.") % {"store": store})


class DeviceForm(forms.ModelForm):
    class Meta:
        model = Device
        fields = ["store", "name", "kind", "location"]

    def clean(self):
        cleaned = super().clean()
        # The service's own rule, shown beside the field rather than as a refusal after the save.
        try:
            device_location_check(location=cleaned.get("location", ""))
        except ValidationFailed as refusal:
            self.add_error("location", refusal.message)
        return cleaned


@admin.register(Device)
class DeviceAdmin(ServiceAdmin):
    """Adding registers through `device_register`; later edits (name, location) go through `device_update`."""

    form = DeviceForm
    list_display = ["device_id", "name", "store", "kind", "location", "revoked_at"]
    list_filter = ["kind", "location", "store"]
    list_select_related = ["store__operator"]
    search_fields = ["device_id", "name"]
    actions = ["rotate_secret", "revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["store", "name", "kind", "location"]
        return ["device_id", "store", "name", "kind", "location", "created_at", "secret_rotated_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["device_id", "store", "kind", "created_at", "secret_rotated_at", "revoked_at"]

    def has_delete_permission(self, request, obj=None):
        # A device is revoked, never deleted: its visits and audit entries keep pointing at it.
        return False

    def save_model(self, request, obj, form, change):
        actor = Actor.staff(request.user)
        if change:
            device_update(actor=actor, device=obj, **_changed(form, ["name", "location"]))
            return
        issued = device_register(
            actor=actor,
            store=form.cleaned_data["store"],
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            location=form.cleaned_data["location"],
        )
        self.continue_with(obj, issued.device)
        self._show_secret_once(request, issued.device, issued.secret)

    def _show_secret_once(self, request, device: Device, secret: str) -> None:
        self.message_user(
            request,
            _("Secret for %(device_id)s (shown once): %(secret)s") % {"device_id": device.device_id, "secret": secret},
            level=messages.WARNING,
        )

    @admin.action(description=gettext_lazy("Rotate secret"))
    def rotate_secret(self, request, queryset):
        for device in queryset:
            if device.is_revoked:
                self.message_user(
                    request,
                    _("%(device_id)s is revoked; register a new device instead.") % {"device_id": device.device_id},
                    level=messages.ERROR,
                )
                continue
            issued = device_rotate_secret(actor=Actor.staff(request.user), device=device)
            self._show_secret_once(request, issued.device, issued.secret)

    @admin.action(description=gettext_lazy("Revoke"))
    def revoke(self, request, queryset):
        for device in queryset:
            device_revoke(actor=Actor.staff(request.user), device=device)
            self.message_user(request, _("%(device_id)s is revoked.") % {"device_id": device.device_id})


# What the door recorded: shown to staff, written only by the door.


class NoticeConfirmationFilter(admin.SimpleListFilter):
    """The store's report of first recognitions whose door did not confirm the collection notice in a minute."""

    title = gettext_lazy("collection notice")
    parameter_name = "notice"

    def lookups(self, request, model_admin):
        return [("unconfirmed", gettext_lazy("Not confirmed within a minute"))]

    def queryset(self, request, queryset):
        return queryset.filter(notice_unconfirmed_q()) if self.value() == "unconfirmed" else queryset


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    # The shopper is left out: staff see what happened at the door, not who it was.
    fields = list_display = [
        "public_id",
        "store",
        "device",
        "method",
        "entered_at",
        "exited_at",
        "first_visit",
        "notice_shown_at",
    ]
    list_filter = ["method", "first_visit", NoticeConfirmationFilter, "store"]
    list_select_related = ["store__operator", "device"]


@admin.register(MatchEvent)
class MatchEventAdmin(ReadOnlyAdmin):
    # Neither the shopper nor their consent (whose name carries the shopper's id) is shown.
    fields = list_display = ["occurred_at", "visit", "store", "device", "mode", "distance", "notice_version"]
    list_filter = ["mode", "store"]
    list_select_related = ["store__operator", "device", "visit", "notice_version__notice__operator"]


@admin.register(ProbeCounter)
class ProbeCounterAdmin(ReadOnlyAdmin):
    fields = list_display = ["day", "device", "matched", "no_match", "no_face"]
    list_filter = ["day"]
    list_select_related = ["device"]


@admin.register(GalleryCheck)
class GalleryCheckAdmin(ReadOnlyAdmin):
    """What each gallery check found and decided: the record the authorities' document draws on."""

    list_display = ["checked_at", "operator", "trigger", "gallery_size", "sampled", "threshold", "one_to_n"]
    fields = [
        "checked_at",
        "operator",
        "trigger",
        "gallery_size",
        "sampled",
        "thresholds",
        "margin",
        "target_fpir",
        "tir_floor",
        "figures",
        "threshold",
        "one_to_n",
        "reason",
    ]
    list_filter = ["one_to_n", "trigger", "operator"]
    list_select_related = ["operator"]
