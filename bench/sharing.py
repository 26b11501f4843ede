"""Benchmark: the sharing data exchange (issue 5) on a 1 M-row resource, each figure next to its baseline.

    .venv/bin/python bench/sharing.py export|pull|query|all [--rows 1000000] [--keep]

Creates its own database (`jz_bench_share_perf` on the server of DATABASE_URL, default the local server), runs
the migrations, creates one approved conditional 户籍人口信息 entry (the 12 items of aggregation.demo;
公民身份号码 key; the key, 姓名 and 户籍地址 stored encrypted), two consumer departments with an API client each
(one granted every item: reads encrypted items in full; one granted only the non-base items: reads the
personal base items masked), and loads the rows in the storage format with COPY (aggregation.ingest's own
RowProcessor: AES-GCM tokens, masked forms, blind index, row digest). Then, in the same run:

- export: raw `COPY (SELECT <projection> … ORDER BY id) TO STDOUT (FORMAT csv)` of the same rows off the dataset's
  table `pool.r<id>` (the floor: clear columns, stored masked forms, the row's token when an item is decrypted)
  against the real GET /api/v1/data/{resource}/export/?format=csv (signed client, grant check, masking, trace
  line, verification flags, audit at the end), consumed in-process through Django's test client; (a) clear
  items only (nothing to decrypt), (b) full grant, every item (3 decryptions a row), (c) masked grant, every
  item (the 3 personal base items masked: their stored masked forms, nothing to decrypt; its raw COPY reads
  those forms too, the table's m<n> columns, i.e. the same bytes). Reports MB/s, rows/s, ratio and the RSS of
  this process sampled while streaming. Each case runs again with the rows' fingerprint switched off (issue 15,
  sharing.export.fingerprint), so its cost is printed against the figure before it in the same run.
- pull: the real GET …/records/?limit=1000 walking the cursor pages against a minimal raw-SQL JSON view
  (keyset query + json.dumps, no auth), same pages; ratio and first pages vs last pages.
- query: gunicorn (4 sync workers, as production runs it: sync workers keep the tail short) on a loopback port with
  the bench settings; 32 concurrent connections from wrk (bench/wrk_requests.lua: every request pre-signed with its
  own nonce; `apt-get install wrk`, else 2 Python load-generator processes) send signed GET …/records/{key}/ for
  random existing keys, then the same against the minimal DRF baseline (one indexed lookup + one audit insert);
  req/s, p50, p90, p99.

The database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import multiprocessing
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/jiaozuo_portal"
BENCH_DB = "jz_bench_share_perf"
CONCURRENCY = 32


def _admin(url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


# ------------------------------------------------------------------------------------------------ setup


def setup(rows: int, extra_clients: int = 0) -> dict:
    """Migrate, create the entry, grants and clients, load `rows` records; returns what the benches need."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - t:.1f} s")

    from aggregation import demo
    from aggregation.ingest.planning import plan_for
    from aggregation.ingest.processing import RowProcessor
    from aggregation.services.pools import dataset_ensure
    from catalog.models import CatalogEntry, Classification, DataItem
    from portal.choices import Role
    from sharing.choices import GrantState, Purpose, RequestState
    from sharing.models import Grant, SharingRequest
    from sharing.services.clients import api_client_register
    from tests.factories import DepartmentFactory, bureau_department, make_user
    from tests.support import LOOPBACK  # the bench calls from this machine

    bureau = bureau_department()
    admin = make_user(Role.SECURITY_ADMIN, department=bureau, username="bench_secadmin")
    reviewer = make_user(Role.BUREAU_REVIEWER, department=bureau, username="bench_reviewer")
    provider = DepartmentFactory(name="焦作市公安局(基准)", short_name="市公安局")
    staff = make_user(Role.DEPT_STAFF, department=provider, username="bench_staff")
    entry = CatalogEntry.objects.create(
        code="101/BENCH00001", classification=Classification.objects.get(code="101"), name="户籍人口信息",
        provider=provider, provider_code=provider.credit_code, summary="基准", format_class="db",
        format_type="PostgreSQL", share_type="2", share_condition="仅用于行政审批",
        exchange_methods=["api", "query", "download"], update_cycle="daily", state="approved", version=1,
        approved_at=timezone.now(),
    )
    for pos, item in enumerate(demo.POPULATION_ITEMS, start=1):
        DataItem.objects.create(entry=entry, position=pos, name=item["name"], data_type=item["data_type"],
                                length=item.get("length"), is_subject_key=item.get("is_subject_key", False),
                                is_base_item=item.get("is_base_item", False))
    dataset = dataset_ensure(entry=entry)
    names = [i["name"] for i in demo.POPULATION_ITEMS]
    base = [i["name"] for i in demo.POPULATION_ITEMS if i.get("is_base_item")]
    clients = {}
    today = timezone.localdate()
    for label, items in (("full", names), ("masked", [n for n in names if n not in base])):
        dept = DepartmentFactory(name=f"焦作市民政局({label})", short_name=f"民政{label}")
        req = SharingRequest.objects.create(
            consumer=dept, entry=entry, legal_basis="基准", duty_basis="基准", business_need="基准",
            purpose=Purpose.COLLABORATION, items=items, methods=["api", "query", "download"],
            valid_from=today - dt.timedelta(days=30), valid_to=today + dt.timedelta(days=365),
            state=RequestState.APPROVED, submitted_on=today, created_by=staff)
        Grant.objects.create(request=req, consumer=dept, entry=entry, items=items, purpose=Purpose.COLLABORATION,
                             methods=["api", "query", "download"], valid_from=req.valid_from,
                             valid_to=req.valid_to, state=GrantState.ACTIVE, approved_by=reviewer)
        client, secret = api_client_register(actor=admin, department_id=dept.pk, name=f"bench {label}",
                                             rate_per_minute=100_000, allowed_networks=LOOPBACK)
        clients[label] = (client.client_id, secret)
        if label == "full":
            clients["pool"] = [clients[label]]
            for n in range(extra_clients):
                client, secret = api_client_register(actor=admin, department_id=dept.pk,
                                                     name=f"bench full {n + 2}", rate_per_minute=100_000,
                                                     allowed_networks=LOOPBACK)
                clients["pool"].append((client.client_id, secret))

    # Load: the pipeline's own row processor (encryption, blind index, digest), COPY into a stage, one INSERT.
    t = time.perf_counter()
    processor = RowProcessor(plan_for(dataset), names, {n: n for n in names})
    sample_keys: list[str] = []
    gen = demo.generated_rows(demo.POPULATION_ITEMS, rows, seed=7)
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE stage (row_no bigint, key_hash bytea, key_enc text, data jsonb, "
                    "masked jsonb, row_hash bytea)")
    raw = connection.connection.cursor()
    done = 0
    with raw.copy("COPY stage FROM STDIN") as copy:
        while done < rows:
            batch = []
            for row in gen:
                batch.append([str(v) for v in row])
                if len(batch) == 4000:
                    break
            if not batch:
                break
            if len(sample_keys) < 20000:
                sample_keys.extend(r[0] for r in batch[:200])
            result = processor.process(done + 1, batch)
            copy.write(result.copy_text if hasattr(result, "copy_text") else result[0])
            done += len(batch)
    raw.execute(
        "INSERT INTO aggregation_record (dataset_id, key_hash, key_enc, data, masked, row_hash, version, created_at,"
        " updated_at) SELECT %s, key_hash, key_enc, data, masked, row_hash, 1, now(), now() FROM stage ORDER BY row_no",
        [dataset.pk])
    raw.execute("DROP TABLE stage")
    # The resource table `pool.r<id>` the readers move onto (issue 18): the records copied as the writers mirror them.
    from django.db import transaction

    from aggregation.storage.moving import mirror

    with transaction.atomic():
        mirror(dataset.pk)
    raw.execute("UPDATE aggregation_dataset SET row_count = %s WHERE id = %s", [done, dataset.pk])
    connection.connection.commit() if not connection.get_autocommit() else None
    if connection.get_autocommit():
        raw.execute("VACUUM ANALYZE aggregation_record")
        raw.execute(f"VACUUM ANALYZE pool.r{int(dataset.pk)}")
    # The load wrote ≈ 1.5 GB of WAL: without a checkpoint now, the server spreads the next one over the minutes the
    # benches measure (seen: a 70 s checkpoint under the whole query run). Setup, not workload: flush it here.
    raw.execute("CHECKPOINT")
    raw.close()
    print(f"loaded {done:,} records in {time.perf_counter() - t:.1f} s "
          f"(encrypted: {', '.join(dataset.encrypted_items)}; key {dataset.key_item_name})")
    return {"entry": entry, "dataset": dataset, "names": names, "clients": clients, "keys": sample_keys,
            "resource": entry.code.replace("/", "-", 1), "rows": done}


