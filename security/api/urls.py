"""Chapter 5's API under /api/v1/security/: the audit trail search (audit administrator only)."""

from rest_framework.routers import SimpleRouter

from .views import AuditEventViewSet

router = SimpleRouter()
router.register("audit-events", AuditEventViewSet, basename="audit-event")

urlpatterns = router.urls
