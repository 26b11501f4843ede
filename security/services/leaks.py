"""Leak monitoring (R28.4): hourly measures and baselines of every caller, anomalies, automatic suspension.

**What the monitor sees.** Only the audit trail: every data read writes its event in the call that reads
(`sharing.data.read` — pull, online query, export, push —, its refusals `sharing.data.refused`, and the pages'
`aggregation.record.viewed`, `.subject.viewed`, `.dataset.viewed`, `.theme.viewed`). Per event: the caller (the
trail's `actor_label`: a username, or `client:<client_id>` for a signed API client), its department, the rows read,
and for a lookup of one subject the keyed markers of security.markers (`subject`: the blind index; `enum`: keyed
prefix hash + sequence ordinal) — never the key.

**The hourly job** (`leak_monitor_run`, Celery beat at minute 5): each hour not yet in the ledger (`LeakHour`, at
most CATCH_UP_HOURS back) is processed in ONE transaction by ONE set-based statement over the hour's events (the
`occurred_at` index; a query count independent of the number of callers):

1. measures per caller (`LeakMeasure`: calls, rows, distinct subjects) with its baseline = the mean of the caller's
   ACTIVE hours of the previous BASELINE_DAYS days (hours without reads are not averaged in: a caller that works
   09–17 is compared with its working hours, not diluted by the night); the detectors compare against
   max(baseline, FLOORS[measure]) so a quiet caller's first busy hour is not "10×";
2. the detectors, each over the hour (the window is the processed hour):
   (a) `volume` — calls, rows or subjects ≥ `leak_volume_factor` × baseline;
   (b) `enumeration` — ≥ `leak_enumeration_run` consecutive ordinals inside one hashed prefix (gaps-and-islands over
       the distinct ordinals a caller looked up; misses count: probing keys that do not exist is enumeration too);
   (c) `off_hours` — ≥ `leak_offhours_rows` rows read outside 08:30–18:00 (Beijing time) or on a non-working day of
       the kernel calendar (portal.services.workdays);
   (d) `shared_subject` — one subject marker looked up by ≥ `leak_shared_subject_callers` distinct callers;
3. the anomalies (`LeakAnomaly`, unique on kind, caller, hour and key — prefix + first ordinal, or the subject
   marker) are inserted ON CONFLICT DO NOTHING, so a rerun of an hour files nothing new; an advisory transaction lock
   serialises concurrent runs and the ledger makes the second one skip the hour.

For each NEW anomaly, in the same transaction: one `security.leak.anomaly_found` event (system actor
`system:leak-monitor`, set-based), a notification to every security administrator, and — for a signed client whose
policy allows it — the suspension through the suspenders the higher floors registered (sharing registers
`api_client_suspend_by_monitor`, the manual suspension's own service with the monitor as actor: audited as
`sharing.client.suspended`, the signing cache invalidated on save, so its next call is refused). Security never
imports sharing (docs/architecture.md, "registries").

**Auto-suspend policy.** Per client (`ApiClient.leak_auto_suspend`, default ON, set by the security administrator):
an enumeration always suspends such a client — no system has a business reason to walk consecutive ID numbers; a
volume or off-hours anomaly suspends only when the setting `leak_suspend_on_volume` is on (default off: a year-end
reconciliation is a legitimate spike, and stopping a department's system is itself an outage); a subject looked up by
many callers never suspends (it names no single culprit). Persons are never suspended by the monitor (their accounts
are the system administrator's); their anomalies are flagged and notified.

**Decisions.** The security administrator confirms (a violation: issue 16's register reads `state == confirmed`) or
dismisses an open anomaly, with a reason, audited (`security.leak.anomaly_confirmed` / `_dismissed`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import User
from portal.permissions import int_or_none
from portal.services.notifications import notify
from portal.services.settings import value
from portal.services.workdays import WorkCalendar
from portal.validators import text_problem

from ..choices import AnomalyKind, AnomalyState
from ..models import LeakAnomaly, LeakHour

MONITOR = "system:leak-monitor"  # the actor label of the monitor's own audit events and decisions
READ_ACTIONS = ("sharing.data.read", "sharing.data.refused", "aggregation.record.viewed",
                "aggregation.subject.viewed", "aggregation.dataset.viewed", "aggregation.theme.viewed")
BASELINE_DAYS = 14
# The least baseline a measure is compared with (per hour): below it, a busier hour is no anomaly.
FLOORS = {"calls": 60, "rows": 2000, "subjects": 30}
EVIDENCE_MAX = 200  # calls kept on an anomaly (largest rows first); the audit trail holds the rest
CATCH_UP_HOURS = 48
WORK_START, WORK_END = "08:30", "18:00"
_LOCK = 0x4A5A_1EA4  # pg advisory lock key: one monitor run at a time

# Who can stop a caller: the higher floors register here (sharing: its API clients).
Suspender = Callable[..., bool]
_suspenders: list[Suspender] = []


def register_suspender(suspender: Suspender) -> None:
    """`suspender(caller=…, reason=…, anomaly_id=…) -> bool`: suspend the caller (an audit actor label) if it is one
    of yours and its policy allows it; True when it was suspended now."""
    if suspender not in _suspenders:
        _suspenders.append(suspender)


def suspending_kinds() -> set[str]:
    kinds = {AnomalyKind.ENUMERATION.value}
    if value("leak_suspend_on_volume"):
        kinds |= {AnomalyKind.VOLUME.value, AnomalyKind.OFF_HOURS.value}
    return kinds


# ------------------------------------------------------------------------------------------------ the hourly job

# One statement per hour. `ev` is the hour's reads, read once; everything else works on it. A value of another shape
# than the data API writes (rows not a number) counts as 0 rather than failing the hour for good.
_HOUR_SQL = """
WITH ev AS MATERIALIZED (
  SELECT e.id, e.actor_label COLLATE "C" AS caller, e.department_id, e.occurred_at,
         CASE WHEN e.action = 'aggregation.record.viewed' THEN 1
              WHEN e.action = 'aggregation.subject.viewed' AND jsonb_typeof(e.data->'records') = 'array'
                THEN jsonb_array_length(e.data->'records')
              WHEN jsonb_typeof(e.data->'rows') = 'number' THEN (e.data->>'rows')::numeric::bigint
              ELSE 0 END AS rows,
         (CASE WHEN e.action LIKE 'aggregation.%%' THEN e.data->>'key' ELSE e.data->>'subject' END) COLLATE "C"
           AS subject,
         (e.data->'enum'->>'p') COLLATE "C" AS prefix,
         CASE WHEN jsonb_typeof(e.data->'enum'->'n') = 'number' THEN (e.data->'enum'->>'n')::numeric::int END
           AS ordinal,
         (%(nonworking)s OR (e.occurred_at AT TIME ZONE %(tz)s)::time < %(work_start)s::time
                         OR (e.occurred_at AT TIME ZONE %(tz)s)::time >= %(work_end)s::time) AS off
    FROM portal_auditevent e
   WHERE e.occurred_at >= %(start)s AND e.occurred_at < %(end)s AND e.action = ANY(%(actions)s)
),
m AS (
  SELECT caller, max(department_id) AS department_id, count(*) AS calls, sum(rows)::bigint AS rows,
         count(DISTINCT subject) AS subjects
    FROM ev GROUP BY caller
),
mb AS (
  SELECT m.*, coalesce(b.calls, 0) AS b_calls, coalesce(b.rows, 0) AS b_rows, coalesce(b.subjects, 0) AS b_subjects
    FROM m LEFT JOIN LATERAL (
      SELECT avg(p.calls)::float8 AS calls, avg(p.rows)::float8 AS rows, avg(p.subjects)::float8 AS subjects
        FROM security_leakmeasure p
       WHERE p.caller = m.caller COLLATE "default" AND p.hour >= %(since)s AND p.hour < %(start)s) b ON true
),
measured AS (
  INSERT INTO security_leakmeasure (hour, caller, department_id, calls, rows, subjects,
                                    baseline_calls, baseline_rows, baseline_subjects)
  SELECT %(start)s, caller, department_id, calls, rows, subjects, b_calls, b_rows, b_subjects FROM mb
  ON CONFLICT (caller, hour) DO NOTHING
  RETURNING 1
),
vol AS (
  SELECT 'volume'::text AS kind, mb.caller, mb.department_id, ''::text AS key,
         jsonb_build_object(
           'factor', %(factor)s,
           'calls', jsonb_build_object('observed', mb.calls, 'baseline', round(mb.b_calls::numeric, 1),
                                       'compared', greatest(mb.b_calls, %(floor_calls)s)),
           'rows', jsonb_build_object('observed', mb.rows, 'baseline', round(mb.b_rows::numeric, 1),
                                      'compared', greatest(mb.b_rows, %(floor_rows)s)),
           'subjects', jsonb_build_object('observed', mb.subjects, 'baseline', round(mb.b_subjects::numeric, 1),
                                          'compared', greatest(mb.b_subjects, %(floor_subjects)s))) AS measures,
         (SELECT jsonb_agg(jsonb_build_array(x.id, x.rows) ORDER BY x.rows DESC, x.id)
            FROM (SELECT id, rows FROM ev WHERE ev.caller = mb.caller
                   ORDER BY rows DESC, id LIMIT %(evidence_max)s) x) AS evidence,
         mb.calls AS evidence_count
    FROM mb
   WHERE mb.calls >= %(factor)s * greatest(mb.b_calls, %(floor_calls)s)
      OR mb.rows >= %(factor)s * greatest(mb.b_rows, %(floor_rows)s)
      OR mb.subjects >= %(factor)s * greatest(mb.b_subjects, %(floor_subjects)s)
),
walks AS (  -- the (caller, prefix) pairs looked up often enough to hold a run at all: most pairs are one lookup
  SELECT caller, prefix FROM ev WHERE prefix IS NOT NULL AND ordinal IS NOT NULL
   GROUP BY caller, prefix HAVING count(*) >= %(run)s
),
ords AS (
  SELECT ev.caller, ev.prefix, ev.ordinal, max(ev.department_id) AS department_id,
         ev.ordinal - row_number() OVER (PARTITION BY ev.caller, ev.prefix ORDER BY ev.ordinal) AS island
    FROM ev JOIN walks USING (caller, prefix) WHERE ev.ordinal IS NOT NULL
   GROUP BY ev.caller, ev.prefix, ev.ordinal
),
runs AS (
  SELECT caller, prefix, max(department_id) AS department_id, min(ordinal) AS first, max(ordinal) AS last,
         count(*) AS length
    FROM ords GROUP BY caller, prefix, island
  HAVING count(*) >= %(run)s
),
enum AS (
  SELECT 'enumeration'::text, r.caller, r.department_id, r.prefix || ':' || r.first,
         jsonb_build_object('prefix', r.prefix, 'first', r.first, 'last', r.last, 'consecutive', r.length,
                            'threshold', %(run)s),
         (SELECT jsonb_agg(jsonb_build_array(x.id, x.rows) ORDER BY x.id)
            FROM (SELECT id, rows FROM ev WHERE ev.caller = r.caller AND ev.prefix = r.prefix
                     AND ev.ordinal BETWEEN r.first AND r.last ORDER BY id LIMIT %(evidence_max)s) x),
         (SELECT count(*) FROM ev WHERE ev.caller = r.caller AND ev.prefix = r.prefix
             AND ev.ordinal BETWEEN r.first AND r.last)
    FROM runs r
),
offs AS (
  SELECT caller, max(department_id) AS department_id, sum(rows)::bigint AS rows, count(*) AS calls
    FROM ev WHERE off GROUP BY caller HAVING sum(rows) >= %(offhours_rows)s
),
off_hours AS (
  SELECT 'off_hours'::text, o.caller, o.department_id, ''::text,
         jsonb_build_object('rows', o.rows, 'calls', o.calls, 'threshold', %(offhours_rows)s,
                            'working_day', NOT %(nonworking)s, 'working_hours', %(work_hours)s),
         (SELECT jsonb_agg(jsonb_build_array(x.id, x.rows) ORDER BY x.rows DESC, x.id)
            FROM (SELECT id, rows FROM ev WHERE ev.caller = o.caller AND ev.off AND ev.rows > 0
                   ORDER BY rows DESC, id LIMIT %(evidence_max)s) x),
         o.calls
    FROM offs o
),
popular AS (  -- subjects looked up often enough to have been looked up by enough callers
  SELECT subject FROM ev WHERE subject IS NOT NULL AND subject <> ''
   GROUP BY subject HAVING count(*) >= %(callers)s
),
shared AS (
  SELECT ev.subject, count(DISTINCT ev.caller) AS callers, count(DISTINCT ev.department_id) AS departments,
         jsonb_agg(DISTINCT ev.caller) AS names
    FROM ev JOIN popular USING (subject)
   GROUP BY ev.subject HAVING count(DISTINCT ev.caller) >= %(callers)s
),
shared_subject AS (
  SELECT 'shared_subject'::text, ''::text, NULL::bigint, s.subject,
         jsonb_build_object('subject', s.subject, 'callers', s.callers, 'departments', s.departments,
                            'names', s.names, 'threshold', %(callers)s),
         (SELECT jsonb_agg(jsonb_build_array(x.id, x.rows) ORDER BY x.id)
            FROM (SELECT id, rows FROM ev WHERE ev.subject = s.subject ORDER BY id LIMIT %(evidence_max)s) x),
         (SELECT count(*) FROM ev WHERE ev.subject = s.subject)
    FROM shared s
),
found AS (
  SELECT * FROM vol UNION ALL SELECT * FROM enum
  UNION ALL SELECT * FROM off_hours UNION ALL SELECT * FROM shared_subject
),
filed AS (
  INSERT INTO security_leakanomaly (kind, caller, department_id, window_start, window_end, key, measures, evidence,
                                    evidence_count, suspended, state, reason, created_at)
  SELECT f.kind, f.caller, f.department_id, %(start)s, %(end)s, f.key, f.measures, coalesce(f.evidence, '[]'::jsonb),
         f.evidence_count, false, 'open', '', now()
    FROM found f (kind, caller, department_id, key, measures, evidence, evidence_count)
  ON CONFLICT (kind, caller, window_start, key) DO NOTHING
  RETURNING id, kind, caller
)
SELECT (SELECT count(*) FROM ev),
       coalesce((SELECT jsonb_agg(jsonb_build_array(id, kind, caller) ORDER BY id) FROM filed), '[]'::jsonb)
