"""Chapter 5's API under /api/v1/security/ (the audit trail search lives here)."""

from django.urls import path

from portal.api.views import SecuritySettingsView

urlpatterns: list = [
    path("settings/", SecuritySettingsView.as_view(), name="api-security-settings"),
]
