"""Chapter 5's API under /api/v1/security/: the audit trail search (audit administrator only), the security
settings (security administrator only) and the security registers (R30 secrecy review, R31 incidents and emergency
plans, R32 risk assessments) and the leak monitor's anomalies (R28.4)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from portal.api.views import SecuritySettingsView

from .views import (
    AuditEventViewSet,
    EmergencyPlanViewSet,
    LeakAnomalyViewSet,
    RiskAssessmentViewSet,
    SecrecyReviewViewSet,
    SecurityIncidentViewSet,
)

router = SimpleRouter()
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("incidents", SecurityIncidentViewSet, basename="security-incident")
router.register("secrecy-reviews", SecrecyReviewViewSet, basename="secrecy-review")
router.register("risk-assessments", RiskAssessmentViewSet, basename="risk-assessment")
router.register("emergency-plans", EmergencyPlanViewSet, basename="emergency-plan")
router.register("anomalies", LeakAnomalyViewSet, basename="leak-anomaly")

urlpatterns = [
    path("settings/", SecuritySettingsView.as_view(), name="api-security-settings"),
    *router.urls,
]
