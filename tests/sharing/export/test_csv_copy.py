"""Bulk CSV download: the COPY-based stream (sharing.export.csv_copy) against the plain Python rendering of the
same slice (export_rows → `portal.cells.csv_cell` → csv.writer), byte for byte, on values made to trip it: quotes,
commas, line breaks, formula heads (`-1+1`, `-2+3+cmd|…` and plain negative numbers among them), `-` with and
without a digit after it (also non-ASCII digits), empty and missing values, tokens of the current key, of an older
key and of no known key, tampered tokens, plain text in encrypted items, masked items, deleted rows, `since`,
filters, BOM, an open verification case — in blocks small enough that clean and row-by-row blocks alternate."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import override_settings
from django.utils import timezone

from aggregation.models import Record
from aggregation.services import pools as agg
from catalog.choices import ShareType
from security import crypto
from tests.sharing.helpers import open_verification_case, unmarked
from tests.support import HOSTILE_CELLS, closed_by_client, live_count

pytestmark = pytest.mark.django_db

ITEMS = [
    # name, data type, base item, subject key
    ("公民身份号码", "C", True, True),
    ("姓名", "C", True, False),
    ("性别", "C", False, False),
    ("备注", "C", False, False),
    ("户籍地址", "C", False, False),
    ("说明", "C", False, False),
]
ENCRYPTED = ("公民身份号码", "姓名", "户籍地址")
CLEAR = ("性别", "备注", "说明")

NASTY = [
    "", "plain", "中文", "a,b", 'say "hi"', '""', '"', "line1\nline2", "cr\rx", "crlf\r\nx", "trailing\n",
    "=SUM(A1)", "+1", "@x", "\tx", "\rstart", "-", "-5", "-x", "-１", "-²", "-٣", "-a,b", '-"q"', "=,", "'quote",
    *HOSTILE_CELLS, "-0.5", "-5.", "-1e5", "-5\n",
    "中文,逗号", "\x1fctl", "x\x1fy", "\\back\\", " space", "1975-06-03", "河南省焦作市博爱县某某路123号",
]
OLD_KEY = "test1:KprsXFZGTWgT8t8xSdDfLbJDBbcgiHAz0bmxVBz52KU"
NEW_KEY = "test2:Zml4ZWQtdGVzdC1rZXktbm90LXNlY3JldC0zMmJ5dGU"


def _tampered(token: str) -> str:
    kid, body = token.split(":")
    flipped = "A" if body[20] != "A" else "B"
    return f"{kid}:{body[:20]}{flipped}{body[21:]}"


def _encrypted_values(old_cipher) -> list:
    """Stored values of an encrypted item: tokens (current and old key) of every nasty text, and the odd ones."""
    cipher = crypto.cipher()
    values = [cipher.encrypt(t) for t in NASTY] + [old_cipher.encrypt(t) for t in NASTY[:12]]
    token = cipher.encrypt("被篡改")
    values += [
        _tampered(token), _tampered(old_cipher.encrypt("旧钥篡改")), "zz9:" + token.split(":")[1],
        "test2:" + "!" * 40, token + "\n", token[:-3], "明文值", "=明文", "-明文", "", None,
    ]
    return values


TAME = ["男", "女", "汉族", "1975-06-03", "4108223602037", "河南省焦作市博爱县", "户主", "未婚", "中专", "0.5", "x-1"]


def _load(dataset, rows: int) -> list[Record]:
    """`rows` records whose values change style every 7 rows (the block size of these tests): nasty clear values
    and every kind of stored encrypted value (blocks rendered row by row); tame clear values with every kind of
    encrypted value, or with tokens of nasty texts only, or with tokens of tame texts only (blocks split on the
    marker: cells value by value, decrypted in bulk then finished value by value, decrypted in bulk)."""
    from security.crypto import FieldCipher

    old_cipher = FieldCipher(OLD_KEY, "Do8hQCKqWuJDTk5QRSLGlC2kI3BAVYp4H_liMSKAN3I")
    cipher = crypto.cipher()
    mixed = _encrypted_values(old_cipher)
    nasty_tokens = [_tampered(cipher.encrypt("篡改")), *(cipher.encrypt(t) for t in NASTY if t)]  # bulk fails
    tame_tokens = [cipher.encrypt(t) for t in TAME] + [None, ""]  # missing and empty beside the tokens
    records = []
    for n in range(rows):
        style = (n // 7) % 4
        clear = NASTY if style == 0 else TAME
        encrypted = (mixed, mixed, nasty_tokens, tame_tokens)[style]
        key = f"K{n:08d}"
        # (the key's value is the row's key: the resource table's blind index is made from it)
        data = {"公民身份号码": cipher.encrypt(key) if n % 7 or style > 1 else old_cipher.encrypt(key)}
        for j, name in enumerate(CLEAR):
            if style > 1 or (n + j) % 11 != 3:  # now and then missing
                data[name] = clear[(n + 5 * j) % len(clear)]
        for j, name in enumerate(("姓名", "户籍地址")):
            value = encrypted[(n * 3 + j) % len(encrypted)]
            if value is not None:
                data[name] = value
        records.append(Record(dataset=dataset, key_hash=crypto.blind_index(key), key_enc=cipher.encrypt(key),
                              data=data, row_hash=b"\0" * 32))
    for record in records:  # a per-item token that does not authenticate has no row token to become: plain text
        record.data = {k: _authentic(v, cipher) for k, v in record.data.items()}
    made = Record.objects.bulk_create(records)
    _mirror(dataset.pk)
    _odd_row_tokens(dataset.pk, old_cipher, [r.pk for r in made])
    return made


def _authentic(value, cipher):
    if isinstance(value, str) and value.partition(":")[0] in cipher.raw_decryptors() and ":" in value:
        try:
            cipher.decrypt(value)
        except crypto.DecryptionError:
            return "不可解密" + value[-4:]
    return value


def _odd_row_tokens(dataset_id: int, old_cipher, ids: list[int]) -> None:
    """Now and then a row token of an older key, and one that does not authenticate (its encrypted items read as
    empty), in the dataset's table."""
    from django.db import connection

    with connection.cursor() as cur:
        for n, rid in enumerate(ids):
            if n % 13 not in (5, 11):
                continue
            cur.execute(f"SELECT token FROM pool.r{int(dataset_id)} WHERE id = %s", [rid])  # noqa: S608 (an int)
            token = cur.fetchone()[0]
            odd = old_cipher.encrypt(crypto.decrypt(token)) if n % 13 == 5 else _tampered(token)
            cur.execute(f"UPDATE pool.r{int(dataset_id)} SET token = %s WHERE id = %s", [odd, rid])  # noqa: S608


