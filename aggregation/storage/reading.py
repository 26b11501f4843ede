"""The one read side of the resource tables `pool.r<dataset id>` (issue 18): every SQL statement that reads them is
built here, from the Layout only (Dataset.columns) — item names never reach SQL as identifiers, values are
parameters (or, inside the composable builders for set-based readers, quoted literals).

What a row reads as
- `Row`: id, key_hash, `values` {item: canonical text} of the clear items (empty values absent), the row's one
  `token` (its encrypted items, incl. the subject key), `masked` {item: stored masked form} (absent: none stored),
  version, job_id, created_at, updated_at, deleted_at, and `flagged` (an open verification case, R14.4) when asked.
- Canonical text from the typed columns is exactly what the converters of ingest.validation produce and the row
  digest and history rows (storage.writing._row_json) are computed over: `::text` of every type (`text_sql`) —
  numeric keeps the scale it was written with, and the converters write normalised numbers ("1.5", "100",
  "0.00001"); boolean gives "true" / "false"; date and timestamp give "YYYY-MM-DD" and "YYYY-MM-DD HH:MM:SS" under
  DateStyle ISO (PostgreSQL's default), and `to_char` takes over in a session that set another style. One known
  difference: the converter writes a negative zero "-0", numeric has none and reads "0".
- `decrypted(rows, cipher)` opens each row's ONE token once (the current key's tokens in one frame,
  FieldCipher.open_many), `rendered(layout, rows, items, kinds=…)` gives the values a reader is shown: in full, or
  masked — the stored masked form when the row has one of the wanted kind, else decrypted (or the clear value) and
  masked here (a masked column added by a catalog update is empty until rewritten).

Queries (`rows`, `count`, `get`, `by_key`, `lookup`, `walk`)
- id order: live rows `id > after_id`, by the primary key; the rows that existed at the first page are neither
  skipped nor repeated (a change does not move a row). A row inserted while a consumer pages may land below its
  cursor — pool.row_id_seq caches 1 000 ids per session, so ids follow no clock — and is then not in this walk: an
  incremental sync goes by `since`. `since` order: rows with `updated_at > since`, then the cursor
  `(updated_at, id) > (t, n)` — a row comparison the (updated_at, id) index takes as its start key (one load gives
  all its rows the same updated_at: ties are broken by id, never skipped).
- filters {item: text}: a clear item compares its canonical text (`?date=2024/1/31` matches nothing, as today's
  `data->>item`); the subject key goes through the blind index (the unique key_hash index); any other encrypted
  item cannot be filtered (`Unfilterable`; the data API refuses it with `invalid`, as today).

Set-based SQL (composables for readers that stay in SQL)
- `item_sql`: one item's text (clear canonical text, stored masked form, a marker where Python must decrypt or
  mask); `select_sql`: a whole projection for the bulk export's COPY (the export writes the cells, through
  portal.cells); `completeness_sql`: non-empty count per item in one scan; `rows_sql`: a source subquery
  (key_hash, token, updated_at, item texts or a jsonb of them) for joins; `theme_sources_sql`: a theme build's
  sources (clear items as text, a row's token where a selected item is encrypted) for its one INSERT … SELECT.

Who calls what
- On the tables now: the pull and the online query (`shown`, below: one prepared statement a page or a subject), the
  CSV export (`select_sql` as its COPY's query), the XLSX export and the push (`rows` + `rendered`), the base
  databases (`lookup` + `rendered`), theme builds (`theme_sources_sql`) and the theme pages (`tokens_opened`),
  quality (`completeness`, `walk` + `decrypted`, `item_sql` in the consistency join), the dataset and record pages
  (`rows` / `get` / `by_key`), storage.values, the verification correction's read.
- The integrity check (R35.5: `checked` / `checked_walk` — each row with its digest and last history row, compared
  with the writer's history form `row_json_sql` in SQL —, `history_breaks`, `history_orphans`, `inserted_counts`;
  `history_clear` reads either history form as clear values) and the current version beside an insert's history
  row (`history_form`).
- Still on aggregation_record (the writers write it and mirror into the tables: storage.moving.mirror): key rotation
  and remask while records are written (they re-mirror the tables). Without records (AGGREGATION["WRITE_RECORDS"]
  off) they work on the tables in place (storage.rotating: `rows` — `token_not_under` for the rows still under an old
  key — and `open_tokens` / `decrypted`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connections, transaction
from psycopg import sql

from portal.db_router import read_alias
from security import crypto
from security.crypto import DecryptionError, FieldCipher
from security.masking import mask

from .layout import Layout, column_ident

BATCH = 5000
# jsonb_build_object takes at most 100 arguments: pairs go in groups of this many.
_JSON_PAIRS = 40
_FIXED = ("id", "key_hash", "version", "job_id", "created_at", "updated_at", "deleted_at")


class Unfilterable(ValueError):
    """A filter on an encrypted item other than the subject key (its values are only inside the tokens)."""


@dataclass(slots=True)  # (not frozen: a frozen dataclass's __init__ costs 1 µs more a row)
class Row:
    id: int
    key_hash: bytes
    values: dict[str, str]  # clear items: canonical text, empty values absent
    token: str | None  # the encrypted items (incl. the subject key) as one AES-GCM token of compact JSON
    masked: dict[str, str]  # stored masked forms (absent: none stored)
    version: int
    job_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None
    flagged: bool | None = None  # an open verification case (R14.4), when read with flagged=True


# --------------------------------------------------------------------------------------------------
# Canonical text of one column


def _iso_dates() -> bool:
    """Whether the session writes dates and timestamps in ISO (DateStyle "ISO, …", PostgreSQL's default; the server
    reports every change of it to the client, psycopg keeps the last report). The session of the connection reads
    run on now (portal.db_router.read_alias: the replica inside `replica_reads()`)."""
    db = connections[read_alias()]
    db.ensure_connection()
    return (db.connection.info.parameter_status("DateStyle") or "").startswith("ISO")


def text_sql(column: sql.Composable, sql_type: str) -> sql.Composable:
    """The canonical text (ingest.validation's converters) of a typed column. Dates and timestamps: their plain text
    output when the session's DateStyle is ISO — `to_char` costs ≈ 10–25 % more server time in a COPY of a table
    with two date columns among seven —, else `to_char` (whatever a session set)."""
    if sql_type == "text":
        return column
    if sql_type in ("date", "timestamp") and not _iso_dates():
        pattern = "YYYY-MM-DD" if sql_type == "date" else "YYYY-MM-DD HH24:MI:SS"
        return sql.SQL("to_char({}, {})").format(column, sql.Literal(pattern))
    if sql_type in ("date", "timestamp", "bigint", "numeric", "boolean"):
        return sql.SQL("{}::text").format(column)
    raise ValueError(f"not a resource-table type: {sql_type!r}")


def _stamp_sql(column: sql.Composable) -> sql.Composable:
    """A timestamptz as text datetime.fromisoformat reads (with its offset: right in any session time zone)."""
    if _iso_dates():
        return sql.SQL("{}::text").format(column)
    return sql.SQL("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')").format(column)


def _col(name: str, alias: str | None) -> sql.Composable:
    ident = column_ident(name)
    return sql.SQL("{}.{}").format(sql.Identifier(alias), ident) if alias else ident


def _fixed(name: str, alias: str | None) -> sql.Composable:
    return sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(name)) if alias else sql.Identifier(name)


def _entry(layout: Layout, item: str) -> dict:
    entry = layout.columns.get(item)
    if entry is None:
        raise ValueError(f"not an item of dataset {layout.dataset_id}: {item!r}")
    return entry


def _stored_kind(entry: dict, kind: str | bool) -> bool:
    """Whether the item's stored masked column holds the wanted kind (True: any)."""
    return bool(entry.get("mask")) and (kind is True or entry.get("mask_kind") == kind)


def item_sql(layout: Layout, item: str, *, masked: bool | str = False, alias: str | None = None,
             marker: str | None = None) -> sql.Composable:
    """One item's text as an SQL expression (`alias`: the table's alias in the caller's statement).

    - clear item read in full: its canonical text;
    - read masked (`masked`: True, or the masking kind wanted — a stored form of another kind does not count): the
      stored masked column; where the row has none (or the item has no column of that kind) a clear value comes
      wrapped in two markers (`marker` ‖ text ‖ `marker`: mask it in Python), an encrypted one as the marker alone;
    - encrypted item read in full: the marker alone (read it from the row's token).
    Without a marker those cells are NULL: read such rows with `rows` + `rendered`.
    """
    entry = _entry(layout, item)
    mark = sql.Literal(marker) if marker is not None else None
    if entry.get("col"):
        text = text_sql(_col(entry["col"], alias), entry["type"])
        if not masked:
            return text
        fallback = sql.SQL("({m} || {t} || {m})").format(m=mark, t=text) if mark else sql.NULL
    else:
        if not masked:
            return mark or sql.NULL
        fallback = mark or sql.NULL
    if _stored_kind(entry, masked):
        stored = _col(entry["mask"], alias)
        return sql.SQL("COALESCE({}, {})").format(stored, fallback) if mark else stored
    return fallback


# --------------------------------------------------------------------------------------------------
# WHERE and ORDER of the row queries


def _where(dataset, layout: Layout, *, after_id, after, since, ids, key_hashes, filters, include_deleted,
           alias: str | None = None) -> tuple[list[sql.Composable], list, sql.Composable]:
    """(conditions, parameters, ORDER BY) of a row query."""
    conds: list[sql.Composable] = []
    params: list = []
    f = lambda name: _fixed(name, alias)  # noqa: E731
    if since is not None:
        if after is not None:
            # The row comparison alone: the (updated_at, id) index's start key (no `updated_at > since` beside
            # it: the cursor is past `since` already).
            stamp, last = after
            conds.append(sql.SQL("({}, {}) > (%s, %s)").format(f("updated_at"), f("id")))
            params += [stamp, last]
        else:
            conds.append(sql.SQL("{} > %s").format(f("updated_at")))
            params.append(since)
        order = sql.SQL("{}, {}").format(f("updated_at"), f("id"))
        if after_id is not None:
            raise ValueError("changes since a moment are paged by `after` = (updated_at, id), not `after_id`")
    else:
        if after is not None:
            raise ValueError("`after` (updated_at, id) pages changes since a moment: give `since`")
        if after_id is not None:
            conds.append(sql.SQL("{} > %s").format(f("id")))
            params.append(after_id)
        order = f("id")
    if not include_deleted:
        conds.append(sql.SQL("{} IS NULL").format(f("deleted_at")))
    if ids is not None:
        conds.append(sql.SQL("{} = ANY(%s)").format(f("id")))
        params.append(list(ids))
    if key_hashes is not None:
        conds.append(sql.SQL("{} = ANY(%s)").format(f("key_hash")))
        params.append([bytes(h) for h in key_hashes])
    for item, value in (filters or {}).items():
        entry = _entry(layout, item)
        if item == getattr(dataset, "key_item_name", None):
            conds.append(sql.SQL("{} = %s").format(f("key_hash")))
            params.append(crypto.blind_index(value))
        elif not entry.get("col"):
            raise Unfilterable(item)
        else:
            conds.append(sql.SQL("{} = %s").format(text_sql(_col(entry["col"], alias), entry["type"])))
            params.append(value)
    return conds, params, order


def _where_sql(conds: list[sql.Composable]) -> sql.Composable:
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds) if conds else sql.SQL("")


