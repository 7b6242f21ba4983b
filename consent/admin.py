"""Admin: notice versions (written through the services) and read-only consents."""

from django import forms
from django.contrib import admin

from consent.models import Consent, ConsentEvent, Notice, NoticeVersion, Purpose
from consent.services import notice_version_create_draft, notice_version_publish, notice_version_update_draft
from consent.services.notices import EDITABLE_FIELDS
from core.admin import ReadOnlyAdmin, ServiceAdmin
from core.audit import Actor


class NoticeVersionChangeForm(forms.ModelForm):
    class Meta:
        model = NoticeVersion
        fields = list(EDITABLE_FIELDS)


class NoticeVersionAddForm(NoticeVersionChangeForm):
    operator = Notice._meta.get_field("operator").formfield()  # the choice the notice's foreign key offers
    purpose = forms.ChoiceField(choices=Purpose.choices)


@admin.register(NoticeVersion)
class NoticeVersionAdmin(ServiceAdmin):
    """Privacy officers write drafts here and publish them; a published version is read-only."""

    list_display = ["__str__", "status", "material", "published_at"]
    list_filter = ["status", "notice__purpose", "notice__operator"]
    actions = ["publish"]

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = NoticeVersionChangeForm if obj is not None else NoticeVersionAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return list(EDITABLE_FIELDS) if obj is not None else ["operator", "purpose", *EDITABLE_FIELDS]

    def has_change_permission(self, request, obj=None):
        # A published version is shown, never edited: the admin answers 403 to a change.
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Consents point at the versions shoppers were shown; a draft is edited, never deleted.
        return False

    def save_model(self, request, obj, form, change):
        actor = Actor.staff(request.user)
        values = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS if name in form.cleaned_data}
        if change:
            changes = {name: values[name] for name in form.changed_data if name in values}
            notice_version_update_draft(actor=actor, version=obj, **changes)
        else:
            created = notice_version_create_draft(
                actor=actor, operator=form.cleaned_data["operator"], purpose=form.cleaned_data["purpose"], **values
            )
            self.continue_with(obj, created)

    @admin.action(description="Publish the selected drafts")
    def publish(self, request, queryset):
        for version in queryset.filter(status=NoticeVersion.Status.DRAFT):
            invalidated = notice_version_publish(actor=Actor.staff(request.user), version=version)
            self.message_user(request, f"{version} published; {invalidated} consents must be asked again.")


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "operator", "purpose", "status", "given_at", "expires_at"]
    list_filter = ["status", "purpose", "operator"]


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "kind", "operator", "purpose", "channel", "actor_type"]
    list_filter = ["kind", "purpose", "channel"]
