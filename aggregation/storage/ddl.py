"""Creating a resource table and migrating it online when a catalog update changes the entry's items.

`table_create` runs in the transaction that creates the dataset (services.pools.dataset_ensure), or for a dataset
created before the tables by the beat's `datasets_sync`. `table_migrate` runs inside the catalog update's approval
(catalog.hooks "items changed", registered in apps.py), so the entry, its version, the table and the mapping change
together or not at all:

- add an item: ADD COLUMN, nullable and without a default — a catalog-only change, instant on any size;
- retire an item: the column stays, marked retired (its values are kept for history until a later clean-up);
- rename (the catalog's item_key rule): the mapping, and the tokens and row digests (they hold item names);
- retype: ALTER COLUMN … TYPE … USING, after every stored value was converted by the ingest converters (a value
  that does not fit refuses the whole approval, the rows listed; `item_change_refusal` says so before anything is
  applied, from the values where they are stored today, storage.values);
- an item becoming personal: its values move into the row's token, its plain column goes;
- a masking kind added, changed or dropped: the masked column is added, recreated empty or dropped (an empty form is
  masked when read, as today's Record.masked).

Online: each DDL statement needs the table's ACCESS EXCLUSIVE lock, and a statement waiting for it queues every later
reader behind it. `lock_timeout` (SET LOCAL, restored after) makes the migration give up after LOCK_TIMEOUT_MS
instead — the approval fails with "table_busy" and can be repeated; nothing was changed.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from django.db import OperationalError, connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from psycopg import sql

from catalog.validation import item_key
from portal import audit
from portal.errors import PortalError
from security.crypto import FieldCipher
from security.masking import mask

from .. import access
from ..ingest import planning
from ..ingest.encryption import row_digest
from ..ingest.validation import clean_text, converter
from ..models import Dataset
from . import values
from .layout import SCHEMA, SEQUENCE, Layout, column_ident, table_name, type_sql
from .writing import cipher as storage_cipher
from .writing import open_token, seal_token

LOCK_TIMEOUT_MS = 3000
UNFIT_LISTED = 20  # rows named in a refusal; the rest are counted
BATCH = 5000
DDL = frozenset({"add", "retype", "encrypt", "mask_add", "mask_drop", "mask_change"})


class TableBusy(PortalError):
    code = "table_busy"
    status = 409
    default_detail = gettext_lazy("资源表正被其他操作占用（正在读取、导出或归集数据），本次变更未执行，请稍后重试")


class ItemsUnfit(PortalError):
    code = "items_unfit"
    status = 409


@dataclass(frozen=True)
class Unfit:
    item: str
    record_id: int
    value: str
    reason: str


def _run(cur, statement: sql.Composable, params=None) -> None:
    cur.execute(statement.as_string(connection.connection), params)


def table_exists(dataset_id: int) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{SCHEMA}.{table_name(dataset_id)}"])
        return cur.fetchone()[0]


def create_statements(layout: Layout) -> list[sql.Composed]:
    """CREATE TABLE and its index (storage contract: the PK, UNIQUE (key_hash), (updated_at, id) for `since` paging)."""
    name = table_name(layout.dataset_id)
    items = [sql.SQL("{} {}").format(column_ident(col), type_sql(typ)) for col, typ in layout.item_columns()]
    columns = sql.SQL(",\n  ").join([
        sql.SQL("id bigint NOT NULL DEFAULT nextval({}::regclass) PRIMARY KEY").format(
            sql.Literal(f"{SCHEMA}.{SEQUENCE}")),
        sql.SQL("key_hash bytea NOT NULL"),
        sql.SQL("token text"),
        *items,
        sql.SQL("row_hash bytea NOT NULL"),
        sql.SQL("job_id bigint"),
        sql.SQL("version integer NOT NULL DEFAULT 1"),
        sql.SQL("created_at timestamptz NOT NULL DEFAULT now()"),
        sql.SQL("updated_at timestamptz NOT NULL DEFAULT now()"),
        sql.SQL("deleted_at timestamptz"),
        sql.SQL("CONSTRAINT {} UNIQUE (key_hash)").format(sql.Identifier(f"{name}_key_hash_key")),
    ])
    return [
        sql.SQL("CREATE TABLE IF NOT EXISTS {} (\n  {}\n)").format(layout.table, columns),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (updated_at, id)").format(
            sql.Identifier(f"{name}_since_idx"), layout.table),
    ]


def table_create(dataset: Dataset, *, actor=None) -> bool:
    """Create the dataset's table for its entry's current items, in the caller's transaction; False when it exists
    (idempotent — a changed catalog then goes through `table_migrate`). Stores Dataset.columns and audits
    aggregation.dataset.table_created."""
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        if table_exists(locked.pk):
            dataset.columns = locked.columns
            return False
        layout = Layout.of(locked)
        with connection.cursor() as cur:
            for statement in create_statements(layout):
                _run(cur, statement)
        Dataset.objects.filter(pk=locked.pk).update(columns=layout.columns)
        dataset.columns = layout.columns
        audit.record(actor=actor, action="aggregation.dataset.table_created", obj=locked,
                     department=locked.department,
                     data={"table": layout.qualified, "columns": {n: [e["col"], e["mask"]]
                                                                  for n, e in layout.columns.items()}})
    return True


# --------------------------------------------------------------------------------------------------
# Migration


def changes_between(old: dict[str, dict], new: dict[str, dict]) -> list[dict]:
    """What turns the mapping `old` into `new` (layout.assign's output), in the order it is applied."""
    changes: list[dict] = []
    gone = [n for n in old if n not in new]
    for name, e in new.items():
        o = old.get(name)
        if o is None:
            source = next((n for n in gone if item_key(n) == item_key(name)), None)
            if source is None:
                changes.append({"op": "add", "item": name, "column": e["col"], "mask": e["mask"], "type": e["type"]})
                continue
            changes.append({"op": "rename", "item": name, "from": source})
            o = old[source]
        if e.get("retired") and not o.get("retired"):
            changes.append({"op": "retire", "item": name})
            continue
        if o.get("retired") and not e.get("retired"):
            changes.append({"op": "restore", "item": name})
        if o.get("col") and not e.get("col"):
            changes.append({"op": "encrypt", "item": name, "column": o["col"]})
        elif e.get("col") and not o.get("col"):
            changes.append({"op": "add", "item": name, "column": e["col"], "mask": None, "type": e["type"]})
        if o["type"] != e["type"]:
            changes.append({"op": "retype", "item": name, "column": e.get("col"), "from": o["type"],
                            "to": e["type"]})
        if e.get("mask") and not o.get("mask"):
            changes.append({"op": "mask_add", "item": name, "column": e["mask"], "kind": e.get("mask_kind")})
        elif o.get("mask") and not e.get("mask"):
            changes.append({"op": "mask_drop", "item": name, "column": o["mask"]})
        elif e.get("mask") and o.get("mask_kind") != e.get("mask_kind"):
            changes.append({"op": "mask_change", "item": name, "column": e["mask"], "kind": e.get("mask_kind")})
    return changes


@contextmanager
def online():
    """Run the block in a savepoint with `lock_timeout`: a lock not granted in time (a long reader, a load holding the
    dataset) raises TableBusy, the savepoint undone; the previous settings are restored either way."""
    # DateStyle: a date's text is read back as the converters' canonical text (as storage.writing pins it).
    wanted = {"lock_timeout": f"{int(LOCK_TIMEOUT_MS)}ms", "DateStyle": "ISO, YMD"}
    with transaction.atomic():  # SET LOCAL needs a transaction: the caller's, or this one
        with connection.cursor() as cur:
            cur.execute("SELECT current_setting('lock_timeout'), current_setting('DateStyle')")
            previous = dict(zip(wanted, cur.fetchone(), strict=True))
            cur.execute("SELECT set_config('lock_timeout', %s, true), set_config('DateStyle', %s, true)",
                        list(wanted.values()))
        try:
            with transaction.atomic():
                yield
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            raise TableBusy() from exc
        finally:
            with connection.cursor() as cur:
                cur.execute("SELECT set_config('lock_timeout', %s, true), set_config('DateStyle', %s, true)",
                            list(previous.values()))


def table_migrate(dataset: Dataset, *, actor) -> list[dict]:
    """Bring the dataset's table in line with its entry's current items (after a catalog update), online and in the
    caller's transaction; the changes applied (empty: nothing to do). Creates the table if there is none.

    Raises ItemsUnfit ("items_unfit", the rows listed) when stored values do not fit a retyped item, TableBusy
    ("table_busy") when the table or the dataset stays locked past LOCK_TIMEOUT_MS; then nothing was changed.
    Audits aggregation.dataset.table_migrated with the changes.
    """
    with online():
        locked = Dataset.objects.select_for_update().select_related("entry", "department").get(pk=dataset.pk)
        if not table_exists(locked.pk):
            table_create(locked, actor=actor)
            dataset.columns = locked.columns
            return []
        plan = planning.plan_for(locked)
        old = Layout.stored(locked)
        new = Layout.of(locked, plan.items)
        changes = changes_between(old.columns, new.columns)
        if not changes:
            return []
        specs = plan.by_name
        with connection.cursor() as cur:
            # Rows first — value conversions and moves into the token take row locks only, readers go on — then
            # the DDL under one ACCESS EXCLUSIVE lock, taken once before it (a rename or a retirement takes none).
            existing = {c for _n, c, _t in old.plain()}
            now, later = set(), set()  # rows whose plain text changed: digested before / after the DDL
            deferred = {}
            for change in changes:
                if change["op"] == "retype" and change["column"]:
                    fixes = _retype_rows(cur, locked, old, specs[change["item"]], change)
                    if change["from"] == "text" or not fixes.any:
                        fixes.write(cur, old, change["column"])
                        now |= fixes.ids
                    else:  # a typed column whose canonical text changes: through text, under the lock
                        deferred[change["item"]] = fixes
                        later |= fixes.ids
                elif change["op"] == "encrypt":
                    _move_into_token(cur, old, change["item"], change["column"])
            # Tokens and digests hold item names: a rename rewrites every token holding the item and every row's
            # digest; a retyped item held in the token is converted there (the same converters, the same refusal).
            renames = {c["from"]: c["item"] for c in changes if c["op"] == "rename"}
            for source, name in renames.items():  # (the records too, while the writers mirror them: moving.mirror)
                _run(cur, sql.SQL("UPDATE aggregation_record SET data = (data - %s) || jsonb_build_object(%s::text, "
                                  "data -> %s) WHERE dataset_id = %s AND data ? %s"),
                     [source, name, source, locked.pk, source])
            checks = {c["item"]: converter_of(locked, specs[c["item"]]) for c in changes
                      if c["op"] == "retype" and not c["column"]}
            if renames or checks:
                _rewrite_tokens(cur, locked, new, existing=existing, renames=renames, checks=checks,
                                redigest=None if renames else now)
            elif now:
                _redigest(cur, new, sorted(now), existing=existing)
            if any(c["op"] in DDL for c in changes):
                _run(cur, sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(new.table))
            for change in changes:
                _apply_ddl(cur, new, change, deferred.get(change["item"]))
            if later:
                _redigest(cur, new, sorted(later), existing={c for _n, c, _t in new.plain()})
        encrypted = sorted(set(locked.encrypted_items) | set(new.encrypted()))
        Dataset.objects.filter(pk=locked.pk).update(columns=new.columns, encrypted_items=encrypted)
        audit.record(actor=actor, action="aggregation.dataset.table_migrated", obj=locked,
                     department=locked.department, data={"table": new.qualified, "changes": changes})
    dataset.columns, dataset.encrypted_items = new.columns, encrypted
    return changes


def _apply_ddl(cur, layout: Layout, change: dict, fixes: Fixes | None) -> None:
    op, table = change["op"], layout.table
    if op == "add":
        for col, typ in ((change["column"], change["type"]), (change.get("mask"), "text")):
            if col:
                _run(cur, sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(table, column_ident(col), type_sql(typ)))
    elif op == "retype" and change["column"]:
        col = column_ident(change["column"])
        source = change["from"]
        if fixes is not None:
            _run(cur, sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE text USING {}::text").format(table, col, col))
            fixes.write(cur, layout, change["column"])
            source = "text"
        # numeric → bigint directly (a numeric's text may read "3.0"); anything else through its canonical text
        using = (sql.SQL("{}::bigint").format(col) if (source, change["to"]) == ("numeric", "bigint")
                 else sql.SQL("{}::text::{}").format(col, type_sql(change["to"])))
        _run(cur, sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}").format(
            table, col, type_sql(change["to"]), using))
    elif op in ("encrypt", "mask_drop", "mask_change"):
        _run(cur, sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(table, column_ident(change["column"])))
    if op in ("mask_add", "mask_change"):
        _run(cur, sql.SQL("ALTER TABLE {} ADD COLUMN {} text").format(table, column_ident(change["column"])))
    # retire, restore, rename, and the retype of an item held in the token: the mapping only


