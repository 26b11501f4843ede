"""The layout of one resource table: which column holds which catalog item, and as what SQL type.

`pool.r<dataset id>` has fixed columns (id, key_hash, token, row_hash, job_id, version, created_at, updated_at,
deleted_at) and per item c<n> — its plain value, typed — unless the item is stored encrypted (then the value is only
inside the row's token), and m<n> (text) when the item has a stored masked form. `n` is a stable number per item kept
in Dataset.columns: item names are Chinese, typed by people and renamed, so they never reach SQL. Every identifier
made here is built from the dataset id and column numbers only, and is checked again before it is quoted.

Dataset.columns: {item name: {"col": "c3" or None (encrypted), "mask": "m3" or None, "mask_kind": masking kind or
None, "type": SQL type, "encrypted": bool, "retired": bool}}.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from psycopg import sql

from catalog.validation import item_key

from ..ingest.planning import ItemSpec
from .rowwork import SQL_TYPES, Column, Target

SCHEMA = "pool"
SEQUENCE = "row_id_seq"
_COLUMN = re.compile(r"^[cm][1-9][0-9]{0,8}$")


def sql_type(data_type: str, length: int | None) -> str:
    """The column type of a catalog data type (catalog.choices.DataType), matching the canonical text the converters of
    ingest.validation produce: C, M, G text; D date; T timestamp; I bigint (numeric beyond 18 digits); N, Y, B, F
    numeric; L boolean."""
    if data_type == "D":
        return "date"
    if data_type == "T":
        return "timestamp"
    if data_type == "I":
        return "numeric" if length and length > 18 else "bigint"
    if data_type in ("N", "Y", "B", "F"):
        return "numeric"
    if data_type == "L":
        return "boolean"
    return "text"


def table_name(dataset_id: int) -> str:
    """`r<id>` — the unqualified name of a dataset's table (an int: nothing else can get in)."""
    if type(dataset_id) is not int or dataset_id <= 0:
        raise ValueError(f"not a dataset id: {dataset_id!r}")
    return f"r{dataset_id}"


def table_ident(dataset_id: int) -> sql.Identifier:
    """The quoted qualified name "pool"."r<id>"."""
    return sql.Identifier(SCHEMA, table_name(dataset_id))


def column_ident(name: str) -> sql.Identifier:
    """A quoted item column (c<n> / m<n>); anything else (an item name, say) is refused."""
    if not isinstance(name, str) or not _COLUMN.match(name):
        raise ValueError(f"not a resource-table column: {name!r}")
    return sql.Identifier(name)


def type_sql(name: str) -> sql.SQL:
    """A column type from the closed list (never text from outside)."""
    if name not in SQL_TYPES:
        raise ValueError(f"not a resource-table type: {name!r}")
    return sql.SQL(name)


def _number(entry: dict) -> int | None:
    for field in ("col", "mask"):
        if entry.get(field):
            return int(entry[field][1:])
    return None


def assign(columns: dict[str, dict], specs: Iterable[ItemSpec]) -> dict[str, dict]:
    """The mapping for the items `specs` (the entry's current items) given the stored mapping `columns`.

    A new item gets the next free number (never one used before, retired or not). An item no longer in the catalog is
    kept, marked retired (its values stay for history until a clean-up). A name whose catalog key (catalog.validation.
    item_key: the catalog's own rule of "the same item", under which sync_items keeps the data item's row) matches a
    stored item that left the catalog is that item renamed: it keeps its columns. An item stored encrypted stays so
    (as Dataset.encrypted_items). A masked form follows the plan's masking kind. Pure: the stored mapping is not
    changed.
    """
    specs = list(specs)
    out = {name: dict(entry) for name, entry in columns.items()}
    wanted = {s.name for s in specs}
    numbers = [n for e in out.values() for f in ("col", "mask") if e.get(f) for n in [int(e[f][1:])]]
    counter = max(numbers, default=0)

    def fresh() -> int:
        nonlocal counter
        counter += 1
        return counter

    for spec in specs:
        if spec.name in out:
            continue
        key = item_key(spec.name)
        renamed = next((n for n in out if n not in wanted and item_key(n) == key), None)
        if renamed is not None:
            out[spec.name] = out.pop(renamed)
    for name, entry in out.items():
        if name not in wanted:
            entry["retired"] = True
    for spec in specs:
        entry = out.get(spec.name)
        if entry is None:
            n = fresh()
            out[spec.name] = {
                "col": None if spec.encrypt else f"c{n}", "mask": f"m{n}" if spec.mask_kind else None,
                "mask_kind": spec.mask_kind, "type": sql_type(spec.data_type, spec.length),
                "encrypted": spec.encrypt, "retired": False,
            }
            continue
        encrypted = bool(entry.get("encrypted")) or spec.encrypt
        n = _number(entry)
        col = entry.get("col")
        if encrypted:
            col = None
        elif col is None:  # not reached while encryption is sticky; a plain item always has its column
            col = f"c{n if n is not None else fresh()}"
        mask = entry.get("mask")
        if spec.mask_kind and not mask:
            mask = f"m{n if n is not None else fresh()}"
        elif not spec.mask_kind:
            mask = None
        entry.update(col=col, mask=mask, mask_kind=spec.mask_kind, type=sql_type(spec.data_type, spec.length),
                     encrypted=encrypted, retired=False)
    return out


