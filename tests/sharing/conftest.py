"""Sharing fixtures: published entries of each sharing type, grants, the database push's target database (API clients:
tests/conftest.py; signed calls: tests/support.signed_headers; plain helpers: tests/sharing/helpers.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from sharing.choices import GrantState, Purpose, RequestState
from sharing.models import Grant, SharingRequest
from sharing.push import run as push_run
from tests.aggregation.builders import ids
from tests.sharing.helpers import PEOPLE, fresh_database, load, published_entry, rows_for


@pytest.fixture(autouse=True)
def _city_bureau(bureau):
    """Every sharing test has the city bureau (owner of the review clock)."""
    return bureau


@pytest.fixture
def make_entry(dept):
    """make_entry(provider=dept, **values) -> a published entry (tests.sharing.helpers.published_entry)."""

    def _make(provider=None, **values):
        return published_entry(provider or dept, **values)

    return _make


@pytest.fixture
def make_grant(reviewer, staff):
    """make_grant(consumer, entry, items, methods=("api",), valid_from, valid_to, state) -> Grant (ORM only)."""

    def _make(consumer, entry, items, methods=("api",), valid_from=None, valid_to=None, state=GrantState.ACTIVE,
              purpose=Purpose.COLLABORATION):
        today = timezone.localdate()
        valid_from = valid_from or today - dt.timedelta(days=30)
        valid_to = valid_to or today + dt.timedelta(days=30)
        req = SharingRequest.objects.create(
            consumer=consumer, entry=entry, legal_basis="《焦作市政务数据资源管理暂行办法》第十九条",
            duty_basis="行政审批职责", business_need="核验", purpose=purpose, items=list(items),
            methods=list(methods), valid_from=valid_from, valid_to=valid_to, state=RequestState.APPROVED,
            submitted_on=today, created_by=staff,
        )
        return Grant.objects.create(
            request=req, consumer=consumer, entry=entry, items=list(items), purpose=purpose, methods=list(methods),
            valid_from=valid_from, valid_to=valid_to, state=state, approved_by=reviewer,
            revoked_at=timezone.now() if state == GrantState.REVOKED else None,
        )

    return _make


@pytest.fixture
def make_people(make_entry, dept, staff):
    """make_people(count, start=…, **entry values) -> (a 户籍人口信息 entry of dept, the keys of its `count` people
    loaded by staff)."""

    def _make(count, *, start, **values):
        entry = make_entry(provider=dept, items=PEOPLE, name="户籍人口信息", **values)
        keys = ids(count, start=start)
        load(entry, staff, rows_for(keys))
        return entry, keys

    return _make


# ---------------------------------------------------------------- database push


@pytest.fixture
def target_dsn():
    """A fresh database on the same server: the consumer's 前置库. Dropped afterwards."""
    with fresh_database("jz_push_target") as dsn:
        yield dsn


@pytest.fixture(autouse=True)
def _no_settle(monkeypatch):
    # Rows of a test are stamped a moment before the run; production keeps a 2-second margin.
    monkeypatch.setattr(push_run, "SETTLE", dt.timedelta(0))


@pytest.fixture
def people_push(make_people, other_dept, make_grant):
    """(entry keyed by ID number with 7 rows, offering api+push; a push grant of other_dept on 性别/联系电话; keys)."""
    entry, keys = make_people(7, start=300, methods=("api", "push"))
    # 性别 declared underived (proposed: derived from 公民身份号码, hence masked beside the masked ID — R28.3): the
    # push tests follow a granted item read in full.
    entry.items.filter(name="性别").update(sensitivity="public", derived_from="")
    grant = make_grant(other_dept, entry, ["性别", "联系电话"], methods=("push",))
    return entry, grant, keys
