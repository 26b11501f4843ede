"""Moving a dataset's rows from `aggregation_record` into its resource table `pool.r<id>` (issue 18, item 1), and
proving the move.

The move is what the switch migration calls (`move_all`) for the records written before the writers mirrored them
(`mirror`, below: every writer of aggregation_record copies its rows into the table in the same transaction, while
the readers move onto storage.reading one by one); running it again is harmless (a dataset whose table holds its rows
is verified, never written twice).

Per dataset, in one transaction holding the dataset's row locked (as a load does: no load writes records meanwhile)
and the table locked against other writers:

1. every record (soft-deleted ones too) is read once, in id order, through a server-side cursor, BATCH rows at a
   time (memory is bounded by the batch, not the dataset);
2. column-wise: the JSON decoded by polars into a column per item of the stored layout (retired items too: their
   columns and the token keep their values), each column's per-item tokens opened together; per row the blind index
   of the key and the row digest recomputed — the writer's definition (encryption.row_digest over the current items'
   non-empty values) — and compared with the stored ones: a different stored hash is counted and listed, and the
   recomputed one is written (the writer compares digests: a stale one would make the next load rewrite the row);
3. the values are checked against their column's SQL type (polars): a value that does not fit refuses the dataset's
   move with the rows listed (nothing is dropped silently — a soft-deleted row's too: its value is history); so do
   values of an item the layout does not know and tokens that do not authenticate;
4. the batch goes through the writer's own stage (storage.writing: ONE token per row sealing the encrypted items,
   typed columns) and from there into the table with the record's id, version and timestamps; the masked columns
   come from the stored masked forms (Record.masked; a missing form is masked now and counted); job_id stays NULL
   (the record's insert history row exists);
5. the counts are audited (aggregation.dataset.moved) and pool.row_id_seq is set above every record id.

`dataset_verify` re-reads both sides and returns their differences (values compared in plain text: tokens opened on
both sides; it takes no lock, so run it when no load writes the dataset); the command
`manage.py pool_move [--dataset ID] [--verify]` runs either.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import polars as pl
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from psycopg import sql

from portal import audit
from portal.errors import PortalError
from security.crypto import FieldCipher
from security.masking import mask

from ..ingest import planning
from ..ingest.encryption import row_digest
from ..ingest.validation import clean_text
from ..models import Dataset
from . import ddl, writing
from .layout import SCHEMA, SEQUENCE, Layout, column_ident
from .reading import open_tokens
from .rowwork import Column, Target
from .writing import cipher as storage_cipher

BATCH = 20_000  # records per batch: ≈ 160 MB above the process's own at 1 M rows (bench/pool_move.py)
LISTED = 20  # rows named in a refusal or a difference list; the rest are counted

# A value fits its column when PostgreSQL's input function takes it (a bug guard on data the converters of
# ingest/validation.py checked when it was loaded). PostgreSQL 15 has no pg_input_is_valid, so the test is a polars
# expression per type, no laxer than the input function (the stage's COPY stays the last guard).
_NUMERIC = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def _unfit_expr(name: str, sql_type: str) -> pl.Expr | None:
    col = pl.col(name)
    if sql_type == "date":
        bad = col.str.to_date("%Y-%m-%d", strict=False).is_null()
    elif sql_type == "timestamp":
        bad = col.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False).is_null()
    elif sql_type == "bigint":
        bad = ~col.str.contains(r"^[+-]?[0-9]{1,18}$")
    elif sql_type == "numeric":
        bad = ~col.str.contains(_NUMERIC)
    elif sql_type == "boolean":
        bad = ~col.is_in(["true", "false"])
    else:
        return None
    return (col != "") & bad


class MoveRefused(PortalError):
    code = "pool_move_refused"
    status = 409
    default_detail = gettext_lazy("数据集的记录不能迁移到资源表")


@dataclass
class MoveResult:
    dataset_id: int
    moved: int = 0
    deleted: int = 0  # of `moved`: soft-deleted records
    skipped: bool = False  # the table held the rows already (then `differences` is the verification's)
    key_hash_recomputed: int = 0
    row_hash_recomputed: int = 0
    masks_computed: int = 0  # masked forms not stored (or stored under another kind), masked now
    recomputed_ids: list[int] = field(default_factory=list)  # the first LISTED records of the two counts above
    differences: list[str] = field(default_factory=list)

    def counts(self) -> dict:
        return {"moved": self.moved, "deleted": self.deleted, "skipped": self.skipped,
                "key_hash_recomputed": self.key_hash_recomputed, "row_hash_recomputed": self.row_hash_recomputed,
                "masks_computed": self.masks_computed, "recomputed_ids": self.recomputed_ids}


@dataclass
class VerifyResult:
    dataset_id: int
    records: int = 0
    rows: int = 0
    differing: int = 0  # records whose row is missing or differs
    differences: list[str] = field(default_factory=list)  # the first LISTED, without personal values

    @property
    def clean(self) -> bool:
        return self.records == self.rows and not self.differing


@dataclass(frozen=True)
class _Shape:
    """What a dataset's records become: every item of the stored layout (retired ones too: their columns keep the
    values), the current ones (the digest's), the masked columns, and the writer's Target of all of them — without
    masks, which come from the stored forms."""

    layout: Layout
    key_item: str
    target: Target
    live: frozenset[str]
    masks: tuple[tuple[str, str, str], ...]  # (item, m<n>, kind)

    @classmethod
    def of(cls, dataset: Dataset) -> _Shape:
        layout = Layout.stored(dataset)
        items = sorted(layout.columns.items(), key=lambda i: int((i[1].get("col") or i[1].get("mask") or "c0")[1:]))
        target = Target(dataset_id=dataset.pk, table=layout.qualified, key_item=dataset.key_item_name,
                        columns=tuple(Column(name, e["col"], e["type"], bool(e["encrypted"])) for name, e in items))
        masks = tuple((name, m, kind) for name, m, kind in layout.masked() if kind)
        return cls(layout, dataset.key_item_name, target, frozenset(layout.live), masks)


@dataclass
class _Batch:
    """One batch of records made ready: the frame the writer's stage takes (row_no = id, key_hash, one Utf8 column
    per item, row_hash), the masked columns, the findings."""

    frame: pl.DataFrame
    masks: dict[str, list[str | None]]
    stored_key_hash: list[bytes]
    stored_row_hash: list[bytes]
    unknown: dict[str, list[int]]  # item not in the layout → record ids
    broken: list[int]  # a token that does not authenticate
    masks_computed: int


def _prepare(shape: _Shape, cipher: FieldCipher, rows: list[tuple]) -> _Batch:
    """rows: (id, key_hash, data JSON text, masked JSON text, row_hash, holds items outside the layout).

    Column-wise: the JSON decoded by polars into one Utf8 column per item, each column's tokens opened together;
    per row only the two hashes (FieldCipher.blind_index, encryption.row_digest: the definitions of one place)."""
    names = [c.item for c in shape.target.columns]
    ids = [r[0] for r in rows]
    unknown: dict[str, list[int]] = {}
    for rid, *_rest, extra in rows:
        if extra:  # (rare: decoded again to name the items)
            for item, value in json.loads(_rest[1]).items():
                if item not in names and value not in (None, ""):
                    unknown.setdefault(item, []).append(rid)
    data = pl.Series("d", [r[2] for r in rows], dtype=pl.Utf8).str.json_decode(
        pl.Struct(dict.fromkeys(names, pl.Utf8))).struct.unnest()
    kids = list(cipher.raw_decryptors())
    broken: set[int] = set()
    columns: dict[str, list[str]] = {}
    for name in names:
        values = data[name].fill_null("").to_list()
        tokens = [i for i, v in enumerate(values) if v.partition(":")[0] in kids and ":" in v]
        for i, text in zip(tokens, open_tokens([values[i] for i in tokens], cipher), strict=True):
            if text is None:
                broken.add(ids[i])
                values[i] = ""
            else:
                values[i] = text
        columns[name] = values
    del data
    blind = cipher.blind_index
    key_hashes = [blind(k) for k in columns[shape.key_item]]
    live = [n for n in names if n in shape.live]
    row_hashes = [row_digest(cipher, {n: v for n, v in zip(live, row, strict=True) if v})
                  for row in zip(*(columns[n] for n in live), strict=True)]
    masks: dict[str, list[str | None]] = {}
    computed = 0
    if shape.masks:
        kinds = sorted({k for _i, _m, k in shape.masks})
        forms = pl.Series("m", [r[3] for r in rows], dtype=pl.Utf8).str.json_decode(pl.Struct({
            kind: pl.Struct({i: pl.Utf8 for i, _m, k in shape.masks if k == kind}) for kind in kinds}))
        for item, m, kind in shape.masks:
            stored = forms.struct.field(kind).struct.field(item).to_list()
            values = columns[item]
            out = []
            for value, form in zip(values, stored, strict=True):
                if not value:
                    form = None
                elif form is None:  # no stored form (a row older than them, or a kind changed since)
                    form = mask(value, kind)
                    computed += 1
                out.append(form)
            masks[m] = out
    frame = pl.DataFrame({"row_no": ids, "id": ids, "key_hash": key_hashes, **columns, "row_hash": row_hashes},
                         schema={"row_no": pl.Int64, "id": pl.Int64, "key_hash": pl.Binary,
                                 **dict.fromkeys(names, pl.Utf8), "row_hash": pl.Binary})
    return _Batch(frame, masks, [bytes(r[1]) for r in rows], [bytes(r[4]) for r in rows], unknown, sorted(broken),
                  computed)


def _unfit(shape: _Shape, frame: pl.DataFrame) -> list[tuple[int, str, str]]:
    """(record id, item, value) of the plain values that do not fit their column's type."""
    out = []
    for c in shape.target.columns:
        if c.column and (expr := _unfit_expr(c.item, c.sql_type)) is not None:
            bad = frame.filter(expr).select("id", c.item)
            out += [(rid, c.item, value) for rid, value in bad.iter_rows()]
    return out


