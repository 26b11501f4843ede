"""Faults survived (issue 19): real processes started, killed and started again — a Celery worker (prefork, as
production runs it) killed with SIGKILL mid-import, mid-build and mid-push, a Redis of the test's own restarted
during a push, the consumer's PostgreSQL cluster stopped during a push, gunicorn killed during a streamed export.
Each job ends failed-and-resumable or completes, with no row lost or doubled and a visible status.

How a job is caught mid-way, whatever the machine's speed: an import or a theme build waits for the pool's tables
(the records and the dataset's resource table) held by other sessions (pool_held); a push of two batches
(push.run.BATCH + 1 000 rows) delivers its first and is caught writing its second by a gate in the consumer's own
database (tests.faults.processes.Gate); a download is read 1 MiB, then the server is killed (the client's receive
window is pinned small, so the server cannot have sent the whole file ahead).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import http.client
import socket
import sys
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from kombu import Connection

from aggregation.models import IngestJob, Record, ThemeBuildJob
from aggregation.services import ingest as ingest_services
from aggregation.services import themes
from aggregation.services.pools import dataset_ensure
from clients.jiaozuo_client import JiaozuoClient
from portal.services.jobs import reap_stale_jobs
from security.crypto import blind_index
from sharing.models import PushRun, PushSubscription
from sharing.push import run as push_run
from sharing.services import clients as client_services
from sharing.services import push as push_services
from sharing.tasks import push_run_task
from tests.aggregation.builders import PEOPLE_ITEMS, csv_bytes, make_entry, person, upload
from tests.faults import processes
from tests.faults.conftest import granted, keys
from tests.faults.processes import Cluster, Gate, celery_worker, pool_child, rows_in, until
from tests.support import LOOPBACK, TableLock, answers, stored_rows, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

RECORDS = Record._meta.db_table


def records_of(dataset) -> tuple[int, int]:
    """(live rows, distinct subjects) of a dataset in the pool (its resource table)."""
    rows = stored_rows(dataset, include_deleted=False, items=[])
    return len(rows), len({r.key_hash for r in rows})


class pool_held:
    """The pool's tables a load or a build reads or writes — the records and the dataset's resource table — held by
    other sessions (tests.support.TableLock); `waiting()`: some session waits for one of them."""

    def __init__(self, dataset):
        self.locks = [TableLock(RECORDS), TableLock(f"pool.r{dataset.pk}")]
        self.stack = contextlib.ExitStack()

    def __enter__(self):
        for lock in self.locks:
            self.stack.enter_context(lock)
        return self

    def waiting(self) -> bool:
        return any(lock.waiting() for lock in self.locks)

    def __exit__(self, *exc):
        return self.stack.__exit__(*exc)


def status(model, pk) -> str:
    return model.objects.values_list("status", flat=True).get(pk=pk)


# ---------------------------------------------------------------------------------------------- import, theme build


def test_an_import_whose_whole_worker_is_killed_is_reaped_and_reruns_to_exactly_the_files_rows(
        started, tmp_path, dept, staff, audit_log):
    """kill -9 of the worker (parent and pool child, as a host's OOM killer or a crash takes it): nobody is left to
    report the lost task, the job stays "running" until the reaper's sweep fails it (beat runs it; here called as the
    beat would, at a time past the stale limit); nothing was loaded. A restarted worker runs the clerk's re-run:
    every row of the file, once."""
    entry = make_entry(dept, "户籍人口信息", PEOPLE_ITEMS)
    subjects = keys(4000, seed=7)
    content = csv_bytes([person(k, name=f"李{n}") for n, k in enumerate(subjects)])
    worker = started(celery_worker(tmp_path / "worker.log"))
    with pool_held(dataset_ensure(entry=entry)) as lock:
        job = ingest_services.ingest_job_create(actor=staff, entry=entry, upload=upload(content))
        until(lock.waiting, 120, "the import never reached the pool", worker)
        assert status(IngestJob, job.pk) == "running"
        worker.kill()
    assert status(IngestJob, job.pk) == "running"  # no process left to say otherwise
    stale = dt.timedelta(seconds=settings.AGGREGATION["STALE_JOB_SECONDS"] + 1)
    # The beat's sweep, as often as it runs: the dead child's session still holds the job's row for up to 2 s
    # (client_connection_check_interval), and the reaper skips a locked row.
    until(lambda: reap_stale_jobs(now=timezone.now() + stale)["aggregation.ingestjob"] == 1, 30, "never reaped")
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "stale_heartbeat") and job.finished_at is not None
    assert job.error_message in job.log and records_of(job.dataset) == (0, 0)
    assert audit_log("aggregation.job.failed")[-1].data["reason"] == "stale_heartbeat"

    worker = started(celery_worker(tmp_path / "worker.log"))  # the restarted worker
    # The task's message, taken by the killed worker and never acknowledged, is delivered again (by kombu after its
    # visibility timeout; here at once): the job is no longer pending, so it does not run behind the clerk's back.
    task = "aggregation.tasks.ingest_job_run"
    assert processes.requeue_unacked(settings.CELERY_BROKER_URL, task, job.pk) == 1
    until(lambda: processes.tasks_done(worker, task) == 1, 60, "the message was not delivered again", worker)
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("failed", 1) and records_of(job.dataset) == (0, 0)

    ingest_services.ingest_job_rerun(actor=staff, job_id=job.pk)
    until(lambda: status(IngestJob, job.pk) not in ("pending", "running"), 120, "the re-run never ended", worker)
    job.refresh_from_db()
    assert job.status == "succeeded", job.log
    assert (job.total_rows, job.inserted_rows, job.rejected_rows, job.attempts) == (4000, 4000, 0, 2)
    assert records_of(job.dataset) == (4000, 4000)
    assert {r.key_hash for r in stored_rows(job.dataset, items=[])} == {blind_index(k) for k in subjects}
    actions = [e.action for e in audit_log() if e.action.startswith("aggregation.job.")]
    assert actions[-5:] == ["aggregation.job.started", "aggregation.job.failed", "aggregation.job.rerun",
                            "aggregation.job.started", "aggregation.job.finished"], actions


def test_a_theme_build_whose_pool_child_is_killed_fails_at_once_and_the_next_build_has_every_subject_once(
        started, tmp_path, people, staff, audit_log):
    """SIGKILL of the pool child mid-build: the worker's parent fails the build at once (worker_lost) and forks a new
    child, which runs the next build requested: one row per subject, none twice."""
    _entry, dataset, subjects = people(3000, ("api",))
    theme = themes.theme_save(actor=staff, name="人口", key_kind="id_number",
                              sources=[{"dataset": dataset.pk, "items": ["姓名", "性别"]}])
    worker = started(celery_worker(tmp_path / "worker.log"))
    with pool_held(dataset) as lock:
        job = themes.theme_rebuild_request(actor=staff, theme_id=theme.pk)
        until(lock.waiting, 120, "the build never reached the pool", worker)
        child = pool_child(worker)
        assert child and status(ThemeBuildJob, job.pk) == "running"
        processes.kill_pid(child)
        until(lambda: status(ThemeBuildJob, job.pk) == "failed", 30, "the build was not failed", worker)
    job.refresh_from_db()
    assert job.error_code == "worker_lost" and "worker lost" in job.error_message and not theme.rows.exists()
    assert audit_log("aggregation.theme.build_failed")[-1].data["reason"] == "worker_lost"

    again = themes.theme_rebuild_request(actor=staff, theme_id=theme.pk)
    assert again.pk != job.pk
    until(lambda: status(ThemeBuildJob, again.pk) not in ("pending", "running"), 120, "the build never ended", worker)
    again.refresh_from_db()
    theme.refresh_from_db()
    assert again.status == "succeeded" and again.row_count == theme.row_count == 3000
    hashes = list(theme.rows.values_list("key_hash", flat=True))
    assert len(hashes) == len(set(hashes)) == 3000 and set(hashes) == {blind_index(k) for k in subjects}
    assert audit_log("aggregation.theme.built")[-1].data["rows"] == 3000


# ---------------------------------------------------------------------------------------------- push


ROWS = push_run.BATCH + 1000


@pytest.fixture
def push_world(people, other_dept, other_staff, reviewer):
    """push_world(dsn, table) -> (subscription, gate): ROWS rows granted to other_dept for push, a subscription of
    theirs to `table` of `dsn`, that table made beforehand with a gate after the first batch."""

    def _make(dsn: str, table: str = "hj_people"):
        entry, dataset, _keys = people(ROWS, ("api", "push"))
        grant = granted(other_dept, entry, ["性别", "联系电话"], ("push",), by=other_staff, approver=reviewer)
        ordered = sorted(stored_rows(dataset, items=[]), key=lambda r: (r.updated_at, r.id))
        first_batch_end = (ordered[push_run.BATCH - 1].updated_at, ordered[push_run.BATCH - 1].id)
        gate = Gate(dsn, table, first_batch_end)
        sub = push_services.push_subscription_create(actor=other_staff, grant_id=grant.pk, dsn=dsn, table=table,
                                                     interval_minutes=30)
        # The run reads rows stamped before its horizon less push.run.SETTLE (2 s): the rows are older by then.
        newest = ordered[-1].updated_at
        wait_for(lambda: timezone.now() - newest > push_run.SETTLE + dt.timedelta(seconds=1), timeout=10)
        return sub, gate

    return _make


def the_run(sub) -> PushRun | None:
    return PushRun.objects.filter(subscription=sub).order_by("-pk").first()


def runs(sub) -> list[tuple]:
    return list(PushRun.objects.filter(subscription=sub).order_by("pk").values_list("status", "error_code", "rows"))


def test_a_push_whose_whole_worker_is_killed_resumes_from_its_watermark_with_every_row_once(
        started, tmp_path, push_world, target_dsn, other_staff, audit_log):
    sub, gate = push_world(target_dsn)
    worker = started(celery_worker(tmp_path / "worker.log"))
    try:
        push_services.push_subscription_run_now(actor=other_staff, subscription_id=sub.pk)
        until(gate.waiting, 120, "the push never reached its second batch", worker)
        run = the_run(sub)
        assert (run.status, run.batches, run.rows) == ("running", 1, push_run.BATCH)
        worker.kill()
    finally:
        gate.open()  # the dead session's half-written batch is rolled back when it finds its client gone
    assert rows_in(target_dsn, "hj_people") == (push_run.BATCH, push_run.BATCH)
    stale = dt.timedelta(seconds=settings.PORTAL["PUSH_STALE_SECONDS"] + 1)
    until(lambda: reap_stale_jobs(now=timezone.now() + stale)["sharing.pushrun"] == 1, 30, "never reaped")
    run.refresh_from_db()
    assert (run.status, run.error_code) == ("failed", "interrupted")
    assert "下次推送将从上次确认的水位继续" in run.error_message
    sub.refresh_from_db()
    assert (sub.watermark_at, sub.watermark_id) == (run.watermark_to_at, run.watermark_to_id)

    worker = started(celery_worker(tmp_path / "worker.log"))  # the restarted worker
    # The run's message, never acknowledged by the killed worker, is delivered again (by kombu after its visibility
    # timeout; here at once): a new run, resuming from the acknowledged watermark.
    assert processes.requeue_unacked(settings.CELERY_BROKER_URL, push_services.PUSH_RUN_TASK, sub.pk) == 1
    until(lambda: len(runs(sub)) == 2 and runs(sub)[-1][0] != "running", 120, "the second run never ended", worker)
    assert runs(sub) == [("failed", "interrupted", push_run.BATCH), ("succeeded", "", 1000)]
    assert rows_in(target_dsn, "hj_people") == (ROWS, ROWS)
    push_services.push_subscription_run_now(actor=other_staff, subscription_id=sub.pk)  # and the user's "run now"
    until(lambda: len(runs(sub)) == 3 and runs(sub)[-1][0] != "running", 120, "the third run never ended", worker)
    assert runs(sub)[-1] == ("succeeded", "", 0) and rows_in(target_dsn, "hj_people") == (ROWS, ROWS)
    failed, delivered = audit_log("sharing.push.failed")[-1], audit_log("sharing.push.delivered")[-2]
    assert (failed.data["code"], failed.data["rows"]) == ("interrupted", push_run.BATCH)
    assert delivered.data["watermark_from"] == failed.data["watermark_to"] and delivered.data["rows"] == 1000


def test_a_push_survives_a_redis_restart_and_the_worker_takes_the_next_run_from_the_new_redis(
        started, tmp_path, push_world, target_dsn, other_staff):
    """A Redis of this test's own (no persistence: a restart loses every key, as a crash of an unpersisted Redis
    would) is the worker's broker and cache. Redis dies while the run writes its second batch: the run needs no
    Redis to finish and completes; the restarted Redis is empty and the worker, reconnected, runs the next one."""
    sub, gate = push_world(target_dsn)
    port = processes.free_port()
    redis = started(processes.redis_server(port, tmp_path / "redis.log"))
    until(lambda: processes.redis_pings(port), 30, "redis did not start", redis)
    broker = f"redis://127.0.0.1:{port}/0"
    worker = started(celery_worker(tmp_path / "worker.log", CELERY_BROKER_URL=broker,
                                   REDIS_URL=f"redis://127.0.0.1:{port}/1"))

    def run_now():
        with Connection(broker) as conn:
            push_run_task.apply_async((sub.pk, "manual", other_staff.pk), connection=conn)

    try:
        run_now()
        until(gate.waiting, 120, "the push never reached its second batch", worker)
        redis.kill()
        gate.open()
        until(lambda: status(PushRun, the_run(sub).pk) != "running", 60, "the run never ended", worker)
    finally:
        gate.open()
    assert runs(sub) == [("succeeded", "", ROWS)]
    assert rows_in(target_dsn, "hj_people") == (ROWS, ROWS)

    redis.start()
    until(lambda: processes.redis_pings(port), 30, "redis did not start again", redis)
    run_now()
    until(lambda: len(runs(sub)) == 2 and runs(sub)[-1][0] != "running", 120,
          "the worker took no task from the restarted Redis", worker, redis)
    assert runs(sub) == [("succeeded", "", ROWS), ("succeeded", "", 0)]
    assert rows_in(target_dsn, "hj_people") == (ROWS, ROWS)


@pytest.fixture
def consumer_cluster():
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def test_a_push_whose_consumer_database_stops_fails_resumable_and_completes_when_it_is_back(
        started, tmp_path, push_world, consumer_cluster, other_staff, audit_log):
    import psycopg

    with psycopg.connect(consumer_cluster.dsn(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE qianzhi")
    dsn = consumer_cluster.dsn("qianzhi")
    sub, gate = push_world(dsn)
    worker = started(celery_worker(tmp_path / "worker.log"))
    try:
        push_services.push_subscription_run_now(actor=other_staff, subscription_id=sub.pk)
        until(gate.waiting, 120, "the push never reached its second batch", worker)
        consumer_cluster.stop("fast")  # ends every session: the run's, mid-batch
        until(lambda: status(PushRun, the_run(sub).pk) != "running", 60, "the run never ended", worker)
    finally:
        gate.open()
    run = the_run(sub)
    assert (run.status, run.rows, run.batches) == ("failed", push_run.BATCH, 1), runs(sub)
    assert run.error_code == "target_write_failed", (run.error_code, run.error_message)
    assert sub.__class__.objects.get(pk=sub.pk).active  # a target fault does not pause the subscription
    event = audit_log("sharing.push.failed")[-1]
    assert event.data["code"] == run.error_code and event.data["paused"] is False

    # Still down: the next run fails at once, nothing moves.
    push_services.push_subscription_run_now(actor=other_staff, subscription_id=sub.pk)
    until(lambda: len(runs(sub)) == 2 and runs(sub)[-1][0] != "running", 60, "the run never ended", worker)
    assert runs(sub)[-1] == ("failed", "connection_refused", 0)

    consumer_cluster.start()
    push_services.push_subscription_run_now(actor=other_staff, subscription_id=sub.pk)
    until(lambda: len(runs(sub)) == 3 and runs(sub)[-1][0] != "running", 120, "the run never ended", worker)
    assert runs(sub)[-1] == ("succeeded", "", 1000)
    assert rows_in(dsn, "hj_people") == (ROWS, ROWS)
    assert PushSubscription.objects.get(pk=sub.pk).watermark_id == max(
        stored_rows(sub.grant.entry.dataset, items=[]), key=lambda r: (r.updated_at, r.id)).id


# ---------------------------------------------------------------------------------------------- streamed export


class _SmallWindow(http.client.HTTPConnection):
    """A connection whose receive buffer is pinned at 64 KiB before it connects (no autotuning): a client that stops
    reading holds the server back after a few MiB, as a slow client on a real network does."""

    def connect(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.sock.settimeout(self.timeout)
        self.sock.connect((self.host, self.port))


class _SmallWindowHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_SmallWindow, req)


@pytest.fixture
def small_window():
    urllib.request.install_opener(urllib.request.build_opener(_SmallWindowHandler))
    yield
    urllib.request.install_opener(None)


CUT_AFTER = 1 << 20
ROWS_DOWNLOADED = 6000


def download_consumer(other_dept, entry, other_staff, reviewer, security_admin):
    """A consumer granted downloads of three items, its API client and secret, and a free port with its base URL."""
    granted(other_dept, entry, ["性别", "联系电话", "户籍地址"], ("download",), by=other_staff, approver=reviewer)
    api_client, secret = client_services.api_client_register(
        actor=security_admin, department_id=other_dept.pk, name="民政业务系统", rate_per_minute=600,
        allowed_networks=LOOPBACK)
    port = processes.free_port()
    return api_client, secret, port, f"http://127.0.0.1:{port}"


def test_a_download_cut_by_killed_gunicorn_is_detected_and_resumes_to_the_same_bytes(
        started, tmp_path, people, other_dept, other_staff, reviewer, security_admin, small_window, audit_log):
    long_address = "河南省焦作市解放区民主路" + "幸福里小区" * 120 + "1号"
    entry, _dataset, _keys = people(ROWS_DOWNLOADED, ("api", "download"), address=long_address)
    api_client, secret, port, base = download_consumer(other_dept, entry, other_staff, reviewer, security_admin)
    web = started(processes.gunicorn(port, tmp_path / "gunicorn.log"))
    until(lambda: answers(f"{base}/healthz/"), 120, "gunicorn never served", web)
    client = JiaozuoClient(base, api_client.client_id, secret, purpose="低保审核", retries=2)
    url = client.url(f"/api/v1/data/{entry.resource_key}/export/", {"format": "csv"})

    # A plain streamed GET (chunked, no length known in advance): the cut is an IncompleteRead, not an end of file.
    got = 0
    with pytest.raises(http.client.IncompleteRead), client.send("GET", url) as response:
        assert response.status == 200 and response.headers["Transfer-Encoding"] == "chunked"
        got += len(response.read(CUT_AFTER))
        web.kill()
        while block := response.read(1 << 16):
            got += len(block)
    assert got >= CUT_AFTER

    # The kit's resumable downloader: cut after 1 MiB, the server started again while it backs off, the rest asked
    # with Range + If-Range, the file checked against the server's length and Repr-Digest.
    web.start()
    until(lambda: answers(f"{base}/healthz/"), 120, "gunicorn never served again", web)
    dest = tmp_path / "people.csv"
    seen = {}

    class Cutting(JiaozuoClient):
        def send(self, method, url, **kwargs):
            response = super().send(method, url, **kwargs)
            seen["etag"] = response.headers["ETag"]
            if "length" not in seen:
                read = response.read

                def cut_read(size=-1):
                    if response.fp is not None and seen.get("read", 0) >= CUT_AFTER and "killed" not in seen:
                        seen["killed"] = True
                        web.kill()
                    block = read(size)
                    seen["read"] = seen.get("read", 0) + len(block)
                    return block

                seen["length"] = int(response.headers["Content-Length"])
                response.read = cut_read
            return response

    def back_off(_seconds):
        seen["part"] = Path(str(dest) + ".part").stat().st_size
        web.start()
        until(lambda: answers(f"{base}/healthz/"), 120, "gunicorn never served again", web)

    downloader = Cutting(base, api_client.client_id, secret, purpose="低保审核", retries=2, sleep=back_off)
    result = downloader.download(entry.resource_key, str(dest))
    assert seen["killed"] and CUT_AFTER <= seen["part"] < seen["length"]  # the cut was seen: the length said so
    assert result.resumed and result.attempts == 2 and result.verified
    body = dest.read_bytes()
    assert len(body) == seen["length"] == result.size and hashlib.sha256(body).hexdigest() == result.sha256
    assert body.count(b"\r\n") == ROWS_DOWNLOADED + 2  # trace line, header, every row

    # A clean download of the same download (its ETag: same trace, same time) gives the very same bytes.
    with client.send("GET", url, headers={"Range": "bytes=0-", "If-Range": seen["etag"]}) as response:
        assert response.status == 206 and response.headers["X-Trace-Id"] == result.trace_id
        assert response.read() == body
    # Each request's read event is written when gunicorn closes its response, after the client has the last byte.
    def reads():
        return [e.data for e in audit_log("sharing.data.read") if e.data.get("trace") == result.trace_id]

    until(lambda: len(reads()) == 2, 30, "the read events of the download", web)
    # (The cut request has none: its worker was SIGKILLed before the stream ended — see the report of issue 19.)
    assert [(e["range"], e["completed"]) for e in reads()] == [
        (f"{seen['part']}-{len(body) - 1}/{len(body)}", True), (f"0-{len(body) - 1}/{len(body)}", True)]



def deployed_gunicorn_options() -> list[str]:
    """The options of the web service's gunicorn command (docker-compose.yml; the Dockerfile's CMD says the same)."""
    import yaml

    root = processes.ROOT
    command = yaml.safe_load((root / "docker-compose.yml").read_text())["services"]["web"]["command"]
    assert command[0] == "gunicorn" and '"gunicorn", ' + ", ".join(f'"{a}"' for a in command[1:]) in (
        root / "Dockerfile").read_text()
    options, skip = [], False
    for arg in command[1:]:
        if skip or arg == "--bind":
            skip = arg == "--bind"
            continue
        options.append(arg)
    return options


def test_a_download_slower_than_gunicorns_timeout_completes_as_deployed(
        started, tmp_path, people, other_dept, other_staff, reviewer, security_admin, small_window):
    """gunicorn as deployed (its options from docker-compose.yml), its timeout cut to 2 s (a gthread worker's
    loop reports every second): a client reading a download for several times that long gets all of it. (With sync
    workers the arbiter killed the worker at the timeout, mid-file: config/gunicorn.py.)"""
    import time

    # ≈ 7 MB: more than the server's socket buffer (4 MiB) holds, so the worker still writes after the timeout.
    long_address = "河南省焦作市解放区民主路" + "幸福里小区" * 240 + "1号"
    entry, _dataset, _keys = people(2000, ("api", "download"), address=long_address)
    api_client, secret, port, base = download_consumer(other_dept, entry, other_staff, reviewer, security_admin)
    web = started(processes.Process(
        "gunicorn", [sys.executable, "-m", "gunicorn", *deployed_gunicorn_options(), "--bind",
                     f"127.0.0.1:{port}", "--workers", "1", "--timeout", "2"],
        tmp_path / "gunicorn.log", processes.django_env()))
    until(lambda: answers(f"{base}/healthz/"), 120, "gunicorn never served", web)
    # (a worker whose boot — Django's setup, ≈ 2 s on a loaded 2-core box — outlasts the 2 s is killed and booted again
    # before it serves: not what this test is about; only a timeout from here on is)
    booted = len(web.log.read_text(errors="replace"))
    client = JiaozuoClient(base, api_client.client_id, secret, purpose="低保审核", retries=0)
    url = client.url(f"/api/v1/data/{entry.resource_key}/export/", {"format": "csv"})
    body, began = bytearray(), time.monotonic()
    with client.send("GET", url) as response:
        while block := response.read(1 << 16):
            body += block
            time.sleep(0.08)  # a slow client: about 800 KiB/s
    assert time.monotonic() - began > 4, "not much slower than the timeout: the test proves nothing"
    assert body.count(b"\r\n") == 2000 + 2, web.output()
    # While it served: from the boot to the download's access-log line, which the worker writes once the last byte is
    # in the socket — the client may read the kernel's buffers for seconds after that (CI of d8c372d: the worker
    # logged the download at :20, the client read until after :22, and the idle worker missed its 2 s beat at :22 on
    # the loaded box: not what this test is about).
    until(lambda: "/export/" in web.log.read_text(errors="replace")[booted:], 30, "the download's access log", web)
    log = web.log.read_text(errors="replace")
    served = log.index("\n", log.index("/export/", booted))
    assert "WORKER TIMEOUT" not in log[booted:served], web.output()
