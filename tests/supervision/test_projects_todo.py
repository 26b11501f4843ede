"""我的待办 for projects: the reviewer's queue, the department's returned projects and its completed projects whose
resources are missing from the catalog — each in the right person's list only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from supervision.choices import ProjectState
from tests.supervision.helpers import make_project

pytestmark = pytest.mark.django_db


def groups(client) -> dict[str, int]:
    return {g["key"]: g["count"] for g in client.get(reverse("api-todo")).json()["groups"]}


def test_project_work_reaches_the_people_who_must_act(staff, head, other_staff, reviewer, api_as):
    make_project(staff, reviewer, state=ProjectState.SUBMITTED, name="项目甲")
    make_project(staff, reviewer, state=ProjectState.RETURNED, name="项目乙", names=("社会组织信息",))
    make_project(staff, reviewer, state=ProjectState.COMPLETED, name="项目丙", names=("困难群众动态监测信息",))
    assert groups(api_as(reviewer))["supervision.project_review"] == 1
    mine = groups(api_as(head))
    assert mine["supervision.project_returned"] == 1 and mine["supervision.project_missing"] == 1
    assert "supervision.project_review" not in mine
    assert not {k for k in groups(api_as(other_staff)) if k.startswith("supervision.")}
    page = api_as(staff).get(reverse("home")).content.decode()
    assert 'data-key="supervision.project_missing"' in page
