"""Pages of the uses part; included by aggregation/urls.py (namespace "aggregation") without a prefix."""

from django.urls import path

from . import uses_views as v

urlpatterns = [
    path("datasets/<int:dataset_pk>/records/<int:pk>/", v.record_detail, name="record-detail"),
    path("datasets/<int:dataset_pk>/records/<int:pk>/verify/", v.verification_create, name="verification-create"),
    path("verification/", v.verification_list, name="verification-list"),
    path("verification/<int:pk>/", v.verification_detail, name="verification-detail"),
    path("verification/<int:pk>/extension/", v.verification_extension_request, name="verification-extension"),
    path("verification/<int:pk>/extension/decide/", v.verification_extension_decide, name="verification-decide"),
    path("verification/<int:pk>/confirm/", v.verification_confirm, name="verification-confirm"),
    path("verification/<int:pk>/correct/", v.verification_correct, name="verification-correct"),
    path("verification/<int:pk>/evidence/<int:evidence_pk>/", v.verification_evidence, name="verification-evidence"),
    path("base/", v.basedb_index, name="basedb-index"),
    path("base/<slug:kind>/", v.subject_lookup, name="subject-lookup"),
    path("themes/", v.theme_list, name="theme-list"),
    path("themes/new/", v.theme_create, name="theme-create"),
    path("themes/<int:pk>/", v.theme_detail, name="theme-detail"),
    path("themes/<int:pk>/edit/", v.theme_edit, name="theme-edit"),
    path("themes/<int:pk>/rebuild/", v.theme_rebuild, name="theme-rebuild"),
    path("themes/<int:pk>/jobs/<int:job_pk>/", v.theme_job, name="theme-job"),
    path("quality/", v.quality_report, name="quality-report"),
]