"""

_FILED_EVENTS = """SELECT a.department_id, a.id, a.kind || ' ' || a.caller,
       jsonb_build_object('kind', a.kind, 'caller', a.caller, 'window_start', a.window_start,
                          'window_end', a.window_end, 'measures', a.measures, 'evidence_count', a.evidence_count)
  FROM security_leakanomaly a WHERE a.id = ANY(%(ids)s)"""


def hour_floor(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def leak_monitor_run(*, now: dt.datetime | None = None) -> list[int]:
    """The beat job: process every full hour not yet in the ledger, the oldest first (at most CATCH_UP_HOURS back);
    returns the ids of the anomalies filed."""
    last = hour_floor(now or timezone.now()) - dt.timedelta(hours=1)
    first = last - dt.timedelta(hours=CATCH_UP_HOURS - 1)
    done = set(LeakHour.objects.filter(hour__gte=first, hour__lte=last).values_list("hour", flat=True))
    filed: list[int] = []
    hour = first
    while hour <= last:
        if hour not in done:
            filed += leak_monitor_hour(hour=hour)
        hour += dt.timedelta(hours=1)
    return filed


def leak_monitor_hour(*, hour: dt.datetime, calendar: WorkCalendar | None = None) -> list[int]:
    """Process one hour [hour, hour + 1 h): measures, detection, the new anomalies' audit events, notifications and
    suspensions — one transaction. Idempotent (a processed hour is skipped; unique rows besides); returns the ids of
    the anomalies filed now."""
    start = hour_floor(hour)
    end = start + dt.timedelta(hours=1)
    local_day = timezone.localtime(start).date()
    nonworking = not (calendar or WorkCalendar()).is_workday(local_day)
    params = {
        "start": start, "end": end, "since": start - dt.timedelta(days=BASELINE_DAYS), "actions": list(READ_ACTIONS),
        "nonworking": nonworking, "tz": settings.TIME_ZONE, "work_start": WORK_START, "work_end": WORK_END,
        "work_hours": f"{WORK_START}–{WORK_END}", "factor": value("leak_volume_factor"),
        "floor_calls": FLOORS["calls"], "floor_rows": FLOORS["rows"], "floor_subjects": FLOORS["subjects"],
        "run": value("leak_enumeration_run"), "offhours_rows": value("leak_offhours_rows"),
        "callers": value("leak_shared_subject_callers"), "evidence_max": EVIDENCE_MAX,
    }
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
            # One statement over ~40 000 rows: JIT compiling it costs seconds (more than running it), and its sorts
            # and hashes fit in memory with some room.
            cur.execute("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'")
            cur.execute("SELECT 1 FROM security_leakhour WHERE hour = %s", [start])
            if cur.fetchone():
                return []
            cur.execute(_HOUR_SQL, params)
            events, filed = cur.fetchone()
        filed = json.loads(filed) if isinstance(filed, str) else filed
        if filed:
            _announce(filed, suspending_kinds())
        LeakHour.objects.create(hour=start, events=events, anomalies=len(filed))
    return [row[0] for row in filed]


def _announce(filed: list, suspending: set[str]) -> None:
    """The new anomalies' audit events (one statement), suspensions, and one notification each per security admin."""
    ids = [row[0] for row in filed]
    audit.record_rows(_FILED_EVENTS, {"ids": ids}, action="security.leak.anomaly_found",
                      object_type="security.leakanomaly", actor=None, actor_label=MONITOR)
    suspended: set[int] = set()
    for anomaly_id, kind, caller in filed:
        if kind in suspending and caller and _suspend(caller, anomaly_id, kind):
            suspended.add(anomaly_id)
    if suspended:
        LeakAnomaly.objects.filter(pk__in=suspended).update(suspended=True)
    admins = list(User.objects.filter(roles__role=Role.SECURITY_ADMIN, is_active=True).distinct())
    labels = dict(AnomalyKind.choices)
    for anomaly_id, kind, caller in filed:
        title = _("泄露监测告警：%(kind)s %(caller)s") % {"kind": labels.get(kind, kind), "caller": caller or ""}
        body = _("已自动停用该接入系统。") if anomaly_id in suspended else ""
        notify(recipients=admins, title=title.strip(), body=body,
               url=LeakAnomaly(pk=anomaly_id).get_absolute_url())


