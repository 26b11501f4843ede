"""Benchmark: the leak monitor (security.services.leaks, R28.4) over a day of 1 M read events, for 50 and 200 callers.

    .venv/bin/python bench/leak_monitor.py [--events 1000000] [--keep]

Creates its own database (`jz_bench_leak_monitor` on the server of DATABASE_URL, default the local server), runs the
migrations, then for each number of callers (50, then 200) on a day of its own (a working day):

1. writes N `sharing.data.read` events over the day in one INSERT … SELECT straight into portal_auditevent (the
   append-only trigger allows INSERT): half the callers signed clients, half persons; 70 % online queries (1 row, a
   subject marker, an enumeration marker — no two consecutive in one prefix), 30 % pulls (100–499 rows in working
   hours, 1 row outside them); plus one client that walks 30 consecutive ID numbers at 10:00 (an enumeration: the
   same one anomaly in both runs);
2. seeds each caller's baseline: its measures of that day copied onto the 14 previous days (set-based), so the
   steady callers are steady; VACUUM ANALYZE (the steady state autovacuum keeps);
3. times `leak_monitor_hour` over the day's 24 hours (not the setup), counting the statements
   (CaptureQueriesContext).

Prints seconds, events/s, statements and anomalies per run; the statements must be equal for 50 and 200 callers and
the total time under 30 s per day. The database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402  (after the path: run as a script)

BENCH_DB = "jz_bench_leak_monitor"

# g = 0 … n-1 spread evenly over the day (local midnight `day`); caller = g mod callers; hour of day = 24 g / n.
_EVENTS = """
INSERT INTO portal_auditevent (occurred_at, actor_label, role, action, object_type, object_id, object_repr, data,
                               request_id, result)
SELECT %(day)s::timestamptz + make_interval(secs => g * 86400.0 / %(n)s),
       CASE WHEN g %% %(callers)s < %(callers)s / 2 THEN 'client:' ELSE '' END || %(tag)s || (g %% %(callers)s),
       '', 'sharing.data.read', 'catalog.catalogentry', '1', '户籍人口基本信息',
       CASE WHEN g %% 10 < 7
            THEN jsonb_build_object('resource', '101-x', 'method', 'query', 'rows', 1, 'purpose', '窗口核验',
                                    'subject', md5(%(tag)s || (g %% 300000)), 'found', true,
                                    'enum', jsonb_build_object('p', left(md5(%(tag)s || 'p' || g), 32),
                                                               'n', g %% 1000))
            ELSE jsonb_build_object('resource', '101-x', 'method', 'api', 'purpose', '批量比对', 'limit', 500,
                                    'rows', CASE WHEN g * 24.0 / %(n)s >= 8.5 AND g * 24.0 / %(n)s < 18
                                                 THEN 100 + g %% 400 ELSE 1 END)
       END,
       'req-' || g, 'success'
  FROM generate_series(0, %(n)s - 1) AS g
"""

# One client walks 30 consecutive sequence numbers of one (hashed) prefix at 10:00.
_WALK = """
INSERT INTO portal_auditevent (occurred_at, actor_label, role, action, object_type, object_id, object_repr, data,
                               request_id, result)
SELECT %(day)s::timestamptz + interval '10 hours' + make_interval(secs => g),
       'client:' || %(tag)s || 'walker', '', 'sharing.data.read', 'catalog.catalogentry', '1', '户籍人口基本信息',
       jsonb_build_object('resource', '101-x', 'method', 'query', 'rows', 1, 'purpose', '核验',
                          'subject', md5(%(tag)s || 'walk' || g),
                          'enum', jsonb_build_object('p', left(md5(%(tag)s || 'walk'), 32), 'n', 100 + g)),
       'walk-' || g, 'success'
  FROM generate_series(1, 30) AS g
