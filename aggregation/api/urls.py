"""API routes of chapter 3 (under /api/v1/), by domain."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from .views import basedb, ingest, pools, quality, themes, verification

router = SimpleRouter()
router.register("aggregation/jobs", ingest.IngestJobViewSet, basename="aggregation-job")
router.register("aggregation/verification-cases", verification.VerificationCaseViewSet,
                basename="aggregation-verification")
router.register("aggregation/themes", themes.ThemeViewSet, basename="aggregation-theme")
router.register("aggregation/quality", quality.QualityReportViewSet, basename="aggregation-quality")

urlpatterns = [
    path("aggregation/subjects/<slug:kind>/", basedb.SubjectLookupView.as_view(), name="aggregation-subject-lookup"),
    path("aggregation/subjects/<slug:kind>/<str:key>/", basedb.SubjectView.as_view(), name="aggregation-subject"),
    path(
        "aggregation/datasets/<int:dataset_pk>/records/<int:pk>/", pools.RecordReadView.as_view(),
        name="aggregation-record",
    ),
    path("", include(router.urls)),
]
