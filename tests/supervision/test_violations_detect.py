"""The violations register's detection (R35): each detector on constructed evidence files one violation per cause,
once — rerun, or run twice at the same time, it files nothing more; each new violation tells the department's head."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from catalog import hooks
from catalog.choices import DemandState
from catalog.models import DemandItem, ResponsibilityItem
from portal.choices import Clock
from portal.models import AuditEvent, AuditVerification, Notification
from portal.services.deadlines import deadline_close, deadline_open
from supervision.choices import ViolationCategory, ViolationSource, ViolationState
from supervision.models import Violation
from supervision.services.violations import violations_detect
from tests.sharing.helpers import published_entry
from tests.supervision.violation_helpers import overdue_clock

D = dt.date
TODAY = D(2026, 11, 25)  # a Wednesday


@pytest.fixture
def today(freeze_today):
    return freeze_today(TODAY)


@pytest.mark.django_db
def test_an_overdue_sharing_clock_files_one_late_answer_on_its_department(today, dept, other_dept, head, bureau):
    clock = overdue_clock(other_dept, dept)
    result = violations_detect(today=today)
    v = Violation.objects.get()
    assert result.by_detector["detect_late_answers"] == 1
    assert (v.category, v.department, v.source, v.state) == (
        ViolationCategory.SHARING_ANSWER, dept, ViolationSource.DETECTED, ViolationState.OPEN)
    assert v.cause == f"deadline:{clock.pk}" and v.found_on == today
    assert v.evidence[0]["type"] == "portal.deadline" and v.evidence[0]["id"] == str(clock.pk)
    assert "共享申请审核" in v.evidence[0]["text"] and "逾期未办结" in v.evidence[0]["text"]
    event = AuditEvent.objects.get(action="supervision.violation.detected")
    assert event.object_id == str(v.pk) and event.department_id == dept.pk and event.data["cause"] == v.cause
    assert Notification.objects.filter(recipient=head, group_key="supervision.department").count() == 1

    # Rerun: nothing new, no second event, no second message.
    assert violations_detect(today=today).filed == 0
    assert Violation.objects.count() == 1
    assert AuditEvent.objects.filter(action="supervision.violation.detected").count() == 1
    assert Notification.objects.get(recipient=head, group_key="supervision.department").count == 1


@pytest.mark.django_db
def test_a_clock_closed_late_counts_an_open_one_in_time_does_not(today, dept, other_dept):
    late = deadline_open(case=other_dept, clock=Clock.VERIFICATION, department=dept, working_days=10,
                         started_on=D(2026, 11, 2), title="数据校核")
    deadline_close(case=other_dept, clock=Clock.VERIFICATION, on=D(2026, 11, 24))
    deadline_open(case=dept, clock=Clock.CATALOG_REVIEW, department=other_dept, working_days=10,
                  started_on=D(2026, 11, 20), title="目录审核")
    violations_detect(today=today)
    v = Violation.objects.get()
    assert v.cause == f"deadline:{late.pk}" and "超期办结于 2026-11-24" in v.evidence[0]["text"]


@pytest.mark.django_db
def test_a_late_catalog_update_application_or_risk_assessment_falls_under_its_own_article(today, dept, other_dept):
    apply = overdue_clock(other_dept, dept, clock=Clock.CATALOG_UPDATE_APPLY)
    risk = overdue_clock(dept, other_dept, clock=Clock.RISK_ASSESSMENT)
    violations_detect(today=today)
    assert dict(Violation.objects.values_list("cause", "category")) == {
        f"deadline:{apply.pk}": ViolationCategory.CATALOG, f"deadline:{risk.pk}": ViolationCategory.OTHER}
    assert violations_detect(today=today).filed == 0


@pytest.mark.django_db
def test_an_overdue_rectification_clock_is_not_a_late_answer(today, dept, other_dept):
    overdue_clock(other_dept, dept, clock=Clock.RECTIFICATION)
    violations_detect(today=today)
    assert not Violation.objects.exists()


@pytest.mark.django_db
def test_a_demand_unfiled_ten_working_days_after_submission(today, dept, other_dept, head):
    def demand(submitted: dt.datetime, **kw):
        return DemandItem.objects.create(department=other_dept, provider=dept, needed_data="婚姻登记信息",
                                         purpose="社会救助审核", legal_basis="社会救助暂行办法",
                                         state=DemandState.SUBMITTED, submitted_at=submitted, **kw)

    tz = timezone.get_current_timezone()
    late = demand(dt.datetime(2026, 11, 10, 9, 0, tzinfo=tz))  # 10th working day after: 11-24 — late on 11-25
    demand(dt.datetime(2026, 11, 11, 9, 0, tzinfo=tz))  # due 11-25: still in time today
    draft = demand(dt.datetime(2026, 11, 2, 9, 0, tzinfo=tz))
    DemandItem.objects.filter(pk=draft.pk).update(state=DemandState.DRAFT)
    met = demand(dt.datetime(2026, 11, 2, 9, 0, tzinfo=tz))
    met.matches.add(published_entry(dept))

    violations_detect(today=today)
    v = Violation.objects.get()
    assert (v.category, v.cause, v.department) == (ViolationCategory.CATALOG, f"demand:{late.pk}", dept)
    assert v.evidence[0]["url"] == f"/catalog/demands/{late.pk}/" and "2026-11-10" in v.evidence[0]["text"]
    assert violations_detect(today=today).filed == 0


@pytest.mark.django_db
def test_data_late_on_its_cycle_files_once_per_missed_period(freeze_today, monkeypatch, dept):
    entry = published_entry(dept)
    ResponsibilityItem.objects.create(department=dept, entry=entry, item_name="", update_cycle="weekly",
                                      since=D(2026, 1, 1), entry_version=1)
    ResponsibilityItem.objects.create(department=dept, entry=entry, item_name="名称", update_cycle="weekly",
                                      since=D(2026, 1, 1), entry_version=1)
    last = dt.datetime(2026, 11, 2, 10, 0, tzinfo=timezone.get_current_timezone())
    monkeypatch.setitem(hooks._providers, "data_arrivals", lambda ids: {entry.pk: last})

    violations_detect(today=freeze_today(D(2026, 11, 9)))  # 7 days: on time
    assert not Violation.objects.exists()
    violations_detect(today=freeze_today(D(2026, 11, 10)))  # 8 days: the period due 11-09 missed
    v = Violation.objects.get()
    assert (v.category, v.department, v.cause) == (ViolationCategory.DATA, dept, f"entry:{entry.pk}:2026-11-09")
    violations_detect(today=freeze_today(D(2026, 11, 16)))  # same missed period
    assert Violation.objects.count() == 1
    violations_detect(today=freeze_today(D(2026, 11, 17)))  # the next period missed too
    assert sorted(Violation.objects.values_list("cause", flat=True)) == [
        f"entry:{entry.pk}:2026-11-09", f"entry:{entry.pk}:2026-11-16"]


@pytest.mark.django_db
def test_a_broken_audit_trail_files_one_violation_per_break_on_the_bureau(today, bureau):
    for _ in range(2):  # the same break found by two runs
        AuditVerification.objects.create(via="beat", ok=False, break_seq=41, break_kind="hash",
                                          break_detail="事件内容与哈希不符")
    AuditVerification.objects.create(via="beat", ok=True)
    violations_detect(today=today)
    v = Violation.objects.get()
    assert (v.category, v.department, v.cause) == (ViolationCategory.CHANGE_DELETE, bureau, "audit:41:hash")
    assert "事件内容与哈希不符" in v.evidence[0]["text"]


@pytest.mark.django_db
def test_an_abnormal_access_confirmed_by_the_security_admin_files_one_use_violation(today, dept, security_admin,
                                                                                      bureau):
    from security.services.leaks import leak_anomaly_confirm
    from tests.hostile.world import _anomaly

    anomaly = _anomaly(dept)
    violations_detect(today=today)
    assert not Violation.objects.filter(category=ViolationCategory.USE_LEAK).exists()  # open: not yet a violation
    leak_anomaly_confirm(actor=security_admin, anomaly_id=anomaly.pk, reason="连续枚举身份证号，已停用客户端")
    for _ in range(2):
        violations_detect(today=today)
    v = Violation.objects.get(category=ViolationCategory.USE_LEAK)
    assert (v.department, v.cause, v.source) == (dept, f"anomaly:{anomaly.pk}", ViolationSource.DETECTED)
    assert "连续枚举身份证号" in v.evidence[0]["text"] and v.evidence[0]["url"].endswith(f"/anomalies/{anomaly.pk}/")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # other sessions commit
def test_two_concurrent_runs_file_each_cause_once(freeze_today, dept, other_dept, head):
    today = freeze_today(TODAY)
    overdue_clock(other_dept, dept)
    overdue_clock(dept, other_dept)
    barrier, errors, results = threading.Barrier(2), [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(violations_detect(today=today).filed)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(results) in ([0, 2], [1, 1])  # whoever inserted first, two in all
    assert Violation.objects.count() == 2
    assert AuditEvent.objects.filter(action="supervision.violation.detected").count() == 2


@pytest.mark.django_db
def test_a_run_tells_each_head_once_per_violation_in_one_digest(today, dept, other_dept, head, bureau):
    from portal.choices import Role
    from tests.factories import make_user

    other_head = make_user(Role.DEPT_HEAD, department=other_dept, username="other_head")
    overdue_clock(other_dept, dept)
    overdue_clock(bureau, dept, clock=Clock.VERIFICATION)
    overdue_clock(dept, other_dept)
    violations_detect(today=today)
    note = Notification.objects.get(recipient=head, group_key="supervision.department")
    assert (note.count, note.title, note.group_key) == (2, "有 2 条违规与整改消息", "supervision.department")
    single = Notification.objects.get(recipient=other_head, group_key="supervision.department")
    assert single.count == 1 and single.title.startswith("新登记违规行为：")
    # The next run's new violation counts into the unread digest.
    overdue_clock(other_dept, dept, clock=Clock.CATALOG_REVIEW)
    violations_detect(today=today)
    note.refresh_from_db()
    assert note.count == 3 and note.title == "有 3 条违规与整改消息" and "目录审核" not in note.title
    assert Notification.objects.filter(recipient=head, group_key="supervision.department").count() == 1


@pytest.mark.django_db
def test_data_under_the_quality_red_line_files_one_violation_per_dataset_and_month(freeze_today, person_dataset,
                                                                                    dept):
    from aggregation.models import QualityReport

    freeze_today(dt.date(2026, 11, 25))
    QualityReport.objects.create(dataset=person_dataset, department=dept, day=dt.date(2026, 11, 23),
                                 completeness_avg=0.95, validity=0.99)
    latest = QualityReport.objects.create(dataset=person_dataset, department=dept, day=dt.date(2026, 11, 24),
                                          completeness_avg=0.62, validity=0.99)
    for _ in range(2):
        violations_detect(today=dt.date(2026, 11, 25))
    v = Violation.objects.get(category=ViolationCategory.DATA)
    assert (v.department, v.cause) == (dept, f"quality:{person_dataset.pk}:2026-11")
    assert v.evidence[0]["id"] == str(latest.pk) and "62.0%" in v.evidence[0]["text"]
    # Mended: the next report is above the line, nothing new is filed.
    QualityReport.objects.create(dataset=person_dataset, department=dept, day=dt.date(2026, 11, 25),
                                 completeness_avg=0.97, validity=0.99)
    violations_detect(today=dt.date(2026, 11, 25))
    assert Violation.objects.filter(category=ViolationCategory.DATA).count() == 1


@pytest.mark.django_db
def test_a_resource_table_changed_around_the_application_is_filed_once_per_finding(
        today, dept, staff, bureau, settings, tmp_path):
    """The nightly integrity sweep checks every resource table whole; what it finds is filed as 35.5 on the bureau,
    once per set of findings: the same tampering night after night once, a new one once more."""
    from psycopg import sql

    from aggregation.models import Dataset
    from aggregation.selectors.pools import record_get
    from aggregation.storage.layout import Layout
    from aggregation.tasks import integrity_sweep_task
    from tests.aggregation.builders import FIRM_ITEMS, PEOPLE_ITEMS, codes, csv_bytes, ids, make_entry, person, submit

    settings.MEDIA_ROOT = tmp_path / "media"
    keys = ids(4)
    job = submit(staff, make_entry(dept, "户籍人口信息", PEOPLE_ITEMS), csv_bytes([person(k) for k in keys]))
    dataset = Dataset.objects.get(pk=job.dataset_id)
    make_entry(dept, "空目录", PEOPLE_ITEMS)  # (an entry nothing was loaded into has no table: not counted)
    assert integrity_sweep_task() == {"checked": 1, "failed": 0}
    violations_detect(today=today)
    assert not Violation.objects.filter(category=ViolationCategory.CHANGE_DELETE).exists()

    def around(statement, key):
        with connection.cursor() as cur:
            cur.execute(sql.SQL(statement).format(t=Layout.stored(dataset).table).as_string(connection.connection),
                        [record_get(dataset=dataset, key=key).id])

    around("DELETE FROM {t} WHERE id = %s", keys[0])  # a loaded row never changed: only its load's count shows it
    for _night in range(2):
        assert integrity_sweep_task() == {"checked": 1, "failed": 1}
        violations_detect(today=today)
    v = Violation.objects.get(category=ViolationCategory.CHANGE_DELETE)
    assert (v.department, v.source, v.cause[:len(f"pool:{dataset.pk}:")]) == (
        bureau, ViolationSource.DETECTED, f"pool:{dataset.pk}:")
    assert v.title == "资源表数据被绕过平台修改或删除：户籍人口信息"
    (evidence,) = v.evidence
    assert evidence["url"].endswith(f"/datasets/{dataset.pk}/integrity/"), evidence
    assert evidence["text"].startswith(f"完整性核查（每晚全量）：{dept.name}："), evidence
    assert "导入任务行数不符 1；" in evidence["text"] and "行摘要不符 0；" in evidence["text"]
    sweeps = AuditEvent.objects.filter(action="aggregation.dataset.integrity_checked", actor__isnull=True)
    assert sweeps.count() == 3 and sweeps.latest("id").data["load_shortfalls"] == [[job.pk, 4, 3]]

    around("UPDATE {t} SET row_hash = 'x'::bytea WHERE id = %s", keys[1])  # a second, different tampering
    integrity_sweep_task()
    violations_detect(today=today)
    assert Violation.objects.filter(category=ViolationCategory.CHANGE_DELETE).count() == 2
    newest = Violation.objects.filter(category=ViolationCategory.CHANGE_DELETE).latest("id")
    assert "行摘要不符 1；" in newest.evidence[0]["text"]

    # A table dropped beneath the application: the check cannot run — a finding too, and the other tables are checked.
    firms = [[code, "焦作某某有限公司", "100", "2020-01-01", "焦作市"] for code in codes(2)]
    second = submit(staff, make_entry(dept, "企业登记信息", FIRM_ITEMS, cls="102"),
                    csv_bytes(firms, header=[i[0] for i in FIRM_ITEMS]))
    assert second.status == "succeeded", second.log
    dropped = Dataset.objects.get(pk=second.dataset_id)
    with connection.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE {}").format(Layout.stored(dropped).table).as_string(connection.connection))
    assert integrity_sweep_task() == {"checked": 2, "failed": 2}
    violations_detect(today=today)
    gone = Violation.objects.get(cause__startswith=f"pool:{dropped.pk}:")
    assert f"pool.r{dropped.pk}" in gone.evidence[0]["text"] and gone.department == bureau
    assert AuditEvent.objects.filter(action="aggregation.dataset.integrity_checked", object_id=str(dropped.pk),
                                     result="failure").count() == 1
