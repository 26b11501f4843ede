"""Benchmark: a full verification of the audit trail (portal.audit_verify) next to a bare SHA-256 pass, same rows.

    .venv/bin/python bench/audit_verify.py [--events 200000] [--repeat 3] [--keep]

Creates its own database (`jz_bench_audit_verify` on the server of DATABASE_URL, default the local server), runs the
migrations, writes N events in one INSERT … SELECT (varied actors, actions, objects, JSON details, addresses; a
second apart, so no event looks backdated), chains them with the sealer (`seal_pending`, 5 000 a batch) and then, in
the same run, `repeat` times each (the best is shown):

- floor (bare): the verifier's own read of the positions with their events (`link_rows`: one ordered LEFT JOIN
  through a server-side cursor), each event turned into its canonical JSON and hashed with SHA-256 after its
  predecessor's hash — the chain's hash recomputed and nothing else checked (no comparison, no seals, no times);
- full verification: `verify(full=True)` — the same read plus every check (gaps, links, hashes, times, the
  seals read alongside with their Ed25519 signatures, the unchained-event query over the whole event table);
- of which signatures: the seals' signature checks timed alone (one per seal of 5 000 events, not one per event).

Prints events/s of both and their ratio (goal: the verification at ≥ 50 % of the floor). The database is dropped at
the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402  (after the path: run as a script)

BENCH_DB = "jz_bench_audit_verify"

_EVENTS = """
INSERT INTO portal_auditevent (occurred_at, actor_label, role, action, object_type, object_id, object_repr, data,
                               ip, request_id, result)
SELECT now() - make_interval(secs => %(n)s - g), 'user' || (g %% 97),
       (ARRAY['dept_staff','dept_head','audit_admin'])[1 + g %% 3],
       (ARRAY['sharing.data.queried','catalog.entry.updated','portal.user.login','sharing.grant.approved'])[1 + g %% 4],
       'sharing.grant', (g %% 5000)::text, '户籍人口基本信息 授权 ' || g,
       jsonb_build_object('grant', g %% 5000, 'rows', g %% 1000, 'items', jsonb_build_array('姓名', '住址'),
                          'filters', jsonb_build_object('q', '张' || g)),
       ('10.' || (g %% 250) || '.' || (g %% 7) || '.' || (g %% 200))::inet, 'req-' || md5(g::text),
       CASE WHEN g %% 50 = 0 THEN 'failure' ELSE 'success' END
  FROM generate_series(1, %(n)s) AS g
"""



def setup(events: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from portal import audit

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(_EVENTS, {"n": events})
        cur.execute("ANALYZE portal_auditevent")
    print(f"insert {events} events: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    sealed = 0
    while n := audit.seal_pending(batch=5000):
        sealed += n
    with connection.cursor() as cur:
        cur.execute("ANALYZE portal_auditchainlink; ANALYZE portal_auditseal")
    print(f"seal {sealed} events: {time.perf_counter() - t:.1f} s ({sealed / (time.perf_counter() - t):,.0f}/s)")


def floor_pass() -> tuple[int, float]:
    from django.db import connection, transaction

    from portal.audit import GENESIS, canonical_json
    from portal.audit_verify import link_rows

    t = time.perf_counter()
    n, prev = 0, GENESIS
    with transaction.atomic(), connection.chunked_cursor() as cur:
        for _seq, _prev_hash, _digest, _seal, _event_id, event in link_rows(cur, 1, 2**62):
            prev = hashlib.sha256((prev + canonical_json(event)).encode()).hexdigest()
            n += 1
    return n, time.perf_counter() - t


def full_verification() -> tuple[int, float, object]:
    from django.db import transaction
    from django.utils import timezone

    from portal.audit_verify import verify

    t = time.perf_counter()
    with transaction.atomic():
        outcome = verify(full=True, lag=dt.timedelta(minutes=10), now=timezone.now())
    return outcome.checked, time.perf_counter() - t, outcome


def signature_pass() -> tuple[int, float]:
    """The signature checks alone: one Ed25519 verification per seal (the part of a full run signed seals add)."""
    from django.db import connection

    from portal import audit
    from portal.audit_verify import seal_holds

    known = audit.seal_public_keys()
    with connection.cursor() as cur:
        cur.execute("SELECT id, first_seq, last_seq, count, head_hash, sealed_at, kid, signature FROM portal_auditseal")
        seals = cur.fetchall()
    t = time.perf_counter()
    assert all(seal_holds(seal, known) for seal in seals)
    return len(seals), time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each pass, alternating (the best is shown)")
    parser.add_argument("--db", default=BENCH_DB, help="name of the database to create (and drop)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    with scratch_database(parser, args.db, keep=args.keep):
        setup(args.events)
        floors, verifications = [], []
        for _ in range(args.repeat):
            floors.append(floor_pass())
            verifications.append(full_verification())
        n_floor, t_floor = min(floors, key=lambda r: r[1])
        n_check, t_check, outcome = min(verifications, key=lambda r: r[1])
        assert outcome.ok and n_check == n_floor, outcome
        print(f"floor: read + canonical JSON + SHA-256   {n_floor:>9} events  {t_floor:6.2f} s  "
              f"{n_floor / t_floor:>10,.0f} events/s")
        print(f"full verification (verify(full=True))  {n_check:>9} events  {t_check:6.2f} s  "
              f"{n_check / t_check:>10,.0f} events/s")
        n_seals, t_sig = signature_pass()
        print(f"of which seal signatures (one Ed25519 check per seal, not per event): {n_seals} seals  "
              f"{t_sig:6.3f} s  {t_sig / max(n_seals, 1) * 1e6:,.0f} µs each  ({t_sig / t_check:.1%} of the run)")
        ratio = (n_check / t_check) / (n_floor / t_floor)
        print(f"ratio: {ratio:.0%} of the floor — {'PASS' if ratio >= 0.5 else 'FAIL'} (goal ≥ 50 %)")


if __name__ == "__main__":
    main()