def _records(cur, shape: _Shape, name: str, size: int, *, ids: list[int] | None = None,
             since=None) -> Iterator[list[tuple]]:
    """The dataset's records in id order, `size` at a time (a named cursor: one pass, bounded memory), each with
    whether it holds an item the layout does not know; only those of `ids` / written at or after `since` when
    given."""
    where, params = "", []
    if ids is not None:
        where, params = " AND id = ANY(%s)", [list(ids)]
    elif since is not None:
        where, params = " AND updated_at >= %s", [since]
    with cur.connection.cursor(name=name) as rows:
        rows.itersize = size
        rows.execute("SELECT id, key_hash, data::text, masked::text, row_hash, (data - %s::text[]) <> '{}'::jsonb "
                     "FROM aggregation_record WHERE dataset_id = %s" + where + " ORDER BY id",
                     [[c.item for c in shape.target.columns], shape.layout.dataset_id, *params])
        while batch := rows.fetchmany(size):
            yield batch


def _table_count(cur, layout: Layout) -> int:
    cur.execute(sql.SQL("SELECT count(*) FROM {}").format(layout.table))
    return cur.fetchone()[0]


def _record_count(cur, dataset_id: int) -> int:
    cur.execute("SELECT count(*) FROM aggregation_record WHERE dataset_id = %s", [dataset_id])
    return cur.fetchone()[0]


