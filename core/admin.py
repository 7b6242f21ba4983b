"""Admin for the audit log (read-only) and the mixin that audits every admin change."""

from django.contrib import admin

from core.audit import Actor, audit_entry_create
from core.models import AuditEntry


class AuditedModelAdmin(admin.ModelAdmin):
    """Staff edits through the admin leave an audit entry in the same transaction."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        action = f"{obj._meta.model_name}.{'changed' if change else 'created'}"
        audit_entry_create(
            actor=Actor.staff(request.user), action=action, target=obj, data={"fields": sorted(form.changed_data)}
        )

    def delete_model(self, request, obj):
        target = (obj._meta.label_lower, str(obj.pk))
        super().delete_model(request, obj)
        audit_entry_create(actor=Actor.staff(request.user), action=f"{obj._meta.model_name}.deleted", target=target)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