def _run(statement: sql.Composable, params: list, *, jit: bool = True) -> list[tuple]:
    """Runs on the connection of reads (portal.db_router.read_alias: the replica inside `replica_reads()`, the replica
    rule of docs/architecture.md), never `django.db.connection` itself. `jit=False`: without PostgreSQL's JIT, in a
    transaction (SET LOCAL) — for short statements whose estimated cost misleads the planner into compiling them."""
    db = connections[read_alias()]
    with transaction.atomic(using=db.alias) if not jit else contextlib.nullcontext(), db.cursor() as cur:
        if not jit:
            cur.execute("SET LOCAL jit = off")
        cur.execute(statement.as_string(db.connection), params)
        return cur.fetchall()


def _items(layout: Layout, items: Iterable[str] | None) -> list[str]:
    return list(layout.live) if items is None else list(items)


# --------------------------------------------------------------------------------------------------
# Rows


def rows(dataset, *, items: Iterable[str] | None = None, after_id: int | None = None,
         after: tuple[dt.datetime, int] | None = None, since: dt.datetime | None = None,
         ids: Iterable[int] | None = None, key_hashes: Iterable[bytes] | None = None,
         filters: dict[str, str] | None = None, include_deleted: bool = False, flagged: bool = False,
         limit: int | None = None, token_not_under: str | None = None) -> list[Row]:
    """Rows of the dataset's table in keyset order: by id (after `after_id`), or — with `since` — the rows changed
    after it by (updated_at, id), after the cursor `after` = (updated_at, id) of the previous page's last row.

    `items`: the items read (default: the current ones); the token is read when one of them is encrypted, a stored
    masked form when one has it. `filters`: {item: canonical text} (module docstring; Unfilterable on an encrypted
    item other than the subject key). `flagged`: with Row.flagged (an open verification case). `token_not_under`: only
    rows holding a token not sealed under that key id (key rotation's batches: storage.rotating)."""
    layout = Layout.stored(dataset)
    select, plain_names, mask_names = _row_select(layout, _items(layout, items))
    conds, params, order = _where(dataset, layout, after_id=after_id, after=after, since=since, ids=ids,
                                  key_hashes=key_hashes, filters=filters, include_deleted=include_deleted)
    if token_not_under is not None:
        conds.append(sql.SQL("token IS NOT NULL AND NOT starts_with(token, %s)"))
        params.append(token_not_under + ":")
    flag_params: list = []
    if flagged:
        from ..choices import VerificationState

        select.insert(len(_FIXED) + 1, sql.SQL("EXISTS (SELECT 1 FROM aggregation_verificationcase v "
                                               "WHERE v.record_id = {}.id AND v.state = %s)").format(layout.table))
        flag_params.append(VerificationState.OPEN.value)
    else:
        select.insert(len(_FIXED) + 1, sql.NULL)
    statement = sql.SQL("SELECT {} FROM {}{} ORDER BY {}").format(
        sql.SQL(", ").join(select), layout.table, _where_sql(conds), order)
    if limit is not None:
        statement += sql.SQL(" LIMIT %s")
        params.append(int(limit))
    return [_make_row(fetched, plain_names, mask_names) for fetched in _run(statement, flag_params + params)]


