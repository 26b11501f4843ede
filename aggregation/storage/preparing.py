"""The writer's per-row work in processes of their own (issue 18: a first load's Python was the limit).

A first load costs the loading process ≈ 10 CPU-seconds a million rows — the blind index and row digest of every
row, its one AES-GCM token, the masked forms, the CSV line — and the server ≈ 6 (bench/README.md, writer.py): one
Python process cannot keep the server busy. Here `Preparers` hands each batch to one of N worker processes
(`python -m aggregation.storage.preparing`, one per core by default: AGGREGATION["WRITE_WORKERS"]) which does exactly
what the writer's producer thread does (storage.rowwork.first_load_work: one definition, the same bytes) and sends
back the CSV to COPY and the batch's (key_hash, row_no) for the duplicate report. The loading process only streams,
and the batches come back in the order they were given.

Why plain subprocesses and not a multiprocessing pool: loads run in Celery's prefork children, which are daemonic and
may not start multiprocessing children (aggregation.ingest.parallel, the parser processes, has the same reason).
The key ring goes to the children through their stdin pipe (never the command line or the environment); each child
builds its own AES-GCM encryptor, with its own random 64-bit nonce field (security.crypto.bulk_encryptor).

Messages are length-prefixed pickles over the pipes (polars frames pickle as Arrow IPC); a child that dies makes the
load fail (RuntimeError), and the caller's transaction rolls back with it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator

from django.conf import settings

_HEADER = struct.Struct("!Q")
_END = b""


def worker_count() -> int:
    """Processes for a first load: AGGREGATION["WRITE_WORKERS"] (0 = one per core; 1 = none, the thread does it)."""
    wanted = int(settings.AGGREGATION.get("WRITE_WORKERS", 0))
    return wanted or os.cpu_count() or 1


def _send(pipe, payload: bytes) -> None:
    pipe.write(_HEADER.pack(len(payload)))
    pipe.write(payload)
    pipe.flush()


def _receive(pipe) -> bytes | None:
    head = pipe.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    size = _HEADER.unpack(head)[0]
    data = pipe.read(size)
    if len(data) < size:
        return None
    return data


class Preparers:
    """N worker processes preparing a first load's batches: `run(batches)` yields, in the batches' order,
    (rows written, (key_hash, row_no) frame of every row given, CSV bytes) — what storage.rowwork.first_load_work
    returns. Use as a context manager: the processes end with it (killed if still running)."""

    def __init__(self, workers: int, target, cipher, *, spill: str | None = None):
        """A first load's workers; with `spill` (a directory), a reload's first pass (rowwork.reload_work)."""
        settings_module = os.environ.get("DJANGO_SETTINGS_MODULE") or settings.SETTINGS_MODULE
        self.procs = []
        init = pickle.dumps({"target": target, "spec": cipher.spec, "spill": spill},
                            protocol=pickle.HIGHEST_PROTOCOL)
        for _w in range(workers):
            proc = subprocess.Popen(  # our own interpreter and module, no shell
                [sys.executable, "-m", "aggregation.storage.preparing"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, cwd=settings.BASE_DIR,
                env={**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "POLARS_MAX_THREADS": "1"})
            self.procs.append(proc)
            _send(proc.stdin, init)
        self.failure: BaseException | None = None

    def __enter__(self) -> Preparers:
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    pipe.close()

    def run(self, batches: Iterable) -> Iterator[tuple]:
        """Batch i goes to worker i mod N; a feeding thread writes them while this thread reads the results in
        order (a worker blocked on writing its result waits for this thread, which reads it in its turn: no
        deadlock, and at most one batch per worker is held beyond the pipes). `batches` is consumed by that thread:
        it must not use the database."""
        n = len(self.procs)
        given = [0]
        done = threading.Event()

        def feed():
            try:
                for i, batch in enumerate(batches):
                    _send(self.procs[i % n].stdin, pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
                    given[0] = i + 1
                    if done.is_set():
                        return
            except BaseException as exc:  # (a broken pipe: the worker died — reported by the reader below)
                self.failure = exc
            finally:
                for proc in self.procs:
                    with contextlib.suppress(OSError):
                        _send(proc.stdin, _END)
                done.set()

        thread = threading.Thread(target=feed, name="pool-writer-feed", daemon=True)
        thread.start()
        i = 0
        try:
            while True:
                if done.is_set() and i >= given[0]:
                    break
                proc = self.procs[i % n]
                data = _receive(proc.stdout)
                if data is None:
                    if done.is_set() and i >= given[0]:
                        break
                    proc.wait()
                    raise RuntimeError(f"writer worker process ended unexpectedly (exit code {proc.returncode})")
                result = pickle.loads(data)  # noqa: S301 — our own child's output
                if isinstance(result, BaseException):
                    raise result
                yield result
                i += 1
            if self.failure is not None:
                raise self.failure
        finally:
            done.set()
            thread.join(timeout=5)


def serve() -> None:
    """Worker process: the init message, then one batch after another until an empty message.

    Without django.setup(): the per-row work uses no model, no translation and no setting beyond what the init
    message carries (storage.rowwork touches no database), and the app registry costs each process ≈ 1.5 s of
    start-up (measured: importing rowwork 0.3 s, with django.setup() 2.1 s) — a first load waits for it."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # anything printed goes to stderr, not into the results
    from security.crypto import FieldCipher

    from .rowwork import first_load_work, reload_work

    inp = sys.stdin.buffer
    init = pickle.loads(_receive(inp))  # noqa: S301 — written by the parent load, through a pipe
    cipher = FieldCipher(*init["spec"])
    if init["spill"] is None:
        work = first_load_work(init["target"], cipher)
    else:
        work = reload_work(init["target"], cipher, spill=init["spill"], name=str(os.getpid()))
    while (data := _receive(inp)) not in (None, _END):
        try:
            result = work(pickle.loads(data))  # noqa: S301 — the parent's batch
        except Exception as exc:
            result = exc
        _send(out, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    serve()
