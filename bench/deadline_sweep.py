"""Benchmark: the working-day deadline sweep (portal.tasks.deadline_sweep, every 15 minutes) over many open clocks.

    .venv/bin/python bench/deadline_sweep.py [--departments 100] [--clocks 100000] [--keep]

Creates its own database (`jz_bench_deadline_sweep` on the server of DATABASE_URL, default the local server), runs
the migrations and makes the departments (each with a head) and clocks of bench/violations_detect.py (`setup`: one
INSERT … SELECT over every clock kind, due dates spread over the last 300 days and the next two weeks), then reopens
every clock that is not closed, so the sweep finds ≈ 55 % of them past due and a few inside the reminder horizon.
Then, in the same run:

- floor: the sweep's two UPDATEs alone (mark overdue; stamp the reminders) with the same conditions, nothing else —
  no messages, no audit events — in a transaction rolled back (best of 2);
- first run: `portal.services.deadlines.deadline_sweep()` — what the Celery task runs: both set-based statements,
  each marking its clocks, writing one in-app message per recipient and one audit event per clock;
- rerun: the same, which finds nothing to do (the sweep's cost on a quiet quarter-hour).

Prints seconds, clocks marked, messages and the queries of each run, and the first run's time against the floor's.
The database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402  (after the path: run as a script)

BENCH_DB = "jz_bench_deadline_sweep"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--departments", type=int, default=100)
    parser.add_argument("--clocks", type=int, default=100_000)
    parser.add_argument("--db", default=BENCH_DB, help="name of the database to create (and drop)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    with scratch_database(parser, args.db, keep=args.keep):
        from bench.violations_detect import setup, timed

        setup(args.departments, args.clocks)
        from django.conf import settings
        from django.db import connection, transaction

        from portal.services.deadlines import deadline_sweep
        from portal.services.workdays import WorkCalendar, local_today

        with connection.cursor() as cur:
            cur.execute("UPDATE portal_deadline SET state = 'open', overdue_at = NULL, reminded_at = NULL "
                        "WHERE state <> 'closed'")
            cur.execute("VACUUM ANALYZE portal_deadline" if connection.get_autocommit() else "ANALYZE portal_deadline")
        today = local_today()
        horizon = WorkCalendar().add_working_days(today, settings.PORTAL["REMINDER_WORKING_DAYS"] + 1).date

        def floor():
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute("UPDATE portal_deadline SET state = 'overdue', overdue_at = now() "
                            "WHERE state = 'open' AND due_on < %s", [today])
                overdue = cur.rowcount
                cur.execute("UPDATE portal_deadline SET reminded_at = now() WHERE state = 'open' "
                            "AND reminded_at IS NULL AND due_on >= %s AND due_on < %s", [today, horizon])
                reminded = cur.rowcount
                transaction.set_rollback(True)
            return f"overdue {overdue}, reminded {reminded} (rolled back)"

        floors = [timed("floor: the two UPDATEs alone", floor)[0] for _ in range(2)]
        first, result = timed("first run: deadline_sweep()", deadline_sweep)
        timed("rerun: deadline_sweep() (nothing to do)", deadline_sweep)
        best = min(floors)
        print(f"clocks marked {result.overdue + result.reminded} (overdue {result.overdue}, reminded "
              f"{result.reminded}), messages {result.notified}: {(result.overdue + result.reminded) / first:,.0f} "
              f"clocks/s")
        print(f"ratio: floor {best:.2f} s / first run {first:.2f} s = {best / first:.0%}")


if __name__ == "__main__":
    main()