def _row_select(layout: Layout, names: list[str]) -> tuple[list[sql.Composable], list[str], list[str]]:
    """The projection of a Row without its flag: the fixed columns, the token (NULL when no item of `names` is
    encrypted), the clear items' canonical texts, the stored masked forms; and the names of those two groups. The
    caller puts the flag's cell (or NULL) at position len(_FIXED) + 1 and may append cells of its own."""
    entries = [(n, _entry(layout, n)) for n in names]
    plain = [(n, e) for n, e in entries if e.get("col")]
    masks = [(n, e) for n, e in entries if e.get("mask")]
    token = any(not e.get("col") for _n, e in entries)
    # The timestamps as text, parsed by datetime.fromisoformat (≈ 0.1 µs): psycopg's timestamptz loader costs
    # ≈ 3.5 µs a value (7 of the 9 ms a 1 000-row page took to fetch).
    # (Renamed: ORDER BY updated_at would sort by an output column of that name, the text, and miss the index.)
    select = [sql.SQL("{} AS {}").format(_stamp_sql(sql.Identifier(c)), sql.Identifier(f"{c}_text"))
              if c.endswith("_at") else sql.Identifier(c) for c in _FIXED]
    select.append(sql.SQL("token") if token else sql.NULL)
    select += [text_sql(column_ident(e["col"]), e["type"]) for _n, e in plain]
    select += [column_ident(e["mask"]) for _n, e in masks]
    return select, [n for n, _e in plain], [n for n, _e in masks]


def _make_row(fetched: tuple, plain_names: list[str], mask_names: list[str]) -> Row:
    """A Row from a tuple of `_row_select`'s projection (with the flag's cell); cells after it are not read."""
    stamp = dt.datetime.fromisoformat
    rid, key_hash, version, job_id, created, updated, deleted, tok, flag, *texts = fetched
    width = len(plain_names)
    values = {n: v for n, v in zip(plain_names, texts[:width], strict=True) if v is not None}
    forms = {n: v for n, v in zip(mask_names, texts[width:width + len(mask_names)], strict=True) if v is not None}
    return Row(rid, bytes(key_hash), values, tok, forms, version, job_id, stamp(created), stamp(updated),
               deleted and stamp(deleted), flag)


