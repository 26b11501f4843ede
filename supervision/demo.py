"""Supervision demo data, this app's part of `manage.py seed_demo`: each domain seeds its own."""

from __future__ import annotations


def seed(stdout) -> None:
    # ---- annual assessment (R33)
    from .demo_assessments import seed as seed_assessments

    seed_assessments(stdout)
