"""Chapters 6–7 pages (/supervision/)."""

from django.urls import path

from supervision.views import dashboard

app_name = "supervision"

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
]
