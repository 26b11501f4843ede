"""Beat jobs run through a real Celery worker on the real Redis broker."""

import datetime as dt

import pytest
from celery.contrib.testing.worker import start_worker

from portal.celery import app
from portal.choices import Clock, DeadlineState
from portal.models import AuditChainLink, AuditEvent, Deadline
from portal.services.deadlines import deadline_open
from portal.tasks import audit_seal_task, deadline_sweep_task
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def worker():
    app.conf.task_always_eager = False
    with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1, loglevel="WARNING") as w:
        yield w


def wait_for(predicate, timeout=20.0):
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_sweep_and_seal_run_on_the_worker(worker):
    dept = DepartmentFactory()
    deadline = deadline_open(case=DepartmentFactory(), clock=Clock.VERIFICATION, department=dept, working_days=1,
                             title="到期事项", started_on=dt.date(2026, 11, 2))
    deadline_sweep_task.delay()
    assert wait_for(lambda: Deadline.objects.get(pk=deadline.pk).state == DeadlineState.OVERDUE)
    audit_seal_task.delay()
    assert wait_for(lambda: AuditChainLink.objects.count() == AuditEvent.objects.count() > 0)
