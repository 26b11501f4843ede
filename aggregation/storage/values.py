"""The stored values of one item: what the retype guard (storage.ddl) checks before a catalog update is approved.

The values are read from the dataset's resource table `pool.r<id>` (storage.reading): a clear item from its typed
column (its canonical text), an encrypted one from each row's token.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db import connection, transaction
from psycopg import sql

from . import reading
from .layout import Layout, column_ident
from .writing import cipher as storage_cipher

BATCH = 5000


def item_values(dataset, item_name: str) -> Iterator[tuple[int, str | None]]:
    """(row id, plain text) of the item in each live row of the dataset holding a non-empty value; the text is None
    for a row whose token does not authenticate (it cannot be checked). A clear item: one pass of a server-side
    cursor over its column (a million rows never sit in memory; the column is named from the Layout, never from the
    item name). An encrypted item: keyset batches of the rows' tokens (reading.walk), each batch opened together.
    Inside a transaction (a named cursor lives in one)."""
    layout = Layout.stored(dataset)
    entry = layout.columns.get(item_name)
    if entry is None:  # not an item of the table (none loaded yet): no values
        return
    if entry.get("col"):
        text = reading.item_sql(layout, item_name)
        statement = sql.SQL("SELECT id, {} FROM {} WHERE deleted_at IS NULL AND {} IS NOT NULL ORDER BY id").format(
            text, layout.table, column_ident(entry["col"]))
        with transaction.atomic(), connection.chunked_cursor() as cur:
            cur.execute(statement.as_string(connection.connection))
            while rows := cur.fetchmany(BATCH):
                for rid, value in rows:
                    if value != "":
                        yield rid, value
        return
    cipher = storage_cipher()
    for batch in reading.walk(dataset, items=[item_name], include_deleted=False, size=BATCH):
        for row, secret in zip(batch, reading.decrypted(batch, cipher), strict=True):
            if secret is None:
                yield row.id, None
            elif secret.get(item_name) not in (None, ""):
                yield row.id, secret[item_name]


def subject_keys(dataset, record_ids: Iterable[int]) -> dict[int, str | None]:
    """{row id: plain subject key} of some rows of the dataset (to name them, masked, in a refusal); None for a
    token that does not authenticate."""
    ids = list(record_ids)
    key_item = dataset.key_item_name
    if not ids or key_item not in (dataset.columns or {}):
        return {}
    found = reading.rows(dataset, items=[key_item], ids=ids, include_deleted=True)
    return {row.id: (secret.get(key_item) if secret is not None else None)
            for row, secret in zip(found, reading.decrypted(found, storage_cipher()), strict=True)}
