"""Supervision demo data, this app's part of `manage.py seed_demo`: each domain seeds its own."""

from __future__ import annotations

from .demo_assessments import seed as seed_assessments
from .demo_projects import seed as seed_projects


def seed(stdout) -> None:
    seed_projects(stdout)
    seed_assessments(stdout)
