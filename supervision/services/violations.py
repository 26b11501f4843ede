"""The violations register (R35), write side: detection from the platform's evidence, filing by an assessor,
dismissal with a reason.

Detection (`violations_detect`, a daily beat job) runs the detectors of DETECTORS; each yields the violations its
evidence shows as rows (category, cause, department, title, evidence), and one statement files them —
`INSERT … ON CONFLICT (category, cause) DO NOTHING` with each new row's audit event written by the same statement
(portal.audit.record_rows_sql). A cause is filed once whatever the number of runs, concurrent or repeated: the unique
constraint decides. Each new violation tells its department's head once (a Digest: one unread message per head).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import Clock, Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import Department, User
from portal.permissions import int_or_none
from portal.services.notifications import Digest, department_recipients, notify
from portal.services.workdays import WorkCalendar, local_today
from portal.validators import text_problem
from security.choices import AnomalyState

from ..choices import ViolationCategory, ViolationSource, ViolationState
from ..models import Violation

# 35.1: a demand addressed to a department is to be met by a catalog entry within this many working days of its
# submission (the regulation gives no figure for demands; the catalog review's 10 working days are the house rule).
DEMAND_FILING_WORKING_DAYS = 10


@dataclass(frozen=True)
class Found:
    """What a detector hands to the filing statement: SQL yielding (category, cause, department_id, title, evidence)
    with its named parameters."""

    select: str
    params: dict


def _rows(rows: list[tuple[str, str, int, str, list]]) -> Found:
    """Rows computed in Python as a Found (one unnest, whatever their number)."""
    cols = list(zip(*rows, strict=True)) if rows else [[], [], [], [], []]
    return Found(
        "SELECT * FROM unnest(%(v_cat)s::text[], %(v_cause)s::text[], %(v_dept)s::bigint[], %(v_title)s::text[],"
        " %(v_ev)s::jsonb[])",
        {"v_cat": list(cols[0]), "v_cause": list(cols[1]), "v_dept": list(cols[2]), "v_title": list(cols[3]),
         "v_ev": [json.dumps(e, ensure_ascii=False) for e in cols[4]]},
    )


def _url_sql(name: str, id_sql: str, key: str) -> tuple[str, dict]:
    """A SQL expression building the URL of route `name` for the id in `id_sql` (prefix || id || suffix)."""
    sentinel = "987654321"
    prefix, suffix = reverse(name, args=[int(sentinel)]).split(sentinel)
    return f"(%({key}_p)s || {id_sql}::text || %({key}_s)s)", {f"{key}_p": prefix, f"{key}_s": suffix}


# ------------------------------------------------------------------------------------------------- detectors


def _working_days_back(today: dt.date, n: int) -> dt.date:
    """The latest day whose n-th working day after it is before `today` (a clock started then is late today)."""
    cal, day = WorkCalendar(), today - dt.timedelta(days=1)
    while cal.working_days_between(day, today - dt.timedelta(days=1)) < n:
        day -= dt.timedelta(days=1)
    return day


def detect_catalog_unfiled(today: dt.date) -> Found:
    """35.1: a submitted demand addressed to a department that no catalog entry meets N working days after its
    submission (catalog.selectors.demands.demands_addressed_unfiled, set-based). One violation per demand."""
    url, url_params = _url_sql("catalog:demand-detail", "d.id", "demand")
    # Our own SQL text around a URL expression of ours; every value travels as a parameter.
    select = f"""
        SELECT %(c_catalog)s, 'demand:' || d.id, d.provider_id,
               left(%(t_catalog)s || d.needed_data, 300),
               jsonb_build_array(jsonb_build_object(
                   'type', 'catalog.demanditem', 'id', d.id::text, 'url', {url},
                   'text', %(e_catalog)s || to_char(d.submitted_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD')))
          FROM catalog_demanditem d
         WHERE d.state = 'submitted' AND d.provider_id IS NOT NULL AND d.submitted_at IS NOT NULL
           AND (d.submitted_at AT TIME ZONE %(tz)s)::date <= %(demand_cutoff)s
           AND NOT EXISTS (SELECT 1 FROM catalog_demanditem_matches m WHERE m.demanditem_id = d.id)
    """  # noqa: S608
    return Found(select, {
        **url_params, "c_catalog": ViolationCategory.CATALOG.value, "tz": "Asia/Shanghai",
        "t_catalog": _("数据需求逾期未编目："),
        "e_catalog": _("%(n)s 个工作日内未编目，需求提交于 ") % {"n": DEMAND_FILING_WORKING_DAYS},
        "demand_cutoff": _working_days_back(today, DEMAND_FILING_WORKING_DAYS),
    })


def detect_data_late(today: dt.date) -> Found:
    """35.2: a responsibility line's data not updated on its cycle (catalog fulfilment LATE). One violation per entry
    per missed cycle period: the cause names the date the missed period's data was due."""
    from catalog.choices import CYCLE_DAYS, Fulfilment
    from catalog.models import ResponsibilityItem
    from catalog.selectors.responsibility import fulfilment

    lines = list(ResponsibilityItem.objects.current().select_related("entry"))
    found: dict[str, tuple] = {}
    for line in fulfilment(lines, today=today):
        if line.status != Fulfilment.LATE or line.last_data_at is None:
            continue
        item, last = line.item, line.last_data_at.date()
        days = max(CYCLE_DAYS[item.update_cycle] or 1, 1)
        missed = ((today - last).days - 1) // days  # whole cycles since the last load: the missed periods
        due = last + dt.timedelta(days=days * max(missed, 1))
        cause = f"entry:{item.entry_id}:{due.isoformat()}"
        found.setdefault(cause, (
            ViolationCategory.DATA.value, cause, item.department_id,
            (_("数据未按周期更新：") + item.entry.name)[:300],
            [{"type": "catalog.catalogentry", "id": str(item.entry_id),
              "url": reverse("catalog:entry-detail", args=[item.entry_id]),
              "text": _("更新周期“%(cycle)s”，最近一次数据 %(last)s，应于 %(due)s 前更新") % {
                  "cycle": item.get_update_cycle_display(), "last": last.isoformat(), "due": due.isoformat()}}],
        ))
    return _rows(list(found.values()))


def detect_data_quality(today: dt.date) -> Found:
    """35.2 (数据…不符合有关规范、无法使用): a dataset whose latest quality report (R15.1, the nightly job) shows its
    average completeness or its key validity under the report page's red line (aggregation.selectors.quality.FAIR).
    One violation per dataset per calendar month: a dataset still below next month is filed again."""
    from aggregation.models import QualityReport
    from aggregation.selectors.quality import FAIR

    return Found(
        f"""SELECT category, cause, department_id, title, evidence FROM (
            SELECT DISTINCT ON (q.dataset_id)
                   %(c_quality)s AS category,
                   'quality:' || q.dataset_id || ':' || to_char(q.day, 'YYYY-MM') AS cause,
                   q.department_id, left(%(t_quality)s || e.name, 300) AS title,
                   jsonb_build_array(jsonb_build_object(
                       'type', 'aggregation.qualityreport', 'id', q.id::text, 'url', %(q_url)s,
                       'text', %(e_quality)s || q.day || '，' || %(completeness)s
                               || coalesce(round((q.completeness_avg * 100)::numeric, 1)::text || '%%', '-')
                               || '，' || %(validity)s
                               || coalesce(round((q.validity * 100)::numeric, 1)::text || '%%', '-'))) AS evidence,
                   (q.completeness_avg < %(fair)s OR q.validity < %(fair)s) AS poor
              FROM {QualityReport._meta.db_table} q
              JOIN aggregation_dataset d ON d.id = q.dataset_id
              JOIN catalog_catalogentry e ON e.id = d.entry_id
             WHERE q.day <= %(today)s
             ORDER BY q.dataset_id, q.day DESC) latest
         WHERE latest.poor""",  # noqa: S608 — table names are the models'
        {"c_quality": ViolationCategory.DATA.value, "t_quality": _("数据质量不达标："), "fair": FAIR,
         "q_url": reverse("aggregation:quality-report"), "e_quality": _("质量报告 "),
         "completeness": _("平均完整率 "), "validity": _("主体标识有效率 "), "today": today})


# The article an overdue clock breaks when it is not 35.4 (answering requests, verification and reviews late): a
# department's late catalog update application leaves its catalog incomplete (35.1); a late risk assessment answers
# no request (35.7).
CLOCK_CATEGORY = {Clock.CATALOG_UPDATE_APPLY: ViolationCategory.CATALOG, Clock.RISK_ASSESSMENT: ViolationCategory.OTHER}


def detect_late_answers(today: dt.date) -> Found:
    """35.4 (R0.4 escalation): every kernel clock that went overdue — still running past its due date, or closed
    late — files one violation on the clock's department (under CLOCK_CATEGORY's article where 35.4 is not the
    one). The rectification clock is not one: an overdue order's consequence is the notice of criticism (R36)."""
    labels = " ".join(f"WHEN %(clk_{c.value})s THEN %(clkl_{c.value})s" for c in Clock)
    categories = " ".join(f"WHEN %(clk_{c.value})s THEN %(clkc_{c.value})s" for c in CLOCK_CATEGORY)
    select = f"""
        SELECT CASE d.clock {categories} ELSE %(c_late)s END, 'deadline:' || d.id, d.department_id,
               left(%(t_late)s || d.title, 300),
               jsonb_build_array(jsonb_build_object(
                   'type', 'portal.deadline', 'id', d.id::text, 'url', d.url,
                   'text', (CASE d.clock {labels} ELSE d.clock END) || %(e_due)s || to_char(d.due_on, 'YYYY-MM-DD')
                           || CASE WHEN d.closed_late THEN %(e_closed)s || to_char(d.closed_on, 'YYYY-MM-DD')
                                   ELSE %(e_open)s END))
          FROM portal_deadline d
         WHERE (d.state = 'overdue' OR d.closed_late) AND d.clock <> %(rectification)s
    """  # noqa: S608 — placeholders of ours; every value travels as a parameter
    params = {"c_late": ViolationCategory.SHARING_ANSWER.value, "t_late": _("超期办理："),
              "e_due": _("，截止日期 "), "e_closed": _("，超期办结于 "), "e_open": _("，逾期未办结"),
              "rectification": Clock.RECTIFICATION.value}
    for c in Clock:
        params[f"clk_{c.value}"], params[f"clkl_{c.value}"] = c.value, str(c.label)
    for c, category in CLOCK_CATEGORY.items():
        params[f"clkc_{c.value}"] = category.value
    return Found(select, params)


def detect_audit_breaks(today: dt.date) -> Found:
    """35.5: a failed audit verification — a change or deletion outside the services. One violation per break
    (position and kind), on the city's big data bureau (the platform's keeper: the trail records no department for
    a change made beneath the application)."""
    bureau = (Department.objects.filter(is_bureau=True, region__kind="city").order_by("pk")
              .values_list("pk", flat=True).first())
    select = """
        SELECT DISTINCT ON (v.break_seq, v.break_kind)
               %(c_break)s, 'audit:' || v.break_seq || ':' || v.break_kind, %(bureau)s::bigint,
               %(t_break)s || v.break_seq,
               jsonb_build_array(jsonb_build_object(
                   'type', 'portal.auditverification', 'id', v.id::text, 'url', '',
                   'text', %(e_break)s || coalesce(nullif(v.break_detail, ''), v.break_kind)))
          FROM portal_auditverification v
         WHERE NOT v.ok AND v.break_seq IS NOT NULL AND %(bureau)s::bigint IS NOT NULL
         ORDER BY v.break_seq, v.break_kind, v.id
    """
    return Found(select, {"c_break": ViolationCategory.CHANGE_DELETE.value, "bureau": bureau,
                          "t_break": _("审计日志校验发现异常，位置 "), "e_break": _("审计日志校验：")})


def detect_data_tampering(today: dt.date) -> Found:
    """35.5: a resource table changed around the application — what the nightly integrity sweep found
    (aggregation.integrity_sweep: its `aggregation.dataset.integrity_checked` events by the system with ok false).
    One violation per dataset and set of findings (the same tampering found night after night is filed once; a new
    one, once more), on the city's big data bureau as the platform's keeper (as audit breaks: nothing records who
    wrote beneath the application); the evidence names the dataset, its department and the counts, linked to its
    integrity page (or the error that stopped the check: a table dropped)."""
    bureau = (Department.objects.filter(is_bureau=True, region__kind="city").order_by("pk")
              .values_list("pk", flat=True).first())
    url, url_params = _url_sql("aggregation:dataset-integrity", "e.object_id", "pool")
    findings = {  # (the lists of an integrity check's audit event, as the evidence counts them)
        "digest_mismatch": _("行摘要不符 "), "history_mismatch": _("修改未留历史 "),
        "missing": _("有历史但记录被删除 "), "undecryptable": _("无法解密 "), "load_shortfalls": _("导入任务行数不符 ")}
    counts = " || ".join(
        f"%(l_{key})s || jsonb_array_length(coalesce(e.data -> '{key}', '[]')) || '；'" for key in findings)
    select = f"""
        SELECT DISTINCT ON (cause)
               %(c_pool)s, 'pool:' || e.object_id || ':' || md5((e.data - 'checked' - 'ok')::text) AS cause,
               %(bureau)s::bigint, left(%(t_pool)s || e.object_repr, 300),
               jsonb_build_array(jsonb_build_object(
                   'type', 'aggregation.dataset', 'id', e.object_id, 'url', {url},
                   'text', %(e_pool)s || coalesce(d.name, '') || '：' || coalesce(e.data ->> 'error', {counts}
                           || %(checked)s || (e.data ->> 'checked'))))
          FROM portal_auditevent e
          LEFT JOIN portal_department d ON d.id = e.department_id
         WHERE e.action = 'aggregation.dataset.integrity_checked' AND e.actor_id IS NULL
           AND e.actor_label = 'system' AND e.data -> 'ok' = 'false'::jsonb AND %(bureau)s::bigint IS NOT NULL
         ORDER BY cause, e.id
    """  # noqa: S608 — the URL and the counts are built from reverse() and constants, never from input
    return Found(select, {"c_pool": ViolationCategory.CHANGE_DELETE.value, "bureau": bureau, **url_params,
                          "t_pool": _("资源表数据被绕过平台修改或删除："), "e_pool": _("完整性核查（每晚全量）："),
                          "checked": _("已核对行数 "),
                          **{f"l_{key}": label for key, label in findings.items()}})


def detect_access_anomalies(today: dt.date) -> Found:
    """35.6: an abnormal access the security administrator confirmed (security.LeakAnomaly, state confirmed, R28.4):
    one violation per anomaly, on the caller's department (an anomaly of one subject looked up by many callers names
    no department and is not filed: the security administrator files it by hand against whom the evidence shows)."""
    url, url_params = _url_sql("security:anomaly-detail", "a.id", "anomaly")
    select = f"""
        SELECT %(c_leak)s, 'anomaly:' || a.id, a.department_id,
               %(t_leak)s || a.caller,
               jsonb_build_array(jsonb_build_object(
                   'type', 'security.leakanomaly', 'id', a.id::text, 'url', {url},
                   'text', %(e_leak)s || coalesce(nullif(a.reason, ''), a.kind)))
          FROM security_leakanomaly a
         WHERE a.state = %(confirmed)s AND a.department_id IS NOT NULL
    """  # noqa: S608 — the URL expression is built from reverse(), never from input
    return Found(select, {"c_leak": ViolationCategory.USE_LEAK.value, "confirmed": AnomalyState.CONFIRMED.value,
                          "t_leak": _("经确认的异常访问："), "e_leak": _("安全管理员确认："), **url_params})


# The detectors the daily job runs, in order. 35.3 and 35.7 are filed by assessors.
DETECTORS: list[Callable[[dt.date], Found]] = [
    detect_catalog_unfiled,
    detect_data_late,
    detect_data_quality,
    detect_late_answers,
    detect_audit_breaks,
    detect_data_tampering,
    detect_access_anomalies,
]


_FILE_SQL = """
WITH found (category, cause, department_id, title, evidence) AS ({select}),
filed AS (
    INSERT INTO supervision_violation (category, cause, department_id, title, evidence, source, state, found_on,
                                       dismissed_reason, created_at)
    SELECT category, cause, department_id, title, evidence, %(source)s, %(state)s, %(today)s, '', now()
      FROM found WHERE department_id IS NOT NULL
    ON CONFLICT (category, cause) DO NOTHING
    RETURNING id, department_id, title, category, cause
), audited AS (
    {audited}
)
SELECT id, department_id, title FROM filed
"""
_AUDITED = ("SELECT department_id, id, title, jsonb_build_object('category', category, 'cause', cause) FROM filed")


@dataclass(frozen=True)
class DetectResult:
    filed: int
    by_detector: dict[str, int]


def violations_detect(*, today: dt.date | None = None, request_id: str = "") -> DetectResult:
    """Run every detector and file what is new, each cause once (safe to run twice or concurrently); tell each
    department's head of its new violations. Audits supervision.violation.detected per new row."""
    today = today or local_today()
    by_detector, new_rows = {}, []
    with transaction.atomic():
        for detector in DETECTORS:
            found = detector(today)
            audited, audit_params = audit.record_rows_sql(
                _AUDITED, action="supervision.violation.detected", object_type="supervision.violation",
                request_id=request_id)
            with connection.cursor() as cur:
                cur.execute(_FILE_SQL.format(select=found.select, audited=audited), {
                    **found.params, **audit_params, "source": ViolationSource.DETECTED.value,
                    "state": ViolationState.OPEN.value, "today": today})
                rows = cur.fetchall()
            by_detector[detector.__name__] = len(rows)
            new_rows += rows
        _tell_heads(new_rows)
    return DetectResult(filed=len(new_rows), by_detector=by_detector)


def department_digest() -> Digest:
    """The one kind the department's messages of this register fold into (new violations, orders issued, returned,
    accepted, notices published): one unread message per person however many arrive."""
    return Digest("supervision.department", _("有 {n} 条违规与整改消息"), reverse("supervision:violation-list"))


def _tell_heads(rows) -> None:
    """Each new violation tells its department's head once: one message per violation, folded into one unread digest
    per head — one statement per department however many violations it got (a first run over a year's evidence)."""
    by_department: dict[int, list] = {}
    for violation_id, department_id, title in rows:
        by_department.setdefault(department_id, []).append((violation_id, title))
    departments = Department.objects.in_bulk(list(by_department))
    for department_id, found in by_department.items():
        heads = department_recipients(departments[department_id], Role.DEPT_HEAD)
        newest_id, newest_title = found[-1]
        notify(recipients=heads, title=_("新登记违规行为：%(t)s") % {"t": newest_title},
               url=reverse("supervision:violation-detail", args=[newest_id]), count=len(found),
               digest=department_digest())


# ------------------------------------------------------------------------------------------------- by hand


def _text(value: str | None, field: str, label: str, *, required: bool = True, limit: int | None = None) -> str:
    value = (value or "").strip()
    problem = text_problem(value) or (_("请填写%(label)s") % {"label": label} if required and not value else None)
    if not problem and limit and len(value) > limit:
        problem = _("%(label)s不能超过 %(n)d 个字符") % {"label": label, "n": limit}
    if problem:
        raise PortalError(problem, code="invalid", errors={field: [problem]})
    return value


def _require_assessor(actor: User) -> None:
    if not actor.has_role(Role.ASSESSOR):
        raise PermissionDenied(_("仅考核人员可登记违规行为和责令整改"), code="not_assessor")


def violation_file(*, actor: User, category: str, department_id: int, title: str, evidence: str) -> Violation:
    """An assessor files a violation (35.3, 35.7 or any other) with its evidence in words.

    Raises PermissionDenied "not_assessor", PortalError "invalid". Audits supervision.violation.filed; tells the
    department's head."""
    _require_assessor(actor)
    if category not in ViolationCategory.values:
        raise PortalError(_("违规行为类别无效"), code="invalid", errors={"category": [_("违规行为类别无效")]})
    title = _text(title, "title", _("事项"), limit=300)
    evidence = _text(evidence, "evidence", _("证据"), limit=2000)
    with transaction.atomic():
        department = Department.objects.filter(pk=int_or_none(department_id) or 0, is_active=True).first()
        if department is None:
            raise PortalError(_("部门不存在"), code="invalid", errors={"department": [_("部门不存在")]})
        violation = Violation(category=category, department=department, title=title, source=ViolationSource.FILED,
                              evidence=[{"type": "", "id": "", "url": "", "text": evidence}], found_on=local_today(),
                              filed_by=actor, cause=f"filed:{uuid.uuid4().hex}")  # its own cause: filed by hand
        violation.save()
        audit.record(actor=actor, action="supervision.violation.filed", obj=violation, department=department,
                     data={"category": category, "title": title, "evidence": evidence})
        _tell_heads([(violation.pk, department.pk, title)])
    return violation


def violation_dismiss(*, actor: User, violation_id: int, reason: str) -> Violation:
    """An assessor dismisses an open violation (e.g. detected on evidence that does not hold), with the reason.

    Raises NotFound, PermissionDenied "not_assessor", InvalidTransition "not_open", PortalError "invalid". Audits
    supervision.violation.dismissed."""
    reason = _text(reason, "reason", _("撤销理由"), limit=2000)
    with transaction.atomic():
        violation = (Violation.objects.restrict(actor, "view").select_for_update(of=("self",))
                     .filter(pk=int_or_none(violation_id) or 0).first())
        if violation is None:
            raise NotFound()
        _require_assessor(actor)
        if violation.state != ViolationState.OPEN:
            raise InvalidTransition(_("只有待处理的违规行为可以撤销"), code="not_open")
        violation.state, violation.dismissed_reason = ViolationState.DISMISSED, reason
        violation.save(update_fields=["state", "dismissed_reason"])
        audit.record(actor=actor, action="supervision.violation.dismissed", obj=violation,
                     department=violation.department_id, data={"reason": reason})
    return violation

