"""Celery queues (config/settings/base.py CELERY_TASK_ROUTES, docs/operator-guide.md "scaling out"): ingest and
theme builds go to `ingest`, database pushes to `push`, everything else to the default `celery` — and a worker
started without -Q (./portal.sh, docker-compose, CI) consumes every queue, so one worker still runs everything."""

from __future__ import annotations

import pytest

from config.celery import app

ROUTED = {
    "aggregation.tasks.ingest_job_run": "ingest",
    "aggregation.theme_build": "ingest",
    "sharing.tasks.push_run": "push",
}


@pytest.fixture(autouse=True)
def _tasks_discovered():
    app.loader.import_default_modules()  # autodiscovery (every app's tasks.py), as a worker does at start


@pytest.mark.parametrize(("task", "queue"), sorted(ROUTED.items()))
def test_each_task_family_goes_to_its_queue(task, queue):
    assert task in app.tasks
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_every_other_task_stays_on_the_default_queue():
    others = [name for name in app.tasks if not name.startswith("celery.") and name not in ROUTED]
    assert "sharing.tasks.push_due" in others and "portal.tasks.audit_seal" in others
    assert {app.amqp.router.route({}, name)["queue"].name for name in others} == {"celery"}


def test_a_worker_without_queue_option_consumes_every_queue():
    # What `celery worker` without -Q consumes: every declared queue (celery.app.amqp.Queues, task_queues).
    consumed = set(app.amqp.queues.consume_from or app.amqp.queues)
    assert {"celery", *ROUTED.values()} <= consumed