def _mirror(dataset_id: int, ids=None) -> None:
    """Records written here directly, copied into the dataset's resource table as the writers do
    (storage.moving.mirror), which the export reads."""
    from django.db import transaction

    from aggregation.storage.moving import mirror

    with transaction.atomic():
        mirror(dataset_id, ids=ids)


def _reference(call) -> bytes:
    from portal.cells import csv_cell
    from sharing.export.download import export_rows

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for chunk in export_rows(call):
        for row in chunk:
            writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue().encode()


@pytest.fixture
def captured(monkeypatch):
    """The DataCall of each CSV download, as the view built it."""
    from sharing.export import download

    calls = []
    original = download.csv_stream

    def spy(call, *args, **kwargs):
        calls.append(call)
        return original(call, *args, **kwargs)

    monkeypatch.setattr(download, "csv_stream", spy)
    # Many blocks: clean ones and row-by-row ones alternate.
    monkeypatch.setattr("sharing.export.csv_copy.CHUNK_ROWS", 7)
    return calls


def _download(client, entry, query: str, captured) -> tuple[bytes, object]:
    response = client.get(f"/api/v1/data/{entry.resource_key}/export/?{query}", HTTP_X_PURPOSE="x")
    assert response.status_code == 200, response.content
    raw = b"".join(response.streaming_content)
    head, header, body = raw.split(b"\r\n", 2)
    assert head.startswith(("\ufeff# " if "bom=1" in query else "# ").encode())
    call = captured[-1]
    assert header.decode().split(",") == [*call.projection, "核校中"]
    # The fingerprint (sharing.export.fingerprint) quotes a field in some rows: a CSV reader reads the same values as
    # from the rows without it, which the callers compare byte for byte with the Python rendering.
    plain = unmarked(body)
    assert _parsed(body) == _parsed(plain)
    return plain, call


