"""Benchmark: 200 concurrent consumers mixing pulls, online queries and exports against gunicorn, for a fixed time.

    .venv/bin/python bench/load.py [--seconds 30] [--consumers 200] [--rows 20000]
                                   [--mix query=70,pull=20,export=5,baseline=5] [--workers 4] [--worker-class sync]
                                   [--processes 2] [--db NAME] [--keep]

Setup is bench/sharing.py's (`setup`): its own database (`jz_bench_load`, --db for another name; the database of
DATABASE_URL is refused), one approved conditional 户籍人口信息 entry with `--rows` records in the storage format, a
granted consumer department with `--clients` signed API clients. gunicorn serves the bench settings as in
bench/sharing.py's query run (4 sync workers, as production runs it). Then, in the same run, two phases of `--seconds`
each, after a short warm-up:

1. baseline: every consumer calls the minimal endpoint of bench/sharing.py (`/bench/baseline/lookup/{key}/`: no auth,
   one indexed lookup, one audit insert) — what this server answers under the same number of consumers;
2. mix: every consumer, call after call, picks a kind by the `--mix` weights — `query`: signed online query
   GET …/records/{key}/ for a random existing key; `pull`: signed GET …/records/?limit=N at a random page (cursors
   made beforehand from the record ids, as the API encodes them); `export`: signed GET …/export/?format=csv of the
   whole slice (every item of the full grant: 3 decryptions a row), read to the end; `baseline`: the minimal
   endpoint of phase 1 again, so its latency is also measured inside the mixed load.

The consumers are asyncio tasks in `--processes` load-generator processes (wrk cannot tell kinds apart in one run;
the Python generator signs each call with its own nonce as it sends it). Each consumer holds one HTTP/1.1 connection
and opens a new one when the server closes it (gunicorn's sync workers close after every response, so the connect is
inside each latency). A call that is not answered 2xx, or whose connection fails or times out, is an error (goal 0).
Prints, per kind and for the baseline: ok calls, errors (non-2xx by status, connection errors), calls/s, MB/s, p50,
p99, max; the peak number of calls in flight (the consumers really were concurrent); the load generator's own CPU.
The database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402  (after the path: run as a script)

BENCH_DB = "jz_bench_load"
KINDS = ("query", "pull", "export", "baseline")


# ------------------------------------------------------------------------------------------------ load generator


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, int, bool]:
    """One HTTP/1.1 response read to its end: (status, body bytes, the server will close the connection)."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed before the status line")
    status = int(status_line.split()[1])
    length, chunked, close = None, False, False
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            close = True
    size = 0
    if chunked:
        while True:
            n = int((await reader.readline()).split(b";")[0], 16)
            if n == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                break
            size += len(await reader.readexactly(n + 2)) - 2
    elif length is not None:
        size = len(await reader.readexactly(length)) if length else 0
    else:  # no length: the body ends with the connection
        while block := await reader.read(1 << 16):
            size += len(block)
        close = True
    return status, size, close


