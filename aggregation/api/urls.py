"""API routes of chapter 3 (under /api/v1/): the storage part's, then the uses part's (uses_urls)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from sharing.data_api import RecordsView

from . import views

router = SimpleRouter()
router.register("aggregation/jobs", views.IngestJobViewSet, basename="aggregation-job")

urlpatterns = [
    # One URL, two exchange methods: GET is the sharing chapter's pull (a subclass of the push view), POST the push.
    path("data/<str:resource>/records/", RecordsView.as_view(), name="data-records"),
    path("", include(router.urls)),
    path("", include("aggregation.api.uses_urls")),
]
