"""Catalog pages under /catalog/ (namespace `catalog`); the Excel pages come from catalog.excel_urls."""

from django.urls import include, path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.index, name="index"),
    path("master/", views.master, name="master"),
    path("review/", views.review_queue, name="review-queue"),
    path("region/", views.region_summary, name="region"),
    path("entries/new/", views.entry_create, name="entry-create"),
    path("entries/<int:pk>/", views.entry_detail, name="entry-detail"),
    path("entries/<int:pk>/edit/", views.entry_edit, name="entry-edit"),
    path("entries/<int:pk>/versions/", views.entry_diff, name="entry-diff"),
    path("entries/<int:entry_pk>/update-case/", views.update_case_open, name="update-case-open"),
    path("entries/<int:pk>/<slug:action>/", views.entry_transition, name="entry-transition"),
    path("demands/", views.demand_list, name="demand-list"),
    path("demands/new/", views.demand_create, name="demand-create"),
    path("demands/gaps/", views.gap_list, name="gap-list"),
    path("demands/<int:pk>/", views.demand_detail, name="demand-detail"),
    path("demands/<int:pk>/edit/", views.demand_edit, name="demand-edit"),
    path("demands/<int:pk>/<slug:action>/", views.demand_transition, name="demand-transition"),
    path("responsibility/", views.responsibility, name="responsibility"),
    path("responsibility/export/", views.responsibility_export, name="responsibility-export"),
    path("update-cases/", views.update_case_list, name="update-case-list"),
    path("update-cases/<int:pk>/", views.update_case_detail, name="update-case-detail"),
    path("update-cases/<int:pk>/edit/", views.update_case_edit, name="update-case-edit"),
    path("update-cases/<int:pk>/<slug:action>/", views.update_case_transition, name="update-case-transition"),
    path("classifications/", views.classifications, name="classifications"),
    path("", include("catalog.excel_urls")),
]
