"""Admin: operators and stores (signage and going live through the services), devices and the door's records.

Devices are registered, rotated and revoked through the services, which audit them; their secret
is shown to the staff member once, as a message, and never again. Visits, match events and probe
counters are read-only.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.admin import ReadOnlyAdmin
from core.admin import AuditedModelAdmin
from core.audit import Actor
from core.errors import DomainError
from stores.models import Device, MatchEvent, Operator, ProbeCounter, Store, Visit
from stores.services import (
    device_register,
    device_revoke,
    device_rotate_secret,
    store_confirm_signage,
    store_go_live,
)

# Status and signage change only through the actions below (the services), never by editing a form.
STORE_STATE_FIELDS = ["status", "signage_confirmed_at", "signage_confirmed_by"]


class StoreInline(admin.TabularInline):
    model = Store
    extra = 0
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = STORE_STATE_FIELDS


@admin.register(Operator)
class OperatorAdmin(AuditedModelAdmin):
    list_display = ["name", "slug", "jurisdiction", "contact_email", "privacy_officer_email"]
    search_fields = ["name", "legal_name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StoreInline]


@admin.register(Store)
class StoreAdmin(AuditedModelAdmin):
    list_display = ["name", "operator", "slug", "mode", "status", "signage_confirmed_at", "signage_confirmed_by"]
    list_filter = ["status", "mode", "operator"]
    list_select_related = ["operator"]
    search_fields = ["name", "address"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = STORE_STATE_FIELDS
    actions = ["confirm_signage", "go_live"]

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
        # The service refuses these too (private_space); here it becomes a form error, not a 500.
        if cleaned.get("location") in Device.PRIVATE_LOCATIONS:
            self.add_error(
                "location", _("Devices cannot be placed in private spaces such as fitting rooms or toilets.")
            )
        return cleaned


@admin.register(Device)
class DeviceAdmin(AuditedModelAdmin):
    """Adding registers through `device_register`; later edits (name, location) are audited as changes."""

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
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = device_register(
            actor=Actor.staff(request.user),
            store=form.cleaned_data["store"],
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            location=form.cleaned_data["location"],
        )
        for field in Device._meta.concrete_fields:  # the admin goes on with `obj`
            setattr(obj, field.attname, getattr(issued.device, field.attname))
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
    list_filter = ["method", "first_visit", "store"]
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
