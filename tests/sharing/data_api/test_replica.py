"""The read replica (portal/db_router.py, DATABASE_REPLICA_URL): the data API reads its records from a second
PostgreSQL database while the policy's facts and every audit event stay on the primary.

The "replica" is a real second database cloned from the test database (CREATE DATABASE … TEMPLATE), then left behind:
subjects loaded on the primary after the clone are not on it, so what a call returns tells which database served it.
Its sessions are read-only (as DATABASE_REPLICA_URL configures them), so a write routed there would fail the call.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from openpyxl import load_workbook
from psycopg import sql

from portal.db_router import REPLICA, read_alias, replica_alias, replica_reads
from sharing.choices import GrantState
from sharing.models import Grant
from tests.aggregation.builders import ids
from tests.sharing.helpers import export_url, get, load, rows_for, server_dsn, url

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def replica(settings):
    """replica(): clone the test database as it is now into a new database and configure it as the `replica` alias
    with the router installed (what DATABASE_REPLICA_URL does); returns the clone's DSN. Dropped afterwards."""
    name = f"jz_replica_{uuid.uuid4().hex[:12]}"
    made = []

    def _make() -> str:
        source = connection.settings_dict["NAME"]
        connections.close_all()  # a template database must have no other session
        with psycopg.connect(server_dsn("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                         sql.Identifier(source)))
        made.append(name)
        default = connections.settings[DEFAULT_DB_ALIAS]
        options = dict(default.get("OPTIONS", {}))
        options["options"] = " ".join(filter(None, [options.get("options"), "-c default_transaction_read_only=on"]))
        # Kept open for the whole test (CONN_MAX_AGE None) and opened here: Django's test case refuses to open a
        # connection of an alias the test did not declare, and this alias did not exist when the test case was set up.
        connections.settings[REPLICA] = {**default, "NAME": name, "OPTIONS": options, "CONN_MAX_AGE": None,
                                         "CONN_HEALTH_CHECKS": False,
                                         "TEST": {**default.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS}}
        connections[REPLICA].connect()
        settings.DATABASE_ROUTERS = ["portal.db_router.ReplicaRouter"]
        return server_dsn(name)

    yield _make
    if REPLICA in connections.settings:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]
    for made_name in made:
        with psycopg.connect(server_dsn("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(made_name)))


def _read_events(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM portal_auditevent WHERE action = 'sharing.data.read'").fetchone()[0]


def test_data_api_reads_records_from_the_replica_and_audits_on_the_primary(replica, make_people, make_grant, staff,
                                                                          other_staff, api_as, audit_log):
    assert replica_alias() == DEFAULT_DB_ALIAS  # not configured: nothing routed
    with replica_reads():
        assert read_alias() == DEFAULT_DB_ALIAS
    entry, old_keys = make_people(3, start=700)
    make_grant(other_staff.department, entry, ["公民身份号码", "联系电话"], methods=("api", "query", "download"))
    replica_dsn = replica()
    assert replica_alias() == REPLICA
    new_keys = ids(2, start=800)
    load(entry, staff, rows_for(new_keys))  # on the primary only: the replica lags behind by these two subjects
    client = api_as(other_staff)

    # Pull: the replica's three subjects, not the primary's five.
    body = get(client, url(entry, limit=100)).json()
    assert sorted(r["公民身份号码"] for r in body["results"]) == sorted(old_keys)
    # Online query: a subject the replica holds is found, one only the primary holds is not (yet).
    found = get(client, url(entry, old_keys[1]))
    assert found.status_code == 200 and found.json()["公民身份号码"] == old_keys[1]
    assert get(client, url(entry, new_keys[0])).status_code == 404
    # Export (XLSX, rows from a server-side cursor on the replica).
    response = get(client, export_url(entry, "format=xlsx&fields=公民身份号码"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    exported = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]]
    assert len(exported) == len(old_keys)  # masked in a download; the count tells the databases apart

    # Every read's audit event on the primary (the replica is read-only and got none).
    events = audit_log("sharing.data.read")
    assert [(e.data["method"], e.data["rows"]) for e in events] == [("api", 3), ("query", 1), ("query", 0),
                                                                     ("download", 3)]
    assert _read_events(replica_dsn) == 0
    # The policy's facts come from the primary: a grant revoked there stops the next read at once.
    Grant.objects.filter(entry=entry).update(state=GrantState.REVOKED, revoked_at=timezone.now())
    refused = get(client, url(entry, fields="联系电话"))
    assert refused.status_code == 403 and refused.json()["code"] in {"no_grant", "grant_expired"}

    # The ORM: outside replica_reads() the primary; inside, reads from the replica and writes to the primary (the
    # replica's session is read-only: a write sent there would raise).
    # (The grants: the primary revoked them after the replica was taken.)
    grants = Grant.objects.filter(entry=entry)
    assert grants.count() == grants.filter(state=GrantState.REVOKED).count() > 0
    moment = timezone.now() - dt.timedelta(days=1)
    with replica_reads():
        assert not grants.all().filter(state=GrantState.REVOKED).exists()
        grant = grants.all().order_by("pk").first()
        assert grant._state.db == REPLICA
        grant.revoked_at = moment
        grant.save(update_fields=["revoked_at"])
    assert Grant.objects.get(pk=grant.pk).revoked_at == moment