@dataclass
class Fixes:
    """What a retype changes in a column before its type: canonical texts, and values emptied."""

    fixed: dict[int, str]
    emptied: list[int]

    @property
    def any(self) -> bool:
        return bool(self.fixed or self.emptied)

    @property
    def ids(self) -> set[int]:
        return {*self.fixed, *self.emptied}

    def write(self, cur, layout: Layout, column: str) -> None:
        col = column_ident(column)
        if self.emptied:
            _run(cur, sql.SQL("UPDATE {} SET {} = NULL WHERE id = ANY(%s)").format(layout.table, col), [self.emptied])
        if self.fixed:
            _run(cur, sql.SQL("UPDATE {} t SET {} = u.v FROM unnest(%s::bigint[], %s::text[]) AS u(id, v) "
                              "WHERE t.id = u.id").format(layout.table, col),
                 [list(self.fixed), list(self.fixed.values())])


def _retype_rows(cur, dataset, layout: Layout, spec, change: dict) -> Fixes:
    """Convert the column's stored values with the item's converter (the canonical text the pipeline stores). A live
    row whose value does not convert refuses (ItemsUnfit); a deleted row's value is emptied (its deletion's history row
    keeps it), and so is a blank text. One pass of a server-side cursor."""
    col = column_ident(change["column"])
    convert = converter_of(dataset, spec)
    unfit, emptied, fixed = [], [], {}
    with connection.chunked_cursor() as rows:
        _run(rows, sql.SQL("SELECT id, deleted_at IS NOT NULL, {}::text FROM {} WHERE {} IS NOT NULL ORDER BY id")
             .format(col, layout.table, col))
        while batch := rows.fetchmany(BATCH):
            for rid, deleted, text in batch:
                cleaned = clean_text(text)
                canonical, problem = convert(cleaned) if cleaned else ("", None)
                if not cleaned or (problem and deleted):
                    emptied.append(rid)
                elif problem:
                    unfit.append(Unfit(spec.name, rid, text, problem))
                elif canonical != text:
                    fixed[rid] = canonical
    if unfit:
        raise ItemsUnfit(unfit_message(dataset, unfit[:UNFIT_LISTED], keys={}, total=len(unfit)))
    return Fixes(fixed, emptied)