# The stored masked forms of a batch, beside the writer's stage (which has no masked columns here).
_MASKS = "pool_move_masks"

_INSERT = """
INSERT INTO {table} (id, key_hash, token, {items}row_hash, job_id, version, created_at, updated_at, deleted_at)
SELECT s.id, s.key_hash, s.token, {from_stage}s.row_hash, NULL, r.version, r.created_at, r.updated_at, r.deleted_at
  FROM {stage} s JOIN aggregation_record r ON r.id = s.id {masks_join}
 ORDER BY s.id
"""


def _insert_statement(shape: _Shape, stage: str) -> sql.Composed:
    plain = [c.column for c in shape.target.columns if c.column]
    masks = [m for _i, m, _k in shape.masks]
    items = [column_ident(c) for c in plain + masks]
    from_stage = [sql.SQL("s.{}").format(column_ident(c)) for c in plain]
    from_stage += [sql.SQL("k.{}").format(column_ident(m)) for m in masks]
    return sql.SQL(_INSERT).format(
        table=shape.layout.table, items=sql.SQL("").join(sql.SQL("{}, ").format(i) for i in items),
        from_stage=sql.SQL("").join(sql.SQL("{}, ").format(f) for f in from_stage), stage=sql.Identifier(stage),
        masks_join=sql.SQL("JOIN {} k ON k.id = s.id").format(sql.Identifier(_MASKS)) if masks else sql.SQL(""))


