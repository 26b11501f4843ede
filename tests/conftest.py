"""Shared fixtures: the kernel's roles as ready-made users, API clients, audit helpers.

Reference data (regions, the working-day calendar) comes from migrations. A test that needs real
commits must use `@pytest.mark.django_db(transaction=True, serialized_rollback=True)`: a plain
transactional test's flush would wipe that data for every transactional test after it.
"""

import pytest
from rest_framework.test import APIClient

from portal.choices import Role
from portal.models import AuditEvent
from tests.factories import DepartmentFactory, bureau_department, county_bureau_department, make_user


@pytest.fixture
def bureau(db):
    return bureau_department()


@pytest.fixture
def system_admin(bureau):
    return make_user(Role.SYSTEM_ADMIN, department=bureau, username="sysadmin")


@pytest.fixture
def reviewer(bureau):
    return make_user(Role.BUREAU_REVIEWER, department=bureau, username="reviewer")


@pytest.fixture
def dept(db):
    return DepartmentFactory(name="焦作市公安局(测试)", short_name="市公安局")


@pytest.fixture
def other_dept(db):
    return DepartmentFactory(name="焦作市民政局(测试)", short_name="市民政局")


@pytest.fixture
def staff(dept):
    return make_user(Role.DEPT_STAFF, department=dept, username="staff")


@pytest.fixture
def head(dept):
    user = make_user(Role.DEPT_HEAD, department=dept, username="head")
    dept.head = user
    dept.save(update_fields=["head"])
    return user


@pytest.fixture
def other_staff(other_dept):
    return make_user(Role.DEPT_STAFF, department=other_dept, username="other_staff")


@pytest.fixture
def security_admin(bureau):
    return make_user(Role.SECURITY_ADMIN, department=bureau, username="secadmin")


@pytest.fixture
def api_client_row(security_admin, other_dept):
    """(ApiClient of other_dept, its secret): signs calls with tests.support.signed_headers."""
    from sharing.services import clients as services

    return services.api_client_register(actor=security_admin, department_id=other_dept.pk, name="民政业务系统",
                                        rate_per_minute=600)


@pytest.fixture
def signed_get(api_client, api_client_row):
    """signed_get(path=grants list, query="", **header overrides) -> response of a GET signed by api_client_row."""
    from tests.support import signed_headers

    client, secret = api_client_row

    def _get(path="/api/v1/sharing/grants/", query="", **overrides):
        headers = signed_headers(client.client_id, secret, "GET", path, query)
        headers.update(overrides)
        return api_client.get(path + (f"?{query}" if query else ""), **headers)

    return _get


@pytest.fixture
def clean_redis():
    """Nonces and throttle counters live in this test run's Redis db: start a test without them. Only this
    process's cache keys go (its KEY_PREFIX), not the whole db: a parallel worker's keys stay."""
    from django.core.cache import cache

    from security.signing import store as call_store

    store = call_store.redis_client()
    stale = list(store.scan_iter(match=cache.make_key("*"), count=1000))
    if stale:
        store.delete(*stale)


@pytest.fixture
def county_bureau_user(db):
    return make_user(Role.COUNTY_BUREAU, department=county_bureau_department("410821"), username="county")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def api_as():
    """api_as(user) -> an APIClient logged in as that user (session auth)."""

    def _login(user):
        client = APIClient()
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def web_as(client):
    """web_as(user) -> Django test client logged in as that user."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


def audit_events(action: str | None = None):
    qs = AuditEvent.objects.order_by("id")
    return list(qs.filter(action=action) if action else qs)


@pytest.fixture
def audit_log():
    """audit_log() -> all events so far; audit_log("app.entity.verb") -> events of that action."""
    return audit_events


@pytest.fixture
def freeze_today(monkeypatch):
    """freeze_today(date): the portal's "today" (timezone.localdate) becomes `date` for this test."""
    from django.utils import timezone

    def _freeze(day):
        monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day)
        return day

    return _freeze


@pytest.fixture
def live_worker():
    """A real Celery worker (solo pool, in a thread) consuming from the real Redis broker."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.conf.task_always_eager = False
    with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1, loglevel="WARNING") as worker:
        yield worker
