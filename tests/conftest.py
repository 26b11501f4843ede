"""Shared fixtures: the kernel's roles as ready-made users, a population dataset with two people, API clients, audit
helpers, a frozen today, a live Celery worker.

Reference data (regions, the working-day calendar) comes from migrations. A test that needs real
commits must use `@pytest.mark.django_db(transaction=True, serialized_rollback=True)`: a plain
transactional test's flush would wipe that data for every transactional test after it.
"""

import datetime as dt

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from portal.choices import Role
from portal.models import AuditEvent
from tests.aggregation.builders import PERSON_ITEMS, id_number, load, make_dataset
from tests.factories import DepartmentFactory, bureau_department, county_bureau_department, make_user, user_fixture
from tests.support import LOOPBACK, sign_in


@pytest.fixture
def bureau(db):
    return bureau_department()


@pytest.fixture
def dept(db):
    return DepartmentFactory(name="焦作市公安局(测试)", short_name="市公安局")


@pytest.fixture
def other_dept(db):
    return DepartmentFactory(name="焦作市民政局(测试)", short_name="市民政局")


# The kernel's roles as users: the bureau's admins and reviewer, a city department's staff and head, another's staff.
system_admin = user_fixture(Role.SYSTEM_ADMIN, "bureau", "sysadmin")
reviewer = user_fixture(Role.BUREAU_REVIEWER, "bureau", "reviewer")
security_admin = user_fixture(Role.SECURITY_ADMIN, "bureau", "secadmin")
audit_admin = user_fixture(Role.AUDIT_ADMIN, "bureau", "auditadm")
staff = user_fixture(Role.DEPT_STAFF, "dept", "staff")
head = user_fixture(Role.DEPT_HEAD, "dept", "head", heads=True)
other_staff = user_fixture(Role.DEPT_STAFF, "other_dept", "other_staff")


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_trails_truncate_guard():
    """A transactional test's flush TRUNCATEs every table, and the audit tables refuse TRUNCATE (a statement
    trigger): the test database's superuser flushes with triggers off (replica mode), as only a superuser can."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    plain = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = plain(self, style, tables, **kwargs)
        return ["SET LOCAL session_replication_role = replica", *statements] if statements else statements

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


# ---------------------------------------------------------------- a population resource (aggregation, browser tests)


@pytest.fixture
def person_dataset(dept):
    """市公安局's population resource (unconditional, base items), keyed by ID number."""
    return make_dataset(dept, name="户籍人口基本信息", items=PERSON_ITEMS)


@pytest.fixture
def person_records(person_dataset, staff):
    rows = [
        {"身份证号码": id_number(1), "姓名": "张三", "性别": "男", "户籍地址": "焦作市解放区民主路12号",
         "联系电话": "13800001111"},
        {"身份证号码": id_number(2), "姓名": "李小明", "性别": "男", "户籍地址": "焦作市山阳区人民路3号",
         "联系电话": ""},
    ]
    return load(person_dataset, rows, actor=staff)


@pytest.fixture
def person_record(person_records):
    return person_records[id_number(1)]


@pytest.fixture
def api_client_row(security_admin, other_dept):
    """(ApiClient of other_dept, its secret): signs calls with tests.support.signed_headers."""
    from sharing.services import clients as services

    return services.api_client_register(actor=security_admin, department_id=other_dept.pk, name="民政业务系统",
                                        rate_per_minute=600, allowed_networks=LOOPBACK)


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


