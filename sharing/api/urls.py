"""/api/v1/sharing/: requests and grants (the data endpoints live under /api/v1/data/)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("requests", views.SharingRequestViewSet, basename="sharing-request")
router.register("grants", views.GrantViewSet, basename="sharing-grant")

urlpatterns = [
    path("interface/<str:resource>/", views.InterfaceSpecView.as_view(), name="sharing-interface-spec"),
    *router.urls,
]