def signed(client: tuple[str, str], method: str, path: str, query: str, purpose: str = "基准测试") -> dict:
    from security.signing.scheme import sign

    ts = str(int(time.time()))
    nonce = secrets.token_hex(16)
    return {"X-Client-Id": client[0], "X-Timestamp": ts, "X-Nonce": nonce, "X-Purpose": quote(purpose),
            "X-Signature": sign(client[1], method, path, query, ts, nonce, b"")}


def _django_headers(h: dict) -> dict:
    return {"HTTP_" + k.upper().replace("-", "_"): v for k, v in h.items()}


# ------------------------------------------------------------------------------------------------ export


def bench_export(ctx: dict, repeat: int = 3) -> None:
    import select

    from django.db import connection
    from django.test import Client

    from security.masking import sensitivity_of  # noqa: F401 — imported for the record: masking is real

    ds = ctx["dataset"]
    names = ctx["names"]
    clear = [n for n in names if n not in set(ds.encrypted_items) | {ds.key_item_name}]
    path = f"/api/v1/data/{ctx['resource']}/export/"

    from aggregation import demo
    from aggregation.ingest.planning import mask_kinds_of, plan_for

    # The masked grant reads the personal base items masked: their raw COPY reads the stored masked forms.
    base = {i["name"] for i in demo.POPULATION_ITEMS if i.get("is_base_item")}
    masked = {n: k for n, k in mask_kinds_of(plan_for(ds).items).items() if n in base}

    def raw_sql(fields: list[str], kinds: dict[str, str] | None = None) -> str:
        """The floor: the projection as the dataset's table stores it (storage.reading.item_sql: clear text, the
        stored masked forms), and the row's token when an item is read from it — no marker, no flag."""
        from psycopg import sql

        from aggregation.storage.layout import Layout
        from aggregation.storage.reading import item_sql

        layout = Layout.stored(ds)
        kinds = kinds or {}
        cols = [item_sql(layout, n, masked=kinds.get(n, False)) for n in fields
                if layout.columns[n].get("col") or n in kinds]
        if any(not layout.columns[n].get("col") and n not in kinds for n in fields):
            cols.append(sql.SQL("token"))
        statement = sql.SQL("COPY (SELECT {} FROM {} WHERE deleted_at IS NULL ORDER BY id) TO STDOUT (FORMAT csv, "
                            "HEADER)").format(sql.SQL(", ").join(cols), layout.table)
        connection.ensure_connection()
        return statement.as_string(connection.connection)

    def raw_copy(fields: list[str], kinds: dict[str, str] | None) -> tuple[float, int]:
        """The floor as psycopg reads it: `cursor.copy()`, iterated (one CopyData message, i.e. one row, a step)."""
        connection.ensure_connection()
        cur = connection.connection.cursor()
        n = 0
        t = time.perf_counter()
        with cur.copy(raw_sql(fields, kinds)) as copy:
            for block in copy:
                n += len(block)
        s = time.perf_counter() - t
        cur.close()
        return s, n

    def raw_libpq(fields: list[str], kinds: dict[str, str] | None) -> tuple[float, int]:
        """The same COPY read straight off libpq (`PGconn.get_copy_data`, waiting on the socket only when nothing is
        buffered), as the export reads it: the floor without psycopg's ≈ 0.7 µs per row."""
        connection.ensure_connection()
        conn = connection.connection
        cur = conn.cursor()
        n = 0
        t = time.perf_counter()
        with cur.copy(raw_sql(fields, kinds)):
            pgconn = conn.pgconn
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN)
            while True:
                size, _data = pgconn.get_copy_data(1)
                if size > 0:
                    n += size
                elif size == 0:
                    poller.poll()
                    pgconn.consume_input()
                else:
                    break
            while (result := pgconn.get_result()) is not None:
                assert result.status == 1, result.status  # COMMAND_OK
        s = time.perf_counter() - t
        cur.close()
        return s, n

    # One client for every call, warmed up: Django's test client loads the middleware chain on its first request
    # (whitenoise alone indexes the static files: 40–150 ms here), and the first request of a process imports the
    # URLconf and the API's modules (≈ 0.3 s) — costs of a process's start, not of a download.
    client = Client()
    client.get("/healthz/")
    pull = f"/api/v1/data/{ctx['resource']}/records/"
    warm = client.get(f"{pull}?limit=1", **_django_headers(signed(ctx["clients"]["full"], "GET", pull, "limit=1")))
    assert warm.status_code == 200, warm.content[:300]

    from sharing.export.fingerprint import Marker

    fingerprinted = Marker.marked

    def real(client_label: str, fields: list[str] | None, marked: bool = True) -> tuple[float, int, int, float, float]:
        # marked=False: the same call with the rows' fingerprint (sharing.export.fingerprint) switched off — the
        # figure before it, in the same run.
        Marker.marked = fingerprinted if marked else (lambda self, block: block)
        query = "format=csv" + ("&fields=" + quote(",".join(fields)) if fields else "")
        headers = _django_headers(signed(ctx["clients"][client_label], "GET", path, query))
        rss0 = rss_mb()
        peak = rss0
        t = time.perf_counter()
        response = client.get(path + "?" + query, **headers)
        assert response.status_code == 200, response.content[:500]
        n = 0
        blocks = 0
        for block in response.streaming_content:
            n += len(block)
            blocks += 1
            if blocks % 64 == 0:
                peak = max(peak, rss_mb())
        s = time.perf_counter() - t
        response.close()
        Marker.marked = fingerprinted
        return s, n, blocks, rss0, peak

    cases = [
        ("clear items only (no decryption)", "full", clear, None),
        ("full grant, all items (3 decryptions/row)", "full", None, None),
        ("masked grant, all items (stored masked forms)", "masked", None, masked),
    ]
    print(f"\nexport of {ctx['rows']:,} rows: raw COPY TO STDOUT vs GET {path}?format=csv (in-process, one warmed-up"
          f" test client; raw read by psycopg's Copy iteration and straight off libpq; ratio against the faster;"
          f" each the best of {repeat} runs, taken in turn: raw, libpq, the export, the export with the rows'"
          f" fingerprint off — this machine's times vary by up to 50 % between two runs of the same statement)")
    print(f"{'case':<44} {'raw s':>7} {'libpq s':>8} {'raw MB/s':>9} {'export s':>9} {'MB/s':>7} {'rows/s':>9}"
          f" {'ratio':>6} {'blocks':>7} {'avg KB':>7} {'RSS MB start→peak':>18}")
    results = []
    for label, who, fields, kinds in cases:
        raws, libpqs, reals, plains = [], [], [], []
        for _ in range(repeat):
            raws.append(raw_copy(fields or names, kinds))
            libpqs.append(raw_libpq(fields or names, kinds))
            reals.append(real(who, fields))
            plains.append(real(who, fields, marked=False))
        rs, rn = min(raws)
        ls, _ln = min(libpqs)
        floor = min(rs, ls)
        for name, runs in ((label, reals), ("  the same, fingerprint off", plains)):
            es, en, blocks, rss0, _peak = min(runs)
            peak = max(r[4] for r in runs)
            ratio = floor / es
            results.append((name, ratio, es))
            print(f"{name:<44} {rs:7.2f} {ls:8.2f} {rn / floor / 1e6:9.1f} {es:9.2f} {en / es / 1e6:7.1f} "
                  f"{ctx['rows'] / es:9,.0f} {ratio:6.0%} {blocks:7,} {en / max(blocks, 1) / 1024:7.0f} "
                  f"{rss0:8.0f} → {peak:.0f}")
    from portal.models import AuditEvent

    last = AuditEvent.objects.filter(action="sharing.data.read").order_by("-id").first()
    print(f"last audit event: rows={last.data.get('rows')} completed={last.data.get('completed')} "
          f"masked={last.data.get('masked')}")
    print("targets: clear and masked ≥ 80 %, decrypting ≥ 30 % of raw COPY: " + ", ".join(
        f"{label.split(' (')[0]} {r:.0%}" for label, r, _s in results if not label.startswith(" ")))
    # The fingerprint's cost: the best time without it / the best time with it (rows/s kept), same run, interleaved.
    print("fingerprint (issue 15): rows/s kept with it, against the same call without it (best runs): " + ", ".join(
        f"{results[i][0].split(' (')[0]} {results[i + 1][2] / results[i][2]:.0%}" for i in range(0, len(results), 2)))


