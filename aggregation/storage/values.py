"""The stored values of one item: what the retype guard (storage.ddl) checks before a catalog update is approved.

Today the values live in `aggregation_record.data` (JSONB by item name, personal items as tokens); when the readers
move to the resource tables (issue 18) these functions are re-pointed at `pool.r<id>` and nothing that calls them
changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db import connection, transaction

from security.crypto import DecryptionError, FieldCipher, is_encrypted

from .writing import cipher as storage_cipher

BATCH = 5000


def _plain(cipher: FieldCipher, text: str) -> str | None:
    """The plain text of a stored value (a token decrypted as ingest.encryption.masked_forms does); None when a
    token does not authenticate."""
    if is_encrypted(text):
        try:
            return cipher.decrypt(text)
        except DecryptionError:
            return None
    return text


def item_values(dataset, item_name: str) -> Iterator[tuple[int, str | None]]:
    """(record id, plain text) of the item in each live row of the dataset holding a non-empty value; the text is None
    for a token that does not authenticate (it cannot be checked). One pass of a server-side cursor (a million rows
    never sit in memory; keyset batches re-walked the dataset's index ten times slower); the item name is a bound
    parameter. Inside a transaction (a named cursor lives in one)."""
    cipher = storage_cipher()
    with transaction.atomic(), connection.chunked_cursor() as cur:
        cur.execute(
            "SELECT id, data->>%s FROM aggregation_record WHERE dataset_id = %s AND deleted_at IS NULL"
            " AND coalesce(data->>%s, '') <> ''",
            [item_name, dataset.pk, item_name],
        )
        while rows := cur.fetchmany(BATCH):
            for rid, text in rows:
                yield rid, _plain(cipher, text)


def subject_keys(dataset, record_ids: Iterable[int]) -> dict[int, str | None]:
    """{record id: plain subject key} of some rows of the dataset (to name them, masked, in a refusal)."""
    cipher = storage_cipher()
    with connection.cursor() as cur:
        cur.execute("SELECT id, key_enc FROM aggregation_record WHERE dataset_id = %s AND id = ANY(%s)",
                    [dataset.pk, list(record_ids)])
        return {rid: _plain(cipher, token) for rid, token in cur.fetchall()}
