"""A table per resource (issue 18): `pool.r<dataset id>` with typed columns, replacing the JSONB rows of
`aggregation_record` (docs: the storage contract).

- `layout`  which column holds which catalog item (Dataset.columns), its SQL type, the table's identifiers;
- `ddl`     creating a resource table, migrating it online when a catalog update changes the items, and the
            guard refusing a retype whose stored values do not fit;
- `values`  the stored values of one item (what the guard checks), the one place that knows where they live;
- `writing` staging, digest comparison and the typed upsert of a load;
- `reading` every read of a resource table (rows, pages, lookups, tokens opened, masked views, COPY projections,
            completeness): the one place the SQL over `pool.r<id>` is written;
- `moving`  the move of a dataset's `aggregation_record` rows into its table, ids kept (the switch's data migration).
"""


def tables_written() -> bool:
    """Issue 18's contract step (transitional): whether the writers write the resource tables themselves
    (settings.AGGREGATION["WRITE_RECORDS"] off) instead of `aggregation_record` and its mirror (storage.moving)."""
    from django.conf import settings

    return not settings.AGGREGATION["WRITE_RECORDS"]