def _suspend(caller: str, anomaly_id: int, kind: str) -> bool:
    labels = dict(AnomalyKind.choices)
    reason = _("泄露监测自动停用：%(kind)s（异常编号 %(id)d）") % {"kind": labels.get(kind, kind), "id": anomaly_id}
    results = [suspender(caller=caller, reason=reason, anomaly_id=anomaly_id) for suspender in _suspenders]
    return any(results)  # every suspender is asked (a list, not a short-circuiting generator)


# ------------------------------------------------------------------------------------------ the admin's decisions


def _require_security_admin(actor) -> None:
    if not (actor is not None and actor.is_authenticated and actor.has_role(Role.SECURITY_ADMIN)):
        raise PermissionDenied(_("仅安全管理员可处理泄露监测异常"), code="not_security_admin")


def _decide(*, actor, anomaly_id, reason: str, state: str, action: str) -> LeakAnomaly:
    _require_security_admin(actor)
    reason = (reason or "").strip()
    problem = text_problem(reason) or (None if reason else _("请填写处理意见"))
    if problem is None and len(reason) > 2000:
        problem = _("处理意见不能超过 2000 个字")
    if problem:
        raise PortalError(problem, code="invalid", errors={"reason": [problem]})
    with transaction.atomic():
        anomaly = (LeakAnomaly.objects.restrict(actor, "change").select_for_update()
                   .filter(pk=int_or_none(anomaly_id) or 0).first())
        if anomaly is None:
            raise NotFound()
        if anomaly.state != AnomalyState.OPEN:
            raise InvalidTransition(_("该异常已处理"))
        anomaly.state, anomaly.reason = state, reason
        anomaly.decided_by, anomaly.decided_at = actor, timezone.now()
        anomaly.save(update_fields=["state", "reason", "decided_by", "decided_at"])
        audit.record(actor=actor, action=action, obj=anomaly, department=anomaly.department_id,
                     data={"state": {"old": AnomalyState.OPEN, "new": state}, "reason": reason,
                           "kind": anomaly.kind, "caller": anomaly.caller})
    return anomaly


def leak_anomaly_confirm(*, actor, anomaly_id, reason: str) -> LeakAnomaly:
    """The security administrator confirms an open anomaly as a leak / violation (R28.4, SPEC 35.6), with a reason."""
    return _decide(actor=actor, anomaly_id=anomaly_id, reason=reason, state=AnomalyState.CONFIRMED,
                   action="security.leak.anomaly_confirmed")


def leak_anomaly_dismiss(*, actor, anomaly_id, reason: str) -> LeakAnomaly:
    """The security administrator dismisses an open anomaly (a legitimate use), with a reason."""
    return _decide(actor=actor, anomaly_id=anomaly_id, reason=reason, state=AnomalyState.DISMISSED,
                   action="security.leak.anomaly_dismissed")
