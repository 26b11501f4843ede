"""Verification cases (R14): filing, clocks (10 WD, head-approved extension ≤ 10 WD, overdue), answers, R14.4."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aggregation.choices import ExtensionState, VerificationState
from aggregation.models import RecordHistory, VerificationCase
from aggregation.selectors.pools import record_values
from aggregation.selectors.verification import open_case_for
from aggregation.services import verification as v
from aggregation.storage import reading
from portal.choices import Clock, DeadlineState, Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import Deadline, Notification
from portal.services.deadlines import deadline_sweep
from tests.aggregation.builders import id_number
from tests.support import sign_in

FILED_ON = dt.date(2026, 11, 25)  # a Wednesday; no holidays before mid-December
DUE = dt.date(2026, 12, 9)  # 10 working days later


def pdf(name="证明.pdf", size=None):
    body = b"%PDF-1.4\n" + (b"0" * (size - 9) if size else b"evidence")
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def clock(case, kind=Clock.VERIFICATION):
    return Deadline.objects.for_case(case).filter(clock=kind).order_by("-id").first()


@pytest.fixture
def case(person_record, person_dataset, other_staff, staff, head, freeze_today):
    freeze_today(FILED_ON)
    return v.verification_case_file(
        actor=other_staff, record_id=person_record.id, dataset_id=person_dataset.pk, fields=["姓名"],
        description="姓名与户籍证明不一致", evidence=[pdf()],
    )


def test_filing_opens_the_10_day_clock_audits_and_notifies_after_commit(
    person_record, person_dataset, other_staff, staff, head, freeze_today, audit_log,
    django_capture_on_commit_callbacks,
):
    freeze_today(FILED_ON)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        case = v.verification_case_file(
            actor=other_staff, record_id=person_record.id, dataset_id=person_dataset.pk, fields=["姓名", "性别"],
            description="姓名与户籍证明不一致", evidence=[pdf()],
        )
    assert len(callbacks) == 1
    assert case.state == VerificationState.OPEN and case.provider == person_dataset.department
    assert case.requester == other_staff.department and case.fields == ["姓名", "性别"]
    deadline = clock(case)
    assert (deadline.due_on, deadline.working_days, deadline.department_id) == (DUE, 10, person_dataset.department_id)
    assert deadline.responsible_role == "" and deadline.state == DeadlineState.OPEN
    evidence = case.evidence.get()
    assert evidence.original_name == "证明.pdf" and evidence.content_type == "application/pdf"
    assert not evidence.file.name.endswith("证明.pdf")  # stored under our own name
    (event,) = audit_log("aggregation.verification.filed")
    assert event.actor == other_staff and event.object_id == str(case.pk)
    assert event.data["key"] == bytes(person_record.key_hash).hex()
    assert id_number(1) not in str(event.data)
    notes = Notification.objects.filter(url=case.get_absolute_url())
    recipients = set(notes.values_list("recipient__username", flat=True))
    assert recipients == {"staff", "head"}
    assert open_case_for(person_record) == case


def test_provider_cannot_file_against_its_own_data(person_record, person_dataset, staff):
    with pytest.raises(PermissionDenied):
        v.verification_case_file(actor=staff, record_id=person_record.id, dataset_id=person_dataset.pk,
                                 fields=["姓名"], description="x")
    assert not VerificationCase.objects.exists()


def test_one_open_case_per_record_and_input_checks(case, person_record, person_dataset, other_staff, bureau):
    from tests.factories import DepartmentFactory, make_user

    third = make_user(Role.DEPT_STAFF, department=DepartmentFactory(), username="third")
    with pytest.raises(InvalidTransition) as exc:
        v.verification_case_file(actor=third, record_id=person_record.id, dataset_id=person_dataset.pk,
                                 fields=["姓名"], description="又一个")
    assert exc.value.code == "case_open"
    (other,) = [r for r in reading.rows(person_dataset) if r.id != person_record.id]
    for fields, description, evidence, key in [
        ([], "说明", [], "fields"),
        (["不存在的项"], "说明", [], "fields"),
        (["姓名"], "  ", [], "description"),
        (["姓名"], "说明", [SimpleUploadedFile("a.exe", b"MZ")], "evidence"),
        (["姓名"], "说明", [SimpleUploadedFile("a.pdf", b"not a pdf")], "evidence"),
        (["姓名"], "说明", [pdf(size=10 * 1024 * 1024 + 1)], "evidence"),
    ]:
        with pytest.raises(PortalError) as exc:
            v.verification_case_file(actor=other_staff, record_id=other.id, dataset_id=person_dataset.pk,
                                     fields=fields, description=description, evidence=evidence)
        assert key in exc.value.errors, (fields, description)


def test_head_approved_extension_moves_the_clock(case, staff, head, audit_log, freeze_today):
    freeze_today(dt.date(2026, 12, 3))
    v.verification_extension_request(actor=staff, case_id=case.pk, working_days=5, reason="需调取纸质档案核对")
    ext = clock(case, Clock.VERIFICATION_EXTENSION)
    assert ext.responsible_role == Role.DEPT_HEAD and ext.working_days == v.EXTENSION_DECISION_DAYS
    assert ext.due_on == dt.date(2026, 12, 7)
    with pytest.raises(PermissionDenied):  # the data staff cannot approve their own request
        v.verification_extension_decide(actor=staff, case_id=case.pk, approve=True)
    with pytest.raises(InvalidTransition):
        v.verification_extension_request(actor=staff, case_id=case.pk, working_days=3, reason="再延")
    v.verification_extension_decide(actor=head, case_id=case.pk, approve=True, comment="同意")
    case.refresh_from_db()
    assert case.extension_state == ExtensionState.APPROVED and case.extension_decided_by == head
    deadline = clock(case)
    assert deadline.due_on == dt.date(2026, 12, 16) and deadline.extended_days == 5
    assert clock(case, Clock.VERIFICATION_EXTENSION).state == DeadlineState.CLOSED
    assert [e.data["working_days"] for e in audit_log("aggregation.verification.extended")] == [5]
    assert len(audit_log("aggregation.verification.extension_requested")) == 1


@pytest.mark.parametrize("days", [0, 11])
def test_extension_is_at_most_10_working_days(case, staff, days):
    with pytest.raises(PortalError) as exc:
        v.verification_extension_request(actor=staff, case_id=case.pk, working_days=days, reason="理由")
    assert exc.value.code == "invalid"


def test_refused_extension_keeps_the_due_date(case, staff, head, audit_log):
    v.verification_extension_request(actor=staff, case_id=case.pk, working_days=10, reason="理由")
    with pytest.raises(PermissionDenied):
        v.verification_extension_decide(actor=staff, case_id=case.pk, approve=False, comment="不同意")
    v.verification_extension_decide(actor=head, case_id=case.pk, approve=False, comment="请按期办结")
    case.refresh_from_db()
    assert case.extension_state == ExtensionState.REFUSED and clock(case).due_on == DUE
    (event,) = audit_log("aggregation.verification.extension_refused")
    assert event.actor == head and event.data["comment"] == "请按期办结"


def test_overdue_case_is_marked_by_the_sweep_and_closed_late(case, staff, reviewer, web_as, freeze_today, audit_log):
    freeze_today(dt.date(2026, 12, 11))
    deadline_sweep(today=dt.date(2026, 12, 11))
    assert clock(case).state == DeadlineState.OVERDUE
    page = web_as(reviewer).get(reverse("aggregation:verification-list"))
    assert page.status_code == 200 and 'data-testid="overdue"' in page.content.decode()
    with pytest.raises(InvalidTransition) as exc:  # too late to ask for more time
        v.verification_extension_request(actor=staff, case_id=case.pk, working_days=5, reason="来不及")
    assert exc.value.code == "overdue"
    v.verification_case_confirm(actor=staff, case_id=case.pk, explanation="经核对户籍档案，数据无误")
    deadline = clock(case)
    assert deadline.state == DeadlineState.CLOSED and deadline.closed_late
    (event,) = audit_log("aggregation.verification.confirmed")
    assert event.actor == staff and event.object_id == str(case.pk)


def test_extension_asked_in_time_and_approved_late_reopens_an_overdue_clock(case, staff, head, freeze_today):
    freeze_today(DUE)  # the last day: still in time to ask
    v.verification_extension_request(actor=staff, case_id=case.pk, working_days=3, reason="档案在外地")
    freeze_today(dt.date(2026, 12, 11))
    deadline_sweep(today=dt.date(2026, 12, 11))
    assert clock(case).state == DeadlineState.OVERDUE
    v.verification_extension_decide(actor=head, case_id=case.pk, approve=True, comment="同意")
    deadline = clock(case)
    assert deadline.due_on == dt.date(2026, 12, 14) and deadline.state == DeadlineState.OPEN


def test_correction_goes_through_upsert_with_history_linked_to_the_case(
    case, staff, person_record, person_dataset, audit_log, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        v.verification_case_correct(actor=staff, case_id=case.pk, values={"姓名": "张叁"}, explanation="已按证明更正")
    case.refresh_from_db()
    record = reading.get(person_dataset, person_record.id)
    values = record_values(record)
    assert values["姓名"] == "张叁" and values["性别"] == "男" and values["户籍地址"] == "焦作市解放区民主路12号"
    history = RecordHistory.objects.filter(record_id=record.id).order_by("-id").first()
    assert case.correction_id == history.pk and history.reason == f"数据校核 #{case.pk}" and history.actor == staff
    assert case.state == VerificationState.CORRECTED and case.corrected_items == ["姓名"]
    assert clock(case).state == DeadlineState.CLOSED and not clock(case).closed_late
    (event,) = audit_log("aggregation.verification.corrected")
    assert event.data["history"] == history.pk and "张叁" not in str(event.data)
    assert open_case_for(record) is None
    assert Notification.objects.filter(recipient__username="other_staff", url=case.get_absolute_url()).exists()


def test_correction_refuses_no_change_and_invalid_values(case, staff):
    with pytest.raises(PortalError) as exc:
        v.verification_case_correct(actor=staff, case_id=case.pk, values={"姓名": "张三"})
    assert exc.value.code == "no_change"
    with pytest.raises(PortalError):
        v.verification_case_correct(actor=staff, case_id=case.pk, values={"身份证号码": id_number(9)})
    case.refresh_from_db()
    assert case.is_open


def test_confirm_closes_a_pending_extension_request(case, staff, head):
    v.verification_extension_request(actor=staff, case_id=case.pk, working_days=3, reason="理由")
    with pytest.raises(PortalError):
        v.verification_case_confirm(actor=staff, case_id=case.pk, explanation=" ")
    v.verification_case_confirm(actor=staff, case_id=case.pk, explanation="数据无误")
    case.refresh_from_db()
    assert case.state == VerificationState.CONFIRMED and case.extension_state == ExtensionState.LAPSED
    assert clock(case, Clock.VERIFICATION_EXTENSION).state == DeadlineState.CLOSED
    with pytest.raises(InvalidTransition):
        v.verification_case_correct(actor=staff, case_id=case.pk, values={"姓名": "王五"})


def test_record_under_verification_shows_the_notice_in_ui_and_api(
    case, person_record, person_dataset, other_staff, staff, reviewer, web_as, api_as, audit_log
):
    url = reverse("aggregation:record-detail", args=[person_dataset.pk, person_record.id])
    for user in (other_staff, staff, reviewer):
        body = web_as(user).get(url).content.decode()
        assert "核校中" in body and "不得拒绝" in body
    answer = api_as(other_staff).get(reverse("aggregation-record", args=[person_dataset.pk, person_record.id])).json()
    assert answer["under_verification"] is True and "合法有效证明材料" in answer["verification_notice"]
    assert answer["verification_case"] == case.pk
    assert answer["values"]["姓名"] == "张*" and answer["values"]["身份证号码"].startswith("410802")
    assert "*" in answer["values"]["身份证号码"]
    own = api_as(staff).get(reverse("aggregation-record", args=[person_dataset.pk, person_record.id])).json()
    assert own["values"]["姓名"] == "张三" and own["values"]["身份证号码"] == id_number(1)
    events = audit_log("aggregation.record.viewed")
    assert len(events) == 5 and all(e.data["key"] == bytes(person_record.key_hash).hex() for e in events)
    assert {e.data["masked"] for e in events} == {True, False}


def test_case_api_flow_with_clock_fields(person_record, person_dataset, other_staff, staff, head, api_as,
                                         freeze_today):
    freeze_today(FILED_ON)
    created = api_as(other_staff).post(
        reverse("aggregation-verification-list"),
        {"dataset": person_dataset.pk, "record": person_record.id, "fields": ["性别"], "description": "性别有误",
         "evidence": [pdf()]},
        format="multipart",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["due_on"] == DUE.isoformat() and body["remaining_working_days"] == 10 and body["under_verification"]
    assert len(body["evidence"]) == 1
    pk = body["id"]
    asked = api_as(staff).post(reverse("aggregation-verification-request-extension", args=[pk]),
                               {"working_days": 10, "reason": "需实地核查"}, format="json")
    assert asked.status_code == 200 and asked.json()["extension_state"] == "requested"
    denied = api_as(staff).post(reverse("aggregation-verification-decide-extension", args=[pk]), {"approve": True},
                                format="json")
    assert denied.status_code == 403 and denied.json()["code"] == "head_only"
    approved = api_as(head).post(reverse("aggregation-verification-decide-extension", args=[pk]),
                                 {"approve": True, "comment": "同意"}, format="json")
    assert approved.status_code == 200 and approved.json()["due_on"] == "2026-12-23"
    answered = api_as(staff).post(reverse("aggregation-verification-confirm", args=[pk]),
                                  {"explanation": "经核无误"}, format="json")
    assert answered.json()["state"] == "confirmed" and answered.json()["under_verification"] is False


def test_web_flow_file_extend_and_answer(person_record, person_dataset, other_staff, staff, head, client, freeze_today):
    freeze_today(FILED_ON)
    sign_in(client, other_staff)
    form_url = reverse("aggregation:verification-create", args=[person_dataset.pk, person_record.id])
    assert "发起数据校核" in client.get(reverse("aggregation:record-detail",
                                              args=[person_dataset.pk, person_record.id])).content.decode()
    refused = client.post(form_url, {"fields_": ["姓名"], "description": "有误",
                                     "evidence": [SimpleUploadedFile("a.exe", b"MZ")]})
    assert refused.status_code == 200 and "类型不允许" in refused.content.decode()
    filed = client.post(form_url, {"fields_": ["姓名"], "description": "有误", "evidence": [pdf(), pdf("b.pdf")]})
    case = VerificationCase.objects.get()
    assert filed.status_code == 302 and filed.url == case.get_absolute_url() and case.evidence.count() == 2
    sign_in(client, staff)
    detail = client.get(case.get_absolute_url()).content.decode()
    assert "更正并办结" in detail and "提交延期申请" in detail and "张三" in detail  # provider sees the full value
    empty = client.post(reverse("aggregation:verification-confirm", args=[case.pk]), {"explanation": ""})
    assert empty.status_code == 200 and VerificationCase.objects.get().is_open
    asked = client.post(reverse("aggregation:verification-extension", args=[case.pk]),
                        {"working_days": 4, "reason": "调档"})
    assert asked.status_code == 302
    sign_in(client, head)
    assert "提交审批意见" in client.get(case.get_absolute_url()).content.decode()
    client.post(reverse("aggregation:verification-decide", args=[case.pk]), {"approve": "1", "comment": "同意"})
    assert clock(case).due_on == dt.date(2026, 12, 15)
    sign_in(client, staff)
    done = client.post(reverse("aggregation:verification-correct", args=[case.pk]),
                       {"item_0": "张叁", "explanation": "已更正"})
    assert done.status_code == 302 and VerificationCase.objects.get().state == VerificationState.CORRECTED
    evidence = case.evidence.first()
    sign_in(client, other_staff)
    download = client.get(reverse("aggregation:verification-evidence", args=[case.pk, evidence.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")


def test_a_deleted_record_is_answered_not_corrected(case, staff, person_dataset):
    from aggregation.services.pools import record_delete

    record_delete(actor=staff, dataset=person_dataset, key=id_number(1), reason="重复登记")
    with pytest.raises(InvalidTransition) as exc:
        v.verification_case_correct(actor=staff, case_id=case.pk, values={"姓名": "张叁"})
    assert exc.value.code == "record_deleted"
    v.verification_case_confirm(actor=staff, case_id=case.pk, explanation="该记录系重复登记，已删除")


@pytest.mark.tables_only
def test_tables_only_a_case_on_a_table_row_is_corrected_in_the_table_with_its_history(
    case, staff, person_record, person_dataset
):
    from aggregation.models import Record
    from aggregation.storage.writing import cipher, open_token

    assert case.record_id == person_record.id and case.key_hash == person_record.key_hash
    before = reading.get(person_dataset, person_record.id)
    v.verification_case_correct(actor=staff, case_id=case.pk, values={"姓名": "张叁"}, explanation="已更正")
    case.refresh_from_db()
    after = reading.get(person_dataset, person_record.id)
    history = RecordHistory.objects.get(pk=case.correction_id)
    assert (history.op, history.record_id, history.reason) == ("update", after.id, f"数据校核 #{case.pk}")
    assert history.before == reading.history_form(before) and history.after == reading.history_form(after)
    assert open_token(cipher(), history.after["token"])["姓名"] == "张叁" and after.version == before.version + 1
    assert record_values(after)["户籍地址"] == "焦作市解放区民主路12号"
    assert not Record.objects.exists()


@pytest.mark.tables_only
def test_tables_only_a_deleted_table_row_is_answered_not_corrected(case, staff, person_dataset):
    from aggregation.services.pools import record_delete

    record_delete(actor=staff, dataset=person_dataset, key=id_number(1), reason="重复登记")
    with pytest.raises(InvalidTransition) as exc:
        v.verification_case_correct(actor=staff, case_id=case.pk, values={"姓名": "张叁"})
    assert exc.value.code == "record_deleted"
    with pytest.raises(NotFound):  # a deleted row cannot be disputed
        v.verification_case_file(actor=case.created_by, record_id=case.record_id, dataset_id=person_dataset.pk,
                                 fields=["性别"], description="有误")
