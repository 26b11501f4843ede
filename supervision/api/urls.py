"""Chapters 6–7 and the policy note's API under /api/v1/supervision/: one router, each register its line."""

from rest_framework.routers import SimpleRouter

from .views.assessments import AssessmentViewSet
from .views.projects import ProjectViewSet
from .views.violations import CriticismNoticeViewSet, RectificationOrderViewSet, ViolationViewSet

router = SimpleRouter()
router.register("projects", ProjectViewSet, basename="supervision-project")
router.register("assessments", AssessmentViewSet, basename="supervision-assessment")
# ---- violations, rectification orders, notices of criticism (R35, R36)
router.register("violations", ViolationViewSet, basename="supervision-violation")
router.register("orders", RectificationOrderViewSet, basename="rectification-order")
router.register("notices", CriticismNoticeViewSet, basename="criticism-notice")

urlpatterns = router.urls