def _parsed(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(), newline="")))


@override_settings(FIELD_ENCRYPTION_KEYS=f"{NEW_KEY},{OLD_KEY}")
def test_csv_body_is_the_python_rendering_byte_for_byte(make_entry, dept, staff, other_staff, make_grant, api_as,
                                                        captured, audit_log):
    entry = make_entry(provider=dept, items=ITEMS, name="户籍人口信息")
    dataset = agg.dataset_ensure(entry=entry)
    assert set(dataset.encrypted_items) == set(ENCRYPTED)
    records = _load(dataset, 230)
    open_verification_case(records[4], other_staff)
    Record.objects.filter(pk=records[9].pk).update(deleted_at=timezone.now())
    _mirror(dataset.pk, [records[9].pk])
    consumer = api_as(other_staff)
    all_items = [name for name, *_ in ITEMS]
    grant = make_grant(other_staff.department, entry, all_items, methods=("download",))

    cases = [
        (api_as(staff), "format=csv"),  # the provider: everything in full
        (consumer, "format=csv&bom=1"),  # granted every item: in full
        (consumer, "format=csv&fields=性别,备注,说明"),  # clear items only: passed through
        (consumer, "format=csv&fields=说明,户籍地址,性别&性别=plain"),  # a filter
        (consumer, "format=csv&since=" + (timezone.now() - dt.timedelta(days=1)).isoformat().replace("+", "%2B")),
    ]
    for client, query in cases:
        body, call = _download(client, entry, query, captured)
        assert body == _reference(call), query
    grant.delete()
    make_grant(other_staff.department, entry, [n for n, _t, base, _k in ITEMS if not base], methods=("download",))
    body, call = _download(consumer, entry, "format=csv", captured)  # base items masked
    assert set(call.mask_kinds) == {"公民身份号码", "姓名", "性别"}  # 性别: derived from the masked ID (R28.3)
    assert body == _reference(call)
    table = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert len(table) == 229 and [row[-1] for row in table].count("是") == 1  # every live row; the flagged one


@override_settings(FIELD_ENCRYPTION_KEYS=f"{NEW_KEY},{OLD_KEY}")
def test_masked_clear_items_and_a_stray_marker(make_entry, dept, other_staff, api_as, captured, monkeypatch):
    """A personal item stored in clear (masked, not decrypted), and a clear value that holds the stream's marker."""
    from sharing.export import csv_copy

    entry = make_entry(provider=dept, items=ITEMS, share_type=ShareType.UNCONDITIONAL, name="人口信息")
    dataset = agg.dataset_ensure(entry=entry)
    dataset.encrypted_items = ["公民身份号码", "姓名"]
    dataset.save(update_fields=["encrypted_items"])
    records = _load(dataset, 60)
    monkeypatch.setattr(csv_copy.secrets, "token_hex", lambda n: "0123456789ab")
    marker = "\x1f0123456789ab\x1f"
    Record.objects.filter(pk=records[2].pk).update(data={**records[2].data, "说明": f"x{marker}y"})
    Record.objects.filter(pk=records[30].pk).update(data={**records[30].data, "户籍地址": f"{marker}{marker}"})
    _mirror(dataset.pk, [records[2].pk, records[30].pk])
    body, call = _download(api_as(other_staff), entry, "format=csv", captured)
    assert {"公民身份号码", "姓名", "户籍地址"} <= set(call.mask_kinds) and "户籍地址" not in call.encrypted
    assert body == _reference(call)
    assert marker.encode() in body  # shown as stored (masked where masked), never taken for a cell


