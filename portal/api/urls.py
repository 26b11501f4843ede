"""The kernel's API under /api/v1/: organisations, deadlines, notifications, the caller, working days."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from portal.api import views

router = DefaultRouter()
router.register("regions", views.RegionViewSet, basename="region")
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("deadlines", views.DeadlineViewSet, basename="deadline")
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("me/todo/", views.TodoView.as_view(), name="api-todo"),
    path("audit/seal-key/", views.AuditSealKeyView.as_view(), name="api-audit-seal-key"),
    path("settings/", views.SystemSettingsView.as_view(), name="api-settings"),
    path("calendar/working-days/", views.WorkingDaysView.as_view(), name="api-working-days"),
    path("", include(router.urls)),
]
