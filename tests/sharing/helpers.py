"""Helpers of the sharing tests (plain functions and constants; the fixtures are in conftest.py): data of a people
resource and its calls, a published entry, the export's URL and body, the database push's target database, a sharing
request's values."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
import uuid
from urllib.parse import urlencode

import psycopg
from django.db import connection
from django.utils import timezone
from psycopg import sql

from aggregation.services import pools as agg
from catalog.choices import EntryState, ShareType
from catalog.models import CatalogEntry, Classification, DataItem
from sharing.choices import Purpose
from tests.factories import grant_resource_defaults

_seq = itertools.count(1)

ITEMS = [
    # name, data type, base item, subject key
    ("统一社会信用代码", "C", True, True),
    ("企业名称", "C", True, False),
    ("法定代表人", "C", False, False),
    ("注册资本", "Y", False, False),
    ("成立日期", "D", False, False),
]


def published_entry(provider, share_type=ShareType.CONDITIONAL, methods=("api", "query", "download"), items=ITEMS,
                    state=EntryState.APPROVED, name=None) -> CatalogEntry:
    """An entry of `provider` (share type 2, api+query+download, ITEMS, approved) with its data items (ORM only)."""
    n = next(_seq)
    entry = CatalogEntry.objects.create(
        code=f"303/{provider.credit_code}{n:04d}" if state == EntryState.APPROVED else None,
        classification=Classification.objects.get(code="303"),
        name=name or f"企业登记信息{n}",
        provider=provider,
        provider_code=provider.credit_code,
        summary="市场主体登记信息",
        format_class="db",
        format_type="PostgreSQL",
        share_type=share_type,
        share_condition="仅用于行政审批" if share_type == ShareType.CONDITIONAL else "",
        no_share_basis="涉及商业秘密" if share_type == ShareType.NONE else "",
        exchange_methods=list(methods),
        update_cycle="daily",
        state=state,
        version=1 if state == EntryState.APPROVED else 0,
        approved_at=timezone.now() if state == EntryState.APPROVED else None,
    )
    for pos, (item, dtype, base, key) in enumerate(items, start=1):
        DataItem.objects.create(entry=entry, position=pos, name=item, data_type=dtype, is_base_item=base,
                                is_subject_key=key)
    grant_resource_defaults(entry_ids=[entry.pk])
    return entry


PEOPLE = [
    # name, data type, base item, subject key
    ("公民身份号码", "C", True, True),
    ("姓名", "C", True, False),
    ("性别", "C", False, False),
    ("联系电话", "C", False, False),
    ("户籍地址", "C", False, False),
]
PHONE = "13903910000"


def rows_for(keys, *, sex="男"):
    return [{"公民身份号码": k, "姓名": f"张{n}明", "性别": sex, "联系电话": PHONE, "户籍地址": "焦作市解放区民主路1号"}
            for n, k in enumerate(keys)]


def load(entry, staff, rows):
    dataset = agg.dataset_ensure(entry=entry)
    result = agg.records_upsert(actor=staff, dataset=dataset, rows=rows)
    assert not result.rejected, result.rejected
    return dataset


def url(entry, key=None, **params):
    base = f"/api/v1/data/{entry.resource_key}/records/" + (f"{key}/" if key else "")
    return base + ("?" + urlencode(params) if params else "")


def get(client, path, purpose="行政审批：户籍核验"):
    extra = {"HTTP_X_PURPOSE": purpose.encode().decode("latin-1")} if purpose else {}
    return client.get(path, **extra)


def pull_all(client, first):
    """Follow `next` to the end: (all rows, number of pages)."""
    rows, pages, response = [], 0, get(client, first)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"results", "next"}
        rows += body["results"]
        pages += 1
        if not body["next"]:
            return rows, pages
        response = get(client, body["next"])


def open_verification_case(record, requester, dataset=None):
    """A real open verification case (R14) on `record` — a table row (aggregation.storage.reading.Row) of `dataset`,
    or a Record —, filed by `requester` (a user of the consuming side)."""
    from aggregation.models import VerificationCase

    dataset = dataset or record.dataset
    return VerificationCase.objects.create(
        record_id=record.id, dataset=dataset, provider=dataset.entry.provider, requester=requester.department,
        key_hash=record.key_hash, fields=["性别"], description="有疑义", received_on=timezone.localdate(),
        created_by=requester)


def export_url(entry, query: str) -> str:
    return f"/api/v1/data/{entry.resource_key}/export/?{query}"


def body_of(response) -> bytes:
    assert response.status_code == 200, response.content if not response.streaming else ""
    return b"".join(response.streaming_content)


# A field quoted although it needs no quotes (no comma, quote, CR or LF, not empty), between two field separators: the
# download's fingerprint (sharing.export.fingerprint). Inside a quoted field every quote is doubled, so a quote there
# never follows a separator and precedes a plain character.
_MARK = re.compile(rb'(?<![^,\n])"([^",\r\n]+)"(?=,|\r\n)')


def unmarked(body: bytes) -> bytes:
    """The CSV rows of a download with the fingerprint's quotes taken off (written as before fingerprints)."""
    return _MARK.sub(rb"\1", body)


