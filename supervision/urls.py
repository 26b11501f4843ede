"""Chapters 6–7 and the policy note's pages (/supervision/); each register's views live in `views/<domain>.py`."""

from django.urls import path

from supervision.views import dashboard, index, projects

app_name = "supervision"

urlpatterns = [
    path("", index.index, name="index"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("projects/", projects.project_list_page, name="project-list"),
    path("projects/new/", projects.project_create, name="project-create"),
    path("projects/<int:project_id>/", projects.project_detail, name="project-detail"),
    path("projects/<int:project_id>/edit/", projects.project_edit, name="project-edit"),
    path("projects/<int:project_id>/submit/", projects.project_submit, name="project-submit"),
    path("projects/<int:project_id>/approve/", projects.project_approve, name="project-approve"),
    path("projects/<int:project_id>/return/", projects.project_return, name="project-return"),
    path("projects/<int:project_id>/start/", projects.project_start, name="project-start"),
    path("projects/<int:project_id>/complete/", projects.project_complete, name="project-complete"),
]
