"""This chapter's work in 我的待办 (portal.todo): projects waiting for the bureau's review; for the filing
department, projects returned to it and completed projects whose resources are not in the catalog (RP.2)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from portal.choices import Role
from portal.permissions import is_department_member
from portal.todo import TodoGroup, TodoItem, group

from .choices import ProjectState
from .models import InformatizationProject


def _project(project, since=None) -> TodoItem:
    return TodoItem(title=project.name, url=project.get_absolute_url(), since=since or project.updated_at,
                    note=project.department.name)


def _list(**params) -> str:
    return f"{reverse('supervision:project-list')}?{urlencode(params)}"


def todo(user, today) -> list[TodoGroup]:
    groups: list[TodoGroup] = []
    projects = InformatizationProject.objects.select_related("department").defer("search_vector")
    if user.has_role(Role.BUREAU_REVIEWER):
        groups += group("supervision.project_review", _("待审核的信息化项目"), _list(state=ProjectState.SUBMITTED),
                        projects.restrict(user, "review").filter(state=ProjectState.SUBMITTED)
                        .order_by("submitted_at", "id"),
                        lambda p: _project(p, p.submitted_at))
    if is_department_member(user):
        own = projects.filter(department_id=user.department_id)
        groups += group("supervision.project_returned", _("被退回的信息化项目"), _list(state=ProjectState.RETURNED),
                        own.filter(state=ProjectState.RETURNED).order_by("updated_at", "id"), _project)
        groups += group("supervision.project_missing", _("建成项目的信息资源尚未编目"), _list(flagged="on"),
                        own.missing_catalog().order_by("missing_since", "id"),
                        lambda p: _project(p, p.missing_since), urgent=True)
    return groups