def _copy_masks(cur, shape: _Shape, batch: _Batch) -> None:
    if not shape.masks:
        return
    frame = pl.DataFrame({"id": batch.frame["id"], **{m: pl.Series(m, batch.masks[m], dtype=pl.Utf8)
                                                       for _i, m, _k in shape.masks}})
    cur.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(_MASKS)))
    with cur.copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(sql.Identifier(_MASKS))) as copy:
        copy.write(frame.write_csv(include_header=False, null_value=""))


def _refusal(dataset: Dataset, *, unfit, unknown, broken, total_unfit: int) -> str:
    lines = [_("数据集「%(name)s」的记录未迁移到资源表（事务已回滚，记录不变），请先更正以下数据：")
             % {"name": dataset.entry.name}]
    for rid, item, value in unfit[:LISTED]:
        lines.append(_("记录 %(id)s「%(item)s」：“%(value)s”不符合列类型") % {"id": rid, "item": item, "value": value})
    if total_unfit > LISTED:
        lines.append(_("……另有 %(n)s 个值不符合列类型") % {"n": total_unfit - LISTED})
    for item, rids in sorted(unknown.items()):
        lines.append(_("信息项「%(item)s」不在资源表的列中：%(n)s 条记录有值（如记录 %(ids)s）")
                     % {"item": item, "n": len(rids), "ids": ", ".join(map(str, rids[:5]))})
    if broken:
        lines.append(_("%(n)s 个密文无法解密（如记录 %(ids)s）")
                     % {"n": len(broken), "ids": ", ".join(map(str, broken[:5]))})
    return "\n".join(lines)


def _set_sequence(cur) -> None:
    """pool.row_id_seq above every record id (moved or not: ids are one space until aggregation_record goes)."""
    seq = f"{SCHEMA}.{SEQUENCE}"
    cur.execute(f"SELECT setval(%s::regclass, greatest((SELECT last_value FROM {seq}), "  # noqa: S608 (constants)
                "(SELECT coalesce(max(id), 0) FROM aggregation_record)))", [seq])


