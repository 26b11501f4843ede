"""/api/v1/catalog/: entries (SPEC §9.2) with their filing and review actions, update cases, the per-resource
permissions (R28.2), the responsibility lists (R9.1) and the demand lists (R8.1)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from .views.demands import DemandViewSet
from .views.entries import CatalogEntryViewSet
from .views.resource_permissions import ResourcePermissionView
from .views.responsibility import ResponsibilityView
from .views.update_cases import UpdateCaseViewSet

app_name = "catalog-api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("entries", CatalogEntryViewSet, basename="entry")
router.register("update-cases", UpdateCaseViewSet, basename="update-case")
router.register("demands", DemandViewSet, basename="demand")

urlpatterns = [
    path("resource-permissions/", ResourcePermissionView.as_view(), name="resource-permissions"),
    path("responsibility/", ResponsibilityView.as_view(), name="responsibility"),
    path("", include(router.urls)),
]
