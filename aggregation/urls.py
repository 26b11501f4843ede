"""Pages of chapter 3 (namespace "aggregation"), by domain: pool, ingest jobs, verification, base databases,
themes, quality."""

from django.urls import path

from .views import basedb, ingest, pools, quality, themes, verification

app_name = "aggregation"

urlpatterns = [
    path("", pools.index, name="index"),
    path("datasets/<int:pk>/", pools.dataset_detail, name="dataset-detail"),
    path("datasets/<int:pk>/integrity/", pools.dataset_integrity, name="dataset-integrity"),
    path("datasets/<int:dataset_pk>/records/<int:pk>/", pools.record_detail, name="record-detail"),
    path("entries/<int:entry_id>/upload/", ingest.upload, name="upload"),
    path("jobs/<int:pk>/", ingest.job_detail, name="job-detail"),
    path("jobs/<int:pk>/progress/", ingest.job_progress, name="job-progress"),
    path("jobs/<int:pk>/report/", ingest.job_report, name="job-report"),
    path("jobs/<int:pk>/rerun/", ingest.job_rerun, name="job-rerun"),
    path("datasets/<int:dataset_pk>/records/<int:pk>/verify/", verification.verification_create,
         name="verification-create"),
    path("verification/", verification.verification_list, name="verification-list"),
    path("verification/<int:pk>/", verification.verification_detail, name="verification-detail"),
    path("verification/<int:pk>/extension/", verification.verification_extension_request,
         name="verification-extension"),
    path("verification/<int:pk>/extension/decide/", verification.verification_extension_decide,
         name="verification-decide"),
    path("verification/<int:pk>/confirm/", verification.verification_confirm, name="verification-confirm"),
    path("verification/<int:pk>/correct/", verification.verification_correct, name="verification-correct"),
    path("verification/<int:pk>/evidence/<int:evidence_pk>/", verification.verification_evidence,
         name="verification-evidence"),
    path("base/", basedb.basedb_index, name="basedb-index"),
    path("base/<slug:kind>/", basedb.subject_lookup, name="subject-lookup"),
    path("themes/", themes.theme_list, name="theme-list"),
    path("themes/new/", themes.theme_create, name="theme-create"),
    path("themes/<int:pk>/", themes.theme_detail, name="theme-detail"),
    path("themes/<int:pk>/edit/", themes.theme_edit, name="theme-edit"),
    path("themes/<int:pk>/rebuild/", themes.theme_rebuild, name="theme-rebuild"),
    path("themes/<int:pk>/jobs/<int:job_pk>/", themes.theme_job, name="theme-job"),
    path("quality/", quality.quality_report, name="quality-report"),
]