def count(dataset, *, after_id: int | None = None, after: tuple[dt.datetime, int] | None = None,
          since: dt.datetime | None = None, ids: Iterable[int] | None = None,
          key_hashes: Iterable[bytes] | None = None, filters: dict[str, str] | None = None,
          include_deleted: bool = False) -> int:
    """How many rows `rows` would give with the same arguments and no limit."""
    layout = Layout.stored(dataset)
    conds, params, _order = _where(dataset, layout, after_id=after_id, after=after, since=since, ids=ids,
                                   key_hashes=key_hashes, filters=filters, include_deleted=include_deleted)
    statement = sql.SQL("SELECT count(*) FROM {}{}").format(layout.table, _where_sql(conds))
    return _run(statement, params)[0][0]


def get(dataset, row_id: int, *, items: Iterable[str] | None = None, include_deleted: bool = False,
        flagged: bool = False) -> Row | None:
    """One row by id (None: not in this dataset, or deleted unless `include_deleted`)."""
    found = rows(dataset, items=items, ids=[row_id], include_deleted=include_deleted, flagged=flagged)
    return found[0] if found else None


def by_key(dataset, key: str, *, items: Iterable[str] | None = None, include_deleted: bool = False,
           flagged: bool = False) -> Row | None:
    """The row of a subject key (its blind index: one probe of the unique key_hash index)."""
    found = rows(dataset, items=items, key_hashes=[crypto.blind_index(key)], include_deleted=include_deleted,
                 flagged=flagged)
    return found[0] if found else None


def lookup(datasets: Iterable, key_hash: bytes, *, items: dict[int, list[str]] | None = None,
           flagged: bool = False) -> dict[int, Row]:
    """{dataset id: live row} of one subject across datasets (base databases): one unique-index probe per dataset.
    `items`: {dataset id: items read} (default: each dataset's current items)."""
    out = {}
    for dataset in datasets:
        found = rows(dataset, items=(items or {}).get(dataset.pk), key_hashes=[key_hash], flagged=flagged)
        if found:
            out[dataset.pk] = found[0]
    return out


def walk(dataset, *, size: int = BATCH, items: Iterable[str] | None = None, include_deleted: bool = True,
         filters: dict[str, str] | None = None) -> Iterator[list[Row]]:
    """Every row in id order, in keyset batches of `size` (rotation, remask, checks): each batch is one short
    statement, so nothing is held open between batches."""
    items = None if items is None else list(items)
    last = None
    while True:
        batch = rows(dataset, items=items, after_id=last, include_deleted=include_deleted, filters=filters, limit=size)
        if not batch:
            return
        yield batch
        last = batch[-1].id


# --------------------------------------------------------------------------------------------------
# Tokens and what a reader is shown

_decode = json.JSONDecoder().decode  # (on str: ≈ 1.4 µs a token's JSON, json.loads on bytes ≈ 2 µs)


def open_tokens(tokens: list[str], cipher: FieldCipher) -> list[str | None]:
    """The plain text of each token (None: it does not authenticate): the current key's tokens opened in one frame
    (FieldCipher.open_many: ≈ 1 µs a token against ≈ 8 µs through decrypt), any other one — and every one of a frame
    that fails — by itself. The rows' one tokens here (`tokens_opened`), the records' per-item tokens in the move."""
    out: list[str | None] = [None] * len(tokens)
    prefix = cipher.current_kid + ":"
    current = [i for i, t in enumerate(tokens) if t.startswith(prefix)]
    rest = [i for i, t in enumerate(tokens) if not t.startswith(prefix)]
    if current:
        cut = len(prefix)
        try:  # base64url → base64 by two replaces (str.translate: ≈ 4 µs a token)
            opened = cipher.open_many([tokens[i][cut:].replace("-", "+").replace("_", "/") + "==" for i in current])
        except DecryptionError:
            rest = sorted(rest + current)  # one of them does not authenticate: each by itself
        else:
            for i, raw in zip(current, opened, strict=True):
                out[i] = raw.decode()
    for i in rest:
        try:
            out[i] = cipher.decrypt(tokens[i])
        except DecryptionError:
            out[i] = None
    return out


def tokens_opened(tokens: list[str | None], cipher: FieldCipher) -> list[dict[str, str] | None]:
    """The encrypted items each row token holds, {item: value} (in order): {} for no token, None for a token that
    does not authenticate (its values cannot be read)."""
    out: list[dict | None] = [{} for _ in tokens]
    held = [i for i, t in enumerate(tokens) if t]
    for i, text in zip(held, open_tokens([tokens[i] for i in held], cipher), strict=True):
        out[i] = None if text is None else _decode(text)
    return out


def decrypted(rows_: list[Row], cipher: FieldCipher) -> list[dict[str, str] | None]:
    """`tokens_opened` of the rows' tokens: each row's one token opened once."""
    return tokens_opened([r.token for r in rows_], cipher)


def rendered(layout: Layout, rows_: list[Row], items: Iterable[str], *, kinds: dict[str, str] | None = None,
             cipher: FieldCipher | None = None) -> list[dict[str, str | None]]:
    """What a reader is shown of each row, {item: text or None (empty)} in the order of `items`: items in `kinds`
    ({item: masking kind}) masked — the row's stored form when it is of that kind, else the value decrypted (or the
    clear one) and masked here —, the others in full. Only the tokens needed are opened (an encrypted item read in
    full, or a masked one the row has no stored form for); a token that does not authenticate reads as empty."""
    kinds = kinds or {}
    names = list(items)
    entries = {n: _entry(layout, n) for n in names}
    stored = {n for n in names if n in kinds and _stored_kind(entries[n], kinds[n])}
    full_secret = [n for n in names if n not in kinds and not entries[n].get("col")]
    masked_secret = [n for n in names if n in kinds and not entries[n].get("col")]

    def needs(row: Row) -> bool:
        return bool(row.token) and (bool(full_secret) or any(
            n not in stored or n not in row.masked for n in masked_secret))

    wanted = [r for r in rows_ if needs(r)]
    secrets = dict(zip((r.id for r in wanted), decrypted(wanted, cipher or crypto.cipher()), strict=True))
    out = []
    for row in rows_:
        secret = secrets.get(row.id) or {}
        shown = {}
        for n in names:
            kind = kinds.get(n)
            if kind and n in stored:
                form = row.masked.get(n)
                if form is not None:
                    shown[n] = form
                    continue
            value = row.values.get(n) if entries[n].get("col") else secret.get(n)
            shown[n] = mask(value, kind) if kind and value else value
        out.append(shown)
    return out


