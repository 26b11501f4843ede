"""The backup procedure of docs/operator-guide.md, run for real: `pg_dump -Fc` of the database, `pg_restore` into an
empty new database, and the restored copy is whole — every table holds as many rows as the original, the sequences
continue where they were, and the audit trail's hash chain and seals verify on the copy (`manage.py audit_verify
--full` run against it, as the operator runs it after a restore)."""

# ruff: noqa: S603 - fixed argv lists: PostgreSQL's own client programs and this interpreter

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from portal import audit
from portal.models import AuditChainLink
from tests.aggregation.builders import ids
from tests.sharing.helpers import PEOPLE, load, published_entry, rows_for, server_dsn

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PG_DUMP, PG_RESTORE = shutil.which("pg_dump"), shutil.which("pg_restore")  # the server's version (CI: Debian's)


def _counts(dsn: str) -> dict[str, int]:
    """Rows of every table of the portal's schemas (public, and any schema the portal made, e.g. pool)."""
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2").fetchall()
        return {f"{s}.{t}": conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(s), sql.Identifier(t))).fetchone()[0] for s, t in tables}


def _sequences(dsn: str) -> dict[str, int | None]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences").fetchall())


@pytest.fixture
def restored_name():
    name = f"jz_restore_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(server_dsn("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_pg_dump_custom_format_restores_whole_into_an_empty_database(dept, staff, restored_name, tmp_path):
    entry = published_entry(dept, items=PEOPLE, name="户籍人口信息")
    dataset = load(entry, staff, rows_for(ids(25, start=600)))
    audit.seal_pending()  # chained and sealed (signed), as the beat does every 30 s
    links = AuditChainLink.objects.count()
    assert links > 0

    source = server_dsn(connection.settings_dict["NAME"])
    dump = tmp_path / "portal.dump"
    subprocess.run([PG_DUMP, "--format=custom", "--file", str(dump), "--dbname", source], check=True)
    with psycopg.connect(server_dsn("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
            sql.Identifier(restored_name)))
    restored = server_dsn(restored_name)
    subprocess.run([PG_RESTORE, "--exit-on-error", "--no-owner", "--dbname", restored, str(dump)], check=True)

    original = _counts(source)
    assert original[f"pool.r{dataset.pk}"] == 25 and original["public.portal_auditevent"] > 0
    assert _counts(restored) == original
    assert _sequences(restored) == _sequences(source)

    # The audit trail verifies on the copy: every position, event, seal and seal signature.
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": str(ROOT),
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{restored_name}"}
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace(f"{db['USER']}@", f"{db['USER']}:{db['PASSWORD']}@", 1)
    run = subprocess.run([sys.executable, "manage.py", "audit_verify", "--full"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "审计日志完好" in run.stdout and f"全量校验 {links} 个位置" in run.stdout, run.stdout
