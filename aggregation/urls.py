"""Pages of chapter 3 (namespace "aggregation"): the storage part's, then the uses part's (uses_urls)."""

from django.urls import include, path

from . import views

app_name = "aggregation"

urlpatterns = [
    path("", views.index, name="index"),
    path("entries/<int:entry_id>/upload/", views.upload, name="upload"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset-detail"),
    path("datasets/<int:pk>/integrity/", views.dataset_integrity, name="dataset-integrity"),
    path("jobs/<int:pk>/", views.job_detail, name="job-detail"),
    path("jobs/<int:pk>/progress/", views.job_progress, name="job-progress"),
    path("jobs/<int:pk>/report/", views.job_report, name="job-report"),
    path("jobs/<int:pk>/rerun/", views.job_rerun, name="job-rerun"),
    path("", include("aggregation.uses_urls")),
]
