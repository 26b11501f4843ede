"""One data, one source (R12.1): a base data item has exactly one authoritative provider.

Plain SQL over the catalog's tables. The catalog refuses a second claimant when an entry is submitted
or approved; the aggregation chapter's ingestion and push refuse data for it (dependencies point
aggregation → catalog). The authoritative source of a base item is the approved entry that published
it first; an entry not yet approved is refused by any approved claimant, an approved one only by a
senior claimant. A subject key (ID number, credit code) is how other departments' records refer to the
subject, not a claim to provide it, so key items are neither claims nor claimants.
"""

from __future__ import annotations

from django.apps import apps
from django.db import connection

# Seniority = (first publication date, id): an update case re-approves an entry but keeps its publish_date,
# so the first source stays the source. An approved entry is only refused by a senior one.
_SQL = """
SELECT e.id, e.provider_id
  FROM catalog_dataitem i
  JOIN catalog_catalogentry e ON e.id = i.entry_id
 WHERE i.is_base_item AND NOT i.is_subject_key
   AND lower(btrim(i.name)) = lower(btrim(%(name)s)) AND e.state = 'approved'
   AND (%(excluding)s::bigint IS NULL OR e.id <> %(excluding)s::bigint)
   AND (%(excluding_provider)s::bigint IS NULL OR e.provider_id <> %(excluding_provider)s::bigint)
   AND NOT EXISTS (
       SELECT 1 FROM catalog_catalogentry me
        WHERE me.id = %(excluding)s::bigint AND me.state = 'approved'
          AND (COALESCE(e.publish_date, 'infinity'::date), e.id) > (COALESCE(me.publish_date, 'infinity'::date), me.id))
 ORDER BY e.publish_date NULLS LAST, e.id
 LIMIT 1
"""


def base_item_claimant(item_name: str, excluding_entry_id: int | None, *, excluding_provider_id: int | None = None):
    """(Department, CatalogEntry) already providing `item_name` as a base data item, or None.

    `excluding_entry_id`: the entry being checked (its own earlier versions do not count). Pass
    `excluding_provider_id` to let a department restate its own base item in a second entry.
    """
    with connection.cursor() as cur:
        cur.execute(_SQL, {"name": item_name or "", "excluding": excluding_entry_id,
                           "excluding_provider": excluding_provider_id})
        row = cur.fetchone()
    if row is None:
        return None
    entry = apps.get_model("catalog", "CatalogEntry").objects.select_related("provider").get(pk=row[0])
    return entry.provider, entry


def base_item_sources() -> dict[str, tuple[int, int]]:
    """Every base data item name → (provider id, entry id) of its authoritative source (approved entries)."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT DISTINCT ON (lower(btrim(i.name))) i.name, e.provider_id, e.id
              FROM catalog_dataitem i JOIN catalog_catalogentry e ON e.id = i.entry_id
             WHERE i.is_base_item AND NOT i.is_subject_key AND e.state = 'approved'
             ORDER BY lower(btrim(i.name)), e.publish_date NULLS LAST, e.id
            """
        )
        return {name: (provider, entry) for name, provider, entry in cur.fetchall()}
