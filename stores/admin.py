from django.contrib import admin

from core.admin import AuditedModelAdmin
from stores.models import Operator, Store


class StoreInline(admin.TabularInline):
    model = Store
    extra = 0
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Operator)
class OperatorAdmin(AuditedModelAdmin):
    list_display = ["name", "slug", "jurisdiction", "contact_email", "privacy_officer_email"]
    search_fields = ["name", "legal_name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StoreInline]


@admin.register(Store)
class StoreAdmin(AuditedModelAdmin):
    list_display = ["name", "operator", "slug"]
    list_filter = ["operator"]
    search_fields = ["name", "address"]