def _token_open(cipher: FieldCipher, token: str | None) -> dict:
    return open_token(cipher, token) if token else {}


def _move_into_token(cur, layout: Layout, item: str, column: str) -> None:
    """An item that became personal: each row's value joins its token (the plain column is dropped after)."""
    col = column_ident(column)
    cipher = storage_cipher()
    encrypt = cipher.bulk_encryptor()
    last = 0
    while True:
        _run(cur, sql.SQL("SELECT id, token, {}::text FROM {} WHERE id > %s AND {} IS NOT NULL ORDER BY id LIMIT %s")
             .format(col, layout.table, col), [last, BATCH])
        rows = cur.fetchall()
        if not rows:
            return
        last = rows[-1][0]
        tokens = [seal_token(encrypt, {**_token_open(cipher, token), item: text}) for _id, token, text in rows]
        _run(cur, sql.SQL("UPDATE {} t SET token = u.token FROM unnest(%s::bigint[], %s::text[]) AS u(id, token) "
                          "WHERE t.id = u.id").format(layout.table), [[r[0] for r in rows], tokens])


def converter_of(dataset, spec):
    """The converter of a catalog item (ItemSpec) of the dataset: value → (canonical text, problem)."""
    return converter(spec.data_type, spec.length, key_kind=dataset.key_kind if spec.is_key else None)


