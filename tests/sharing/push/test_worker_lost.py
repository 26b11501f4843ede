"""A Celery pool child killed in the middle of a push run: the receipt is failed at once ("interrupted", with the
reason), as the run's own end with that code would close it — by the worker's parent, not by the reaper."""

import os
import signal

import pytest

from sharing.models import PushRun, PushSubscription
from sharing.push.errors import ERRORS
from sharing.services import push as push_services
from tests.support import TableLock, pool_children, wait_for


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_push_run_whose_worker_process_is_killed_is_failed_at_once(prefork_worker, people_push, target_dsn,
                                                                     other_staff, audit_log):
    entry, grant, _keys = people_push
    sub = push_services.push_subscription_create(actor=other_staff, grant_id=grant.pk, dsn=target_dsn,
                                                 table="hj_people", interval_minutes=30)
    with TableLock(f"pool.r{entry.dataset.pk}") as lock:  # the run, once started, waits for the pool's rows
        push_services.push_subscription_run_now(actor=other_staff, subscription_id=sub.pk)
        assert wait_for(lock.waiting, timeout=120)
        run = PushRun.objects.get(subscription=sub)
        assert run.status == "running"
        (child,) = pool_children(prefork_worker.pid)
        os.kill(child, signal.SIGKILL)
        assert wait_for(lambda: PushRun.objects.get(pk=run.pk).status == "failed", timeout=30)
    run.refresh_from_db()
    assert run.error_code == "interrupted" and run.finished_at is not None
    assert run.error_message == f"{ERRORS['interrupted']}（处理进程意外退出，worker lost）"
    assert PushSubscription.objects.get(pk=sub.pk).last_run_at == run.finished_at  # closed as the run's end would
    event = audit_log("sharing.push.failed")[-1]
    assert (event.data["run"], event.data["code"], event.data["reason"]) == (run.pk, "interrupted", "worker_lost")
    assert event.department_id == grant.consumer_id
