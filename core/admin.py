"""Admin bases every app uses, and the audit log (read-only).

Every admin write goes through a service, which validates, writes and audits in one transaction
(docs/decisions/0015-audited-admin.md). `ServiceAdmin` makes that the only way: its subclasses
say which service saves and which deletes; a bulk delete runs them all in one transaction; and a
service's refusal becomes an error message with nothing written, never a 500.
"""

from django.contrib import admin, messages
from django.db import router, transaction
from django.http import HttpResponseRedirect
from django.urls import reverse

from core.errors import DomainError
from core.models import AuditEntry


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown to staff, written only by the product's own code."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceAdmin(admin.ModelAdmin):
    """An admin that writes only through services.

    Subclasses implement `save_model` (and `save_formset` for their inlines) by calling a service,
    and `delete_model` likewise, or refuse deletion in `has_delete_permission`. Django's own
    `save()`/`delete()` are never reached from here.
    """

    def save_model(self, request, obj, form, change):
        raise NotImplementedError(f"{type(self).__name__} must save through a service")

    def save_formset(self, request, form, formset, change):
        raise NotImplementedError(f"{type(self).__name__} must save its inlines through a service")

    def delete_model(self, request, obj):
        raise NotImplementedError(f"{type(self).__name__} must delete through a service")

    def delete_queryset(self, request, queryset):
        # One transaction: a refusal of the fifth leaves the first four where they were.
        with transaction.atomic(using=router.db_for_write(self.model)):
            for obj in queryset:
                self.delete_model(request, obj)

    # A service's refusal (the changeform and delete views are atomic; so is `delete_queryset`)
    # has already rolled everything back when it reaches these: say why, and go back.

    def _refused(self, request, error: DomainError, back_to: str | None = None) -> HttpResponseRedirect:
        self.message_user(request, error.message, level=messages.ERROR)
        return HttpResponseRedirect(back_to or request.get_full_path())

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            return self._refused(request, error)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            opts = self.model._meta
            page = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id], current_app=self.admin_site.name
            )
            return self._refused(request, error, back_to=page)

    def changelist_view(self, request, extra_context=None):
        # Atomic like the other two views, so that the log entries Django writes before a bulk
        # delete go back with it when a service refuses.
        try:
            with transaction.atomic(using=router.db_for_write(self.model)):
                return super().changelist_view(request, extra_context)
        except DomainError as error:
            return self._refused(request, error)

    @staticmethod
    def continue_with(obj, saved) -> None:
        """Let the admin go on with `obj` (its log entry, its inlines) as the service saved it."""
        for field in type(saved)._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding, obj._state.db = False, saved._state.db


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "sequence",
        "occurred_at",
        "action",
        "actor_type",
        "actor_id",
        "channel",
        "target_type",
        "target_id",
    ]
    list_filter = ["action", "actor_type", "channel"]
    search_fields = ["target_id", "actor_id", "action"]
