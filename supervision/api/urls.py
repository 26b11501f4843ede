"""The supervision chapter's API under /api/v1/supervision/."""

from rest_framework.routers import SimpleRouter

from .views import AssessmentViewSet  # assessments (R33)

router = SimpleRouter()

# --- assessments (R33) ---
router.register("assessments", AssessmentViewSet, basename="supervision-assessment")

urlpatterns = [*router.urls]