@pytest.fixture(autouse=True)
def _resource_tables_mirror_records(request, _django_db_marker):
    """Issue 18's switch in steps: until the writers write the resource tables themselves, every writer of
    `aggregation_record` mirrors what it wrote into `pool.r<dataset id>` in the same transaction
    (storage.moving.mirror). After every test that used the database, each dataset holding records must have a table
    row for each record, alike in key and row digest, version and timestamps (one SQL join per dataset; the values
    themselves are compared by storage.moving.dataset_verify in the storage tests). A test that writes
    aggregation_record directly on purpose (tampering) says so with `@pytest.mark.records_tampered`.

    The contract step: with AGGREGATION["WRITE_RECORDS"] off (the environment's AGGREGATION_WRITE_RECORDS=0 for a
    whole run, `@pytest.mark.tables_only` for one test) the writers write the tables only, and nothing is checked."""
    # (the database fixture set up before this one, so that this one's check runs before its teardown)
    used = next((n for n in ("transactional_db", "db") if n in request.fixturenames), None)
    if used is None and not request.node.get_closest_marker("django_db"):
        yield
        return
    if used:
        request.getfixturevalue(used)
    if request.node.get_closest_marker("tables_only"):
        from django.test import override_settings

        with override_settings(AGGREGATION={**settings.AGGREGATION, "WRITE_RECORDS": False}):
            yield
        return
    yield
    if request.node.get_closest_marker("records_tampered") or not settings.AGGREGATION["WRITE_RECORDS"]:
        return
    from tests.support import resource_tables_mismatch

    mismatch = resource_tables_mismatch()
    assert not mismatch, f"resource tables differ from aggregation_record: {mismatch}"


@pytest.fixture(autouse=True)
def clean_redis():
    """Every test starts without the cache keys of earlier ones: nonces and throttle counters of signed calls live in
    this test run's Redis db. Only this process's keys go (its KEY_PREFIX), not the whole db: a parallel worker's
    keys stay."""
    from django.core.cache import cache

    from security.signing import store as call_store

    store = call_store.redis_client()
    stale = list(store.scan_iter(match=cache.make_key("*"), count=1000))
    if stale:
        store.delete(*stale)
    # The settings cache as a running portal has it, warm: no test starts with a Setting row (none is migrated in),
    # so "no row changed" is the truth, and query counts measure a request, not the first read after a deploy.
    from portal.services import settings as portal_settings

    cache.set(portal_settings.CACHE_KEY, {}, portal_settings.CACHE_SECONDS)


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
        sign_in(client, user)
        return client

    return _login


@pytest.fixture
def web_as(client):
    """web_as(user) -> Django test client logged in as that user."""

    def _login(user):
        sign_in(client, user)
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
def today_2026_11_25(freeze_today):
    """The portal's today is Wednesday 2026-11-25 for this test (a module: `pytest.mark.usefixtures(...)`)."""
    return freeze_today(dt.date(2026, 11, 25))


@pytest.fixture
def live_worker():
    """A real Celery worker (solo pool, in a thread) consuming from the real Redis broker."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.conf.task_always_eager = False
    with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1, loglevel="WARNING") as worker:
        yield worker


@pytest.fixture
def prefork_worker(django_db_setup, tmp_path):
    """A real Celery worker process (prefork pool, one child) on this test's database and the real Redis broker, as
    production runs it; yields its `subprocess.Popen`. Stopped (and its child with it) after the test.

    Use with django_db(transaction=True): the worker reads what the test committed. tests.support.pool_children(pid)
    finds the child process running its task."""
    import contextlib
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings
    from django.db import connection

    from config.celery import app
    from tests.support import pool_children

    app.conf.task_always_eager = False
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": str(root),
           "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 — closed below
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"],
        env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        yield worker
    finally:
        children = pool_children(worker.pid)
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=30)
        for pid in children:  # a child left behind by a worker that did not stop cleanly
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log.close()


def pytest_collection_modifyitems(config, items):
    """The rule in this module's docstring, applied: a transactional test without serialized_rollback would empty the
    reference data with its flush, and every transactional test after it would error at setup, far from the cause —
    so such a test gets serialized_rollback (its own marker, otherwise as written, comes first)."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
            item.add_marker(pytest.mark.django_db(*marker.args, **{**marker.kwargs, "serialized_rollback": True}),
                            append=False)
