"""Database push runs against a real second database (R22.1): batches, only changes, deletions, a refusing target,
resume without duplicates, grant checked at the moment of the run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aggregation.services import pools as agg
from portal.services.jobs import reap_stale_jobs
from security import crypto
from sharing.choices import GrantState
from sharing.models import PushRun, PushSubscription
from sharing.push import run as push_engine
from sharing.push.errors import ERRORS
from sharing.services import push as push_services
from tests.sharing.helpers import PHONE, refused_dsn, rows_for, target_rows
from tests.support import stored_row, stored_rows

TABLE = "hj_people"


def subscribe(actor, grant, dsn, table=TABLE):
    return push_services.push_subscription_create(actor=actor, grant_id=grant.pk, dsn=dsn, table=table,
                                                  interval_minutes=30)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_push_changes_only_survives_a_refusing_target_and_resumes_without_duplicates(
        people_push, target_dsn, other_staff, staff, monkeypatch, audit_log):
    entry, grant, keys = people_push
    sub = subscribe(other_staff, grant, target_dsn)
    assert "postgres" not in sub.target_dsn_enc and crypto.decrypt(sub.target_dsn_enc) == target_dsn
    created = audit_log("sharing.push.created")[-1]
    assert target_dsn not in str(created.data) and created.data["table"] == TABLE

    # 1. First run, three batches of at most 3 rows: everything, rendered as the pull renders it.
    monkeypatch.setattr(push_engine, "BATCH", 3)
    run = push_engine.push_run(subscription_id=sub.pk)
    assert run.status == "succeeded" and run.rows == 7 and run.batches == 3 and run.error_code == ""
    rows = target_rows(target_dsn, TABLE)
    assert len(rows) == 7
    data, deleted = next(iter(rows.values()))
    assert not deleted and data["联系电话"] == PHONE and data["性别"] == "男"  # granted: in full
    assert "*" in data["公民身份号码"] and data["姓名"].startswith("张*")  # base items, not granted: masked
    assert "户籍地址" not in data and data["under_verification"] is False and "integrity" not in data
    sub.refresh_from_db()
    last = max(stored_rows(entry.dataset), key=lambda r: (r.updated_at, r.id))
    assert (sub.watermark_at, sub.watermark_id) == (last.updated_at, last.id)
    assert (run.watermark_to_at, run.watermark_to_id) == (last.updated_at, last.id) and run.watermark_from_at is None
    delivered = audit_log("sharing.push.delivered")
    assert len(delivered) == 1 and delivered[0].data["rows"] == 7 and delivered[0].department_id == grant.consumer_id
    assert delivered[0].data["masked"] == ["公民身份号码", "姓名"] and delivered[0].data["grant"] == grant.pk

    # 2. Nothing changed: nothing sent.
    assert push_engine.push_run(subscription_id=sub.pk).rows == 0

    # 3. One row changed, one deleted: only those two.
    agg.records_upsert(actor=staff, dataset=entry.dataset, rows=rows_for([keys[1]], sex="女"))
    agg.record_delete(actor=staff, dataset=entry.dataset, key=keys[2], reason="注销")
    run = push_engine.push_run(subscription_id=sub.pk)
    assert (run.status, run.rows, run.deleted_rows) == ("succeeded", 2, 1)
    rows = target_rows(target_dsn, TABLE)
    assert len(rows) == 7
    changed, gone = stored_row(entry.dataset, keys[1]), stored_row(entry.dataset, keys[2])
    assert rows[changed.id][0]["性别"] == "女"
    assert rows[gone.id][1] is True and "联系电话" not in rows[gone.id][0] and rows[gone.id][0]["deleted"] is True

    # 4. The target refuses connections: a receipt with a stable code, the watermark stays, nothing leaks.
    sub.refresh_from_db()
    mark = (sub.watermark_at, sub.watermark_id)
    PushSubscription.objects.filter(pk=sub.pk).update(target_dsn_enc=crypto.encrypt(refused_dsn(target_dsn)))
    agg.records_upsert(actor=staff, dataset=entry.dataset, rows=rows_for([keys[3], keys[4]], sex="女"))
    run = push_engine.push_run(subscription_id=sub.pk)
    assert run.status == "failed" and run.error_code == "connection_refused" and run.rows == 0
    assert run.error_message and "127.0.0.1" not in run.error_message and "postgres" not in run.error_message
    sub.refresh_from_db()
    assert (sub.watermark_at, sub.watermark_id) == mark and sub.active  # not paused: the target is at fault
    failed = audit_log("sharing.push.failed")
    assert len(failed) == 1 and failed[0].data["code"] == "connection_refused" and failed[0].result == "failure"
    # Where the data was to go is recorded (host:port/database), never the DSN with its user or password.
    assert failed[0].data["target"] == sub.target_label and "postgres@" not in str(failed[0].data)

    # 5. Fixed: the next run resumes from the kept watermark, no duplicates.
    PushSubscription.objects.filter(pk=sub.pk).update(target_dsn_enc=crypto.encrypt(target_dsn))
    run = push_engine.push_run(subscription_id=sub.pk)
    assert (run.status, run.rows) == ("succeeded", 2) and (run.watermark_from_at, run.watermark_from_id) == mark
    rows = target_rows(target_dsn, TABLE)
    assert len(rows) == 7 and sum(1 for d, _x in rows.values() if d.get("性别") == "女") == 3

    # 6. Re-sending everything (a crash between the target's commit and ours) changes nothing: idempotent upsert.
    PushSubscription.objects.filter(pk=sub.pk).update(watermark_at=None, watermark_id=0)
    run = push_engine.push_run(subscription_id=sub.pk)
    assert run.rows == 7 and target_rows(target_dsn, TABLE) == rows
    assert PushRun.objects.filter(subscription=sub).count() == 6


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_run_that_dies_mid_way_keeps_the_acknowledged_batches_and_resumes(people_push, target_dsn, other_staff,
                                                                             monkeypatch):
    _entry, grant, _keys = people_push
    sub = subscribe(other_staff, grant, target_dsn)
    monkeypatch.setattr(push_engine, "BATCH", 3)
    real = push_engine._render_batch
    calls = {"n": 0}

    def flaky(call, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        return real(call, rows)

    monkeypatch.setattr(push_engine, "_render_batch", flaky)
    run = push_engine.push_run(subscription_id=sub.pk)
    assert (run.status, run.error_code, run.rows, run.batches) == ("failed", "internal_error", 3, 1)
    assert "worker lost" not in run.error_message
    assert len(target_rows(target_dsn, TABLE)) == 3
    sub.refresh_from_db()
    assert sub.watermark_id == run.watermark_to_id and sub.watermark_at is not None
    monkeypatch.setattr(push_engine, "_render_batch", real)
    run = push_engine.push_run(subscription_id=sub.pk)
    assert (run.status, run.rows) == ("succeeded", 4) and len(target_rows(target_dsn, TABLE)) == 7


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_incompatible_existing_table_is_a_stable_error(people_push, target_dsn, other_staff):
    import psycopg

    _entry, grant, _keys = people_push
    with psycopg.connect(target_dsn) as conn:
        conn.execute("CREATE TABLE other_table (id int PRIMARY KEY, name text)")
    sub = subscribe(other_staff, grant, target_dsn, table="other_table")
    run = push_engine.push_run(subscription_id=sub.pk)
    assert (run.status, run.error_code) == ("failed", "target_table_mismatch")


@pytest.mark.django_db
def test_a_run_whose_worker_died_is_failed_as_interrupted_by_the_reaper(people_push, other_staff, audit_log,
                                                                        settings):
    _entry, grant, _keys = people_push
    sub = subscribe(other_staff, grant, "postgresql://u@127.0.0.1:1/db")
    stale, now = dt.timedelta(seconds=settings.PORTAL["PUSH_STALE_SECONDS"]), timezone.now()
    dead = PushRun.objects.create(subscription=sub, trigger="manual", requested_by=other_staff,
                                  heartbeat_at=now - stale - dt.timedelta(seconds=1))
    alive = PushRun.objects.create(subscription=sub, heartbeat_at=now - stale + dt.timedelta(seconds=30))
    assert reap_stale_jobs(now=now)[PushRun._meta.label_lower] == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, dead.error_code, dead.error_message) == ("failed", "interrupted", str(ERRORS["interrupted"]))
    assert dead.finished_at == now and alive.status == "running"
    # The subscription as the run's own end with that code leaves it: its last run, still active.
    sub.refresh_from_db()
    assert sub.last_run_at == now and sub.active and not sub.paused_reason
    (event,) = audit_log("sharing.push.failed")
    assert (event.object_type, event.object_id, event.department_id, event.result) == (
        "sharing.pushsubscription", str(sub.pk), grant.consumer_id, "failure")
    assert (event.data["run"], event.data["code"], event.data["paused"]) == (dead.pk, "interrupted", False)
    assert (event.data["target"], event.data["trigger"], event.data["rows"]) == (sub.target_label, "manual", 0)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_run_sends_heartbeats_and_stops_once_the_reaper_failed_it(people_push, target_dsn, other_staff,
                                                                    monkeypatch, audit_log):
    _entry, grant, _keys = people_push
    sub = subscribe(other_staff, grant, target_dsn)
    monkeypatch.setattr(push_engine, "BATCH", 3)
    real = push_engine._render_batch
    beats = []

    def reaped_during_the_second_batch(call, rows):
        beats.append(PushRun.objects.get(subscription=sub).heartbeat_at)
        if len(beats) == 2:  # the worker looks dead to the reaper (a day without heartbeat)
            reap_stale_jobs(now=timezone.now() + dt.timedelta(days=1))
        return real(call, rows)

    monkeypatch.setattr(push_engine, "_render_batch", reaped_during_the_second_batch)
    run = push_engine.push_run(subscription_id=sub.pk)
    assert beats[0] is None and beats[1] is not None  # a heartbeat per batch delivered
    # The reaper's verdict stands; the receipt counts both batches the target acknowledged, the run stopped there.
    assert (run.status, run.error_code, run.rows, run.batches) == ("failed", "interrupted", 6, 2)
    assert len(target_rows(target_dsn, TABLE)) == 6
    sub.refresh_from_db()
    assert sub.watermark_id == run.watermark_to_id and sub.last_run_at == run.finished_at
    assert [e.data["run"] for e in audit_log("sharing.push.failed")] == [run.pk] and not audit_log(
        "sharing.push.delivered")
    monkeypatch.setattr(push_engine, "_render_batch", real)
    run = push_engine.push_run(subscription_id=sub.pk)
    assert (run.status, run.rows) == ("succeeded", 1) and len(target_rows(target_dsn, TABLE)) == 7



@pytest.mark.django_db
@pytest.mark.parametrize(("change", "code"), [
    ({"state": GrantState.REVOKED, "revoked_at": timezone.now()}, "no_grant"),
    ({"valid_to": dt.date(2020, 1, 31), "valid_from": dt.date(2020, 1, 1)}, "grant_expired"),
    ({"state": GrantState.EXPIRED}, "grant_expired"),
    ({"methods": ["api"]}, "no_grant"),
])
def test_the_grant_is_checked_at_the_moment_of_the_run(people_push, other_staff, audit_log, change, code):
    from sharing.models import Grant

    _entry, grant, _keys = people_push
    sub = subscribe(other_staff, grant, "postgresql://u:secret@127.0.0.1:1/db")
    Grant.objects.filter(pk=grant.pk).update(**change)
    run = push_engine.push_run(subscription_id=sub.pk)
    assert (run.status, run.error_code, run.rows) == ("failed", code, 0)
    sub.refresh_from_db()
    assert not sub.active and sub.paused_reason and sub.watermark_at is None
    event = audit_log("sharing.push.failed")[-1]
    assert event.data["code"] == code and event.data["paused"] is True and "secret" not in str(event.data)
    # A paused subscription is not run by the schedule.
    assert push_engine.push_run(subscription_id=sub.pk, trigger="schedule") is None


@pytest.mark.django_db
def test_due_subscriptions_are_claimed_once(people_push, other_staff):
    _entry, grant, _keys = people_push
    due = subscribe(other_staff, grant, "postgresql://u@127.0.0.1:1/db", table="a")
    later = subscribe(other_staff, grant, "postgresql://u@127.0.0.1:1/db", table="b")
    paused = subscribe(other_staff, grant, "postgresql://u@127.0.0.1:1/db", table="c")
    PushSubscription.objects.filter(pk=later.pk).update(next_run_at=timezone.now() + dt.timedelta(minutes=5))
    PushSubscription.objects.filter(pk=paused.pk).update(active=False)
    assert push_services.push_due(enqueue=False) == [due.pk]
    assert push_services.push_due(enqueue=False) == []
    due.refresh_from_db()
    assert due.next_run_at > timezone.now() + dt.timedelta(minutes=29)


@pytest.mark.django_db
@pytest.mark.parametrize(("dsn", "table", "field"), [
    ("not a dsn", "ok_table", "dsn"),
    ("postgresql:///nohost", "ok_table", "dsn"),
    ("host=/var/run/postgresql dbname=portal", "ok_table", "dsn"),
    ("postgresql://u@h/db?passfile=/etc/passwd", "ok_table", "dsn"),
    ("postgresql://u@h/db?options=-csearch_path%3Devil", "ok_table", "dsn"),
    ("postgresql://u@127.0.0.1:5432/db", "Bad-Name", "table"),
    ("postgresql://u@127.0.0.1:5432/db", 'x"; DROP TABLE y; --', "table"),
    ("postgresql://u@127.0.0.1:5432/db", "", "table"),
])
def test_bad_subscription_input_is_refused(people_push, other_staff, dsn, table, field, audit_log):
    from portal.errors import PortalError

    _entry, grant, _keys = people_push
    with pytest.raises(PortalError) as info:
        subscribe(other_staff, grant, dsn, table=table)
    assert info.value.code == "invalid" and field in info.value.errors
    assert "not a dsn" not in str(info.value.detail)
    assert not PushSubscription.objects.exists() and not audit_log("sharing.push.created")


@pytest.mark.django_db
def test_only_the_consumer_staff_subscribe_their_push_grants(people_push, other_staff, staff, make_grant):
    from portal.errors import NotFound, PortalError

    entry, grant, _keys = people_push
    with pytest.raises(NotFound):
        subscribe(staff, grant, "postgresql://u@127.0.0.1/db")  # the provider's staff: not their grant
    api_only = make_grant(other_staff.department, entry, ["性别"], methods=("api",))
    with pytest.raises(PortalError) as info:
        subscribe(other_staff, api_only, "postgresql://u@127.0.0.1/db")
    assert info.value.code == "no_grant"


@pytest.mark.django_db
@pytest.mark.parametrize("dsn", [
    "postgresql://u@10.0.0.8:5432/db",  # a private address nobody registered
    "postgresql://u@metadata.internal/db",
    "postgresql://u@127.0.0.1,10.0.0.8/db",  # one refused host in a multi-host DSN is enough
])
def test_push_connects_only_to_registered_front_end_databases(people_push, other_staff, dsn, settings, audit_log):
    from portal.errors import PortalError

    settings.PORTAL = {**settings.PORTAL, "PUSH_ALLOWED_HOSTS": ["127.0.0.1", "192.168.50.0/24", "qzk.example.gov"]}
    _entry, grant, _keys = people_push
    with pytest.raises(PortalError) as info:
        subscribe(other_staff, grant, dsn)
    assert info.value.code == "host_not_allowed" and "dsn" in info.value.errors
    assert not PushSubscription.objects.exists() and not audit_log("sharing.push.created")


def test_host_allowed_matches_names_and_networks(settings):
    from sharing.push.target import host_allowed

    settings.PORTAL = {**settings.PORTAL, "PUSH_ALLOWED_HOSTS": ["192.168.50.0/24", "QZK.example.gov", "::1"]}
    assert host_allowed("192.168.50.7") and host_allowed("qzk.example.gov") and host_allowed("[::1]")
    assert not host_allowed("192.168.51.7") and not host_allowed("example.gov") and not host_allowed("127.0.0.1")
    settings.PORTAL = {**settings.PORTAL, "PUSH_ALLOWED_HOSTS": []}
    assert not host_allowed("192.168.50.7")  # nothing registered: no push target at all
