"""Plain helpers of the supervision tests: a project's values, a project carried to a state, a published entry."""

from __future__ import annotations

import datetime as dt

from catalog.search import reindex
from supervision.choices import DECLARED_ITEMS, CheckItem, ProjectState
from supervision.services import projects as services
from tests.sharing.helpers import published_entry

ALL_DECLARED = [item.value for item in DECLARED_ITEMS]
ALL_CHECKS = list(CheckItem.values)


def values(**overrides) -> dict:
    return {"name": "市场主体信用监管平台", "funding_kind": "government", "budget": "120.50",
            "period_start": dt.date(2026, 3, 1), "period_end": dt.date(2026, 12, 31),
            "description": "建设企业信用信息归集、信用评价和分级分类监管功能，依托市政务云部署。",
            "declared_checks": ALL_DECLARED, **overrides}


def resources(*names: str) -> list[dict]:
    return [{"name": name} for name in names]


def make_project(actor, reviewer=None, *, state=ProjectState.DRAFT, names=("企业信用信息",), **overrides):
    """A project of `actor`'s department filed through the services and carried to `state`."""
    project = services.project_create(actor=actor, values=values(**overrides), resources=resources(*names))
    steps = [ProjectState.SUBMITTED, ProjectState.APPROVED, ProjectState.UNDER_CONSTRUCTION, ProjectState.COMPLETED]
    if state == ProjectState.RETURNED:
        services.project_submit(actor=actor, project_id=project.pk)
        services.project_return(actor=reviewer, project_id=project.pk, reason="请补充建设依据")
    elif state in steps:
        for step in steps[: steps.index(state) + 1]:
            if step == ProjectState.SUBMITTED:
                services.project_submit(actor=actor, project_id=project.pk)
            elif step == ProjectState.APPROVED:
                services.project_approve(actor=reviewer, project_id=project.pk, checks=ALL_CHECKS)
            elif step == ProjectState.UNDER_CONSTRUCTION:
                services.project_start(actor=actor, project_id=project.pk)
            else:
                services.project_complete(actor=actor, project_id=project.pk)
    project.refresh_from_db()
    return project


def catalog_entry(provider, name: str, **kwargs):
    """A published (or `state=`) entry of `provider`, indexed for the catalog search."""
    entry = published_entry(provider, name=name, **kwargs)
    reindex([entry.pk])
    return entry
