"""Key rotation registry: every column that stores values under the field keys is registered here.

The security chapter owns the keys but not the tables that hold ciphertext, so an app above it registers its
columns in its AppConfig.ready(), and `manage.py rotate_field_keys` walks the registry in registration order:

- `register_column(model_or_table, column, blind_index=None)` — a text column holding one token per row; with
  `blind_index` the named bytea column is recomputed as `cipher.blind_index(plain)` on a blind-index rotation;
- `register_json(model_or_table, column, path=())` — a JSON column whose object at `path` maps names to values,
  the values that are tokens are re-encrypted (others are left alone);
- `register(name, rotate, covers=[(table, column), …])` — an app's own rotator for tables with more to keep
  consistent than one column (the pool's records and their history: set-based, with row digests); `covers`
  names the columns it rotates.

A rotator is `rotate(*, cipher, batch, recompute_blind_index, dry_run, on_batch) -> dict[str, int]` (rows changed
by counter name). It works batch by batch, keyset by primary key, one transaction per batch, skipping values
already under the current key (so an interrupted run is resumed by running it again), and calls
`on_batch(table, column, count)` inside each batch's transaction after writing (the command audits there).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

from security import crypto

Rotator = Callable[..., dict[str, int]]

_rotators: dict[str, Rotator] = {}
_covers: dict[str, tuple[tuple[str, str], ...]] = {}


_MIN_PK = -(2**63)  # keyset start below any bigint primary key


def _no_batch_hook(table: str, column: str, count: int) -> None:
    return None


def register(name: str, rotate: Rotator, *, covers=()) -> None:
    """Register (or replace) the rotator called `name`; `covers`: the (table, column) pairs it rotates."""
    _rotators[name] = rotate
    _covers[name] = tuple((str(t), str(c)) for t, c in covers)


def registered() -> dict[str, Rotator]:
    """The registered rotators by name, in registration order."""
    return dict(_rotators)


def covered() -> set[tuple[str, str]]:
    """Every (table, column) some registered rotator re-encrypts."""
    return {pair for name in _rotators for pair in _covers.get(name, ())}


def _table_of(model_or_table) -> str:
    return model_or_table if isinstance(model_or_table, str) else model_or_table._meta.db_table


def _column_of(model_or_table, name: str) -> str:
    if isinstance(model_or_table, str):
        return name
    return model_or_table._meta.get_field(name).column


@dataclass(frozen=True)
class EncryptedColumn:
    """One ciphertext column: a text column of tokens, or (json_path not None) a JSON object of values."""

    table: str
    column: str
    pk: str = "id"
    blind_index: str | None = None
    json_path: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column}"

    def __call__(self, *, cipher: crypto.FieldCipher, batch: int, recompute_blind_index: bool, dry_run: bool,
                 on_batch: Callable[[str, str, int], None] = _no_batch_hook) -> dict[str, int]:
        recompute = recompute_blind_index and self.blind_index is not None
        # Identifiers are registered model/table names (quoted), never input; values are parameters.
        q = connection.ops.quote_name
        t, c, pk = q(self.table), q(self.column), q(self.pk)
        where = ""
        if self.json_path is None and not recompute:
            # Only rows still under an old key; rows rotated by an earlier (interrupted) run are not even read.
            where = f" AND {c} IS NOT NULL AND NOT starts_with({c}, %(prefix)s)"
        select = f"SELECT {pk}, {c} FROM {t} WHERE {pk} > %(last)s{where} ORDER BY {pk} LIMIT %(batch)s FOR UPDATE"  # noqa: S608
        if self.json_path is not None:
            update = f"UPDATE {t} SET {c} = %s::jsonb WHERE {pk} = %s"  # noqa: S608
        elif recompute:
            update = f"UPDATE {t} SET {c} = %s, {q(self.blind_index)} = %s WHERE {pk} = %s"  # noqa: S608
        else:
            update = f"UPDATE {t} SET {c} = %s WHERE {pk} = %s"  # noqa: S608
        count, last = 0, _MIN_PK
        while True:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(select, {"last": last, "batch": batch, "prefix": cipher.current_kid + ":"})
                rows = cur.fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                updates = [u for u in (self._changed(cipher, rid, value, recompute) for rid, value in rows) if u]
                if updates and not dry_run:
                    cur.executemany(update, updates)
                    on_batch(self.table, self.column, len(updates))
                count += len(updates)
        return {self.label: count}

    def _changed(self, cipher: crypto.FieldCipher, rid, value, recompute: bool):
        """The UPDATE parameters for one row, or None when it is already under the current key."""
        if self.json_path is not None:
            data = json.loads(value) if isinstance(value, str) else value
            new, changed = _reencrypt_at(data, self.json_path, cipher, {})
            return (json.dumps(new, ensure_ascii=False), rid) if changed else None
        if not crypto.is_encrypted(value):
            return None
        token = value if cipher.is_current(value) else cipher.encrypt(cipher.decrypt(value))
        if recompute:
            return token, cipher.blind_index(cipher.decrypt(token)), rid
        return (token, rid) if token != value else None


def _reencrypt_at(data, path: tuple[str, ...], cipher: crypto.FieldCipher, token_map: dict[str, str]):
    """`data` with every token not under the current key in the object at `path` re-encrypted; (data, changed).
    Equal old tokens get equal new tokens (token_map)."""
    if not isinstance(data, dict):
        return data, False
    if path:
        inner, changed = _reencrypt_at(data.get(path[0]), path[1:], cipher, token_map)
        return ({**data, path[0]: inner}, True) if changed else (data, False)
    out, changed = {}, False
    for name, value in data.items():
        if isinstance(value, str) and crypto.is_encrypted(value) and not cipher.is_current(value):
            if value not in token_map:
                token_map[value] = cipher.encrypt(cipher.decrypt(value))
            value, changed = token_map[value], True
        out[name] = value
    return out, changed


def register_column(model_or_table, column: str, *, blind_index: str | None = None, pk: str = "id",
                    name: str | None = None) -> EncryptedColumn:
    """Register a text column of tokens (a model and its field name, or a raw table and column name); with
    `blind_index`, the bytea column (field) holding `blind_index(plain)` is recomputed on a blind-index rotation."""
    table = _table_of(model_or_table)
    col = EncryptedColumn(
        table=table, column=_column_of(model_or_table, column), pk=_column_of(model_or_table, pk),
        blind_index=_column_of(model_or_table, blind_index) if blind_index else None,
    )
    register(name or col.label, col, covers=[(col.table, col.column)])
    return col


def register_json(model_or_table, column: str, *, path: tuple[str, ...] = (), pk: str = "id",
                  name: str | None = None) -> EncryptedColumn:
    """Register a JSON column whose object at `path` (keys from the top; () is the column's own object) holds
    values some of which are tokens."""
    table = _table_of(model_or_table)
    col = EncryptedColumn(table=table, column=_column_of(model_or_table, column),
                          pk=_column_of(model_or_table, pk), json_path=tuple(path))
    register(name or col.label, col, covers=[(col.table, col.column)])
    return col