def history_form(row: Row) -> dict[str, str]:
    """The row as a history row stores a version ({"token": …, item: text …}, empty values absent: storage.writing's
    before/after; `row_json_sql` in SQL), for the current version an insert's history row references
    (selectors.pools.history_rows). `row` read with its current items (the default)."""
    return {**({"token": row.token} if row.token else {}), **row.values}


def row_json_sql(plain: Iterable[tuple[str, str]], alias: str) -> sql.Composable:
    """The stored row as JSON, {"token": …, item: value …} (empty values absent): a history row's before/after
    (storage.writing writes it; the integrity check compares a row with it). `plain`: (item, c<n>) of the clear
    items written. Values as `::text`: under DateStyle ISO (the writer sets it in its transaction) PostgreSQL's text
    output of date, timestamp, numeric, bigint and boolean is the canonical text the converters produce and the
    row digest is computed over, so a history row can be checked against its digest as it is. Item names are
    literals (jsonb keys), never identifiers. jsonb_build_object takes at most 100 arguments: pairs go in groups."""
    a = sql.Identifier(alias)
    pairs = [sql.SQL("'token', {}.token").format(a)] + [
        sql.SQL("{}, {}.{}::text").format(sql.Literal(item), a, column_ident(column)) for item, column in plain]
    groups = [sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(pairs[i:i + _JSON_PAIRS]))
              for i in range(0, len(pairs), _JSON_PAIRS)]
    return sql.SQL("jsonb_strip_nulls({})").format(sql.SQL(" || ").join(groups))


def history_clear(forms: list[dict | None], cipher: FieldCipher) -> list[dict[str, str] | None]:
    """Each history before/after (or `history_form`) as clear {item: text}, empty values absent, in order — of
    either form: the writer's ({"token": the row's one token, item: text …}: the token opened) or the one the
    records path wrote (the record's JSON: each personal item a token of its own, security.crypto.is_encrypted;
    a value that is not text as its JSON). None for None, and for a form one of whose tokens does not
    authenticate (its values cannot be read). Every token through `open_tokens` (one frame per call)."""
    row_tokens = [f.get("token") if f and "token" in f else None for f in forms]
    opened = tokens_opened(row_tokens, cipher)
    cells = [(i, k, v) for i, f in enumerate(forms) if f and "token" not in f
             for k, v in f.items() if crypto.is_encrypted(v)]
    texts = open_tokens([v for _i, _k, v in cells], cipher)
    secret: dict[int, dict[str, str | None]] = {}
    for (i, k, _v), text in zip(cells, texts, strict=True):
        secret.setdefault(i, {})[k] = text
    out: list[dict[str, str] | None] = []
    for i, form in enumerate(forms):
        if form is None or opened[i] is None or None in secret.get(i, {}).values():
            out.append(None)
            continue
        values = {k: v for k, v in form.items() if k != "token"}
        values.update(opened[i])
        values.update(secret.get(i, {}))
        out.append({k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                    for k, v in values.items() if v not in (None, "")})
    return out


# --------------------------------------------------------------------------------------------------
# The integrity check (R35.5): rows beside their history
#
# Every change the application makes writes a history row in the same transaction (storage.writing: updates; the
# records path: every change) and the row's keyed digest; a load's insert writes none (the row is version 1, its
# job_id and the job's file digest prove it). SQL by hand can do neither.


@dataclass(slots=True)
class Checked:
    """A row (deleted ones too) with its digest and its LAST history row: `op` (None: the row has none), whether
    that row's after is NULL (`no_copy`: a deletion, or an insert referencing the inserted version), whether the row
    as `row_json_sql` equals that after (`same`: byte for byte the version the history says it became), and the
    after itself when it is not NULL and not `same` (else None)."""

    row: Row
    row_hash: bytes
    op: str | None
    no_copy: bool
    same: bool
    after: dict | None


_CHECKED = """SELECT {select}, row_hash, h.op, h.after IS NULL, s.same, CASE WHEN s.same THEN NULL ELSE h.after END
  FROM {table} t
  LEFT JOIN LATERAL (SELECT h.op, h.after FROM aggregation_recordhistory h
                      WHERE h.record_id = t.id AND h.dataset_id = %s ORDER BY h.id DESC LIMIT 1) h ON true
 CROSS JOIN LATERAL (SELECT COALESCE({as_json} = h.after, false) AS same) s{where}
 ORDER BY {order} LIMIT %s"""


def checked(dataset, *, after_id: int | None = None, limit: int = BATCH) -> list[Checked]:
    """A keyset page (id order, after `after_id`) of the table's rows, deleted ones included, each with its digest
    and last history row (`Checked`), in ONE statement (the row and its history as of the same moment). The row is
    read with its current items (as the writer's history form holds them)."""
    layout = Layout.stored(dataset)
    select, plain_names, mask_names = _row_select(layout, _items(layout, None))
    select.insert(len(_FIXED) + 1, sql.NULL)
    as_json = row_json_sql([(n, _entry(layout, n)["col"]) for n in plain_names], "t")
    conds, params, order = _where(dataset, layout, after_id=after_id, after=None, since=None, ids=None,
                                  key_hashes=None, filters=None, include_deleted=True, alias="t")
    statement = sql.SQL(_CHECKED).format(select=sql.SQL(", ").join(select), table=layout.table, as_json=as_json,
                                         where=_where_sql(conds), order=order)
    out = []
    # (without JIT: the lateral's estimate makes a 5 000-row page look like millions, and compiling it took ≈ 230 of
    # its ≈ 300 ms — measured on 200 000 rows: the whole walk 15.2 → 6.0 s, the integrity check 19.4 → 10 s)
    for fetched in _run(statement, [dataset.pk, *params, int(limit)], jit=False):
        *cells, row_hash, op, no_copy, is_same, after = fetched
        after = json.loads(after) if isinstance(after, str) else after
        out.append(Checked(_make_row(tuple(cells), plain_names, mask_names), bytes(row_hash), op, bool(no_copy),
                           bool(is_same), after))
    return out


