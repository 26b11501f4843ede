"""Data quality (R15.1): per dataset and day — completeness per item, validity of the subject keys, timeliness
against the entry's update cycle, duplicate keys — stored as one QualityReport row, computed nightly.

How each figure is computed (set-based over the JSONB rows, one partition per dataset):
- completeness: per item, the share of live records whose value is present and not blank (one GROUP BY over
  `jsonb_each_text`; an encrypted item counts as present — its token is never blank);
- validity: the share of live records whose subject key passes its check (GB 11643 / GB 32100). The key is
  stored encrypted and the storage part does not keep a per-row validity flag, so this is a streaming pass
  (server-side cursor, constant memory) that decrypts and checks each key; keys of kind "other" have no
  check and no validity figure;
- timeliness: days since the dataset's last load against the cycle's allowance (the one rule, catalog/timeliness.py:
  "realtime" is allowed one day); no figure for cycle "other";
- duplicate keys: live records minus distinct key_hash. The storage's unique index (dataset_id, key_hash)
  keeps this at 0 for the pool itself; the figure is there so a failure of that guarantee (a partition
  created without its index, rows written around the application) shows on the report instead of hiding.
  Where duplicates really arise is in the provider's files: the pipeline merges rows with the same key
  (IngestJob.duplicate_rows), and the report carries that count of the latest successful load.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection, transaction
from django.utils import timezone

from catalog.timeliness import cycle_allowance
from portal import audit
from portal.services.workdays import local_today
from portal.validators import credit_code_problem, id_number_problem

from ..models import Dataset, QualityReport, Record

log = logging.getLogger(__name__)

_KEY_CHECKS = {"id_number": id_number_problem, "credit_code": credit_code_problem}


def _record_table() -> str:
    return Record._meta.db_table


def completeness_of(dataset, item_names: list[str]) -> tuple[int, dict[str, float], int]:
    """Live rows, per item the share of live rows with a non-blank value, and duplicate keys (two statements)."""
    table = _record_table()
    with connection.cursor() as cur:
        cur.execute(
            f"""
            SELECT e.key, count(*) FILTER (WHERE btrim(coalesce(e.value, '')) <> '')
              FROM {table} r CROSS JOIN LATERAL jsonb_each_text(r.data) e
             WHERE r.dataset_id = %s AND r.deleted_at IS NULL AND e.key = ANY(%s)
             GROUP BY e.key
            """,  # noqa: S608 — the table name is the model's, not input
            [dataset.pk, item_names],
        )
        filled = dict(cur.fetchall())
        cur.execute(
            f"SELECT count(*), count(DISTINCT key_hash) FROM {table} WHERE dataset_id = %s AND deleted_at IS NULL",  # noqa: S608
            [dataset.pk],
        )
        total, distinct = cur.fetchone()
    shares = {name: (filled.get(name, 0) / total if total else 0.0) for name in item_names}
    return total, shares, total - distinct


def valid_keys_of(dataset) -> int | None:
    """How many live keys pass their check (streaming decrypt); None for key kinds without a check."""
    from security.crypto import decrypt

    check = _KEY_CHECKS.get(dataset.key_kind)
    if check is None:
        return None
    valid = 0
    keys = (
        Record.objects.filter(dataset_id=dataset.pk, deleted_at__isnull=True)
        .values_list("key_enc", flat=True)
        .iterator(chunk_size=5000)
    )
    for token in keys:
        try:
            valid += check(decrypt(token)) is None
        except ValueError:  # a token that does not decrypt is not a valid key either
            log.warning("quality: undecryptable key in dataset %s", dataset.pk)
    return valid


def timeliness_of(dataset, now: dt.datetime) -> tuple[int | None, int | None, bool | None]:
    """(cycle allowance in days, days since last load, timely?) — None where there is no fixed cycle."""
    allowance = cycle_allowance(dataset.entry.update_cycle)
    days = (now - dataset.last_loaded_at).days if dataset.last_loaded_at else None
    if allowance is None:
        return None, days, None
    return allowance, days, days is not None and days <= allowance


def quality_compute(*, dataset, day: dt.date | None = None, now: dt.datetime | None = None) -> QualityReport:
    """Compute and store (replace) the dataset's figures of `day` (default today); idempotent."""
    day = day or local_today()
    now = now or timezone.now()
    items = list(dataset.entry.items.order_by("position").values_list("name", flat=True))
    total, shares, duplicates = completeness_of(dataset, items)
    valid = valid_keys_of(dataset)
    cycle, days, timely = timeliness_of(dataset, now)
    last_job = dataset.jobs.filter(status="succeeded").order_by("-finished_at", "-id").first()
    values = {
        "department_id": dataset.department_id,
        "row_count": total,
        "completeness": {k: round(v, 4) for k, v in shares.items()},
        "completeness_avg": round(sum(shares.values()) / len(shares), 4) if shares and total else None,
        "valid_keys": valid or 0,
        "validity": (round(valid / total, 4) if total else None) if valid is not None else None,
        "duplicate_keys": duplicates,
        "load_duplicates": getattr(last_job, "duplicate_rows", 0) or 0,
        "last_loaded_at": dataset.last_loaded_at,
        "cycle_days": cycle,
        "days_since_load": days,
        "timely": timely,
    }
    report, _created = QualityReport.objects.update_or_create(dataset=dataset, day=day, defaults=values)
    return report


def quality_compute_all(*, day: dt.date | None = None) -> int:
    """The nightly job: every dataset of an approved entry, one report each; one audit event for the run."""
    day = day or local_today()
    now = timezone.now()
    count = 0
    for dataset in Dataset.objects.filter(entry__state="approved").select_related("entry").order_by("pk").iterator():
        with transaction.atomic():
            quality_compute(dataset=dataset, day=day, now=now)
        count += 1
    with transaction.atomic():
        audit.record(actor=None, actor_label="system", action="aggregation.quality.computed",
                     object_type="aggregation.qualityreport", object_id=day.isoformat(),
                     data={"day": day, "datasets": count})
    return count
