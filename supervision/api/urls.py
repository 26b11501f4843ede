"""Chapters 6–7's API under /api/v1/supervision/."""

from rest_framework.routers import SimpleRouter

# ---- violations, rectification orders, notices of criticism (R35, R36)
from .views.violations import CriticismNoticeViewSet, RectificationOrderViewSet, ViolationViewSet

router = SimpleRouter()
router.register("violations", ViolationViewSet, basename="supervision-violation")
router.register("orders", RectificationOrderViewSet, basename="rectification-order")
router.register("notices", CriticismNoticeViewSet, basename="criticism-notice")

urlpatterns = [*router.urls]
