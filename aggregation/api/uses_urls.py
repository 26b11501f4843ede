"""API routes of the uses part (/api/v1/aggregation/…); included by aggregation/api/urls.py."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import uses_views as v

router = SimpleRouter()
router.register("aggregation/verification-cases", v.VerificationCaseViewSet, basename="aggregation-verification")
router.register("aggregation/themes", v.ThemeViewSet, basename="aggregation-theme")
router.register("aggregation/quality", v.QualityReportViewSet, basename="aggregation-quality")

urlpatterns = [
    path("aggregation/subjects/<slug:kind>/", v.SubjectLookupView.as_view(), name="aggregation-subject-lookup"),
    path("aggregation/subjects/<slug:kind>/<str:key>/", v.SubjectView.as_view(), name="aggregation-subject"),
    path(
        "aggregation/datasets/<int:dataset_pk>/records/<int:pk>/", v.RecordReadView.as_view(),
        name="aggregation-record",
    ),
    path("", include(router.urls)),
]
