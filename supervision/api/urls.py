"""Chapters 6–7 and the policy note's API under /api/v1/supervision/: one router, each register its line."""

from rest_framework.routers import SimpleRouter

from .views.assessments import AssessmentViewSet
from .views.projects import ProjectViewSet

router = SimpleRouter()
router.register("projects", ProjectViewSet, basename="supervision-project")
router.register("assessments", AssessmentViewSet, basename="supervision-assessment")

urlpatterns = router.urls
