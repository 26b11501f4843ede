"""Give the application's database role what it needs and nothing more (等保 8.1.4.2: least privilege).

Deployment runs two PostgreSQL roles: the owner (owns the schema, runs `migrate`) and the application role (web,
worker, beat). Run this as the owner after every `migrate` (docker-compose's migrate service does):

    manage.py grant_app_role portal_app

The application role gets SELECT/INSERT/UPDATE/DELETE on every table and USAGE on every sequence of the schema —
except the audit trail's tables (portal.audit.APPEND_ONLY_MODELS), where it gets SELECT and INSERT only: no
UPDATE, DELETE or TRUNCATE, so a compromised application cannot rewrite or empty the trail even past the
triggers (which an owner could drop; the application role cannot). TRUNCATE, REFERENCES and TRIGGER are granted
on nothing. TEMP on the database (the ingest's staging tables) and CONNECT are granted.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

from portal.audit import APPEND_ONLY_MODELS


def grant_app_role(role: str) -> None:
    """Run the grants for `role` in one transaction (the caller's connection must own the schema)."""
    r = sql.Identifier(role)
    append_only = [sql.Identifier(m._meta.db_table) for m in APPEND_ONLY_MODELS]
    statements = [
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
            sql.Identifier(connection.settings_dict["NAME"]), r),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(r),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(r),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(r),
        sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(sql.SQL(", ").join(append_only), r),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(r),
    ]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cur.fetchone() is None:
            raise CommandError(f"PostgreSQL role {role!r} does not exist")
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        if cur.fetchone()[0]:
            raise CommandError(f"PostgreSQL role {role!r} is a superuser: a superuser ignores every grant")
        for statement in statements:
            cur.execute(statement)


class Command(BaseCommand):
    help = "Grant the application's (non-owner) database role its privileges; the audit tables stay insert-only."

    def add_arguments(self, parser):
        parser.add_argument("role", help="the PostgreSQL role web, worker and beat connect as")

    def handle(self, *args, role: str, **options):
        grant_app_role(role)
        self.stdout.write(f"granted {role}: DML on every table, SELECT/INSERT only on the audit trail")
