"""The processes the launcher runs: manage.py steps in the foreground, web/worker/beat in the background."""

# ruff: noqa: S603 - a launcher runs fixed argv lists of known programs (manage.py, pg_ctl, apt-get)

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .core import PYTHON, ROOT, VAR, DevstackError, Interrupted, header, say
from .services import Services


def install_signal_handlers() -> None:
    def interrupt(signum: int, _frame: object) -> None:
        raise Interrupted(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def mute_signals_while_stopping() -> None:
    # A second Ctrl-C must not abort the shutdown half-way and leave servers running.
    def patience(_signum: int, _frame: object) -> None:
        say("    still stopping, please wait…")

    signal.signal(signal.SIGINT, patience)
    signal.signal(signal.SIGTERM, patience)


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def signals_held():
    """Hold SIGINT/SIGTERM until the block ends: a child started inside is recorded before Interrupted can unwind
    past it (one started but not yet recorded would be left running)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM if the launcher dies, even by kill -9 (Linux prctl)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    # A blocked signal mask survives exec: the child must not inherit signals_held().
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def manage(args: list[str], env: dict[str, str], *, capture: bool = False) -> str:
    """Run one manage.py step in the foreground; stream its output; raise if it fails."""
    header("manage.py " + " ".join(args))
    proc = subprocess.Popen(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else None,
        text=True,
    )
    captured: list[str] = []
    try:
        if capture:
            assert proc.stdout is not None
            for line in proc.stdout:
                print(line, end="", flush=True)
                captured.append(line)
        proc.wait()
    except BaseException:
        # Interrupted: a terminal Ctrl-C reached the step too, but a SIGTERM sent to us alone did not.
        proc.terminate()
        proc.wait()
        raise
    if proc.returncode != 0:
        raise DevstackError(f"manage.py {' '.join(args)} failed with exit code {proc.returncode}")
    return "".join(captured)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path


def spawn(name: str, argv: list[str], env: dict[str, str]) -> Child:
    log = VAR / "log" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        handle.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
        handle.flush()
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            # Own session: a terminal Ctrl-C reaches only us, and we stop the children in order.
            start_new_session=True,
            preexec_fn=die_with_parent,  # the launcher is single-threaded, so preexec_fn is safe
        )
    say(f"    started {name} (pid {proc.pid}), log {log}")
    return Child(name, proc, log)


def stop_children(children: list[Child], grace: float = 20.0) -> None:
    for child in children:
        if child.proc.poll() is None:
            # SIGTERM: gunicorn finishes requests in flight, the celery worker does a warm shutdown.
            child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"    {child.name} did not stop within {grace:.0f}s; killing it")
        # Also reaps what a master left behind (gunicorn workers, the celery prefork pool).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(timeout=5)
        say(f"    stopped {child.name}")


def tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


def wait_for_http(url: str, child: Child, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise DevstackError(f"{child.name} exited with code {child.proc.returncode}:\n{tail(child.log)}")
        try:
            urllib.request.urlopen(url, timeout=5).close()  # noqa: S310 - our own http://127.0.0.1 URL
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer (a redirect to login, even a 500) means gunicorn is serving
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise DevstackError(f"{url} did not answer within {timeout:.0f}s; see {child.log}")


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As gunicorn does: connections in TIME_WAIT from a previous run must not count as "in use".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise DevstackError(f"{host}:{port} is in use ({exc.strerror}); set PORT=… for another") from None


def django_env(services: Services, settings_module: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(services.env)
    env["DJANGO_SETTINGS_MODULE"] = settings_module  # override a stray value, e.g. pytest's test settings
    env["PYTHONUNBUFFERED"] = "1"  # logs appear in var/log/*.log as they happen
    return env
