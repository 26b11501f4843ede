"""API routes of chapter 3 (under /api/v1/): the storage part's, then the uses part's (uses_urls)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("aggregation/jobs", views.IngestJobViewSet, basename="aggregation-job")

urlpatterns = [
    path("", include(router.urls)),
    path("", include("aggregation.api.uses_urls")),
]
