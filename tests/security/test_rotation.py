"""Key rotation (R28.3): `manage.py rotate_field_keys` walks the rotators registered with security.rotation."""

import io

import pytest
from django.core.management import call_command

from security import rotation

from .test_crypto import KEY_A, KEY_B

# With the writers writing the tables only (AGGREGATION["WRITE_RECORDS"] off) aggregation_record is not rotated: the
# tests check the resource tables and the history rows in either mode, the records only while they are written.


@pytest.mark.django_db
def test_rotate_field_keys_command_reencrypts_records_and_history(settings, staff, dept, audit_log):
    from aggregation.models import Record, RecordHistory
    from aggregation.selectors.pools import record_get, record_integrity, record_values
    from aggregation.services import pools as services
    from aggregation.storage import reading
    from tests.aggregation.builders import PEOPLE_ITEMS, ids, make_entry
    from tests.aggregation.test_storage_rotating import assert_digests_verify, history_plain, history_tokens

    entry = make_entry(dept, "户籍人口信息", PEOPLE_ITEMS)
    dataset = services.dataset_ensure(entry=entry)
    keys = ids(3)
    services.records_upsert(actor=staff, dataset=dataset, rows=[{"公民身份号码": k, "姓名": "张三"} for k in keys])
    settings.FIELD_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    call_command("rotate_field_keys", "--batch", "2", stdout=io.StringIO())
    if settings.AGGREGATION["WRITE_RECORDS"]:
        assert all(r.key_enc.startswith("test2:") for r in Record.objects.all())
        assert all(h.after["姓名"].startswith("test2:") for h in RecordHistory.objects.all())
    # The resource table and the history rows (whichever form they hold), with records or without.
    assert all(r.token.startswith("test2:") for r in reading.rows(dataset, include_deleted=True))
    tokens = history_tokens(dataset)
    assert len(tokens) >= 3 and all(t.startswith("test2:") for t in tokens)
    settings.FIELD_ENCRYPTION_KEYS = KEY_B  # the old key is gone: everything still reads
    record = record_get(dataset=dataset, key=keys[0])
    assert record_values(record, decrypt=True)["姓名"] == "张三"
    assert record_integrity(dataset=dataset).ok  # (the resource table, in either mode)
    assert_digests_verify(dataset)
    assert history_plain(dataset)  # every history row opens
    assert audit_log("security.field_keys.rotated")[0].data["records"] == 3


@pytest.mark.django_db
def test_blind_index_key_rotation(settings, staff, dept):
    from aggregation.selectors.pools import record_get, record_integrity
    from aggregation.services import pools as services
    from tests.aggregation.builders import PEOPLE_ITEMS, ids, make_entry
    from tests.aggregation.test_storage_rotating import assert_digests_verify

    dataset = services.dataset_ensure(entry=make_entry(dept, "户籍人口信息", PEOPLE_ITEMS))
    key = ids(1)[0]
    services.records_upsert(actor=staff, dataset=dataset, rows=[{"公民身份号码": key}])
    old = settings.BLIND_INDEX_KEY
    settings.BLIND_INDEX_KEY = "FdrsnhMcmKhEwoHQDDyIFPF0NlUjnNlncMmPQxjbzDU"
    assert record_get(dataset=dataset, key=key) is None  # lookups miss until the rotation ran
    call_command("rotate_field_keys", "--blind-index-from", old, stdout=io.StringIO())
    assert record_get(dataset=dataset, key=key) is not None
    assert record_integrity(dataset=dataset).ok  # (the resource table, in either mode)
    assert_digests_verify(dataset)


@pytest.fixture
def rotators(monkeypatch):
    """rotators(name=rotate, …): exactly these rotators registered, in this order; their calls are recorded."""
    calls = []

    def _register(**by_name):
        monkeypatch.setattr(rotation, "_rotators", {})
        for name, counts in by_name.items():
            def rotate(*, cipher, batch, recompute_blind_index, dry_run, on_batch, _name=name, _counts=counts):
                calls.append((_name, cipher.current_kid, batch, recompute_blind_index, dry_run))
                return dict(_counts)

            rotation.register(name, rotate)
        return calls

    return _register


def test_register_keeps_the_order_and_replaces_by_name(monkeypatch):
    monkeypatch.setattr(rotation, "_rotators", {})
    first, second, again = (lambda **kw: {}), (lambda **kw: {}), (lambda **kw: {})
    rotation.register("b.things", first)
    rotation.register("a.things", second)
    rotation.register("b.things", again)
    assert list(rotation.registered()) == ["b.things", "a.things"]
    assert rotation.registered()["b.things"] is again
    rotation.registered().clear()  # a copy: the registry itself is untouched
    assert len(rotation.registered()) == 2


@pytest.mark.django_db
def test_the_command_walks_the_registry_in_order_and_audits_once(rotators, audit_log):
    calls = rotators(**{"one.app": {"records": 2, "history": 1}, "other.app": {"records": 3, "files": 4}})
    out = io.StringIO()
    call_command("rotate_field_keys", "--batch", "7", "--blind-index-from", "old", stdout=out)
    assert [c[0] for c in calls] == ["one.app", "other.app"]
    assert calls[0][1:] == ("test1", 7, True, False)
    [event] = audit_log("security.field_keys.rotated")
    assert event.data == {"one.app": {"records": 2, "history": 1}, "other.app": {"records": 3, "files": 4},
                          "records": 5, "history": 1, "files": 4, "key": "test1", "blind_index_recomputed": True}
    assert out.getvalue().splitlines()[-1] == (
        "re-encrypted 5 records and 1 history rows and 4 files under key test1; blind indexes recomputed")


@pytest.mark.django_db
def test_a_dry_run_counts_and_writes_no_audit_event(rotators, audit_log):
    calls = rotators(**{"one.app": {"records": 2, "history": 0}})
    out = io.StringIO()
    call_command("rotate_field_keys", "--dry-run", stdout=out)
    assert calls == [("one.app", "test1", 2000, False, True)]
    assert audit_log("security.field_keys.rotated") == []
    assert out.getvalue().strip() == "would re-encrypt 2 records and 0 history rows under key test1"