"""

# The callers' baselines: the day's measures copied onto the previous 14 days.
_HISTORY = """
INSERT INTO security_leakmeasure (hour, caller, department_id, calls, rows, subjects,
                                  baseline_calls, baseline_rows, baseline_subjects)
SELECT h.hour - make_interval(days => d), h.caller, NULL, h.calls, h.rows, h.subjects, 0, 0, 0
  FROM (SELECT date_trunc('hour', occurred_at) AS hour, actor_label AS caller, count(*) AS calls,
               sum((data->>'rows')::bigint) AS rows, count(DISTINCT data->>'subject') AS subjects
          FROM portal_auditevent
         WHERE occurred_at >= %(day)s::timestamptz AND occurred_at < %(day)s::timestamptz + interval '1 day'
           AND actor_label NOT LIKE '%%walker'
         GROUP BY 1, 2) h,
       generate_series(1, 14) AS d
"""



def local_midnight(day: str) -> dt.datetime:
    from django.utils import timezone

    return dt.datetime.fromisoformat(day).replace(tzinfo=timezone.get_current_timezone())


def load_day(day: str, events: int, callers: int, tag: str) -> None:
    from django.db import connection

    t = time.perf_counter()
    with connection.cursor() as cur:
        params = {"day": local_midnight(day), "n": events, "callers": callers, "tag": tag}
        cur.execute(_EVENTS, params)
        cur.execute(_WALK, params)
        cur.execute(_HISTORY, params)
    # The steady state: autovacuum has been over the older rows (index-only scans of the baselines need it).
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE portal_auditevent")
        cur.execute("VACUUM ANALYZE security_leakmeasure")
    print(f"  setup: {events:,} events + baselines of {callers} callers: {time.perf_counter() - t:.1f} s")


def monitor_day(day: str) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from portal.services.settings import REGISTRY, value
    from portal.services.workdays import WorkCalendar
    from security.services.leaks import leak_monitor_hour

    start = local_midnight(day)
    for key in REGISTRY:  # a running portal's settings cache is warm (a cold one is one query, once)
        value(key)
    filed = 0
    with CaptureQueriesContext(connection) as queries:
        t = time.perf_counter()
        calendar = WorkCalendar()
        for h in range(24):
            filed += len(leak_monitor_hour(hour=start + dt.timedelta(hours=h), calendar=calendar))
        seconds = time.perf_counter() - t
    return seconds, len(queries), filed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", default=BENCH_DB, help="name of the database to create (and drop)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    with scratch_database(parser, args.db, keep=args.keep):
        import django

        django.setup()
        from django.core.cache import cache
        from django.core.management import call_command

        from portal.services import settings as portal_settings

        t = time.perf_counter()
        call_command("migrate", verbosity=0)
        cache.delete(portal_settings.CACHE_KEY)
        print(f"migrate: {time.perf_counter() - t:.1f} s")
        results = {}
        # Two working days (Wednesday, Thursday), one per run; the callers of each run have names of their own.
        for callers, day in ((50, "2026-11-18"), (200, "2026-11-19")):
            print(f"{callers} callers, {day}:")
            load_day(day, args.events, callers, tag=f"r{callers}-")
            seconds, statements, filed = monitor_day(day)
            results[callers] = (seconds, statements, filed)
            print(f"  monitor 24 hours: {seconds:6.2f} s  {args.events / seconds:>10,.0f} events/s  "
                  f"{statements} statements  {filed} anomalies")
        (t50, q50, a50), (t200, q200, a200) = results[50], results[200]
        print(f"statements 50 vs 200 callers: {q50} vs {q200} — {'EQUAL' if q50 == q200 else 'DIFFERENT'}")
        print(f"anomalies: {a50} vs {a200} (the walker's enumeration in each)")
        worst = max(t50, t200)
        print(f"slowest day: {worst:.2f} s — {'PASS' if worst < 30 and q50 == q200 else 'FAIL'} (goal < 30 s, "
              "equal statements)")


if __name__ == "__main__":
    main()