def marks(body: bytes) -> int:
    return len(_MARK.findall(body))


def server_dsn(dbname: str) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{dbname}"


def refused_dsn(dsn: str) -> str:
    """The same DSN on a port nobody listens on (connection refused)."""
    s = connection.settings_dict
    return dsn.replace(f":{s['PORT'] or 5432}/", ":1/")


def target_rows(dsn: str, table: str) -> dict[int, tuple]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(sql.SQL("SELECT record_id, data, deleted FROM {}").format(sql.Identifier(table)))
        return {r[0]: (r[1], r[2]) for r in rows}


def request_values(**overrides):
    today = timezone.localdate()
    values = {
        "legal_basis": "《焦作市政务数据资源管理暂行办法》第十九条",
        "duty_basis": "负责企业信用监管",
        "business_need": "核验企业法定代表人信息",
        "purpose": Purpose.VERIFICATION,
        "purpose_detail": "",
        "items": ["法定代表人", "注册资本"],
        "methods": ["api"],
        "valid_from": today,
        "valid_to": today + dt.timedelta(days=365),
    }
    values.update(overrides)
    return values


def tamper_rows(dataset, ids, *, updated_at=None, forms: dict | None = None, values: dict | None = None) -> None:
    """Change rows behind the pipeline's back in the dataset's resource table `pool.r<id>`, the one the data API reads
    (aggregation.storage.reading): `updated_at`, `forms` {item: stored masked form, None: none stored} and `values`
    {clear item: value, None: empty}. The test changes `aggregation_record` alike for the readers still reading it
    (the download, the push)."""
    from aggregation.models import Dataset
    from aggregation.storage.layout import Layout, column_ident

    layout = Layout.stored(Dataset.objects.get(pk=dataset.pk))
    sets, params = [], []
    if updated_at is not None:
        sets.append(sql.SQL("updated_at = %s"))
        params.append(updated_at)
    for item, form in (forms or {}).items():
        sets.append(sql.SQL("{} = %s").format(column_ident(layout.columns[item]["mask"])))
        params.append(form)
    for item, value in (values or {}).items():
        sets.append(sql.SQL("{} = %s").format(column_ident(layout.columns[item]["col"])))
        params.append(value)
    statement = sql.SQL("UPDATE {} SET {} WHERE id = ANY(%s)").format(layout.table, sql.SQL(", ").join(sets))
    with connection.cursor() as cur:
        cur.execute(statement.as_string(connection.connection), [*params, list(ids)])


def mirror_records(dataset_id: int, ids=None) -> None:
    """Records a test wrote into aggregation_record directly, copied into the dataset's resource table as the
    writers do (storage.moving.mirror, issue 18): the table is what the readers read."""
    from django.db import transaction

    from aggregation.storage.moving import mirror

    with transaction.atomic():
        mirror(dataset_id, ids=ids)


@contextlib.contextmanager
def fresh_database(prefix: str):
    """A fresh database (unique name) on the tests' server, its DSN; dropped afterwards (a consumer's 前置库)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server_dsn(name)
    finally:
        with psycopg.connect(server_dsn("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