def _rewrite_tokens(cur, dataset, layout: Layout, *, existing: set[str], renames: dict[str, str], checks: dict,
                    redigest: set[int] | None) -> None:
    """One pass over the rows' tokens: renamed items take their new names, retyped items (`checks`: item →
    converter) their canonical text (a live row's value that does not convert refuses: ItemsUnfit; a deleted row's
    is emptied); a changed row gets its token sealed again and its digest recomputed, and so does every row of
    `redigest` (None: every row)."""
    cipher = storage_cipher()
    encrypt = cipher.bulk_encryptor()
    plain = [p for p in layout.plain(retired=False) if p[1] in existing]
    encrypted = set(layout.encrypted())
    cols = sql.SQL("").join(sql.SQL(", {}::text").format(column_ident(c)) for _n, c, _t in plain)
    unfit: list[Unfit] = []
    last = 0
    while True:
        _run(cur, sql.SQL("SELECT id, deleted_at IS NOT NULL, token{} FROM {} WHERE id > %s ORDER BY id LIMIT %s")
             .format(cols, layout.table), [last, BATCH])
        rows = cur.fetchall()
        if not rows:
            break
        last = rows[-1][0]
        updates = []
        for rid, deleted, token, *texts in rows:
            values_ = _token_open(cipher, token)
            changed = False
            for old, new in renames.items():
                if old in values_:
                    values_[new] = values_.pop(old)
                    changed = True
            for item, convert in checks.items():
                if not values_.get(item):
                    continue
                canonical, problem = convert(clean_text(values_[item]))
                if problem and deleted:
                    del values_[item]
                    changed = True
                elif problem:
                    unfit.append(Unfit(item, rid, values_[item], problem))
                elif canonical != values_[item]:
                    values_[item] = canonical
                    changed = True
            if changed or redigest is None or rid in redigest:
                row = {k: v for k, v in values_.items() if k in encrypted and v}
                row.update({name: text for (name, _c, _t), text in zip(plain, texts, strict=True) if text})
                updates.append((rid, seal_token(encrypt, values_) if changed else token, row_digest(cipher, row)))
        if updates and not unfit:
            _run(cur, sql.SQL("UPDATE {} t SET token = u.token, row_hash = u.h FROM unnest(%s::bigint[], %s::text[], "
                              "%s::bytea[]) AS u(id, token, h) WHERE t.id = u.id").format(layout.table),
                 [[u[0] for u in updates], [u[1] for u in updates], [u[2] for u in updates]])
    if unfit:
        raise ItemsUnfit(unfit_message(dataset, unfit[:UNFIT_LISTED], keys={}, total=len(unfit)))


