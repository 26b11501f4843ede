"""Fixtures of the fault tests: a people resource of the provider (dept) with many rows, a consumer (other_dept) granted
it, the processes' log folder; every process a test starts is stopped after it."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from aggregation.demo import id_number
from sharing.choices import GrantState, Purpose, RequestState
from sharing.models import Grant, SharingRequest
from tests.sharing.helpers import PEOPLE, fresh_database, load, published_entry


@pytest.fixture(autouse=True)
def _city_bureau(bureau):
    """The city bureau exists (owner of the review clock), as in every sharing test."""
    return bureau


@pytest.fixture
def target_dsn():
    """A fresh database on the tests' server: the consumer's 前置库. Dropped after."""
    with fresh_database("jz_fault_target") as dsn:
        yield dsn


@pytest.fixture
def started():
    """started(process) -> the process, started; killed (its whole group) after the test."""
    processes = []

    def _start(process):
        processes.append(process)
        return process.start()

    yield _start
    for process in reversed(processes):
        process.kill()  # idle by now: nothing to finish, and a warm shutdown costs seconds


def keys(count: int, *, seed: int = 19) -> list[str]:
    """`count` distinct valid ID numbers (a set, not a list scan: thousands of them)."""
    rng, seen, out = random.Random(seed), set(), []
    while len(out) < count:
        number = id_number(rng, area="410802")
        if number not in seen:
            seen.add(number)
            out.append(number)
    return out


def people_rows(keys, *, address: str = "焦作市解放区民主路1号") -> list[dict]:
    return [{"公民身份号码": k, "姓名": f"张{n}明", "性别": "男", "联系电话": "13903910000", "户籍地址": address}
            for n, k in enumerate(keys)]


def granted(consumer, entry, items, methods, *, by, approver) -> Grant:
    today = timezone.localdate()
    request = SharingRequest.objects.create(
        consumer=consumer, entry=entry, legal_basis="《焦作市政务数据资源管理暂行办法》第十九条",
        duty_basis="行政审批职责", business_need="核验", purpose=Purpose.COLLABORATION, items=list(items),
        methods=list(methods), valid_from=today - dt.timedelta(days=30), valid_to=today + dt.timedelta(days=30),
        state=RequestState.APPROVED, submitted_on=today, created_by=by)
    return Grant.objects.create(
        request=request, consumer=consumer, entry=entry, items=list(items), purpose=Purpose.COLLABORATION,
        methods=list(methods), valid_from=request.valid_from, valid_to=request.valid_to, state=GrantState.ACTIVE,
        approved_by=approver)


@pytest.fixture
def people(dept, staff):
    """people(count, methods, address=…) -> (a published 户籍人口信息 entry of dept offering `methods`, its dataset,
    the `count` keys loaded)."""

    def _make(count: int, methods: tuple[str, ...], **row_values):
        entry = published_entry(dept, items=PEOPLE, name="户籍人口信息", methods=methods)
        # 性别 read in full by the grant (declared underived, as the push tests do).
        entry.items.filter(name="性别").update(sensitivity="public", derived_from="")
        loaded = keys(count)
        dataset = load(entry, staff, people_rows(loaded, **row_values))
        return entry, dataset, loaded

    return _make