def checked_walk(dataset, *, size: int = BATCH, limit: int | None = None) -> Iterator[list[Checked]]:
    """`checked` over the whole table (or its first `limit` rows) in batches of `size`: one short statement each."""
    last, left = None, limit
    while left is None or left > 0:
        batch = checked(dataset, after_id=last, limit=size if left is None else min(size, left))
        if not batch:
            return
        yield batch
        last = batch[-1].row.id
        if left is not None:
            left -= len(batch)


def history_breaks(dataset) -> list[int]:
    """Ids of the rows whose version and state contradict their history, over the whole table in one statement
    (no decryption): a version other than 1 + the number of the row's update and delete history rows (each change
    of the application bumps it once, with its history row; a row without history, or with its insert's alone, is
    version 1), a live row whose last history row is a deletion (restored around the application), a deleted row
    whose last one is not."""
    layout = Layout.stored(dataset)
    statement = sql.SQL("""
        SELECT t.id FROM {table} t
         CROSS JOIN LATERAL (
               SELECT (array_agg(h.op ORDER BY h.id DESC))[1] AS op,
                      count(*) FILTER (WHERE h.op <> 'insert') AS changes
                 FROM aggregation_recordhistory h WHERE h.record_id = t.id AND h.dataset_id = %s) h
         WHERE t.version <> 1 + h.changes
            OR (t.deleted_at IS NULL AND h.op = 'delete')
            OR (t.deleted_at IS NOT NULL AND h.op IS DISTINCT FROM 'delete')
         ORDER BY t.id""").format(table=layout.table)
    return [r[0] for r in _run(statement, [dataset.pk])]


def history_orphans(dataset) -> list[int]:
    """Record ids the dataset's history names that its table does not hold (deleted around the application: the
    application never deletes a row)."""
    layout = Layout.stored(dataset)
    statement = sql.SQL("""
        SELECT DISTINCT h.record_id FROM aggregation_recordhistory h
         WHERE h.dataset_id = %s AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = h.record_id)
         ORDER BY 1""").format(table=layout.table)
    return [r[0] for r in _run(statement, [dataset.pk])]


def inserted_counts(dataset, loads: Iterable[tuple[int, dt.datetime, int]]) -> list[tuple[int, int, int]]:
    """(load, inserted, held) of each load — (id, the moment it wrote, the rows it inserted) — whose inserted rows
    the table does not hold in that number: its rows carry the moment as created_at (never changed after), so fewer
    means rows deleted around the application (a load's insert leaves no history row to orphan), more means rows
    inserted around it with a load's stamp. One scan of the table."""
    loads = list(loads)
    if not loads:
        return []
    layout = Layout.stored(dataset)
    ids, moments, inserted = (list(column) for column in zip(*loads, strict=True))
    statement = sql.SQL("""
        SELECT j.id, j.inserted, count(t.created_at)::int AS held
          FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[]) AS j(id, at, inserted)
          LEFT JOIN {table} t ON t.created_at = j.at
         GROUP BY j.id, j.inserted
        HAVING count(t.created_at) <> j.inserted
         ORDER BY j.id""").format(table=layout.table)
    return [tuple(r) for r in _run(statement, [ids, moments, inserted])]


# --------------------------------------------------------------------------------------------------
# Composable SQL for set-based readers


def select_sql(dataset, items: Iterable[str], *, kinds: dict[str, str] | None = None, marker: str | None = None,
               after_id: int | None = None, since: dt.datetime | None = None, ids: Iterable[int] | None = None,
               filters: dict[str, str] | None = None, include_deleted: bool = False,
               limit: int | None = None, after: tuple[dt.datetime, int] | None = None) -> tuple[sql.Composed, list]:
    """(statement, parameters) of a projection for the bulk export's COPY: columns v0…vn (`item_sql` of each item,
    masked by `kinds`, cells to finish in Python marked), `id`, and `token` last when a cell may need it; rows in
    keyset order as `rows` gives them (`after`: the (updated_at, id) cursor with `since`, as in `rows`)."""
    layout = Layout.stored(dataset)
    kinds = kinds or {}
    names = list(items)
    cells = [sql.SQL("{} AS {}").format(item_sql(layout, n, masked=kinds.get(n, False), marker=marker),
                                        sql.Identifier(f"v{i}")) for i, n in enumerate(names)]
    entries = [_entry(layout, n) for n in names]
    token = any(not e.get("col") for e in entries)
    conds, params, order = _where(dataset, layout, after_id=after_id, after=after, since=since, ids=ids,
                                  key_hashes=None, filters=filters, include_deleted=include_deleted)
    statement = sql.SQL("SELECT {}, id{} FROM {}{} ORDER BY {}").format(
        sql.SQL(", ").join(cells) if cells else sql.SQL("NULL AS v"), sql.SQL(", token") if token else sql.SQL(""),
        layout.table, _where_sql(conds), order)
    if limit is not None:
        statement += sql.SQL(" LIMIT %s")
        params.append(int(limit))
    return statement, params