def _redigest(cur, layout: Layout, ids: list[int], *, existing: set[str]) -> None:
    """row_hash again for rows whose plain text changed: ingest.encryption.row_digest of the row's current items
    (plain columns as text — those `existing` in the table yet —, the token's items)."""
    cipher = storage_cipher()
    plain = [p for p in layout.plain(retired=False) if p[1] in existing]
    encrypted = set(layout.encrypted())
    cols = sql.SQL("").join(sql.SQL(", {}::text").format(column_ident(c)) for _n, c, _t in plain)
    _run(cur, sql.SQL("SELECT id, token{} FROM {} JOIN unnest(%s::bigint[]) AS u(id) USING (id)").format(
        cols, layout.table), [ids])
    digests = []
    for rid, token, *texts in cur.fetchall():
        row = {k: v for k, v in _token_open(cipher, token).items() if k in encrypted and v}
        row.update({name: text for (name, _c, _t), text in zip(plain, texts, strict=True) if text})
        digests.append((rid, row_digest(cipher, row)))
    _run(cur, sql.SQL("UPDATE {} t SET row_hash = u.h FROM unnest(%s::bigint[], %s::bytea[]) AS u(id, h) "
                      "WHERE t.id = u.id").format(layout.table), [[d[0] for d in digests], [d[1] for d in digests]])


