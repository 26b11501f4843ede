"""Supervision demo data, this app's part of `manage.py seed_demo`: each domain seeds its own — informatization
projects in every state, violations with rectification orders in every state, then the assessments computed from the
evidence the other chapters' demo data left."""

from __future__ import annotations

from .demo_assessments import seed as seed_assessments
from .demo_projects import seed as seed_projects
from .demo_violations import seed as seed_violations


def seed(stdout) -> None:
    seed_projects(stdout)
    seed_violations(stdout)
    seed_assessments(stdout)
