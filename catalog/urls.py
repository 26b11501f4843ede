"""Catalog pages under /catalog/ (namespace `catalog`)."""

from django.urls import path

from .views import (
    classifications,
    demand_excel,
    demands,
    entries,
    excel,
    resource_permissions,
    responsibility,
    update_cases,
)

app_name = "catalog"

urlpatterns = [
    path("", entries.index, name="index"),
    path("master/", entries.master, name="master"),
    path("review/", entries.review_queue, name="review-queue"),
    path("region/", entries.region_summary, name="region"),
    path("entries/new/", entries.entry_create, name="entry-create"),
    path("entries/<int:pk>/", entries.entry_detail, name="entry-detail"),
    path("entries/<int:pk>/edit/", entries.entry_edit, name="entry-edit"),
    path("entries/<int:pk>/versions/", entries.entry_diff, name="entry-diff"),
    path("entries/<int:entry_pk>/update-case/", update_cases.update_case_open, name="update-case-open"),
    path("entries/<int:pk>/<slug:action>/", entries.entry_transition, name="entry-transition"),
    path("demands/", demands.demand_list, name="demand-list"),
    path("demands/new/", demands.demand_create, name="demand-create"),
    path("demands/gaps/", demands.gap_list, name="gap-list"),
    path("demands/import/", demand_excel.demand_import, name="demand-import"),
    path("demands/export/", demand_excel.demand_export, name="demand-export"),
    path("demands/template/", demand_excel.demand_template, name="demand-template"),
    path("demands/<int:pk>/", demands.demand_detail, name="demand-detail"),
    path("demands/<int:pk>/edit/", demands.demand_edit, name="demand-edit"),
    path("demands/<int:pk>/<slug:action>/", demands.demand_transition, name="demand-transition"),
    path("responsibility/", responsibility.responsibility, name="responsibility"),
    path("responsibility/export/", responsibility.responsibility_export, name="responsibility-export"),
    path("update-cases/", update_cases.update_case_list, name="update-case-list"),
    path("update-cases/<int:pk>/", update_cases.update_case_detail, name="update-case-detail"),
    path("update-cases/<int:pk>/edit/", update_cases.update_case_edit, name="update-case-edit"),
    path("update-cases/<int:pk>/<slug:action>/", update_cases.update_case_transition, name="update-case-transition"),
    path("classifications/", classifications.classifications, name="classifications"),
    path("permissions/", resource_permissions.resource_permissions, name="resource-permissions"),
    path("excel/import/", excel.excel_import, name="excel-import"),
    path("excel/export/", excel.excel_export, name="excel-export"),
    path("excel/template/", excel.excel_template, name="excel-template"),
    path("master/export/", excel.master_export, name="master-export"),
]
