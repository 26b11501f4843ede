"""Verification cases (数据校核, R14): filing, the provider's answer, the head-approved extension.

Clocks (through portal.services.deadlines):
- Clock.VERIFICATION on the case, for the provider department, 10 working days from receipt (R14.2);
  extended once by at most 10 working days on the head's approval (R14.3); closed by the answer.
- Clock.VERIFICATION_EXTENSION on the case, for the provider's head (responsible role 部门主要负责人),
  while an extension request waits; closed by the decision or by the answer.

Every function is keyword-only, runs in one transaction, locks the case (or the record when filing), writes
its one audit event in that transaction and sends its messages after commit.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import resource_perms
from portal import audit
from portal.choices import Clock, Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import Deadline
from portal.permissions import is_department_member, is_head_of, is_staff_of
from portal.services.deadlines import deadline_close, deadline_extend, deadline_open
from portal.services.notifications import department_recipients, notify
from portal.services.workdays import is_overdue, local_today
from portal.uploads import DOCUMENT_TYPES, MAX_BYTES, upload_facts, upload_problem

from .. import access
from ..choices import ExtensionState, VerificationState
from ..models import Dataset, Record, RecordHistory, VerificationCase, VerificationEvidence
from ..selectors.pools import datasets_visible, record_values
from ..selectors.verification import open_case_for
from ..storage import reading, writing
from .pools import records_upsert

VERIFICATION_DAYS = 10  # R14.2
MAX_EXTENSION_DAYS = 10  # R14.3
# The head decides an extension request within 2 working days: short, because the verification clock keeps
# running meanwhile and a request filed near the end must be decided before the original due date; the same
# span the deadline sweep uses for its reminders (PORTAL["REMINDER_WORKING_DAYS"]).
EXTENSION_DECISION_DAYS = 2

EVIDENCE_TYPES = DOCUMENT_TYPES  # pdf / jpg / png / docx / xlsx, checked by content too (portal.uploads)
MAX_EVIDENCE_BYTES = MAX_BYTES
MAX_EVIDENCE_FILES = 10


# --------------------------------------------------------------------------------------------------
# Evidence files


def evidence_problem(upload) -> str | None:
    """Why an uploaded file is refused as evidence, or None (type by extension and content, size ≤ 10 MB)."""
    return upload_problem(upload, label=_("证明材料"), types=EVIDENCE_TYPES, allowed="PDF、JPG、PNG、DOCX、XLSX",
                          max_bytes=MAX_EVIDENCE_BYTES)


def _save_evidence(case: VerificationCase, uploads: list, actor, saved: list) -> list[VerificationEvidence]:
    for upload in uploads:
        facts = upload_facts(upload, types=EVIDENCE_TYPES)
        evidence = VerificationEvidence(
            case=case, original_name=facts.original_name, size=facts.size, content_type=facts.content_type,
            sha256=facts.sha256, uploaded_by=actor,
        )
        evidence.file.save(upload.name, upload, save=False)
        saved.append(evidence)
        evidence.save()
    return saved


# --------------------------------------------------------------------------------------------------
# Use cases


def _lock_case(actor, case_id) -> VerificationCase:
    """The case, locked, if `actor` may see it; NotFound otherwise."""
    case = (
        VerificationCase.objects.select_for_update(of=("self",))
        .select_related("dataset__entry", "provider", "requester")
        .filter(pk=case_id)
        .first()
    )
    if case is None or not VerificationCase.objects.restrict(actor).filter(pk=case.pk).exists():
        raise NotFound()
    return case


def _case_title(case: VerificationCase) -> str:
    return _("数据校核 #%(id)s：%(name)s") % {"id": case.pk, "name": case.dataset.entry.name}


def _require_open(case: VerificationCase) -> None:
    if not case.is_open:
        raise InvalidTransition(_("该校核案件已办结"), code="case_closed")


def verification_case_file(
    *, actor, record_id: int, dataset_id: int, fields: list[str], description: str, evidence: list | None = None
) -> VerificationCase:
    """A consuming department disputes fields of a record (R14.1).

    Raises NotFound (record not visible), PermissionDenied (not a department member, or the provider itself),
    PortalError code "invalid" (fields, description, evidence) or "case_open" (the record already has an open
    case). Opens Clock.VERIFICATION (10 WD) for the provider; notifies its staff and head after commit.
    """
    evidence = list(evidence or [])
    if not is_department_member(actor):
        raise PermissionDenied(_("只有政务部门的数据专员或负责人可以申请数据校核"))
    stored: list[VerificationEvidence] = []
    try:
        return _file(actor, record_id, dataset_id, fields, description, evidence, stored)
    except BaseException:
        # The rows went with the rollback; the files written under MEDIA_ROOT must go too.
        for item in stored:
            item.file.delete(save=False)
        raise


def _file(actor, record_id, dataset_id, fields, description, evidence, stored) -> VerificationCase:
    with transaction.atomic():
        if settings.AGGREGATION.get("WRITE_RECORDS", True):
            record = (
                Record.objects.select_for_update(of=("self",))
                .select_related("dataset__entry", "dataset__department")
                .filter(pk=record_id, dataset_id=dataset_id, deleted_at__isnull=True)
                .filter(dataset__in=datasets_visible(actor))
                .first()
            )
            if record is None:
                raise NotFound()
            dataset = record.dataset
        else:  # the writers write the resource tables only: the table's row is locked and read
            dataset = datasets_visible(actor).select_related("entry", "department").filter(pk=dataset_id).first()
            if dataset is None or not dataset.columns or not writing.lock_row(dataset.pk, record_id):
                raise NotFound()
            record = reading.get(dataset, record_id, items=())
        if dataset.department_id == actor.department_id:
            raise PermissionDenied(_("提供部门不能对本部门的数据申请校核，请直接更正"), code="own_data")
        item_names = list(dataset.entry.items.values_list("name", flat=True))
        errors: dict[str, list[str]] = {}
        chosen = [f for f in dict.fromkeys(f.strip() for f in fields or []) if f]
        if not chosen:
            errors["fields"] = [_("请选择有疑义的信息项")]
        elif unknown := [f for f in chosen if f not in item_names]:
            errors["fields"] = [_("信息项不存在：%(names)s") % {"names": "、".join(unknown)}]
        description = (description or "").strip()
        if not description:
            errors["description"] = [_("请说明疑义或错误")]
        if len(evidence) > MAX_EVIDENCE_FILES:
            errors["evidence"] = [_("证明材料最多 %(n)d 个") % {"n": MAX_EVIDENCE_FILES}]
        else:
            problems = [p for p in (evidence_problem(u) for u in evidence) if p]
            if problems:
                errors["evidence"] = problems
        if errors:
            raise PortalError(next(iter(errors.values()))[0], code="invalid", errors=errors)
        running = open_case_for(record)
        if running is not None:
            raise InvalidTransition(
                _("该记录已有进行中的校核（#%(id)s），该案件办结后可再次申请") % {"id": running.pk}, code="case_open"
            )
        try:
            with transaction.atomic():
                case = VerificationCase.objects.create(
                    record_id=record.id, dataset=dataset, provider=dataset.department, requester=actor.department,
                    key_hash=record.key_hash, fields=chosen, description=description,
                    received_on=local_today(), created_by=actor,
                )
        except IntegrityError:  # a concurrent filing won the one-open-case constraint
            raise InvalidTransition(_("该记录已有进行中的校核"), code="case_open") from None
        files = _save_evidence(case, evidence, actor, stored)
        deadline = deadline_open(
            case=case, clock=Clock.VERIFICATION, department=dataset.department,
            working_days=VERIFICATION_DAYS, title=_case_title(case), responsible_role="",
        )
        audit.record(
            actor=actor, action="aggregation.verification.filed", obj=case,
            data={"dataset": dataset.pk, "record": record.id, "key": access.hash_hex(bytes(record.key_hash)),
                  "fields": chosen, "provider": dataset.department_id, "evidence": [e.sha256 for e in files],
                  "due_on": deadline.due_on},
        )
        title = _("收到数据校核申请：%(name)s") % {"name": dataset.entry.name}
        body = _("%(dept)s 对 %(fields)s 提出疑义，请在 %(due)s 前完成校核。") % {
            "dept": actor.department.name, "fields": "、".join(chosen), "due": deadline.due_on.isoformat()}
        url = case.get_absolute_url()
        provider = dataset.department
        transaction.on_commit(
            lambda: notify(recipients=department_recipients(provider), title=title, body=body, url=url)
        )
    return case


def verification_extension_request(*, actor, case_id: int, working_days: int, reason: str) -> VerificationCase:
    """The provider asks its head for ≤ 10 more working days (R14.3).

    Raises PermissionDenied (not provider staff), InvalidTransition (closed, or an extension already asked),
    "overdue" (the 10 days have already run out), PortalError "invalid". Opens Clock.VERIFICATION_EXTENSION (2 WD)
    for the provider's head.
    """
    reason = (reason or "").strip()
    with transaction.atomic():
        case = _lock_case(actor, case_id)
        if not is_staff_of(actor, case.provider_id):
            raise PermissionDenied(_("只有提供部门可以申请延期"))
        _require_answerer(actor, case)
        _require_open(case)
        if case.extension_state != ExtensionState.NONE:
            raise InvalidTransition(_("每个校核案件只能申请一次延期"), code="extension_used")
        running = Deadline.objects.running().for_case(case).filter(clock=Clock.VERIFICATION).first()
        if running is not None and is_overdue(running.due_on):
            # R14.3 extends a running period; once it has lapsed the case is overdue and is answered, not extended.
            raise InvalidTransition(_("校核期限已过，不能再申请延期，请尽快答复"), code="overdue")
        if not isinstance(working_days, int) or not 1 <= working_days <= MAX_EXTENSION_DAYS:
            raise PortalError(_("延长期限为 1 至 10 个工作日"), code="invalid", errors={"working_days": [
                _("延长期限为 1 至 10 个工作日")]})
        if not reason:
            raise PortalError(_("请说明延期理由"), code="invalid", errors={"reason": [_("请说明延期理由")]})
        case.extension_state = ExtensionState.REQUESTED
        case.extension_days, case.extension_reason, case.extension_requested_by = working_days, reason, actor
        case.save(update_fields=["extension_state", "extension_days", "extension_reason", "extension_requested_by"])
        deadline_open(
            case=case, clock=Clock.VERIFICATION_EXTENSION, department=case.provider,
            working_days=EXTENSION_DECISION_DAYS, responsible_role=Role.DEPT_HEAD,
            title=_("校核延期审批 #%(id)s：%(name)s") % {"id": case.pk, "name": case.dataset.entry.name},
        )
        audit.record(
            actor=actor, action="aggregation.verification.extension_requested", obj=case,
            data={"working_days": working_days, "reason": reason},
        )
        heads = department_recipients(case.provider, Role.DEPT_HEAD)
        title = _("待审批：数据校核延期 #%(id)s") % {"id": case.pk}
        body = _("申请延长 %(n)d 个工作日。理由：%(reason)s") % {"n": working_days, "reason": reason}
        url = case.get_absolute_url()
        transaction.on_commit(lambda: notify(recipients=heads, title=title, body=body, url=url))
    return case


def verification_extension_decide(*, actor, case_id: int, approve: bool, comment: str = "") -> VerificationCase:
    """The provider's head approves or refuses the requested extension (R14.3).

    Raises PermissionDenied (not the provider's head), InvalidTransition (nothing to decide). On approval
    extends Clock.VERIFICATION by the requested days; closes Clock.VERIFICATION_EXTENSION either way.
    """
    comment = (comment or "").strip()
    with transaction.atomic():
        case = _lock_case(actor, case_id)
        if not is_head_of(actor, case.provider_id):
            raise PermissionDenied(_("延期须经提供部门主要负责人同意"), code="head_only")
        _require_open(case)
        if case.extension_state != ExtensionState.REQUESTED:
            raise InvalidTransition(_("没有待审批的延期申请"), code="no_extension_request")
        if not approve and not comment:
            raise PortalError(_("不同意延期时请填写意见"), code="invalid", errors={"comment": [_("请填写意见")]})
        data = {"approve": approve, "working_days": case.extension_days, "comment": comment}
        if approve:
            deadline = deadline_extend(
                case=case, clock=Clock.VERIFICATION, working_days=case.extension_days,
                reason=_("经提供部门主要负责人同意延期：%(reason)s") % {"reason": case.extension_reason},
            )
            data["due_on"] = deadline.due_on
        deadline_close(case=case, clock=Clock.VERIFICATION_EXTENSION)
        case.extension_state = ExtensionState.APPROVED if approve else ExtensionState.REFUSED
        case.extension_decided_by, case.extension_decided_at = actor, timezone.now()
        case.extension_comment = comment
        case.save(update_fields=["extension_state", "extension_decided_by", "extension_decided_at",
                                 "extension_comment"])
        audit.record(
            actor=actor, obj=case, data=data,
            action="aggregation.verification.extended" if approve else "aggregation.verification.extension_refused",
        )
        staff = department_recipients(case.provider, Role.DEPT_STAFF)
        title = (_("延期已批准：数据校核 #%(id)s") if approve else _("延期未批准：数据校核 #%(id)s")) % {"id": case.pk}
        url = case.get_absolute_url()
        transaction.on_commit(lambda: notify(recipients=staff, title=title, body=comment, url=url))
    return case


def _finish(case: VerificationCase, actor, state: str, answer: str) -> None:
    """Close the case's clocks and record the answer (the caller saves and audits)."""
    deadline_close(case=case, clock=Clock.VERIFICATION)
    if case.extension_state == ExtensionState.REQUESTED:
        deadline_close(case=case, clock=Clock.VERIFICATION_EXTENSION)
        case.extension_state = ExtensionState.LAPSED
    case.state, case.answer, case.answered_by, case.answered_at = state, answer, actor, timezone.now()


def _notify_requester(case: VerificationCase, title: str) -> None:
    requester, body, url = case.requester, case.answer, case.get_absolute_url()
    transaction.on_commit(lambda: notify(recipients=department_recipients(requester), title=title, body=body, url=url))


def _answerable(actor, case_id) -> VerificationCase:
    case = _lock_case(actor, case_id)
    if not is_staff_of(actor, case.provider_id):
        raise PermissionDenied(_("只有提供部门可以答复校核"))
    _require_answerer(actor, case)
    _require_open(case)
    return case


def _require_answerer(actor, case: VerificationCase) -> None:
    """The provider's person must hold answer_verification on the case's resource (the head always does)."""
    resource_perms.require(actor, entry_id=case.dataset.entry_id, provider_id=case.provider_id,
                           perm=resource_perms.ANSWER_VERIFICATION)


def verification_case_confirm(*, actor, case_id: int, explanation: str) -> VerificationCase:
    """The provider confirms the data correct, with an explanation (R14.2). Closes the case's clocks."""
    explanation = (explanation or "").strip()
    with transaction.atomic():
        case = _answerable(actor, case_id)
        if not explanation:
            raise PortalError(_("请说明核实情况"), code="invalid", errors={"explanation": [_("请说明核实情况")]})
        _finish(case, actor, VerificationState.CONFIRMED, explanation)
        case.save(update_fields=["state", "answer", "answered_by", "answered_at", "extension_state"])
        audit.record(actor=actor, action="aggregation.verification.confirmed", obj=case,
                     data={"explanation": explanation})
        _notify_requester(case, _("数据校核已办结（经核无误）：#%(id)s") % {"id": case.pk})
    return case


def verification_case_correct(*, actor, case_id: int, values: dict, explanation: str = "") -> VerificationCase:
    """The provider corrects the record (R14.2): applied through records_upsert, with history linked to the case.

    `values`: item name → corrected plain value (other items keep their values). Raises PortalError "invalid"
    (unknown items, a value the catalog refuses, or no actual change). Closes the case's clocks.
    """
    explanation = (explanation or "").strip()
    with transaction.atomic():
        case = _answerable(actor, case_id)
        dataset = case.dataset
        if settings.AGGREGATION.get("WRITE_RECORDS", True):
            # The record's row lock holds the writers off (they write aggregation_record and mirror it into the table
            # in the same transaction); the values are read from the table.
            Record.objects.select_for_update(of=("self",)).filter(pk=case.record_id, dataset_id=case.dataset_id).first()
        else:
            # The writers write the table only: its row is locked (after the dataset's, the order a load and
            # records_upsert take them in, so a correction and a load queue rather than deadlock).
            Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
            if dataset.columns:
                writing.lock_row(dataset.pk, case.record_id, include_deleted=True)
        record = reading.get(dataset, case.record_id, include_deleted=True)
        if record is None:
            raise NotFound()
        if record.deleted_at is not None:  # an upsert would bring it back: the answer is an explanation instead
            raise InvalidTransition(_("该记录已被提供部门删除，请以“经核无误”说明处理情况"), code="record_deleted")
        item_names = set(dataset.entry.items.values_list("name", flat=True))
        values = {str(k).strip(): ("" if v is None else str(v)) for k, v in (values or {}).items()}
        values = {k: v for k, v in values.items() if k}
        if not values:
            raise PortalError(_("请填写更正后的值"), code="invalid", errors={"values": [_("请填写更正后的值")]})
        if unknown := sorted(set(values) - item_names):
            raise PortalError(_("信息项不存在：%(names)s") % {"names": "、".join(unknown)}, code="invalid")
        if dataset.key_item_name in values:
            raise PortalError(
                _("主体标识不能通过校核更正；如标识有误，请作废原记录后重新报送"), code="invalid",
                errors={"values": [_("主体标识不能更正")]},
            )
        row = {k: ("" if v is None else v) for k, v in record_values(record).items()}  # (the subject key too)
        row.update(values)
        reason = _("数据校核 #%(id)s") % {"id": case.pk}
        result = records_upsert(actor=actor, dataset=dataset, rows=[row], reason=reason)
        if result.rejected:
            problems = [f"{r.item}：{r.reason}" for r in result.rejected]
            raise PortalError(problems[0], code="invalid", errors={"values": problems})
        if not result.updated:
            raise PortalError(
                _("更正后的值与现有数据相同；如数据无误，请选择“经核无误”"), code="no_change",
                errors={"values": [_("没有变化")]},
            )
        change = next((c for c in result.changes if c.record_id == record.id), None)
        history = RecordHistory.objects.filter(pk=change.history_id, dataset_id=dataset.pk).first() if change else None
        _finish(case, actor, VerificationState.CORRECTED, explanation or _("已按申请更正"))
        case.corrected_items, case.correction = sorted(values), history
        case.save(update_fields=["state", "answer", "answered_by", "answered_at", "extension_state",
                                 "corrected_items", "correction"])
        audit.record(
            actor=actor, action="aggregation.verification.corrected", obj=case,
            data={"items": sorted(values), "history": history.pk if history else None,
                  "key": access.hash_hex(record.key_hash)},
        )
        _notify_requester(case, _("数据校核已办结（已更正）：#%(id)s") % {"id": case.pk})
    return case