def _generator(args: tuple) -> dict:
    """One load-generator process: `consumers` asyncio tasks, each calling until `until` (wall clock)."""
    port, plan, clients, consumers, until, seed, timeout = args
    from security.signing.scheme import sign

    kinds, weights = zip(*[(k, w) for k, w in plan["mix"].items() if w > 0], strict=True)
    stats = {k: {"lat": [], "in_window": 0, "bytes": 0, "status": Counter(), "conn": 0} for k in kinds}
    in_flight = [0, 0]  # now, peak
    purpose = quote("窗口核验")

    def request_for(kind: str, rnd: random.Random, client: tuple[str, str]) -> bytes:
        if kind == "baseline":
            path, query, signed_call = plan["baseline"].format(key=rnd.choice(plan["keys"])), "", False
        elif kind == "query":
            path, query, signed_call = plan["query"].format(key=rnd.choice(plan["keys"])), "", True
        elif kind == "pull":
            path, query, signed_call = plan["pull"], rnd.choice(plan["pull_queries"]), True
        else:
            path, query, signed_call = plan["export"], plan["export_query"], True
        lines = [f"GET {path}{'?' + query if query else ''} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                 f"X-Purpose: {purpose}"]
        if signed_call:
            ts = str(int(time.time()))
            nonce = secrets.token_hex(16)
            lines += [f"X-Client-Id: {client[0]}", f"X-Timestamp: {ts}", f"X-Nonce: {nonce}",
                      f"X-Signature: {sign(client[1], 'GET', path, query, ts, nonce, b'')}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def consumer(n: int) -> None:
        rnd = random.Random(seed * 100_003 + n)
        client = clients[n % len(clients)]
        reader = writer = None
        while time.time() < until:
            kind = rnd.choices(kinds, weights)[0]
            message = request_for(kind, rnd, client)
            s = stats[kind]
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
            t = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
                writer.write(message)
                status, size, close = await asyncio.wait_for(_read_response(reader), timeout)
            except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
                s["conn"] += 1
                close, status = True, None
            else:
                if 200 <= status < 300:
                    s["lat"].append(time.perf_counter() - t)
                    if time.time() <= until:  # answered inside the phase: counts for the calls/s
                        s["in_window"] += 1
                        s["bytes"] += size
                else:
                    s["status"][status] += 1
            finally:
                in_flight[0] -= 1
            if close and writer is not None:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    async def main() -> None:
        await asyncio.gather(*(consumer(n) for n in range(consumers)))

    cpu = time.process_time()
    asyncio.run(main())
    return {"stats": stats, "peak": in_flight[1], "cpu": time.process_time() - cpu}


def run_phase(port: int, plan: dict, clients: list, consumers: int, processes: int, seconds: float,
              timeout: float) -> dict:
    """`consumers` split over `processes` generator processes for `seconds`; the merged figures."""
    split = [consumers // processes + (1 if k < consumers % processes else 0) for k in range(processes)]
    until = time.time() + seconds
    t = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.map(_generator, [(port, plan, clients[k::processes] or clients, split[k], until,
                                       random.randrange(1 << 30), timeout) for k in range(processes)])
    wall = time.perf_counter() - t
    merged: dict = {}
    for part in parts:
        for kind, s in part["stats"].items():
            m = merged.setdefault(kind, {"lat": [], "in_window": 0, "bytes": 0, "status": Counter(), "conn": 0})
            m["lat"].extend(s["lat"])
            m["in_window"] += s["in_window"]
            m["bytes"] += s["bytes"]
            m["status"].update(s["status"])
            m["conn"] += s["conn"]
    return {"kinds": merged, "wall": wall, "seconds": seconds, "peak": sum(p["peak"] for p in parts),
            "cpu": sum(p["cpu"] for p in parts)}


def _pct(lat: list[float], q: float) -> float:
    return lat[min(len(lat) - 1, int(len(lat) * q))] * 1e3 if lat else float("nan")


def report(title: str, result: dict, labels: dict[str, str]) -> dict[str, float]:
    """Print one phase's table; returns calls/s by kind (and 'all'). Calls/s and MB/s count the calls answered inside
    the phase's seconds; the calls still in flight at its end are waited for (their errors count, their latencies are
    in the percentiles), as the wall time says."""
    wall, seconds = result["wall"], result["seconds"]
    print(f"\n{title}: {seconds:g} s, {wall:.1f} s wall with the calls in flight at the end, peak {result['peak']} "
          f"calls in flight, load generator CPU {result['cpu']:.1f} s ({result['cpu'] / wall:.0%} of one core)")
    print(f"  {'kind':<44} {'ok':>7} {'errors':>7} {'calls/s':>8} {'MB/s':>7} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8}  errors by cause")
    rates, total_ok, total_in, total_err = {}, 0, 0, 0
    for kind, s in result["kinds"].items():
        lat = sorted(s["lat"])
        errors = sum(s["status"].values()) + s["conn"]
        causes = ", ".join([f"HTTP {k}: {v}" for k, v in sorted(s["status"].items())]
                           + ([f"connection: {s['conn']}"] if s["conn"] else [])) or "-"
        rates[kind] = s["in_window"] / seconds
        total_ok += len(lat)
        total_in += s["in_window"]
        total_err += errors
        print(f"  {labels[kind]:<44} {len(lat):7,} {errors:7,} {rates[kind]:8,.1f} {s['bytes'] / seconds / 1e6:7.2f} "
              f"{_pct(lat, 0.5):8.1f} {_pct(lat, 0.99):8.1f} {lat[-1] * 1e3 if lat else float('nan'):8.1f}  {causes}")
    rates["all"] = total_in / seconds
    print(f"  {'all':<44} {total_ok:7,} {total_err:7,} {rates['all']:8,.1f}")
    return rates


# ------------------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of each phase (baseline, mix)")
    parser.add_argument("--consumers", type=int, default=200, help="concurrent consumers (connections)")
    parser.add_argument("--rows", type=int, default=20_000, help="records of the resource (an export reads them all)")
    parser.add_argument("--mix", default="query=70,pull=20,export=5,baseline=5", help="weights of the kinds of call")
    parser.add_argument("--pull-limit", type=int, default=500, help="rows a pulled page")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (sync, as production runs it)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--clients", type=int, default=8, help="API clients of the consumer department")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a call counts as failed")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up before the phases")
    parser.add_argument("--db", default=BENCH_DB, help="name of the database to create (and drop)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    try:
        mix = {k.strip(): float(w) for k, w in (part.split("=") for part in args.mix.split(",") if part.strip())}
    except ValueError:
        parser.error("--mix: kind=weight,… e.g. query=70,pull=20,export=5,baseline=5")
    if not set(mix) <= set(KINDS) or sum(mix.values()) <= 0:
        parser.error(f"--mix: kinds are {', '.join(KINDS)}")

    media = tempfile.mkdtemp(prefix="jz_bench_media_")
    os.environ["MEDIA_ROOT"] = media
    try:
        with scratch_database(parser, args.db, keep=args.keep):
            run(args, mix)
    finally:
        shutil.rmtree(media, ignore_errors=True)


def run(args, mix: dict[str, float]) -> None:
    from bench.sharing import gunicorn, setup

    ctx = setup(args.rows, max(args.clients, 1) - 1)
    from django.db import connection

    from sharing.data_api.cursor import encode_cursor

    dataset = ctx["dataset"]
    with connection.cursor() as cur:
        cur.execute("SELECT id FROM aggregation_record WHERE dataset_id = %s ORDER BY id", [dataset.pk])
        ids = [r[0] for r in cur.fetchall()]
    limit = f"limit={args.pull_limit}"
    pull_queries = [limit] + [f"{limit}&cursor={encode_cursor(dataset.pk, ids[i - 1])}"
                              for i in range(args.pull_limit, len(ids), args.pull_limit)]
    resource = ctx["resource"]
    plan = {"mix": mix, "keys": ctx["keys"], "baseline": "/bench/baseline/lookup/{key}/",
            "query": f"/api/v1/data/{resource}/records/{{key}}/", "pull": f"/api/v1/data/{resource}/records/",
            "pull_queries": pull_queries, "export": f"/api/v1/data/{resource}/export/", "export_query": "format=csv"}
    clients = ctx["clients"]["pool"]
    labels = {"baseline": "baseline: DRF, 1 lookup + 1 audit insert",
              "query": "online query (signed, full grant)",
              "pull": f"pull, {args.pull_limit}-row page (signed, full grant)",
              "export": f"export, CSV of {ctx['rows']:,} rows (signed, full grant)"}
    with gunicorn(ctx, args.workers, args.threads, args.worker_class) as port:
        print(f"\nload: gunicorn {args.worker_class} {args.workers}×{args.threads} on 127.0.0.1:{port}; "
              f"{args.consumers} concurrent consumers (asyncio, {args.processes} generator processes, one connection "
              f"each), {len(clients)} API clients; mix {', '.join(f'{k} {w:g}' for k, w in mix.items())}; "
              f"{len(pull_queries)} pages to pull from; {args.seconds:g} s a phase after a {args.warmup:g} s warm-up; "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.warmup > 0:
            run_phase(port, {**plan, "mix": {"baseline": 1, **mix}}, clients, min(args.consumers, 32),
                      args.processes, args.warmup, args.timeout)
        base = run_phase(port, {**plan, "mix": {"baseline": 1}}, clients, args.consumers, args.processes,
                         args.seconds, args.timeout)
        base_rates = report(f"baseline, {args.consumers} consumers", base, labels)
        mixed = run_phase(port, plan, clients, args.consumers, args.processes, args.seconds, args.timeout)
        rates = report(f"mix, {args.consumers} consumers", mixed,
                       {**labels, "baseline": "minimal endpoint, inside the mix"})
    errors = sum(sum(s["status"].values()) + s["conn"] for r in (base, mixed) for s in r["kinds"].values())
    b = sorted(base["kinds"]["baseline"]["lat"])
    q = sorted(mixed["kinds"].get("query", {"lat": []})["lat"])
    inside = sorted(mixed["kinds"].get("baseline", {"lat": []})["lat"])
    print(f"\nratio mix/baseline calls/s: {rates['all'] / base_rates['all']:.0%}"
          + (f"; online query p50 {_pct(q, 0.5):.1f} ms against the baseline's {_pct(b, 0.5):.1f} ms "
             f"(×{_pct(q, 0.5) / _pct(b, 0.5):.2f}), p99 {_pct(q, 0.99):.1f} against {_pct(b, 0.99):.1f} ms"
             if q and b else ""))
    if inside and b:
        print(f"minimal endpoint inside the mix: p50 {_pct(inside, 0.5):.1f} ms, p99 {_pct(inside, 0.99):.1f} ms "
              f"(alone: p50 {_pct(b, 0.5):.1f}, p99 {_pct(b, 0.99):.1f} ms)")
    print(f"errors: {errors} — {'PASS' if errors == 0 else 'FAIL'} (goal 0); load average at the end "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; cores {os.cpu_count()}")


if __name__ == "__main__":
    main()