# ------------------------------------------------------------------------------------------------ pull


def bench_pull(ctx: dict, pages: int) -> None:
    from django.test import Client

    ds = ctx["dataset"]
    names = ctx["names"]
    clear = [n for n in names if n not in set(ds.encrypted_items) | {ds.key_item_name}]
    os.environ["BENCH_PULL_FIELDS"] = ",".join(clear)
    import bench.sharing_urls as urls

    urls.DATASET_ID = ds.pk
    urls.PULL_FIELDS = clear
    path = f"/api/v1/data/{ctx['resource']}/records/"
    client = Client()

    afters: list[int] = []
    queries: dict[str, list[str]] = {}

    def baseline_get(after: int) -> float:
        t = time.perf_counter()
        client.get("/bench/baseline/pull/", {"after": after, "limit": 1000})
        return time.perf_counter() - t

    def real_get(who: str, query: str) -> float:
        headers = _django_headers(signed(ctx["clients"][who], "GET", path, query))
        t = time.perf_counter()
        r = client.get(path + "?" + query, **headers)
        assert r.status_code == 200, r.content[:300]
        return time.perf_counter() - t

    def baseline_pages():
        after = 0
        while True:
            afters.append(after)
            t = time.perf_counter()
            r = client.get("/bench/baseline/pull/", {"after": after, "limit": 1000})
            body = json.loads(r.content)
            yield time.perf_counter() - t
            after = body["next"]
            if after is None or len(body["results"]) < 1000:
                return

    def real_pages(who: str, fields: list[str] | None):
        query = "limit=1000" + ("&fields=" + quote(",".join(fields)) if fields else "")
        mine = queries.setdefault("clear" if fields else "full", [])
        while True:
            mine.append(query)
            headers = _django_headers(signed(ctx["clients"][who], "GET", path, query))
            t = time.perf_counter()
            r = client.get(path + "?" + query, **headers)
            assert r.status_code == 200, r.content[:300]
            body = json.loads(r.content)
            yield time.perf_counter() - t
            nxt = body["next"]
            if not nxt:
                return
            query = urlsplit(nxt).query

    print(f"\npull, 1 000-row pages, {pages} pages: real GET {path} vs minimal raw-SQL JSON view (in-process;"
          f" the three walks advance in lockstep, page by page, so load from elsewhere hits them alike)")
    walks = [baseline_pages(), real_pages("full", clear), real_pages("full", None)]
    base, real_clear, real_full = [], [], []
    for _ in range(pages):
        try:
            for walk, times in zip(walks, (base, real_clear, real_full), strict=True):
                times.append(next(walk))
        except StopIteration:
            break

    def summary(label: str, times: list[float]) -> None:
        head = sorted(times[:20])[len(times[:20]) // 2]
        tail = sorted(times[-20:])[len(times[-20:]) // 2]
        total = sum(times)
        print(f"{label:<38} pages {len(times):5}  {len(times) * 1000 / total:9,.0f} rows/s  "
              f"median first 20 {head * 1e3:6.1f} ms  last 20 {tail * 1e3:6.1f} ms  (×{tail / head:.2f})  "
              f"ratio {sum(base[:len(times)]) / total:.0%}")

    summary("baseline: raw SQL + json.dumps", base)
    summary("real, clear items (no decryption)", real_clear)
    summary("real, full grant (3 decryptions/row)", real_full)
    # Depth: the first and the last page again, alternately, 15 times each (same moment, same load).
    pages_walked = len(queries["clear"])
    pairs = [("baseline", baseline_get, afters[:pages_walked]),
             ("real, clear items", lambda q: real_get("full", q), queries["clear"]),
             ("real, full grant", lambda q: real_get("full", q), queries["full"])]
    for label, get, qs in pairs:
        first, last = [], []
        for _ in range(15):
            first.append(get(qs[0]))
            last.append(get(qs[-1]))
        f, la = sorted(first)[7], sorted(last)[7]
        print(f"depth, {label:<20} page 1 {f * 1e3:6.1f} ms   page {len(qs)} {la * 1e3:6.1f} ms   (×{la / f:.2f})")
    print("targets: real ≥ 80 % of baseline; last page ≤ 1.2 × first page")


# ------------------------------------------------------------------------------------------------ query


def _load_worker(args) -> list:
    """One load-generator process: `threads` keep-alive connections, each sending signed GETs until `until`."""
    port, paths_keys, pool, threads, until, max_requests, signed_calls = args
    from security.signing.scheme import sign

    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    count = [0]

    def run(seed: int) -> None:
        rnd = random.Random(seed)
        client = pool[seed % len(pool)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.time() < until:
            with lock:
                if count[0] >= max_requests:
                    break
                count[0] += 1
            key = rnd.choice(paths_keys[1])
            path = paths_keys[0].format(key=key)
            headers = {"X-Purpose": quote("窗口核验")}
            if signed_calls:
                ts = str(int(time.time()))
                nonce = secrets.token_hex(16)
                headers.update({"X-Client-Id": client[0], "X-Timestamp": ts, "X-Nonce": nonce,
                                "X-Signature": sign(client[1], "GET", path, "", ts, nonce, b"")})
            t = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            dt_ = time.perf_counter() - t
            if ok:
                mine.append(dt_)
            else:
                errors[0] += 1
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    return [lat, errors[0]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wrk_run(port: int, paths_keys, clients, signed_calls: bool, level: int, seconds: int) -> dict:
    """One wrk run (bench/wrk_requests.lua) over freshly signed requests, each with its own nonce: wrk is written in
    C, so the load generator takes a fraction of the CPU the Python one needs and leaves the 2 cores to the server."""
    from security.signing.scheme import sign

    rnd = random.Random()
    stamp = str(int(time.time()))  # the window is ±300 s; a run lasts seconds
    purpose = quote("窗口核验")
    lines = []
    for n in range(max(20_000, 5_000 * seconds)):  # more than the server answers in `seconds` (no replays)
        path = paths_keys[0].format(key=rnd.choice(paths_keys[1]))
        headers = [f"X-Purpose: {purpose}"]
        if signed_calls:
            client_id, secret = clients[n % len(clients)]
            nonce = secrets.token_hex(16)
            headers += [f"X-Client-Id: {client_id}", f"X-Timestamp: {stamp}", f"X-Nonce: {nonce}",
                        f"X-Signature: {sign(secret, 'GET', path, '', stamp, nonce, b'')}"]
        lines.append("\t".join([path, *headers]))
    with tempfile.NamedTemporaryFile("w", suffix=".wrk", delete=False) as fh:
        fh.write("\n".join(lines) + "\n")
    wrk_threads = 2
    try:
        out = subprocess.run(  # noqa: S603 — our own argv
            [shutil.which("wrk") or "wrk", "-t", str(wrk_threads), "-c", str(level), "-d", f"{seconds}s",
             "--timeout", "10s", "-s", str(ROOT / "bench" / "wrk_requests.lua"), f"http://127.0.0.1:{port}",
             "--", fh.name, str(wrk_threads)],
            capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(fh.name)
    fields = next(line for line in out.splitlines() if line.startswith("WRK ")).split()[1:]
    total, duration, status_errors, socket_errors, p50, p90, p99 = map(int, fields)
    return {"ok": total - status_errors, "errors": status_errors + socket_errors, "seconds": duration / 1e6,
            "p50": p50 / 1e3, "p90": p90 / 1e3, "p99": p99 / 1e3}


def bench_query_wrk(port: int, runs, clients, seconds: float, rounds: int, level: int) -> None:
    """The online-query rounds with wrk as the load generator (see _wrk_run); p99 is the worst round's."""
    span = max(1, round(seconds / rounds))
    for _label, pk, signed_calls in runs:  # warm-up: every worker process imports, connects and caches
        _wrk_run(port, pk, clients, signed_calls, level, 2)
    results: dict[str, list[dict]] = {label: [] for label, _pk, _s in runs}
    for _ in range(rounds):
        for label, pk, signed_calls in runs:
            results[label].append(_wrk_run(port, pk, clients, signed_calls, level, span))
    rates = []
    print(f"{level} concurrent (wrk, {rounds} rounds of {span} s):")
    for label, parts in results.items():
        ok = sum(p["ok"] for p in parts)
        rps = ok / sum(p["seconds"] for p in parts)
        rates.append(rps)
        p50 = sorted(p["p50"] for p in parts)[len(parts) // 2]
        print(f"  {label:<44} {ok:7,} ok {sum(p['errors'] for p in parts):4} errors  {rps:7,.0f} req/s  "
              f"p50 {p50:6.1f} ms  p90 {max(p['p90'] for p in parts):6.1f} ms  "
              f"p99 {max(p['p99'] for p in parts):6.1f} ms  (rounds' p99: "
              + ", ".join(f"{p['p99']:.1f}" for p in parts) + ")")
    print(f"  ratio real/baseline at {level} concurrent: {rates[1] / rates[0]:.0%} "
          f"(target at {CONCURRENCY}: ≥ 50 %; p99 < 50 ms)")


@contextlib.contextmanager
def gunicorn(ctx: dict, workers: int = 4, threads: int = 1, worker_class: str = "sync"):
    """gunicorn with the bench settings (bench/sharing_settings.py: DEBUG off, the baseline URLs) on a free loopback
    port, serving ctx's database; yields the port once it accepts connections, stops the server after the block."""
    from django.db import connections

    connections.close_all()
    port = _free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.sharing_settings", BENCH_DATASET_ID=str(ctx["dataset"].pk),
               PYTHONPATH=str(ROOT))
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi:application", "-b", f"127.0.0.1:{port}",
           "-w", str(workers), "-k", worker_class, "--threads", str(threads), "--keep-alive", "30",
           "--log-level", "warning", "--chdir", str(ROOT)]
    server = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)  # noqa: S603 — our own argv
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def bench_query(ctx: dict, seconds: float, workers: int, threads: int, rounds: int = 3,
                concurrency: tuple[int, ...] = (CONCURRENCY,), loadgen: str = "auto",
                worker_class: str = "sync") -> None:
    """Signed online query vs the minimal DRF baseline on one gunicorn, at each concurrency level in turn."""
    with gunicorn(ctx, workers, threads, worker_class) as port:
        keys = ctx["keys"]
        real_path = f"/api/v1/data/{ctx['resource']}/records/{{key}}/"
        runs = [("baseline: DRF, 1 lookup + 1 audit insert", ("/bench/baseline/lookup/{key}/", keys), False),
                ("real: signed online query (full grant)", (real_path, keys), True)]
        if loadgen == "auto":
            loadgen = "wrk" if shutil.which("wrk") else "python"
        print(f"\nonline query: gunicorn {worker_class} {workers}×{threads} on 127.0.0.1:{port}, "
              f"{'/'.join(map(str, concurrency))} concurrent keep-alive connections "
              f"{'from wrk (2 threads)' if loadgen == 'wrk' else 'from up to 2 Python processes'}, "
              f"{len(ctx['clients']['pool'])} API client(s), {seconds:.0f} s each in {rounds} alternating rounds "
              f"(after a 2 s warm-up each)")
        ctx_mp = multiprocessing.get_context("fork")
        clients = ctx["clients"]["pool"]
        for level in concurrency:
            if loadgen == "wrk":
                bench_query_wrk(port, runs, clients, seconds, rounds, level)
                continue
            procs = min(2, level)
            split = [level // procs + (1 if k < level % procs else 0) for k in range(procs)]
            results: dict[str, list] = {label: [[], 0, 0.0] for label, _pk, _s in runs}
            plan = [(label, pk, signed_calls, True, 2.0) for label, pk, signed_calls in runs]
            plan += [(label, pk, signed_calls, False, seconds / rounds) for _ in range(rounds)
                     for label, pk, signed_calls in runs]
            for label, pk, signed_calls, warm, span in plan:
                until = time.time() + span
                with ctx_mp.Pool(procs) as pool:
                    t = time.perf_counter()
                    parts = pool.map(_load_worker, [(port, pk, clients[k::procs] or clients, split[k], until, 200_000,
                                                     signed_calls) for k in range(procs)])
                    wall = time.perf_counter() - t
                if warm:
                    continue
                acc = results[label]
                acc[0].extend(x for p in parts for x in p[0])
                acc[1] += sum(p[1] for p in parts)
                acc[2] += wall
            rates = []
            print(f"{level} concurrent:")
            for label, (lat, errors, wall) in results.items():
                lat.sort()
                rps = len(lat) / wall
                rates.append(rps)
                p50 = lat[len(lat) // 2] * 1e3
                p99 = lat[int(len(lat) * 0.99)] * 1e3
                print(f"  {label:<44} {len(lat):7,} ok {errors:4} errors  {rps:7,.0f} req/s  p50 {p50:6.1f} ms  "
                      f"p99 {p99:6.1f} ms")
            print(f"  ratio real/baseline at {level} concurrent: {rates[1] / rates[0]:.0%} "
                  f"(target at {CONCURRENCY}: ≥ 50 %; p99 < 50 ms)")


# ------------------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["export", "pull", "query", "all"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=1000, help="pull: pages of 1 000 rows to walk")
    parser.add_argument("--repeat", type=int, default=3, help="export: runs of each case (the best is shown)")
    parser.add_argument("--seconds", type=float, default=10.0, help="query: seconds of load per endpoint")
    parser.add_argument("--workers", type=int, default=4, help="query: gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="query: threads per gunicorn worker (gthread)")
    parser.add_argument("--clients", type=int, default=1,
                        help="query: API clients of the granted department sharing the 32 connections")
    parser.add_argument("--rounds", type=int, default=3, help="query: alternating rounds baseline/real")
    parser.add_argument("--concurrency", default=str(CONCURRENCY),
                        help="query: concurrent connections; comma-separated levels are run in turn")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto",
                        help="query: load generator (auto: wrk when installed — apt-get install wrk)")
    parser.add_argument("--worker-class", default="sync",
                        help="query: gunicorn worker class (sync, as production runs it; gthread with --threads)")
    parser.add_argument("--db", default=BENCH_DB, help="name of the database to create (and drop)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    db = args.db
    if not db.replace("_", "").isalnum() or db == urlsplit(base_url).path.lstrip("/"):
        parser.error("--db: a plain name other than the database of DATABASE_URL")
    bench_url = urlunsplit(urlsplit(base_url)._replace(path=f"/{db}"))
    _admin(base_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    _admin(base_url, f"CREATE DATABASE {db}")
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.sharing_settings"
    media = tempfile.mkdtemp(prefix="jz_bench_media_")
    os.environ["MEDIA_ROOT"] = media
    try:
        ctx = setup(args.rows, max(args.clients, 1) - 1)
        if args.what in ("export", "all"):
            bench_export(ctx, args.repeat)
        if args.what in ("pull", "all"):
            bench_pull(ctx, args.pages)
        if args.what in ("query", "all"):
            bench_query(ctx, args.seconds, args.workers, args.threads, args.rounds,
                        tuple(int(c) for c in args.concurrency.split(",") if c.strip()), args.loadgen,
                        args.worker_class)
        print(f"\npeak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin(base_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    main()
