"""Supervision demo data, this app's part of `manage.py seed_demo`: each domain seeds its own."""

from __future__ import annotations


def seed(stdout) -> None:
    # ---- violations, rectification orders, notices of criticism (R35, R36)
    from .demo_violations import seed as seed_violations

    seed_violations(stdout)