def completeness_sql(layout: Layout, items: Iterable[str] | None = None) -> sql.Composed:
    """One scan of the live rows: count(*), then the number of rows holding each item (`items`, default the
    current ones). Typed columns hold NULL for an empty value: count(column). An encrypted item is counted by its
    stored masked form, written exactly when the value is not empty (a masked column a catalog update added counts
    nothing until the rows are rewritten); one without a masked column counts the rows with a token."""
    counts = [sql.SQL("count(*)")]
    for name in _items(layout, items):
        entry = _entry(layout, name)
        column = entry.get("col") or entry.get("mask")
        counts.append(sql.SQL("count({})").format(column_ident(column) if column else sql.SQL("token")))
    return sql.SQL("SELECT {} FROM {} WHERE deleted_at IS NULL").format(sql.SQL(", ").join(counts), layout.table)


def completeness(dataset, items: Iterable[str] | None = None) -> tuple[int, dict[str, int]]:
    """(live rows, {item: rows holding it}) by `completeness_sql`."""
    layout = Layout.stored(dataset)
    names = _items(layout, items)
    total, *counts = _run(completeness_sql(layout, names), [])[0]
    return total, dict(zip(names, counts, strict=True))


def rows_sql(layout: Layout, items: Iterable[str], *, alias: str = "t", masked: dict[str, str] | None = None,
             data_prefix: str | None = None) -> sql.Composed:
    """A subquery of the live rows for joins (consistency pairs): id, key_hash, token, updated_at, then v0…vn —
    `item_sql` of each item (masked by `masked`, {item: kind}; an encrypted item read in full is NULL: its value is
    in `token`) — or, with `data_prefix`, one jsonb `data` {prefix + item: text} of the non-empty ones instead (item
    names as quoted literals: run it without parameters; theme builds use `theme_sources_sql`)."""
    masked = masked or {}
    names = list(items)
    texts = [item_sql(layout, n, masked=masked.get(n, False), alias=alias) for n in names]
    fixed = sql.SQL(", ").join(_fixed(c, alias) for c in ("id", "key_hash", "token", "updated_at"))
    if data_prefix is None:
        cells = [sql.SQL("{} AS {}").format(t, sql.Identifier(f"v{i}")) for i, t in enumerate(texts)]
    else:
        pairs = [sql.SQL("{}, {}").format(sql.Literal(data_prefix + n), t) for n, t in zip(names, texts, strict=True)]
        groups = [sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(pairs[i:i + _JSON_PAIRS]))
                  for i in range(0, len(pairs), _JSON_PAIRS)] or [sql.SQL("'{}'::jsonb")]
        cells = [sql.SQL("jsonb_strip_nulls({}) AS data").format(sql.SQL(" || ").join(groups))]
    return sql.SQL("SELECT {}{} FROM {} {} WHERE {}.deleted_at IS NULL").format(
        fixed, sql.SQL("").join(sql.SQL(", {}").format(c) for c in cells), layout.table, sql.Identifier(alias),
        sql.Identifier(alias))



def theme_token_key(dataset_id: int) -> str:
    """The key under which a theme row's `data` holds a source's row token: "<dataset id>#token" — never equal to an
    item's key "<dataset id>:<item>", whatever the item's name."""
    return f"{int(dataset_id)}#token"


def theme_sources_sql(sources: Iterable[tuple[Layout, Iterable[str]]], *, alias: str = "t") -> tuple[sql.Composed,
                                                                                                     list] | None:
    """(statement, parameters) of a theme build's sources, or None when none has a selected item in its layout: the
    UNION ALL over `sources` ((layout, selected items)) of each table's live rows whose selected items are not all
    empty — key_hash, token (the row's one token: it holds the subject key), updated_at, dataset_id, and `data`,
    one jsonb of what a theme row stores of the row: {"<dataset id>:<item>": canonical text} of the selected clear
    items (empty ones absent) and, when a selected item is encrypted, {`theme_token_key`: the row's token} (its
    reader keeps only the selected items of it). The row counts as holding a selected encrypted item when that item's
    stored masked form is there (written exactly when the value is not empty), or — an item without one — when it has
    a token. Items not in the layout are left out; item names reach the statement as parameters only (positional
    %s: the caller's statement uses positional parameters too)."""
    parts: list[sql.Composable] = []
    params: list = []
    a = sql.Identifier(alias)
    for layout, items in sources:
        names = [n for n in dict.fromkeys(items) if n in layout.columns]
        if not names:
            continue
        entries = [(n, layout.columns[n]) for n in names]
        pairs: list[sql.Composable] = []
        holds: list[sql.Composable] = []  # the row holds one of the selected items (its data is not {})
        for name, entry in entries:
            if entry.get("col"):
                pairs.append(sql.SQL("%s::text, {}").format(item_sql(layout, name, alias=alias)))
                params.append(f"{layout.dataset_id}:{name}")
                holds.append(sql.SQL("{}.{} IS NOT NULL").format(a, column_ident(entry["col"])))
        sealed = [e for _n, e in entries if not e.get("col")]
        if sealed:
            if all(e.get("mask") for e in sealed):
                held = sql.SQL("({})").format(sql.SQL(" OR ").join(
                    sql.SQL("{}.{} IS NOT NULL").format(a, column_ident(e["mask"])) for e in sealed))
            else:
                held = sql.SQL("{}.token IS NOT NULL").format(a)
            pairs.append(sql.SQL("%s::text, CASE WHEN {} THEN {}.token END").format(held, a))
            params.append(theme_token_key(layout.dataset_id))
            holds.append(held)
        groups = [sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(pairs[i:i + _JSON_PAIRS]))
                  for i in range(0, len(pairs), _JSON_PAIRS)]
        parts.append(sql.SQL(
            "SELECT {a}.key_hash, {a}.token, {a}.updated_at, {ds}::bigint AS dataset_id, jsonb_strip_nulls({data}) "
            "AS data FROM {table} {a} WHERE {a}.deleted_at IS NULL AND ({holds})").format(
            a=a, ds=sql.Literal(layout.dataset_id), data=sql.SQL(" || ").join(groups), table=layout.table,
            holds=sql.SQL(" OR ").join(holds)))
    if not parts:
        return None
    return sql.SQL(" UNION ALL ").join(sql.SQL("({})").format(p) for p in parts), params