# --------------------------------------------------------------------------------------------------
# The catalog's hooks (registered in apps.py)


def unfit_message(dataset, unfit: list[Unfit], *, keys: dict[int, str | None], total: int | None = None) -> str:
    """The refusal: up to UNFIT_LISTED rows (record id, subject key and value masked as any non-holder sees them,
    the converter's reason) and how many in all."""
    total = len(unfit) if total is None else total
    kinds = planning.mask_kinds_of(planning.plan_for(dataset).items)
    lines = []
    for u in unfit[:UNFIT_LISTED]:
        key = keys.get(u.record_id)
        who = _("记录 %(id)s") % {"id": u.record_id}
        if key:
            who += _("（主体 %(key)s）") % {"key": access.key_display(dataset, key, full=False)}
        value = mask(u.value, kinds[u.item]) if kinds.get(u.item) and u.value else u.value
        lines.append(_("「%(item)s」%(who)s：“%(value)s”，%(reason)s")
                     % {"item": u.item, "who": who, "value": value, "reason": u.reason})
    more = total - len(lines)
    head = _("已归集的数据中有 %(n)s 个值不符合变更后的信息项类型或长度，不能批准本次目录更新"
             "（请先更正或删除这些记录，或调整信息项定义）：") % {"n": total}
    tail = [_("……另有 %(n)s 个值未列出") % {"n": more}] if more > 0 else []
    return "\n".join([head, *lines, *tail])


def _narrower(old, proposed: dict) -> bool:
    """Whether a value of the item `old` may not fit the proposed definition: another data type, or a length that
    is newly set or shorter (a longer one fits every value)."""
    if old.data_type != proposed["data_type"]:
        return True
    length = proposed.get("length")
    return bool(length) and (not old.length or length < old.length)


def item_change_refusal(entry_id: int, items: list[dict]) -> str | None:
    """catalog.hooks item-change guard: why the entry's proposed `items` (an update case's, before they are applied)
    do not fit the values already stored, or None. An item whose data type or length changes (matched by the
    catalog's item_key) has each stored value of its live rows converted as a load would (ingest.validation).
    Raises TableBusy when a load holds the dataset."""
    dataset = Dataset.objects.select_related("entry").filter(entry_id=entry_id).first()
    if dataset is None:
        return None
    current = {item_key(i.name): i for i in dataset.entry.items.all()}
    retyped = [(current[item_key(p["name"])], p) for p in items if item_key(p["name"]) in current]
    retyped = [(old, p) for old, p in retyped if _narrower(old, p)]
    if not retyped:
        return None
    unfit: list[Unfit] = []
    total = 0
    # The dataset's row stays locked to the approval's end, as a load holds it: no load writes a value between this
    # check and the migration (a running load makes the approval fail with table_busy rather than wait for it).
    with online():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
    for old, proposed in retyped:
        kind = dataset.key_kind if old.name == dataset.key_item_name else None
        convert = converter(proposed["data_type"], proposed.get("length"), key_kind=kind)
        for rid, text in values.item_values(dataset, old.name):
            problem = _("密文无法解密，无法核对") if text is None else convert(clean_text(text))[1]
            if problem:
                total += 1
                if len(unfit) < UNFIT_LISTED:
                    unfit.append(Unfit(old.name, rid, text or "", problem))
    if not total:
        return None
    return unfit_message(dataset, unfit, keys=values.subject_keys(dataset, [u.record_id for u in unfit]),
                         total=total)


def items_changed(entry_id: int, *, actor) -> None:
    """catalog.hooks items-changed callback: after an approved update applied the items, migrate the table."""
    dataset = Dataset.objects.filter(entry_id=entry_id).first()
    if dataset is not None:
        table_migrate(dataset, actor=actor)