@dataclass(frozen=True)
class Layout:
    """A dataset's table as the mapping describes it (assigned from the plan by `of`, or as stored)."""

    dataset_id: int
    columns: dict[str, dict]

    @classmethod
    def of(cls, dataset, specs: Iterable[ItemSpec] | None = None) -> Layout:
        """The layout the dataset's table should have for its entry's current items (`specs`: a plan's items)."""
        if specs is None:
            from ..ingest.planning import plan_for

            specs = plan_for(dataset).items
        return cls(dataset.pk, assign(dataset.columns or {}, specs))

    @classmethod
    def stored(cls, dataset) -> Layout:
        """The layout as Dataset.columns records it (what the table has now)."""
        return cls(dataset.pk, {k: dict(v) for k, v in (dataset.columns or {}).items()})

    @property
    def table(self) -> sql.Identifier:
        return table_ident(self.dataset_id)

    @property
    def qualified(self) -> str:
        """pool.r<id> as text (a regclass literal, for to_regclass and messages)."""
        return f"{SCHEMA}.{table_name(self.dataset_id)}"

    @property
    def live(self) -> dict[str, dict]:
        """The mapping of the catalog's current items (not retired)."""
        return {name: e for name, e in self.columns.items() if not e.get("retired")}

    def plain(self, *, retired: bool = True) -> list[tuple[str, str, str]]:
        """(item, c<n>, SQL type) of the items with a plain column, by column number."""
        rows = [(name, e["col"], e["type"]) for name, e in self.columns.items()
                if e.get("col") and (retired or not e.get("retired"))]
        return sorted(rows, key=lambda r: int(r[1][1:]))

    def masked(self, *, retired: bool = True) -> list[tuple[str, str, str | None]]:
        """(item, m<n>, masking kind) of the items with a stored masked form, by column number."""
        rows = [(name, e["mask"], e.get("mask_kind")) for name, e in self.columns.items()
                if e.get("mask") and (retired or not e.get("retired"))]
        return sorted(rows, key=lambda r: int(r[1][1:]))

    def encrypted(self) -> list[str]:
        """The current items held in the token."""
        return [name for name, e in self.live.items() if e.get("encrypted")]

    def item_columns(self) -> list[tuple[str, str]]:
        """(column, SQL type) of every item column in table order: the c<n>, then the m<n>."""
        return [(col, typ) for _n, col, typ in self.plain()] + [(m, "text") for _n, m, _k in self.masked()]

    @classmethod
    def of_target(cls, target: Target) -> Layout:
        """The layout a writer's Target describes (the inverse of `target`): for a table made without a dataset
        (the writer's tests and bench/writer.py create theirs with ddl.create_statements from it)."""
        return cls(target.dataset_id, {c.item: {"col": c.column, "mask": c.mask, "mask_kind": c.mask_kind,
                                                "type": c.sql_type, "encrypted": c.encrypted, "retired": False}
                                       for c in target.columns})

    def target(self, key_item: str) -> Target:
        """What storage.writing writes a batch of the current items into (retired items are left as stored)."""
        return Target(dataset_id=self.dataset_id, table=self.qualified, key_item=key_item, columns=tuple(
            Column(name, e["col"], e["type"], bool(e["encrypted"]), e["mask"], e["mask_kind"] if e["mask"] else None)
            for name, e in sorted(self.live.items(), key=lambda i: _number(i[1]) or 0)))
