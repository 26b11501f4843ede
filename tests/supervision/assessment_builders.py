"""Builders of the assessment tests: a constructed year of evidence with known answers (plain functions)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from aggregation.models import Dataset, IngestJob, QualityReport
from catalog.models import CatalogEntry, CatalogReview, ResponsibilityItem
from portal import audit
from portal.models import Deadline, Department
from security.models import SecurityIncident
from tests.aggregation.builders import PEOPLE_ITEMS, make_entry

TZ = ZoneInfo("Asia/Shanghai")
YEAR = 2025


def at(y, m, d, h=12) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=TZ)


def _entry(dept, name, *, state="approved", created=None, secret=False, cycle="daily") -> CatalogEntry:
    entry = make_entry(dept, name, PEOPLE_ITEMS[:2], state=state)
    CatalogEntry.objects.filter(pk=entry.pk).update(created_at=created or at(YEAR, 2, 1), is_secret=secret,
                                                    update_cycle=cycle)
    entry.refresh_from_db()
    return entry


def _line(dept, entry, cycle, since=dt.date(YEAR, 3, 1), retired=None) -> ResponsibilityItem:
    return ResponsibilityItem.objects.create(department=dept, entry=entry, item_name="姓名", update_cycle=cycle,
                                             since=since, entry_version=1, retired_on=retired)


def _dataset(dept, entry) -> Dataset:
    return Dataset.objects.create(entry=entry, department=dept, key_item_name="公民身份号码", key_kind="id_number")


def _deadline(dept, clock, n, due, *, state="closed", closed=None, late=False, extended=0) -> Deadline:
    return Deadline.objects.create(
        case_type=ContentType.objects.get_for_model(Department), case_id=f"{clock}-{n}", clock=clock, title=f"案件{n}",
        department=dept, started_on=due - dt.timedelta(days=14), working_days=10, due_on=due, extended_days=extended,
        state=state, closed_on=closed, closed_late=late)


def push_event(dataset, when: dt.datetime, monkeypatch) -> None:
    """An API push of `dataset` at `when` as the audit trail records it (the trail is append-only: written then)."""
    monkeypatch.setattr(timezone, "now", lambda: when)
    audit.record(actor=None, actor_label="system", action="aggregation.records.pushed", obj=dataset,
                 department=dataset.department)
    monkeypatch.undo()


def build_year(dept, other, reporter, monkeypatch) -> dict:
    """The constructed year 2025; returns the ids the tests name. Expected figures are in test_assessment_indicators."""
    ids = {}
    # Catalog completeness: e1 approved and on the list (complete); e2 a draft (incomplete); e3 secret (not counted);
    # e4 approved, on the list (complete); e5 created after the year (not counted). Other dept: nothing.
    e1 = _entry(dept, "人口基本信息")
    e2 = _entry(dept, "草稿目录", state="draft")
    _entry(dept, "涉密目录", state="draft", secret=True)
    e4 = _entry(dept, "户籍迁移", cycle="monthly")
    _entry(dept, "次年目录", created=at(YEAR + 1, 1, 5))
    e6 = _entry(dept, "年报", cycle="yearly")
    ids.update(e1=e1.pk, e2=e2.pk, e4=e4.pk, e6=e6.pk)
    # Responsibility lines (e6's retired before the year end: not current, so e6 counts as incomplete).
    ids["l1"] = _line(dept, e1, "daily").pk                # on time: import finished 2025-12-31
    ids["l4"] = _line(dept, e4, "monthly").pk              # late: last push 2025-10-01 (91 days > 31)
    ids["l6"] = _line(dept, e6, "yearly", retired=dt.date(YEAR, 6, 1)).pk  # retired: not counted
    e7 = _entry(dept, "无数据资源", cycle="yearly")
    ids["e7"] = e7.pk
    ids["l7"] = _line(dept, e7, "yearly").pk               # late: no data at all
    d1, d4 = _dataset(dept, e1), _dataset(dept, e4)
    IngestJob.objects.create(dataset=d1, format="csv", status="succeeded", finished_at=at(YEAR, 12, 31, 20))
    IngestJob.objects.create(dataset=d4, format="csv", status="succeeded", finished_at=at(YEAR + 1, 1, 3))  # after
    IngestJob.objects.create(dataset=d4, format="csv", status="failed", finished_at=at(YEAR, 12, 30))  # failed
    push_event(d4, at(YEAR, 10, 1), monkeypatch)
    # Catalog accuracy: county passed, bureau returned, bureau approved in the year; a sign-off and a 2024 return
    # do not count.
    def review(entry, stage, decision, when):
        row = CatalogReview.objects.create(entry=entry, stage=stage, decision=decision, actor=reporter)
        CatalogReview.objects.filter(pk=row.pk).update(created_at=when)
        return row.pk
    ids["r1"] = review(e1, "county", "passed", at(YEAR, 2, 2))
    ids["r2"] = review(e1, "bureau", "returned", at(YEAR, 2, 5))
    ids["r3"] = review(e1, "bureau", "approved", at(YEAR, 2, 9))
    review(e1, "signoff", "signed", at(YEAR, 2, 1))
    review(e4, "bureau", "returned", at(YEAR - 1, 12, 30))
    # Data quality: d1's latest report of the year passes (0.95, no validity); d4's fails on validity 0.8;
    # reports outside the year do not count.
    def report(ds, day, comp, validity=None):
        return QualityReport.objects.create(dataset=ds, department=ds.department, day=day, completeness_avg=comp,
                                            validity=validity).pk
    report(d1, dt.date(YEAR, 6, 1), 0.5)
    ids["q1"] = report(d1, dt.date(YEAR, 12, 1), 0.95)
    ids["q4"] = report(d4, dt.date(YEAR, 11, 1), 0.95, 0.8)
    report(d4, dt.date(YEAR + 1, 1, 2), 1.0, 1.0)
    # Sharing requests: on time, closed late, still open past due, due next year (not counted).
    ids["s1"] = _deadline(dept, "sharing_review", 1, dt.date(YEAR, 5, 10), closed=dt.date(YEAR, 5, 9)).pk
    ids["s2"] = _deadline(dept, "sharing_review", 2, dt.date(YEAR, 6, 10), closed=dt.date(YEAR, 6, 12), late=True).pk
    ids["s3"] = _deadline(dept, "sharing_review", 3, dt.date(YEAR, 12, 20), state="overdue").pk
    _deadline(dept, "sharing_review", 4, dt.date(YEAR + 1, 1, 10), state="open")
    # Verification: closed within an approved extension (on time); the other department: one closed late.
    ids["v1"] = _deadline(dept, "verification", 5, dt.date(YEAR, 3, 15), closed=dt.date(YEAR, 3, 10), extended=10).pk
    ids["v2"] = _deadline(other, "verification", 6, dt.date(YEAR, 4, 1), closed=dt.date(YEAR, 4, 9), late=True).pk
    # Incidents: an ordinary one for dept (−2), a major one for the other (veto), one of 2024 (not counted).
    def incident(severity, when, *deps):
        row = SecurityIncident.objects.create(title=f"事件{severity}", severity=severity, occurred_at=when,
                                              description="测试", reported_by=reporter)
        row.departments.set(deps)
        return row.pk
    ids["i1"] = incident("4", at(YEAR, 7, 1), dept)
    ids["i2"] = incident("2", at(YEAR, 8, 1), other)
    incident("3", at(YEAR - 1, 8, 1), dept)
    return ids


EXPECTED_DEPT = {  # key: (numerator, denominator, points)
    "catalog_completeness": (Decimal(3), 5, Decimal("9.00")),      # e1 e4 e7 of e1 e2 e4 e6 e7
    "catalog_accuracy": (Decimal(2), 3, Decimal("6.67")),
    "data_timeliness": (Decimal(1), 3, Decimal("5.00")),           # l1 of l1 l4 l7
    "data_quality": (Decimal(1), 2, Decimal("5.00")),
    "sharing_on_time": (Decimal(1), 3, Decimal("5.00")),
    "verification_on_time": (Decimal(1), 1, Decimal("15.00")),
    "security_incidents": (Decimal(1), None, Decimal("8.00")),
    "rectification_on_time": (Decimal(0), 0, Decimal("5.00")),     # no order fell due: 无应考事项, full weight
    "project_catalog": (Decimal(0), 0, Decimal("5.00")),           # no project completed in the year
}