@override_settings(FIELD_ENCRYPTION_KEYS=f"{NEW_KEY},{OLD_KEY}")
def test_a_masked_download_reads_the_stored_masked_forms(make_entry, dept, other_staff, make_grant, api_as, captured,
                                                         monkeypatch):
    """Masked items come as the rows' stored masked forms (Record.masked), not decrypted; a row stored without its
    form, or with a form of another kind (the item's kind changed since), is decrypted and masked: the same bytes as
    the Python rendering either way."""
    from aggregation.ingest.encryption import masked_forms
    from aggregation.ingest.planning import mask_kinds_of, plan_for
    from sharing.export.csv_copy import _Blocks

    entry = make_entry(provider=dept, items=ITEMS, name="户籍人口信息")
    dataset = agg.dataset_ensure(entry=entry)
    records = _load(dataset, 230)
    kinds = mask_kinds_of(plan_for(dataset).items)
    assert kinds == {"公民身份号码": "id_number", "姓名": "name", "户籍地址": "address", "性别": "generic"}
    cipher = crypto.cipher()
    for n, record in enumerate(records):  # blocks of 7 rows: all stored, one of another kind, one without
        forms = masked_forms(record.data, kinds, cipher)
        block = (n // 7) % 3
        record.masked = ({"generic": forms.get("name", {})} if block == 1 and n % 7 == 3
                         else {} if block == 2 and n % 7 == 4 else forms)
    Record.objects.bulk_update(records, ["masked"])
    _mirror(dataset.pk)
    make_grant(other_staff.department, entry, [n for n, _t, base, _k in ITEMS if not base], methods=("download",))
    consumer = api_as(other_staff)
    careful = []
    original = _Blocks.careful
    monkeypatch.setattr(_Blocks, "careful", lambda self, block: careful.append(1) or original(self, block))
    body, call = _download(consumer, entry, "format=csv", captured)
    assert set(call.mask_kinds) == {"公民身份号码", "姓名", "性别"}
    assert body == _reference(call)
    assert 0 < len(careful) < 33  # of 33 blocks, those with all their forms stored and tame values went the fast way

    # What is stored is what is shown (the value is not decrypted again): a stored form changed behind the
    # pipeline's back shows as changed.
    Record.objects.filter(pk=records[0].pk).update(masked={"id_number": {"公民身份号码": "STORED"}})
    _mirror(dataset.pk, [records[0].pk])
    body, _call = _download(consumer, entry, "format=csv", captured)
    assert body.split(b"\r\n")[0].split(b",")[0] == b"STORED"


def test_empty_and_clear_only_slices(make_entry, dept, other_staff, make_grant, api_as, captured):
    entry = make_entry(provider=dept, items=ITEMS, name="空资源")
    dataset = agg.dataset_ensure(entry=entry)
    make_grant(other_staff.department, entry, [name for name, *_ in ITEMS], methods=("download",))
    client = api_as(other_staff)
    assert _download(client, entry, "format=csv", captured)[0] == b""
    cipher = crypto.cipher()
    Record.objects.bulk_create([
        Record(dataset=dataset, key_hash=crypto.blind_index(f"E{n}"), key_enc=cipher.encrypt(f"E{n}"),
               data={"公民身份号码": cipher.encrypt(f"E{n}"), "性别": "男", "说明": f"第{n}行"},
               row_hash=b"\0" * 32) for n in range(20)])
    _mirror(dataset.pk)
    for query in ("format=csv", "format=csv&fields=性别,说明"):
        body, call = _download(client, entry, query, captured)
        assert body == _reference(call) and body.count(b"\r\n") == 20 and b"\r\n\r\n" not in body


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as served: no transaction around it
@pytest.mark.parametrize("fields", ["性别,说明", ""])
def test_a_download_closed_midway_leaves_the_connection_usable(make_entry, dept, other_staff, make_grant, api_as,
                                                              captured, audit_log, fields):
    """The stream reads the COPY off libpq itself: closed after its first block, psycopg still cancels and drains
    the COPY, and the connection serves the next statements (the audit event, then a query)."""
    from django.db import connection

    entry = make_entry(provider=dept, items=ITEMS, name="半途资源")
    _load(agg.dataset_ensure(entry=entry), 3000)
    make_grant(other_staff.department, entry, [name for name, *_ in ITEMS], methods=("download",))
    query = "format=csv" + (f"&fields={fields}" if fields else "")
    response = api_as(other_staff).get(f"/api/v1/data/{entry.resource_key}/export/?{query}", HTTP_X_PURPOSE="x")
    stream = iter(response.streaming_content)
    next(stream), next(stream)  # the header, then the first block of rows
    closed_by_client(response)  # the client went away
    event = audit_log("sharing.data.read")[-1]
    assert event.data["completed"] is False and event.data["rows"] == 7
    assert live_count(entry.dataset) == 3000  # (a statement on the same connection)
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)


