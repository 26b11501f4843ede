"""Catalog in the system admin: read-only views for support. Every change goes through the catalog pages
and their services (audit, clocks, codes); the admin must not become a back door around them."""

from django.contrib import admin

from portal.admin import is_system_admin, portal_admin_site

from .models import (
    CatalogEntry,
    CatalogEntryVersion,
    CatalogUpdateCase,
    Classification,
    DataItem,
    DemandItem,
    ResponsibilityItem,
)


class ReadOnly:
    def has_module_permission(self, request):
        return is_system_admin(request)

    def has_view_permission(self, request, obj=None):
        return is_system_admin(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DataItemInline(ReadOnly, admin.TabularInline):
    model = DataItem
    extra = 0
    fields = ["position", "name", "data_type", "length", "is_subject_key", "is_base_item", "description"]


@admin.register(Classification, site=portal_admin_site)
class ClassificationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["code", "name", "level", "resource_class", "is_active"]
    list_filter = ["resource_class", "level", "is_active"]
    search_fields = ["code", "name"]


@admin.register(CatalogEntry, site=portal_admin_site)
class CatalogEntryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["code", "name", "provider", "state", "share_type", "version"]
    list_filter = ["state", "share_type", "update_cycle"]
    search_fields = ["code", "name"]
    list_select_related = ["provider"]
    exclude = ["search_vector"]
    inlines = [DataItemInline]


@admin.register(CatalogEntryVersion, site=portal_admin_site)
class CatalogEntryVersionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["entry", "number", "approved_by", "approved_at"]
    list_select_related = ["entry", "approved_by"]


@admin.register(DemandItem, site=portal_admin_site)
class DemandItemAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["needed_data", "department", "provider", "state"]
    list_filter = ["state"]
    list_select_related = ["department", "provider"]


@admin.register(ResponsibilityItem, site=portal_admin_site)
class ResponsibilityItemAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["department", "entry", "item_name", "update_cycle", "since", "retired_on"]
    list_select_related = ["department", "entry"]


@admin.register(CatalogUpdateCase, site=portal_admin_site)
class CatalogUpdateCaseAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["entry", "department", "trigger_kind", "trigger_date", "state", "submitted_on"]
    list_filter = ["state", "trigger_kind"]
    list_select_related = ["entry", "department"]
