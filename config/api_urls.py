"""/api/v1/: each chapter registers its routes here."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from portal.api import views
from sharing import verify_views
from sharing.data_api import RecordDetailView
from sharing.export import ExportView

router = DefaultRouter()
router.register("regions", views.RegionViewSet, basename="region")
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("deadlines", views.DeadlineViewSet, basename="deadline")
router.register("notifications", views.NotificationViewSet, basename="notification")

# The data calls first: they are the hot path, and Django tries patterns in order (no pattern above them matches
# their paths, so the order changes no answer).
urlpatterns = [
    path("data/<str:resource>/records/<str:key>/", RecordDetailView.as_view(), name="data-record-detail"),
    path("data/<str:resource>/export/", ExportView.as_view(), name="data-export"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("calendar/working-days/", views.WorkingDaysView.as_view(), name="api-working-days"),
    path("", include(router.urls)),
    path("catalog/", include("catalog.api.urls")),
    path("", include("aggregation.api.urls")),
    path("sharing/", include("sharing.api.urls")),
    path("verify/", include(verify_views.api_urlpatterns)),
]
