"""Beat jobs run through a real Celery worker on the real Redis broker."""

import datetime as dt

import pytest

from portal.choices import Clock, DeadlineState
from portal.models import AuditChainLink, AuditEvent, Deadline
from portal.services.deadlines import deadline_open
from portal.tasks import audit_seal_task, deadline_sweep_task
from tests.factories import DepartmentFactory
from tests.support import wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)




def test_sweep_and_seal_run_on_the_worker(live_worker):
    dept = DepartmentFactory()
    deadline = deadline_open(case=DepartmentFactory(), clock=Clock.VERIFICATION, department=dept, working_days=1,
                             title="到期事项", started_on=dt.date(2026, 11, 2))
    deadline_sweep_task.delay()
    assert wait_for(lambda: Deadline.objects.get(pk=deadline.pk).state == DeadlineState.OVERDUE)
    audit_seal_task.delay()
    assert wait_for(lambda: AuditChainLink.objects.count() == AuditEvent.objects.count() > 0)