def _converted(cur, dataset: Dataset, shape: _Shape, cipher: FieldCipher, ready: _Batch,
               bad: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """The mirror's values that do not fit a column retyped since they were stored (an approved catalog update
    converts the table's values, not the records'): converted in `ready` as storage.ddl's retype converted the table's
    — the item's converter gives the canonical text, a deleted record's value that does not convert is emptied —
    and the row digests of the rows changed recomputed. What is left does not convert (a live record's value)."""
    specs = planning.plan_for(dataset).by_name
    cur.execute("SELECT id FROM aggregation_record WHERE id = ANY(%s) AND deleted_at IS NOT NULL",
                [[rid for rid, _i, _v in bad]])
    deleted = {r[0] for r in cur.fetchall()}
    ids = ready.frame["id"].to_list()
    at = {rid: n for n, rid in enumerate(ids)}
    columns = {item: ready.frame[item].to_list() for item in {i for _r, i, _v in bad}}
    left, touched = [], set()
    for rid, item, value in bad:
        canonical, problem = ddl.converter_of(dataset, specs[item])(clean_text(value)) if item in specs else ("", "?")
        if problem and rid not in deleted:
            left.append((rid, item, value))
            continue
        columns[item][at[rid]] = "" if problem else canonical
        touched.add(at[rid])
    if touched:
        ready.frame = ready.frame.with_columns(
            *(pl.Series(item, values, dtype=pl.Utf8) for item, values in columns.items()))
        live = [c.item for c in shape.target.columns if c.item in shape.live]
        hashes = ready.frame["row_hash"].to_list()
        for n in touched:
            hashes[n] = row_digest(cipher, {i: ready.frame[i][n] for i in live if ready.frame[i][n]})
        ready.frame = ready.frame.with_columns(pl.Series("row_hash", hashes, dtype=pl.Binary))
    return left


def _copy_records(cur, dataset: Dataset, shape: _Shape, cipher: FieldCipher, batches: Iterator[list[tuple]],
                  result: MoveResult, *, convert: bool = False) -> None:
    """Records (batches of `_records`) into the table, under their ids; MoveRefused, the rows listed, when a value
    does not fit its column (`convert`: unless its item's converter makes it fit, `_converted`), an item is not in the
    layout or a token does not authenticate (nothing written: the caller's transaction rolls back)."""
    # (ON COMMIT DROP does not fire inside a caller's transaction: a second dataset needs the name again)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(_MASKS)))
    if shape.masks:
        cur.execute(sql.SQL("CREATE TEMP TABLE {} (id bigint PRIMARY KEY, {}) ON COMMIT DROP").format(
            sql.Identifier(_MASKS),
            sql.SQL(", ").join(sql.SQL("{} text").format(column_ident(m)) for _i, m, _k in shape.masks)))
    unfit: list[tuple[int, str, str]] = []
    total_unfit = 0
    unknown: dict[str, list[int]] = {}
    broken: list[int] = []
    insert = None
    for rows in batches:
        ready = _prepare(shape, cipher, rows)
        bad = _unfit(shape, ready.frame)
        if bad and convert:
            bad = _converted(cur, dataset, shape, cipher, ready, bad)
        total_unfit += len(bad)
        unfit += bad[:LISTED - len(unfit)]
        for item, rids in ready.unknown.items():
            unknown.setdefault(item, []).extend(rids)
        broken += ready.broken
        _count_recomputed(result, ready)
        result.masks_computed += ready.masks_computed
        if total_unfit or unknown or broken:
            continue  # refused: go on only to list the rest
        stage = writing.stage_rows(cur, shape.target, ready.frame, cipher)
        _copy_masks(cur, shape, ready)
        insert = insert or _insert_statement(shape, stage)
        cur.execute(insert)
        result.moved += cur.rowcount
    if total_unfit or unknown or broken:
        raise MoveRefused(_refusal(dataset, unfit=unfit, unknown=unknown, broken=broken, total_unfit=total_unfit))


def dataset_move(dataset: Dataset, *, batch: int = BATCH, actor=None) -> MoveResult:
    """Copy every record of the dataset into its resource table (creating the table when the dataset predates them),
    keeping the record ids; one transaction. A table already holding as many rows as there are records is verified
    instead (`skipped`, the verification's differences); one holding another number refuses (MoveRefused) — it is
    never written twice. MoveRefused too when a value does not fit its column, an item is not in the layout or a
    token does not authenticate (the rows listed; nothing written)."""
    result = MoveResult(dataset.pk)
    cipher = storage_cipher()
    with transaction.atomic(), connection.wrap_database_errors:
        locked = Dataset.objects.select_for_update().select_related("entry", "department").get(pk=dataset.pk)
        ddl.table_create(locked, actor=actor)  # (a no-op when it exists; locked.columns is then the stored one)
        shape = _Shape.of(locked)
        connection.ensure_connection()
        with connection.connection.cursor() as cur:
            cur.execute("SELECT set_config('DateStyle', 'ISO, YMD', true)")
            cur.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(shape.layout.table))
            held = _table_count(cur, shape.layout)
            if held:
                records = _record_count(cur, locked.pk)
                if held != records:
                    raise MoveRefused(_("资源表 %(table)s 已有 %(rows)s 行，与 %(records)s 条记录不一致，未迁移")
                                      % {"table": shape.layout.qualified, "rows": held, "records": records})
                check = dataset_verify(locked)
                result.skipped = True
                result.differences = check.differences
                return result
            _copy_records(cur, locked, shape, cipher, _records(cur, shape, f"pool_move_{locked.pk}", batch), result)
            cur.execute(sql.SQL("SELECT count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM {}").format(
                shape.layout.table))
            result.deleted = cur.fetchone()[0]
            _set_sequence(cur)
            cur.execute(sql.SQL("ANALYZE {}").format(shape.layout.table))
        audit.record(actor=actor, actor_label=None if actor else "system", action="aggregation.dataset.moved",
                     obj=locked, department=locked.department,
                     data={"table": shape.layout.qualified, **result.counts()})
    return result