# --------------------------------------------------------------------------------------------------
# The data API (sharing.data_api): the pull's pages and the online query's subject, rendered
#
# `rows` + `rendered` build a Row per row and walk every item of every row; a 1 000-row page of the pull is the hot
# path (bench/sharing.py: ≥ 80 % of a raw keyset query + json.dumps), so `shown` reads exactly what the page shows in
# one prepared statement (portal.db.prepared_cursor, on the connection of reads: the replica inside
# `replica_reads()`) and gives a projection with nothing to decrypt or mask as the columns' texts zipped to a dict.

# `updated_at` as the text of `datetime.isoformat()` of its UTC moment, less the offset (`api_stamp` adds it):
# psycopg's timestamptz loader costs ≈ 3.5 µs a value.
_API_STAMP = sql.SQL("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')")


def api_stamp(text: str) -> str:
    """`updated_at.isoformat()` of the UTC moment, from its `_API_STAMP` text."""
    return (text[:-7] if text.endswith(".000000") else text) + "+00:00"


def shown(dataset, items: Iterable[str], *, kinds: dict[str, str] | None = None, after_id: int | None = None,
          after: tuple[dt.datetime, int] | None = None, since: dt.datetime | None = None,
          key_hashes: Iterable[bytes] | None = None, filters: dict[str, str] | None = None,
          include_deleted: bool = False, limit: int | None = None, open_state: str | None = None,
          cipher: FieldCipher | None = None) -> list[tuple[int, str, bool, bool | None, dict | None]]:
    """What a data call shows of each row, in `rows`' keyset order and with its selection (after_id / since + after,
    key_hashes, filters, include_deleted, limit): (id, `_API_STAMP` text of updated_at, deleted, flagged,
    {item: text or None (empty)} in the order of `items`, None for a deleted row). Items in `kinds` ({item: masking
    kind}) masked as `rendered` masks them (the stored form of that kind, else the value masked here), the others in
    full; only the tokens needed are opened (one frame per page: `decrypted`). `open_state`: the verification state
    of an open case (R14.4, aggregation.choices.VerificationState.OPEN) — flagged is None without it."""
    from portal.db import prepared_cursor

    layout = Layout.stored(dataset)
    kinds = kinds or {}
    names = list(items)
    select: list[sql.Composable] = [sql.Identifier("id"), _API_STAMP.format(sql.Identifier("updated_at")),
                                    sql.SQL("deleted_at IS NOT NULL")]
    params: list = []
    if open_state is not None:
        select.append(sql.SQL("EXISTS (SELECT 1 FROM aggregation_verificationcase v "
                              "WHERE v.record_id = {}.id AND v.state = %s)").format(layout.table))
        params.append(open_state)
    else:
        select.append(sql.NULL)
    entries = [_entry(layout, n) for n in names]
    token = any(not e.get("col") for e in entries)
    select.append(sql.SQL("token") if token else sql.NULL)
    # Per item: (name, kind or None, index of its stored masked form or None, index of its clear text or None).
    plan = []
    width = 0
    for name, entry in zip(names, entries, strict=True):
        kind = kinds.get(name)
        stored = clear = None
        if kind and _stored_kind(entry, kind):
            select.append(column_ident(entry["mask"]))
            stored, width = width, width + 1
        if entry.get("col"):
            select.append(text_sql(column_ident(entry["col"]), entry["type"]))
            clear, width = width, width + 1
        plan.append((name, kind, stored, clear))
    conds, where_params, order = _where(dataset, layout, after_id=after_id, after=after, since=since, ids=None,
                                        key_hashes=key_hashes, filters=filters, include_deleted=include_deleted)
    params += where_params
    statement = sql.SQL("SELECT {} FROM {}{} ORDER BY {}").format(
        sql.SQL(", ").join(select), layout.table, _where_sql(conds), order)
    if limit is not None:
        statement += sql.SQL(" LIMIT %s")
        params.append(int(limit))
    with prepared_cursor() as cur:
        cur.execute(statement.as_string(cur.db.connection), params)
        fetched = cur.fetchall()

    if all(kind is None and clear is not None for _n, kind, _s, clear in plan):
        # Nothing to decrypt or mask: the texts are the values (projection order = column order).
        return [(rid, stamp, deleted, flag, None if deleted else dict(zip(names, texts, strict=True)))
                for rid, stamp, deleted, flag, _tok, *texts in fetched]

    def needs(row) -> bool:  # whether the row's token must be opened
        if row[2] or not row[4]:
            return False
        cells = row[5:]
        return any(clear is None and (kind is None or stored is None or cells[stored] is None)
                   for _n, kind, stored, clear in plan)

    wanted = [row for row in fetched if needs(row)]
    secrets = dict(zip((row[0] for row in wanted),
                       tokens_opened([row[4] for row in wanted], cipher or crypto.cipher()), strict=True))
    out = []
    for row in fetched:
        rid, stamp, deleted, flag, _tok, *cells = row
        if deleted:
            out.append((rid, stamp, deleted, flag, None))
            continue
        secret = secrets.get(rid) or {}
        values = {}
        for name, kind, stored, clear in plan:
            if stored is not None:
                form = cells[stored]
                if form is not None:
                    values[name] = form
                    continue
            value = cells[clear] if clear is not None else secret.get(name)
            values[name] = mask(value, kind) if kind and value else value
        out.append((rid, stamp, deleted, flag, values))
    return out
