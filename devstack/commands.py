"""The launcher's commands: up (set up and run the portal), test (pytest), down (stop leftovers)."""

# ruff: noqa: S603 - a launcher runs fixed argv lists of known programs (manage.py, pg_ctl, apt-get)

from __future__ import annotations

import os
import signal
import subprocess
import warnings

from .browser import CHROMIUM, ensure_browser_packages
from .core import PYTHON, ROOT, VAR, Interrupted, header, say
from .processes import (
    check_port_free,
    django_env,
    install_signal_handlers,
    manage,
    mute_signals_while_stopping,
)
from .services import (
    Services,
    redis_pings,
    redis_socket_path,
    resolve_for_test,
    resolve_for_up,
    start_embedded_postgres,
    start_embedded_redis,
)
from .state import exclusive, secret_key, write_portal_env
from .supervisor import portal_programs, serve


def cmd_up(no_serve: bool) -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    services = Services()
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

            env = django_env(services, "config.settings.dev")
            manage(["migrate", "--noinput"], env)
            manage(["collectstatic", "--noinput", "--verbosity", "1"], env)
            seed_output = manage(["seed_demo"], env, capture=True)
            if no_serve:
                header("setup complete (--no-serve): stopping embedded services")
                return 0

            header("starting web, worker and beat")
            base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"  # noqa: S104
            # Supervised from here on: a dead worker or beat is restarted, the web process stays up (supervisor.py).
            return serve(portal_programs(host, port), env, f"{base}/",
                         on_ready=lambda: banner(base, services, seed_output))
        except Interrupted as exc:
            say(f"\n==> {exc}: stopping")
            return 0
        finally:
            mute_signals_while_stopping()
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
            env = django_env(services, "config.settings.test")
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


GUIDE_WALK = "tests/browser/test_guide_screenshots.py"


def cmd_screenshots() -> int:
    """Regenerate the user guide's screenshots (docs/guide/img/): the guide's browser walk with GUIDE_SCREENSHOTS=1."""
    os.environ["GUIDE_SCREENSHOTS"] = "1"
    return cmd_test([GUIDE_WALK, "-q", "-n", "0", "-p", "no:randomly"])


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