def _count_recomputed(result: MoveResult, ready: _Batch) -> None:
    ids = ready.frame["id"].to_list()
    kh = ready.frame["key_hash"].to_list()
    rh = ready.frame["row_hash"].to_list()
    for rid, new_k, old_k, new_r, old_r in zip(ids, kh, ready.stored_key_hash, rh, ready.stored_row_hash,
                                               strict=True):
        k, r = new_k != old_k, new_r != old_r
        result.key_hash_recomputed += k
        result.row_hash_recomputed += r
        if (k or r) and len(result.recomputed_ids) < LISTED:
            result.recomputed_ids.append(rid)


# --------------------------------------------------------------------------------------------------
# The mirror: the switch in steps


def mirror(dataset_id: int, *, ids: Iterable[int] | None = None, since=None) -> int:
    """Copy records written in the caller's transaction into the dataset's resource table (the rows of `ids`, or of
    records written at or after `since`, or — neither given — every record); the number of rows written.

    Transitional, while the readers move onto `storage.reading` one by one (issue 18's switch done in steps, each
    landing green, instead of one change no reader may see half of): the writers still write `aggregation_record`
    and every one of them calls this in the same transaction, so the table always equals the records
    (`dataset_verify` is clean; the test suite checks it after every test). The rows are replaced, not patched —
    deleted by id and copied again through the move's own path (ids kept; tokens, digests and masks as a move makes
    them). It goes when the writers write the tables themselves.

    The table is locked against other writers (SHARE ROW EXCLUSIVE: two mirrors of one dataset queue); the records
    are read after the lock, so a concurrent writer's rows are either waited for or copied whole."""
    dataset = Dataset.objects.select_related("entry").get(pk=dataset_id)
    ddl.table_create(dataset)  # (a no-op when it exists)
    shape = _Shape.of(dataset)
    result = MoveResult(dataset_id)
    connection.ensure_connection()
    with connection.connection.cursor() as cur:
        cur.execute("SELECT set_config('DateStyle', 'ISO, YMD', true)")
        cur.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(shape.layout.table))
        if ids is not None:
            ids = sorted(set(ids))
            if not ids:
                return 0
            cur.execute(sql.SQL("DELETE FROM {} WHERE id = ANY(%s)").format(shape.layout.table), [ids])
        elif since is not None:
            cur.execute(sql.SQL("DELETE FROM {} t USING aggregation_record r WHERE r.dataset_id = %s"
                                " AND r.updated_at >= %s AND t.id = r.id").format(shape.layout.table),
                        [dataset_id, since])
        else:
            cur.execute(sql.SQL("DELETE FROM {}").format(shape.layout.table))
        batches = _records(cur, shape, f"pool_mirror_{dataset_id}", BATCH, ids=ids, since=since)
        _copy_records(cur, dataset, shape, storage_cipher(), batches, result, convert=True)
        if result.moved:
            # The table writer draws new ids from pool.row_id_seq: past the records' own sequence (a record written
            # beside the table writer, as tests set states up, must not meet one of its ids).
            _set_sequence(cur)
    return result.moved


# --------------------------------------------------------------------------------------------------
# Verification


