"""Keeps web, worker and beat running while `./portal.sh up` is in the foreground.

A child that exits on its own is started again after a back-off (1 s, 2 s, 4 s … at most 30 s). The back-off grows
only while the child keeps dying quickly (within QUICK seconds of its start); one that ran longer starts over at 1 s.
Every death is reported with its exit code and the end of the child's log.

A worker or beat that keeps dying is announced loudly after GIVE_UP_AFTER quick deaths in a row and still retried (at
most every 30 s): the pages keep working, and the jobs resume once the cause is fixed. The web process is restarted
too (its master rarely dies: the OOM killer, a kill by hand), but when it dies GIVE_UP_AFTER times in a row within
seconds (port taken, settings broken) the launcher exits with code 1: a dev portal without its web process serves
nobody, and a launcher that kept retrying in silence would look "up" while every page fails; a non-zero exit is
what a developer and a script notice.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from .core import PYTHON, Interrupted, say
from .processes import (
    Child,
    mute_signals_while_stopping,
    signals_held,
    spawn,
    stop_children,
    tail,
    wait_for_http,
)

BACKOFF_START = 1.0
BACKOFF_CAP = 30.0
QUICK = 10.0  # seconds: a death sooner than this after the start counts as "quick" (a crash, not an incident)
GIVE_UP_AFTER = 5  # quick deaths in a row: loud report (worker, beat) or the launcher's exit (web)
POLL = 0.25  # seconds between checks: Popen.poll() is a waitpid(WNOHANG), nothing to save


@dataclass
class Program:
    name: str
    argv: list[str]
    essential: bool = False  # the launcher exits non-zero when it cannot keep this one up (web)


def portal_programs(host: str, port: int) -> list[Program]:
    """The three processes of `./portal.sh up`, in start (and stop) order."""
    return [
        Program(
            "web",
            [
                PYTHON, "-m", "gunicorn", "config.wsgi:application",
                "--bind", f"{host}:{port}",
                "--workers", "2",  # the machines here have 2 cores
                "--timeout", "120",  # Excel imports and exports run long in dev
                "--access-logfile", "-",
                "--error-logfile", "-",
            ],
            essential=True,
        ),
        Program("worker", [PYTHON, "-m", "celery", "-A", "config", "worker", "-l", "info", "--concurrency", "2"]),
        # DatabaseScheduler keeps the schedule in PostgreSQL, so no celerybeat-schedule file appears.
        Program("beat", [PYTHON, "-m", "celery", "-A", "config", "beat", "-l", "info"]),
    ]


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name} (exit code {returncode})"
    return f"exit code {returncode}"


@dataclass
class _Slot:
    program: Program
    child: Child | None = None
    started: float = 0.0
    quick_deaths: int = 0  # in a row
    restart_at: float | None = None  # set while the child is dead and waiting out its back-off


class Supervisor:
    def __init__(self, programs: list[Program], env: dict[str, str], *, clock: Callable[[], float] = time.monotonic):
        self.env = env
        self.clock = clock
        self.slots = [_Slot(program) for program in programs]

    def start(self) -> None:
        for slot in self.slots:
            self._start(slot)

    def child(self, name: str) -> Child:
        slot = next(slot for slot in self.slots if slot.program.name == name)
        assert slot.child is not None, f"{name} is not running"
        return slot.child

    def run(self) -> int:
        """Supervise until SIGINT/SIGTERM (Interrupted propagates) or until web cannot be kept up (returns 1)."""
        while self.step():
            time.sleep(POLL)
        return 1

    def step(self) -> bool:
        """One round: report the children that died, start those whose back-off is over. False: give up."""
        now = self.clock()
        for slot in self.slots:
            if slot.restart_at is None and slot.child is not None and slot.child.proc.poll() is not None:
                if not self._died(slot, now):
                    return False
            elif slot.restart_at is not None and now >= slot.restart_at:
                self._start(slot)
        return True

    def stop(self) -> None:
        # Children waiting out their back-off are already gone (reaped, process group killed).
        stop_children([slot.child for slot in self.slots if slot.child is not None and slot.restart_at is None])

    def _start(self, slot: _Slot) -> None:
        with signals_held():
            slot.child = spawn(slot.program.name, slot.program.argv, self.env)  # says "started <name> (pid …)"
            slot.started = self.clock()
            slot.restart_at = None

    def _died(self, slot: _Slot, now: float) -> bool:
        """Report the death and schedule the restart; False when the launcher should give up (web only)."""
        child, name = slot.child, slot.program.name
        assert child is not None
        # Whatever the child left in its own process group (gunicorn workers still holding the port, the Celery
        # prefork pool) goes with it: the next start needs the port, and an orphaned pool would only confuse.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.proc.pid, signal.SIGKILL)
        lived = now - slot.started
        slot.quick_deaths = slot.quick_deaths + 1 if lived < QUICK else 1
        delay = min(BACKOFF_START * 2 ** (slot.quick_deaths - 1), BACKOFF_CAP)
        code = describe_exit(child.proc.returncode)
        say(f"\n!!! {name} (pid {child.proc.pid}) exited unexpectedly: {code}, after {lived:.1f}s; "
            f"last lines of {child.log}:\n{tail(child.log, 10)}")
        if slot.quick_deaths >= GIVE_UP_AFTER:
            rule = "!" * 72
            if slot.program.essential:
                say(f"\n{rule}\n!!! {name} died {slot.quick_deaths} times in a row within {QUICK:.0f}s of starting "
                    f"(last: {code}).\n!!! The portal cannot serve without it: stopping. See {child.log}.\n{rule}")
                return False
            say(f"\n{rule}\n!!! {name} died {slot.quick_deaths} times in a row within {QUICK:.0f}s of starting "
                f"(last: {code}).\n!!! Still retrying (next in {delay:.0f}s, then at most every {BACKOFF_CAP:.0f}s); "
                f"the web process stays up,\n!!! but background jobs do not run until {name} does. See {child.log}."
                f"\n{rule}")
        say(f"==> restarting {name} in {delay:.0f}s")
        slot.restart_at = now + delay
        return True


def serve(programs: list[Program], env: dict[str, str], ready_url: str,
          on_ready: Callable[[], None] = lambda: None) -> int:
    """Start the programs, wait until web answers ready_url, then supervise them until SIGINT/SIGTERM (0) or until web
    cannot be kept up (1). Everything started is stopped on the way out: SIGTERM, then SIGKILL after a grace
    period, to each child's whole process group."""
    supervisor = Supervisor(programs, env)
    try:
        supervisor.start()
        wait_for_http(ready_url, supervisor.child("web"))
        on_ready()
        return supervisor.run()
    except Interrupted as exc:
        say(f"\n==> {exc}: stopping")
        return 0
    finally:
        mute_signals_while_stopping()
        supervisor.stop()
