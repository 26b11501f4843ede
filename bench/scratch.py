"""A benchmark's own database: created fresh from DATABASE_URL's server, the settings pointed at it, dropped at the end
unless --keep. One place for what every database benchmark does around its measurements.

    parser.add_argument("--db", default=BENCH_DB, ...); parser.add_argument("--keep", action="store_true")
    with scratch_database(parser, args.db, keep=args.keep):
        ...  # django.setup(), migrate, load, measure
"""

from __future__ import annotations

import contextlib
import os
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/jiaozuo_portal"


def admin(url: str, sql: str) -> None:
    """Run `sql` (CREATE/DROP DATABASE) on the server's maintenance database."""
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def scratch_database(parser, db: str, *, keep: bool = False):
    base_url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not db.replace("_", "").isalnum() or db == urlsplit(base_url).path.lstrip("/"):
        parser.error("--db: a plain name other than the database of DATABASE_URL")
    admin(base_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    admin(base_url, f"CREATE DATABASE {db}")
    os.environ["DATABASE_URL"] = urlunsplit(urlsplit(base_url)._replace(path=f"/{db}"))
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.sharing_settings"  # the dev settings without DEBUG
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        if not keep:
            admin(base_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