def dataset_verify(dataset: Dataset) -> VerifyResult:
    """Every record against its row of the resource table: key hash, row digest (the writer's definition, over the
    plain values), each plain column's text, the token's items (opened) against the record's (decrypted), the
    masked columns, version, timestamps; and the counts. The differences name record ids and fields, never values."""
    dataset = Dataset.objects.select_related("entry").get(pk=dataset.pk)
    shape = _Shape.of(dataset)
    cipher = storage_cipher()
    out = VerifyResult(dataset.pk)
    plain = [(c.item, c.column) for c in shape.target.columns if c.column]
    encrypted = [c.item for c in shape.target.columns if c.encrypted]
    masks = [m for _i, m, _k in shape.masks]
    cols = sql.SQL(", ").join([sql.SQL("{}::text").format(column_ident(c)) for _i, c in plain]
                              + [column_ident(m) for m in masks]) if plain or masks else sql.SQL("NULL")
    select_rows = sql.SQL(
        "SELECT t.id, t.key_hash, t.row_hash, t.token, t.job_id, t.version = r.version AND t.created_at = r.created_at"
        " AND t.updated_at = r.updated_at AND t.deleted_at IS NOT DISTINCT FROM r.deleted_at, {} FROM {} t"
        " JOIN aggregation_record r ON r.id = t.id WHERE t.id = ANY(%s)").format(cols, shape.layout.table)

    def differ(rid: int, what: str) -> None:
        if len(out.differences) < LISTED:
            out.differences.append(f"{rid}: {what}")

    with transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor() as cur:
            cur.execute("SELECT set_config('DateStyle', 'ISO, YMD', true)")
            out.rows = _table_count(cur, shape.layout)
            for rows in _records(cur, shape, f"pool_verify_{dataset.pk}", BATCH):
                ready = _prepare(shape, cipher, rows)
                out.records += len(rows)
                frame = {n: ready.frame[n].to_list() for n in ready.frame.columns}
                cur.execute(select_rows, [frame["id"]])
                stored = {r[0]: r for r in cur.fetchall()}
                # the rows' tokens opened together (open_token's format: JSON {item: value}), None: not authentic
                with_token = [(r[0], r[3]) for r in stored.values() if r[3]]
                opened_all = dict(zip((rid for rid, _t in with_token),
                                      open_tokens([t for _rid, t in with_token], cipher), strict=True))
                suspect = set(ready.broken).union(*ready.unknown.values())
                for i, rid in enumerate(frame["id"]):
                    row = stored.get(rid)
                    if row is None:
                        out.differing += 1
                        differ(rid, "no row")
                        continue
                    _id, key_hash, row_hash, token, job_id, same_meta, *texts = row
                    wrong = []
                    if bytes(key_hash) != frame["key_hash"][i]:
                        wrong.append("key_hash")
                    if bytes(row_hash) != frame["row_hash"][i]:
                        wrong.append("row_hash")
                    if job_id is not None or not same_meta:
                        wrong.append("job_id/version/timestamps")
                    for (item, col), text in zip(plain, texts, strict=False):
                        if (text or "") != frame[item][i]:
                            wrong.append(col)
                    opened = opened_all.get(rid, "{}") if token else "{}"
                    opened = json.loads(opened) if opened is not None else None
                    expected = {n: frame[n][i] for n in encrypted if frame[n][i]}
                    if opened != expected:
                        wrong.append("token")
                    for m, text in zip(masks, texts[len(plain):], strict=True):
                        if text != ready.masks[m][i]:
                            wrong.append(m)
                    if rid in suspect:
                        wrong.append("record: values outside the layout or not authentic")
                    if wrong:
                        out.differing += 1
                        differ(rid, ", ".join(wrong))
    if out.records != out.rows:
        out.differences.append(f"counts: {out.records} records, {out.rows} rows")
    return out


# --------------------------------------------------------------------------------------------------
# The switch migration's step


def move_all(apps=None, schema_editor=None, *, stdout=None) -> list[MoveResult]:
    """Move every dataset (each in its own transaction), then verify each; raises MoveRefused naming the datasets
    that were refused or differ — a switch must not go on with rows left behind. Written for the next session's
    switch migration, which must be non-atomic (one transaction per dataset, not one for all):

        from django.db import migrations

        def move(apps, schema_editor):
            from aggregation.storage.moving import move_all
            move_all(apps, schema_editor)

        class Migration(migrations.Migration):
            atomic = False
            dependencies = [("aggregation", "0014_pool_schema"), ...]
            operations = [migrations.RunPython(move, migrations.RunPython.noop, elidable=False)]

    (It uses the current models, not `apps`: the move runs the current writer's code, so the migration must stay
    the one at which those models are current — squash it away once it has run everywhere.)"""
    results, failed = [], []
    for dataset in Dataset.objects.select_related("entry").order_by("pk"):
        try:
            result = dataset_move(dataset)
        except MoveRefused as exc:
            failed.append(f"#{dataset.pk} {dataset.entry.name}: {exc.detail}")
            continue
        # (a skipped dataset was verified by the move)
        differences = result.differences if result.skipped else dataset_verify(dataset).differences
        if differences:
            failed.append(f"#{dataset.pk} {dataset.entry.name}: " + "; ".join(differences))
        results.append(result)
        if stdout is not None:
            stdout.write(f"#{dataset.pk}: moved {result.moved}, skipped {result.skipped}, "
                         f"{'DIFFERENT' if differences else 'verified clean'}\n")
    if failed:
        raise MoveRefused("\n".join(failed))
    return results
