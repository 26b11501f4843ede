"""Fixtures and helpers of the database-push tests (no tests here): a second database on the local server."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from sharing import push
from tests.aggregation.builders import ids
from tests.sharing.test_data_api import PEOPLE, load, rows_for

__all__ = ["_no_settle", "people_push", "refused_dsn", "target_dsn", "target_rows"]


def _server_dsn(dbname: str) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{dbname}"


@pytest.fixture
def target_dsn():
    """A fresh database (unique name) on the same server: the consumer's 前置库. Dropped afterwards."""
    name = f"jz_push_target_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_server_dsn("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _server_dsn(name)
    finally:
        with psycopg.connect(_server_dsn("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def refused_dsn(dsn: str) -> str:
    """The same DSN on a port nobody listens on (connection refused)."""
    s = connection.settings_dict
    return dsn.replace(f":{s['PORT'] or 5432}/", ":1/")


def target_rows(dsn: str, table: str) -> dict[int, tuple]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(sql.SQL("SELECT record_id, data, deleted FROM {}").format(sql.Identifier(table)))
        return {r[0]: (r[1], r[2]) for r in rows}


@pytest.fixture(autouse=True)
def _no_settle(monkeypatch):
    # Rows of a test are stamped a moment before the run; production keeps a 2-second margin.
    monkeypatch.setattr(push, "SETTLE", dt.timedelta(0))


@pytest.fixture
def people_push(make_entry, dept, staff, other_dept, make_grant):
    """(entry keyed by ID number with 7 rows, offering api+push; a push grant of other_dept on 性别/联系电话; keys)."""
    entry = make_entry(provider=dept, items=PEOPLE, name="户籍人口信息", methods=("api", "push"))
    keys = ids(7, start=300)
    load(entry, staff, rows_for(keys))
    grant = make_grant(other_dept, entry, ["性别", "联系电话"], methods=("push",))
    return entry, grant, keys
