"""The one deadline service every chapter opens, extends and closes its clocks through (R0.3, R0.4).

Deadlines are stored on the case when it opens and change only by an explicit extension, or — for a
provisional deadline — when the admin confirms the year it reaches into. These functions do not
audit by themselves: they run inside the calling use case, whose audit event names the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, models, transaction
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import DeadlineState, Role
from portal.errors import InvalidTransition
from portal.models import Deadline, Department

from .workdays import WorkCalendar, local_today


def deadline_open(
    *,
    case: models.Model,
    clock: str,
    department: Department,
    working_days: int,
    title: str,
    started_on: dt.date | None = None,
    responsible_role: str = "",
    url: str = "",
    calendar: WorkCalendar | None = None,
) -> Deadline:
    """Start `clock` on `case`: due after `working_days` working days from `started_on` (default today).

    Raises InvalidTransition when the case already runs that clock.
    """
    started_on = started_on or local_today()
    due = (calendar or WorkCalendar()).add_working_days(started_on, working_days)
    values = {
        "case_type": ContentType.objects.get_for_model(case),
        "case_id": str(case.pk),
        "clock": clock,
        "title": title[:200],
        "department": department,
        "responsible_role": responsible_role,
        "started_on": started_on,
        "working_days": working_days,
        "due_on": due.date,
        "provisional": due.provisional,
        "url": url or (case.get_absolute_url() if hasattr(case, "get_absolute_url") else ""),
        # OPEN even when already past due (a late-recorded trigger): the sweep marks it overdue and
        # tells the department, like any other overdue clock.
        "state": DeadlineState.OPEN,
    }
    try:
        with transaction.atomic():  # the partial unique index (one running clock per case and kind) decides
            return Deadline.objects.create(**values)
    except IntegrityError as exc:
        raise InvalidTransition(_("该事项的此类时限已在计时中"), code="deadline_running") from exc


def _running(case: models.Model, clock: str) -> Deadline | None:
    return Deadline.objects.running().for_case(case).filter(clock=clock).select_for_update().first()


def deadline_close(*, case: models.Model, clock: str, on: dt.date | None = None) -> Deadline | None:
    """Stop `clock` on `case` (the case was answered); records whether it was answered late."""
    deadline = _running(case, clock)
    if deadline is None:
        return None
    deadline.closed_on = on or local_today()
    deadline.closed_late = deadline.closed_on > deadline.due_on
    deadline.state = DeadlineState.CLOSED
    deadline.save(update_fields=["closed_on", "closed_late", "state"])
    return deadline


def deadline_extend(*, case: models.Model, clock: str, working_days: int, reason: str) -> Deadline:
    """Move the due date of a running clock `working_days` working days later (e.g. R14.3).

    Raises InvalidTransition when the clock is not running.
    """
    deadline = _running(case, clock)
    if deadline is None:
        raise InvalidTransition(_("该事项没有正在计时的时限"), code="deadline_not_running")
    due = WorkCalendar().add_working_days(deadline.due_on, working_days)
    deadline.due_on = due.date
    deadline.provisional = deadline.provisional or due.provisional
    deadline.extended_days += working_days
    deadline.extension_reason = reason[:500]
    deadline.reminded_at = None  # a new due date earns a new reminder
    if deadline.due_on >= local_today():
        deadline.state, deadline.overdue_at = DeadlineState.OPEN, None
    deadline.save(
        update_fields=[
            "due_on", "provisional", "extended_days", "extension_reason", "reminded_at", "state", "overdue_at"
        ]
    )
    return deadline


def deadline_recompute_provisional(*, year: int) -> list[dict]:
    """Recompute provisional running deadlines that reach into `year` (called when the year is confirmed).

    Returns what moved, for the caller's audit event.
    """
    cal = WorkCalendar()
    today = local_today()
    changed = []
    qs = Deadline.objects.running().filter(provisional=True, due_on__year__gte=year).select_for_update()
    for deadline in qs:
        due = cal.add_working_days(deadline.started_on, deadline.working_days + deadline.extended_days)
        before = deadline.due_on
        deadline.due_on, deadline.provisional = due.date, due.provisional
        if due.date >= today:  # no longer late; a still-late clock is left to the sweep
            deadline.state, deadline.overdue_at = DeadlineState.OPEN, None
        deadline.save(update_fields=["due_on", "provisional", "state", "overdue_at"])
        if before != due.date:
            changed.append({"deadline": deadline.pk, "before": before.isoformat(), "after": due.date.isoformat()})
    return changed


@dataclass(frozen=True)
class SweepResult:
    reminded: int
    overdue: int
    notified: int


# Recipients of a deadline's messages: the responsible department's data staff and head, the
# department's recorded head, and whoever holds the clock's responsible role in that department.
_SWEEP_SQL = """
WITH marked AS (
    UPDATE portal_deadline
       SET {set_clause}
     WHERE {where_clause}
 RETURNING id, department_id, responsible_role, title, due_on, url, clock
), recipients AS (
    SELECT DISTINCT m.id AS deadline_id, u.id AS user_id, m.title, m.due_on, m.url
      FROM marked m
      JOIN portal_department d ON d.id = m.department_id
      JOIN portal_user u ON u.department_id = m.department_id AND u.is_active
     WHERE u.id = d.head_id
        OR EXISTS (SELECT 1 FROM portal_userrole r
                    WHERE r.user_id = u.id
                      AND r.role IN (%(staff)s, %(head)s, NULLIF(m.responsible_role, '')))
), notes AS (
    INSERT INTO portal_notification (recipient_id, kind, title, body, url, deadline_id, created_at)
    SELECT user_id, %(kind)s, %(prefix)s || title, %(body_prefix)s || to_char(due_on, 'YYYY-MM-DD'),
           url, deadline_id, now()
      FROM recipients
    ON CONFLICT DO NOTHING
 RETURNING 1
), audited AS (
    {audited}
)
SELECT (SELECT count(*) FROM marked), (SELECT count(*) FROM notes)
"""
_AUDITED_ROWS = "SELECT department_id, id, title, jsonb_build_object('clock', clock, 'due_on', due_on) FROM marked"


def _sweep_step(cur, *, set_clause: str, where_clause: str, params: dict) -> tuple[int, int]:
    audited, audit_params = audit.record_rows_sql(
        _AUDITED_ROWS, action=params["action"], object_type="portal.deadline", request_id=params["request_id"]
    )
    sql = _SWEEP_SQL.format(set_clause=set_clause, where_clause=where_clause, audited=audited)
    cur.execute(sql, {**params, **audit_params})
    return cur.fetchone()


def deadline_sweep(*, today: dt.date | None = None, request_id: str = "") -> SweepResult:
    """Mark overdue clocks and send reminders, each exactly once, with in-app messages and audit events.

    Two set-based statements whatever the number of cases; safe to run twice or concurrently (the
    UPDATE re-checks its condition on locked rows, and messages are unique per deadline and person).
    """
    today = today or local_today()
    ahead = settings.PORTAL["REMINDER_WORKING_DAYS"]
    # Due before the (n+1)-th working day from today = at most n working days left.
    horizon = WorkCalendar().add_working_days(today, ahead + 1).date
    common = {"staff": Role.DEPT_STAFF.value, "head": Role.DEPT_HEAD.value, "request_id": request_id}
    with transaction.atomic(), connection.cursor() as cur:
        overdue, notified_overdue = _sweep_step(
            cur,
            set_clause="state = 'overdue', overdue_at = now()",
            where_clause="state = 'open' AND due_on < %(today)s",
            params={
                **common,
                "today": today,
                "kind": "overdue",
                "prefix": _("已超期："),
                "body_prefix": _("截止日期："),
                "action": "portal.deadline.overdue",
            },
        )
        reminded, notified_reminders = _sweep_step(
            cur,
            set_clause="reminded_at = now()",
            where_clause="state = 'open' AND reminded_at IS NULL AND due_on >= %(today)s AND due_on < %(horizon)s",
            params={
                **common,
                "today": today,
                "horizon": horizon,
                "kind": "reminder",
                "prefix": _("即将到期："),
                "body_prefix": _("截止日期："),
                "action": "portal.deadline.reminded",
            },
        )
    return SweepResult(reminded=reminded, overdue=overdue, notified=notified_overdue + notified_reminders)