def test_bulk_decryption_helpers():
    """security.crypto's helpers for bulk readers: the same plaintexts as `decrypt`, all or nothing."""
    cipher = crypto.cipher()
    texts = ["张三", "", "河南省焦作市解放区民主路1号", "x" * 500]
    tokens = [cipher.encrypt(t) for t in texts]
    bodies = [t.split(":", 1)[1].replace("-", "+").replace("_", "/").encode() + b"==" for t in tokens]
    assert [p.decode() for p in cipher.open_many(bodies)] == texts == [crypto.decrypt(t) for t in tokens]
    with pytest.raises(crypto.DecryptionError):
        cipher.open_many([*bodies[:2], _tampered(tokens[2]).split(":", 1)[1].encode() + b"=="])
    raw = crypto._b64decode(tokens[0].split(":", 1)[1])
    assert cipher.raw_decryptors()[cipher.current_kid](raw[:12], raw[12:], None) == "张三".encode()


@override_settings(FIELD_ENCRYPTION_KEYS=f"{NEW_KEY},{OLD_KEY}")
def test_a_fingerprinted_download_reads_as_the_unfingerprinted_one(make_entry, dept, other_staff, make_grant, api_as,
                                                                  captured, monkeypatch):
    """The fingerprint (sharing.export.fingerprint) changes bytes, never values: the same slice with and without it,
    read by the csv module, over quotes, commas, line breaks, guarded `=` values, decrypted and masked items."""
    from sharing.export.fingerprint import Marker
    from sharing.export.leaks import trace_file

    entry = make_entry(provider=dept, items=ITEMS, name="户籍人口信息")
    _load(agg.dataset_ensure(entry=entry), 230)
    consumer = api_as(other_staff)
    grant = make_grant(other_staff.department, entry, [name for name, *_ in ITEMS], methods=("download",))
    bodies = {}
    for label, items in (("decrypted", None), ("masked", [n for n, _t, base, _k in ITEMS if not base])):
        if items:
            grant.delete()
            make_grant(other_staff.department, entry, items, methods=("download",))
        response = consumer.get(f"/api/v1/data/{entry.resource_key}/export/?format=csv", HTTP_X_PURPOSE="x")
        marked = b"".join(response.streaming_content).split(b"\r\n", 2)[2]
        # Every row, quoted values and line breaks included, agrees with the tracer's reading (sharing.export.leaks).
        traced = trace_file(marked)
        assert traced.best.trace == response["X-Trace-Id"] and traced.best.matched == traced.informative > 150
        with monkeypatch.context() as m:
            m.setattr(Marker, "marked", lambda self, block: block)
            response = consumer.get(f"/api/v1/data/{entry.resource_key}/export/?format=csv", HTTP_X_PURPOSE="x")
            plain = b"".join(response.streaming_content).split(b"\r\n", 2)[2]
        assert marked != plain and len(marked) - len(plain) >= 2 * 30, label  # ≈ one row in four quoted a field
        assert _parsed(marked) == _parsed(plain), label
        bodies[label] = _parsed(plain)
    assert any("'=" in v for row in bodies["decrypted"] for v in row)  # guarded values among them
    assert any('"' in v or "," in v or "\n" in v for row in bodies["decrypted"] for v in row)
    assert any("*" in row[0] for row in bodies["masked"])
