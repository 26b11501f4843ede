"""The one statement of a data call: the entry with its provider, classification and dataset, its declared items and
the calling department's grants on it (the read policy's whole input, sharing.policy.ReadFacts) — read at the moment of
the call; nothing is cached. (The online query's row is read after the policy allowed the call, from the dataset's
resource table: sharing.data_api.records.subject_record.)
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection

from aggregation import access
from catalog.models import CatalogEntry, Classification
from portal.db import prepared_cursor
from portal.models import Department

from ..models import Grant
from ..policy import ReadFacts


class _Reader:
    """SELECT list of one model's concrete columns and the instance from them (the ORM's own field converters)."""

    def __init__(self, model, alias: str):
        self.model = model
        fields = model._meta.concrete_fields
        qn = connection.ops.quote_name
        self.sql = ", ".join(f"{alias}.{qn(f.column)}" for f in fields)
        self.width = len(fields)
        self.attnames = [f.attname for f in fields]
        self.converters = []
        for n, f in enumerate(fields):
            col = f.get_col(alias)
            convs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if convs:
                self.converters.append((n, col, convs))

    def build(self, values: list):
        for n, col, convs in self.converters:
            for conv in convs:
                values[n] = conv(values[n], col, connection)
        return self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, values)


# The grant columns the policy and the audit read (in the model's field order, as Model.from_db takes them); the
# others stay deferred.
_GRANT_FIELDS = ("id", "consumer_id", "entry_id", "items", "purpose", "methods", "valid_from", "valid_to", "state")

_ENTRY_SQL = """
SELECT {columns},
       (SELECT json_agg(json_build_array(i.name, i.is_base_item, i.data_type, i.is_subject_key, i.sensitivity,
                                         i.derived_from) ORDER BY i.position)
          FROM catalog_dataitem i
         WHERE i.entry_id = e.id),
       (SELECT json_agg(json_build_array(g.id, g.items, g.purpose, g.methods, g.valid_from, g.valid_to, g.state)
                        ORDER BY g.valid_to DESC, g.id DESC)
          FROM sharing_grant g
         WHERE g.consumer_id = %s AND g.entry_id = e.id)
  FROM catalog_catalogentry e
  JOIN catalog_classification c ON c.id = e.classification_id
  JOIN portal_department p ON p.id = e.provider_id
  LEFT JOIN aggregation_dataset d ON d.entry_id = e.id
 WHERE {where}
 ORDER BY e.id
 LIMIT 1"""


@cache
def _statement(by: str):
    """(readers, SQL) of entry_for_read, built once per process; `by` is "id" or "code"."""
    from aggregation.models import Dataset

    readers = (_Reader(CatalogEntry, "e"), _Reader(Classification, "c"), _Reader(Department, "p"),
               _Reader(Dataset, "d"))
    where = {"id": "e.id = %s", "code": "e.code = %s"}[by]
    return readers, _ENTRY_SQL.format(columns=", ".join(r.sql for r in readers), where=where)


def entry_for_read(*, pk: int | None = None, code: str | None = None,
                   department_id: int | None = None) -> tuple[CatalogEntry | None, ReadFacts | None]:
    """The entry by id or code, whatever its state, with its provider, classification and dataset loaded (as
    `select_related` would), and the ReadFacts of `department_id` on it — one statement, nothing cached."""
    readers, sql = _statement("id" if pk is not None else "code")
    params = [department_id, pk if pk is not None else code]
    with prepared_cursor(DEFAULT_DB_ALIAS) as cur:  # the policy's facts: always the primary (portal.db_router)
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        return None, None
    values, at = list(row), 0
    parts = []
    for reader in readers:
        parts.append(values[at:at + reader.width])
        at += reader.width
    items, grants = values[at], values[at + 1]
    entry_reader, class_reader, provider_reader, dataset_reader = readers
    entry = entry_reader.build(parts[0])
    meta = CatalogEntry._meta
    meta.get_field("classification").set_cached_value(entry, class_reader.build(parts[1]))
    meta.get_field("provider").set_cached_value(entry, provider_reader.build(parts[2]))
    if parts[3][0] is None:
        meta.get_field("dataset").set_cached_value(entry, None)  # entry.dataset raises DoesNotExist, as usual
    else:
        dataset = dataset_reader.build(parts[3])
        meta.get_field("dataset").set_cached_value(entry, dataset)
        dataset_reader.model._meta.get_field("entry").set_cached_value(dataset, entry)
        # The items' masking declarations, read here so that masking them costs no statement of its own.
        dataset._item_declarations = access.item_declarations(
            [{"name": n, "data_type": t, "is_subject_key": k, "sensitivity": s, "derived_from": d}
             for n, _b, t, k, s, d in items or ()])
    facts = ReadFacts(
        entry_id=entry.pk,
        department_id=department_id,
        declared=tuple((name, bool(base), data_type) for name, base, data_type, *_declaration in items or ()),
        grants=tuple(
            Grant.from_db(DEFAULT_DB_ALIAS, _GRANT_FIELDS,
                          [gid, department_id, entry.pk, g_items, purpose, methods, dt.date.fromisoformat(start),
                           dt.date.fromisoformat(end), state])
            for gid, g_items, purpose, methods, start, end, state in grants or ()
        ),
    )
    return entry, facts
