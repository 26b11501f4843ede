"""Data quality (R15.1): per dataset and day — completeness per item, validity of the subject keys, timeliness
against the entry's update cycle, duplicate keys — stored as one QualityReport row, computed nightly.

How each figure is computed (set-based over the dataset's resource table `pool.r<id>`, storage.reading):
- completeness: per item, the share of live rows whose value is present (one scan, `reading.completeness`: a typed
  column holds NULL for an empty value; an encrypted item is counted by its stored masked form, or by the row's
  token when it has none);
- validity: the share of live records whose subject key passes its check (GB 11643 / GB 32100). The key is
  stored encrypted (in the row's token) and the storage part does not keep a per-row validity flag, so this is a
  pass in keyset batches (`reading.walk`, constant memory) that opens the tokens and checks each key; keys of kind
  "other" have no check and no validity figure;
- timeliness: days since the dataset's last load against the cycle's allowance (the one rule, catalog/timeliness.py:
  "realtime" is allowed one day); no figure for cycle "other";
- duplicate keys: 0 by construction — the table's unique index on key_hash admits one row per subject.
  Where duplicates really arise is in the provider's files: the pipeline merges rows with the same key
  (IngestJob.duplicate_rows), and the report carries that count of the latest successful load.
- consistency (一致性): the same subject's base item disagreeing between sources (`consistency_all`). An item that
  is a base data item of one dataset (DataItem.is_base_item, its authoritative source, R12.1) is compared with the
  item of the same name in every dataset of another department about the same kind of subject (the same key kind;
  for "other" keys, both in the same base database: selectors.basedb's `keyed_q`). Subjects meet on the blind index
  of their key (`key_hash`, one HMAC key for every dataset), so the join is set-based SQL of the two tables over
  the unique key_hash index (`reading.item_sql` for the clear items), driven by the smaller dataset, and touches
  only the subjects both hold. The values cannot be compared in SQL: personal items are AES-GCM tokens with random
  nonces and no deterministic digest per value is stored (adding one would be a second blind index per item, with
  its own rotation), so the joined rows stream through a server-side cursor (constant memory), each row's one
  token opened (`reading.decrypted`, per batch), and are compared here (stripped text; an absent or
  blank value on either side is completeness, not a disagreement). Cost is linear in the shared subjects,
  dominated by decryption — measured on the demo machine (2 shared cores, on aggregation_record, a token per
  value): 8 s for 100 000 shared subjects × 2 items (400 000 tokens), 0.07 s for the demo's 300-person 低保 list
  against the 100 000-person population (now one token per row and side is opened). A pair
  of datasets stops after CONSISTENCY_MAX_ROWS shared subjects and says so (`partial`), so a night's comparison of
  one pair is bounded (≈ 40 s per item at the cap). Stored (QualityReport.consistency*): per other dataset the
  subjects compared and disagreeing, per item too; the dataset's disagreeing subjects; the first
  CONSISTENCY_PAIR_CAP disagreeing record pairs as row ids (never values) with their total — a reader sees them
  rendered as they may (`consistency_read`: subject and values masked by aggregation.access).
- staleness (R24.1): the nightly job tells a dataset's provider once per due date that its data is past its update
  cycle (`stale_notify`; the one rule, catalog/timeliness.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.timeliness import cycle_allowance, on_cycle
from portal import audit
from portal.services.notifications import Digest, department_recipients, notify
from portal.services.workdays import local_today
from portal.validators import credit_code_problem, id_number_problem
from security.crypto import cipher

from .. import access
from ..models import Dataset, QualityReport, StaleNotice
from ..storage import reading
from ..storage.layout import Layout

log = logging.getLogger(__name__)

_KEY_CHECKS = {"id_number": id_number_problem, "credit_code": credit_code_problem}


def completeness_of(dataset, item_names: list[str]) -> tuple[int, dict[str, float], int]:
    """Live rows, per item the share of live rows holding a value, and duplicate keys (0: the table's unique key_hash
    index). One scan of the table; an item the table has no column for (none loaded yet) holds nothing."""
    if not dataset.columns:
        return 0, dict.fromkeys(item_names, 0.0), 0
    known = [name for name in item_names if name in dataset.columns]
    total, filled = reading.completeness(dataset, known)
    shares = {name: (filled.get(name, 0) / total if total else 0.0) for name in item_names}
    return total, shares, 0


def valid_keys_of(dataset) -> int | None:
    """How many live keys pass their check (keyset batches, each batch's tokens opened together); None for key
    kinds without a check."""
    check = _KEY_CHECKS.get(dataset.key_kind)
    if check is None:
        return None
    if not dataset.columns or dataset.key_item_name not in dataset.columns:
        return 0
    key_item = dataset.key_item_name
    fields = cipher()
    valid = 0
    for batch in reading.walk(dataset, items=[key_item], include_deleted=False):
        for secret in reading.decrypted(batch, fields):
            if secret is None:  # a token that does not decrypt is not a valid key either
                log.warning("quality: undecryptable key in dataset %s", dataset.pk)
                continue
            key = secret.get(key_item)
            valid += bool(key) and check(key) is None
    return valid


def timeliness_of(dataset, now: dt.datetime) -> tuple[int | None, int | None, bool | None]:
    """(cycle allowance in days, days since last load, timely?) — None where there is no fixed cycle."""
    allowance = cycle_allowance(dataset.entry.update_cycle)
    days = (now - dataset.last_loaded_at).days if dataset.last_loaded_at else None
    if allowance is None:
        return None, days, None
    return allowance, days, days is not None and days <= allowance


# --------------------------------------------------------------------------------------------------
# Consistency

CONSISTENCY_PAIR_CAP = 50  # disagreeing record pairs listed per report (the total is stored beside them)
CONSISTENCY_MAX_ROWS = 1_000_000  # shared subjects compared per pair of datasets and night at most


@dataclass
class Comparison:
    """Two datasets of different departments compared on their shared items (`a` < `b` by id)."""

    a: int
    b: int
    items: list[str]
    compared: int = 0  # shared subjects with at least one item present on both sides
    disagreeing: int = 0  # of them, subjects with at least one item disagreeing
    per_item: dict[str, list[int]] = field(default_factory=dict)  # item → [compared, disagreeing]
    pairs: list[tuple[str, int, int]] = field(default_factory=list)  # (item, record of a, record of b), capped
    pair_total: int = 0
    records_a: set[int] = field(default_factory=set)  # disagreeing records of each side
    records_b: set[int] = field(default_factory=set)
    partial: bool = False


def consistency_candidates(dataset_ids=None) -> list[Comparison]:
    """The dataset pairs to compare (module docstring), optionally only those involving `dataset_ids`: each unordered
    pair once, with the items one side declares a base item and the other holds under the same name."""
    from catalog.models import DataItem

    from ..selectors.basedb import BASE_DATABASES

    loaded = Dataset.objects.filter(entry__state="approved", row_count__gt=0)
    # The members of each base database (the other side need not declare base items: it need not be an authority).
    groups = [list(loaded.filter(db.keyed_q())) for db in BASE_DATABASES.values()]
    entry_ids = {d.entry_id for g in groups for d in g}
    names: dict[int, set[str]] = defaultdict(set)
    base: dict[int, set[str]] = defaultdict(set)
    for entry_id, name, is_base in DataItem.objects.filter(entry_id__in=entry_ids).values_list(
            "entry_id", "name", "is_base_item"):
        names[entry_id].add(name)
        if is_base:
            base[entry_id].add(name)
    wanted = set(dataset_ids) if dataset_ids is not None else None
    found: dict[tuple[int, int], set[str]] = {}
    for members in groups:
        for a in members:
            for b in members:
                if a.department_id == b.department_id or (wanted is not None and not {a.pk, b.pk} & wanted):
                    continue
                items = base[a.entry_id] & names[b.entry_id] - {a.key_item_name, b.key_item_name}
                if items:
                    found.setdefault((min(a.pk, b.pk), max(a.pk, b.pk)), set()).update(items)
    return [Comparison(a, b, sorted(items)) for (a, b), items in sorted(found.items())]


def _texts(layout: Layout, items: list[str], alias: str):
    """The SQL text of each item on one side of the join (NULL where its value is only in the token, or the table
    has no column for it), and the items to read from the token."""
    from psycopg import sql

    cells, secret = [], []
    for name in items:
        entry = layout.columns.get(name)
        if entry and entry.get("col"):
            cells.append(reading.item_sql(layout, name, alias=alias))
        else:
            cells.append(sql.NULL)
            if entry:
                secret.append(name)
    return cells, secret


def _opened(tokens: list, fields) -> list[dict]:
    """Each token's items ({} for none, or one that does not authenticate: compared as absent)."""
    return [secret or {} for secret in reading.tokens_opened(tokens, fields)]


def consistency_compare(comparison: Comparison) -> Comparison:
    """Compare one pair of datasets (module docstring): join the two tables on the blind index in SQL, stream, open
    the tokens, compare."""
    from psycopg import sql

    fields = cipher()
    items = comparison.items
    per_item = comparison.per_item = {name: [0, 0] for name in items}
    # The smaller dataset drives the join (one probe of the other's unique key_hash index per row): a 300-row list
    # against 100 000 people is 300 probes, not 100 000 (the planner's estimate for a freshly loaded dataset is no
    # guide).
    datasets = Dataset.objects.in_bulk([comparison.a, comparison.b])
    if comparison.a not in datasets or comparison.b not in datasets or not all(
            datasets[pk].columns for pk in (comparison.a, comparison.b)):
        return comparison
    outer, inner = comparison.a, comparison.b
    swapped = (datasets[outer].row_count or 0) > (datasets[inner].row_count or 0)
    if swapped:
        outer, inner = inner, outer
    la, lb = Layout.stored(datasets[outer]), Layout.stored(datasets[inner])
    cells_a, secret_a = _texts(la, items, "a")
    cells_b, secret_b = _texts(lb, items, "b")
    picks = sql.SQL(", ").join(c for pair in zip(cells_a, cells_b, strict=True) for c in pair)
    statement = sql.SQL(
        "SELECT a.id, b.id, {ta}, {tb}, {picks} FROM {a} a JOIN {b} b ON b.key_hash = a.key_hash "
        "AND b.deleted_at IS NULL WHERE a.deleted_at IS NULL ORDER BY a.id"
    ).format(ta=sql.SQL("a.token") if secret_a else sql.NULL, tb=sql.SQL("b.token") if secret_b else sql.NULL,
             picks=picks, a=la.table, b=lb.table)
    with transaction.atomic(), connection.chunked_cursor() as cur:
        cur.execute(statement.as_string(cur.connection))
        seen = 0
        while rows := cur.fetchmany(2000):
            opened_a = _opened([r[2] for r in rows], fields) if secret_a else None
            opened_b = _opened([r[3] for r in rows], fields) if secret_b else None
            for n, row in enumerate(rows):
                seen += 1
                if seen > CONSISTENCY_MAX_ROWS:
                    comparison.partial = True
                    break
                rec_a, rec_b = (row[1], row[0]) if swapped else (row[0], row[1])
                any_compared = any_disagreeing = False
                for i, name in enumerate(items):
                    left, right = row[4 + 2 * i], row[5 + 2 * i]
                    if left is None and opened_a is not None:
                        left = opened_a[n].get(name)
                    if right is None and opened_b is not None:
                        right = opened_b[n].get(name)
                    left, right = (left or "").strip(), (right or "").strip()
                    if not left or not right:
                        continue
                    any_compared = True
                    per_item[name][0] += 1
                    if left != right:
                        any_disagreeing = True
                        per_item[name][1] += 1
                        comparison.pair_total += 1
                        if len(comparison.pairs) < CONSISTENCY_PAIR_CAP:
                            comparison.pairs.append((name, rec_a, rec_b))
                comparison.compared += any_compared
                if any_disagreeing:
                    comparison.disagreeing += 1
                    comparison.records_a.add(rec_a)
                    comparison.records_b.add(rec_b)
            if comparison.partial:
                break
    return comparison


def consistency_all(dataset_ids=None) -> dict[int, dict]:
    """Every candidate pair compared once (or those involving `dataset_ids`); per dataset what its report stores:
    {dataset id: {"consistency", "inconsistent_subjects", "consistency_pairs", "consistency_pairs_total"}}."""
    out: dict[int, dict] = defaultdict(lambda: {"consistency": [], "records": set(), "consistency_pairs": [],
                                                "consistency_pairs_total": 0})
    for comparison in consistency_candidates(dataset_ids):
        consistency_compare(comparison)
        items = {name: {"compared": c, "disagreeing": d} for name, (c, d) in comparison.per_item.items()}
        for mine, other, records, flip in ((comparison.a, comparison.b, comparison.records_a, False),
                                           (comparison.b, comparison.a, comparison.records_b, True)):
            figures = out[mine]
            figures["consistency"].append({
                "other_dataset": other, "compared": comparison.compared, "disagreeing": comparison.disagreeing,
                "items": items, "partial": comparison.partial,
            })
            figures["records"] |= records
            figures["consistency_pairs_total"] += comparison.pair_total
            for name, rec_a, rec_b in comparison.pairs:
                if len(figures["consistency_pairs"]) < CONSISTENCY_PAIR_CAP:
                    mine_rec, other_rec = (rec_b, rec_a) if flip else (rec_a, rec_b)
                    figures["consistency_pairs"].append({"item": name, "record": mine_rec, "other_dataset": other,
                                                         "other_record": other_rec})
    return {pk: {"consistency": f["consistency"], "inconsistent_subjects": len(f["records"]),
                 "consistency_pairs": f["consistency_pairs"], "consistency_pairs_total": f["consistency_pairs_total"]}
            for pk, f in out.items()}


_NO_CONSISTENCY = {"consistency": [], "inconsistent_subjects": 0, "consistency_pairs": [], "consistency_pairs_total": 0}


def quality_compute(*, dataset, day: dt.date | None = None, now: dt.datetime | None = None,
                    consistency: dict | None = None) -> QualityReport:
    """Compute and store (replace) the dataset's figures of `day` (default today); idempotent. `consistency`: the
    dataset's figures of `consistency_all` when the nightly job has compared every pair at once (else its own
    pairs are compared here)."""
    day = day or local_today()
    now = now or timezone.now()
    if consistency is None:
        consistency = consistency_all([dataset.pk]).get(dataset.pk, _NO_CONSISTENCY)
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
        **consistency,
    }
    report, _created = QualityReport.objects.update_or_create(dataset=dataset, day=day, defaults=values)
    return report


def quality_compute_all(*, day: dt.date | None = None) -> int:
    """The nightly job: every dataset of an approved entry, one report each; one audit event for the run."""
    day = day or local_today()
    now = timezone.now()
    count = 0
    consistency = consistency_all()
    for dataset in Dataset.objects.filter(entry__state="approved").select_related("entry").order_by("pk").iterator():
        with transaction.atomic():
            quality_compute(dataset=dataset, day=day, now=now,
                            consistency=consistency.get(dataset.pk, _NO_CONSISTENCY))
        count += 1
    with transaction.atomic():
        audit.record(actor=None, actor_label="system", action="aggregation.quality.computed",
                     object_type="aggregation.qualityreport", object_id=day.isoformat(),
                     data={"day": day, "datasets": count,
                           "inconsistent_subjects": sum(f["inconsistent_subjects"] for f in consistency.values())})
    stale_notify(now=now)
    return count


# --------------------------------------------------------------------------------------------------
# Staleness (R24.1)

STALE_DIGEST_KEY = "aggregation.stale"


def stale_due(dataset, *, today: dt.date) -> dt.date | None:
    """The date a loaded dataset's next data was due when it is past its update cycle on `today` (the one rule,
    catalog/timeliness.py: last local load date + the cycle's allowance), else None. A dataset never loaded has no
    due date of its own (the responsibility list's 未按周期归集 and the violations register track it)."""
    if dataset.last_loaded_at is None:
        return None
    last = timezone.localdate(dataset.last_loaded_at)
    cycle = dataset.entry.update_cycle
    if on_cycle(cycle, last, today):
        return None
    return last + dt.timedelta(days=cycle_allowance(cycle))


def stale_notify(*, now: dt.datetime | None = None) -> int:
    """Tell the provider of every stale dataset (R24.1) the date its data was due: its head and the data staff who
    may load the resource (catalog.resource_perms), one digest message per person (portal notifications). Once per
    dataset and due date (StaleNotice, unique): a rerun tells nobody again; a new load and a new staleness do.
    Returns the number of notices filed."""
    from catalog.resource_perms import LOAD_DATA, may

    now = now or timezone.now()
    today = timezone.localdate(now)
    filed = 0
    datasets = (Dataset.objects.filter(entry__state="approved", last_loaded_at__isnull=False)
                .select_related("entry", "department").order_by("pk"))
    for dataset in datasets.iterator():
        due = stale_due(dataset, today=today)
        if due is None or StaleNotice.objects.filter(dataset=dataset, due=due).exists():
            continue
        with transaction.atomic():
            notice, created = StaleNotice.objects.get_or_create(
                dataset=dataset, due=due, defaults={"last_loaded_at": dataset.last_loaded_at})
            if not created:  # another run filed it meanwhile
                continue
            people = [u for u in department_recipients(dataset.department) if may(u, dataset.entry, LOAD_DATA)]
            title = _("数据未按更新周期更新：%(name)s（应于 %(due)s 前更新）") % {
                "name": dataset.entry.name, "due": due.isoformat()}
            body = _("更新周期“%(cycle)s”，最近一次归集 %(last)s，应于 %(due)s 前更新，已逾期 %(days)s 天。") % {
                "cycle": dataset.entry.get_update_cycle_display(),
                "last": timezone.localtime(dataset.last_loaded_at).strftime("%Y-%m-%d %H:%M"),
                "due": due.isoformat(), "days": (today - due).days}
            notify(recipients=people, title=title, body=body, url=dataset.get_absolute_url(),
                   digest=Digest(STALE_DIGEST_KEY, _("有 {n} 个数据资源未按更新周期更新"),
                                 reverse("aggregation:quality-report")))
            notice.recipients = len(people)
            notice.save(update_fields=["recipients"])
            audit.record(actor=None, actor_label="system", action="aggregation.dataset.stale_notified", obj=dataset,
                         object_repr=dataset.entry.name, department=dataset.department,
                         data={"due": due, "last_loaded_at": dataset.last_loaded_at, "recipients": len(people)})
        filed += 1
    return filed


# --------------------------------------------------------------------------------------------------
# Consistency as a reader sees it


@dataclass
class ConsistencyView:
    """The consistency section of the reports in a reader's scope: each compared pair of datasets once."""

    comparisons: list[dict]  # {a, b (Datasets), compared, disagreeing, items: [{name, compared, disagreeing}], partial}
    pairs: list[dict]  # {key, item, a, a_value, b, b_value} — key and values as the reader may see them
    pairs_total: int  # disagreeing (record pair, item) combinations of the comparisons, listed or not
    hidden: int  # of the stored pairs, those not listed: the reader may read one side's value in no way


def consistency_read(*, actor, reports) -> ConsistencyView:
    """Render the consistency figures and stored pairs of `reports` (already restricted to `actor`) for `actor`:
    subject keys and values decrypted and masked by aggregation.access (full only for the provider's own staff).
    The other side of a pair is shown when the reader may open that dataset or the item is a base data item of it
    (R19.2, readable by every department through the base databases); otherwise the pair is counted as hidden. Writes
    `aggregation.quality.pairs_viewed` in the same transaction when any pair is shown."""
    from catalog.models import DataItem

    from ..selectors.pools import datasets_visible

    reports = list(reports)
    seen_pairs: set[tuple[str, frozenset]] = set()
    wanted: dict[tuple[int, int], dict] = {}
    stored: list[tuple[int, dict]] = []
    for report in reports:
        for c in report.consistency or []:
            a, b = sorted((report.dataset_id, c["other_dataset"]))
            wanted.setdefault((a, b), c)
        for p in report.consistency_pairs or []:
            marker = (p["item"], frozenset((p["record"], p["other_record"])))
            if marker not in seen_pairs:
                seen_pairs.add(marker)
                stored.append((report.dataset_id, p))
    dataset_ids = {pk for pair in wanted for pk in pair}
    datasets = Dataset.objects.select_related("entry", "department").in_bulk(dataset_ids)
    comparisons = []
    total = 0
    for (a, b), c in sorted(wanted.items()):
        if a not in datasets or b not in datasets:
            continue
        items = [{"name": name, **figures} for name, figures in sorted(c["items"].items())]
        total += sum(i["disagreeing"] for i in items)
        comparisons.append({"a": datasets[a], "b": datasets[b], "compared": c["compared"],
                            "disagreeing": c["disagreeing"], "items": items, "partial": c.get("partial", False)})
    visible = set(datasets_visible(actor).filter(pk__in=dataset_ids).values_list("pk", flat=True))
    base = set(DataItem.objects.filter(entry__dataset__in=dataset_ids, is_base_item=True)
               .values_list("entry__dataset", "name"))
    records = _pair_rows(datasets, stored)
    full: dict[int, bool] = {}
    pairs, hidden, shown = [], 0, []
    with transaction.atomic():
        for mine, p in stored:
            other = p["other_dataset"]
            rec, other_rec = records.get((mine, p["record"])), records.get((other, p["other_record"]))
            if mine not in datasets or other not in datasets or rec is None or other_rec is None:
                continue
            if not all(pk in visible or (pk, p["item"]) in base for pk in (mine, other)):
                hidden += 1
                continue
            sides = []
            for pk, row in ((mine, rec), (other, other_rec)):
                dataset = datasets[pk]
                if pk not in full:
                    full[pk] = access.full_values_allowed(actor, dataset)
                sides.append((dataset, _shown(dataset, row, p["item"], full=full[pk])))
            key = access.key_display(datasets[mine], _shown(datasets[mine], rec, datasets[mine].key_item_name,
                                                            full=True), full=full[mine])
            pairs.append({"key": key, "item": p["item"], "a": sides[0][0], "a_value": sides[0][1],
                          "b": sides[1][0], "b_value": sides[1][1]})
            shown += [rec, other_rec]
        if shown:
            keys = sorted({access.hash_hex(r.key_hash) for r in shown})
            audit.record(actor=actor, action="aggregation.quality.pairs_viewed",
                         object_type="aggregation.qualityreport",
                         object_id=",".join(str(r.pk) for r in reports)[:64], object_repr=_("数据一致性"),
                         data={"records": [r.id for r in shown], "keys": keys, "masked": not all(full.values())})
    return ConsistencyView(comparisons=comparisons, pairs=pairs, pairs_total=total, hidden=hidden)


def _pair_rows(datasets: dict, stored: list[tuple[int, dict]]) -> dict[tuple[int, int], reading.Row]:
    """{(dataset id, row id): live row} of the stored pairs' rows (one statement per dataset), read with the pairs'
    items and the subject key."""
    wanted: dict[int, tuple[set[int], set[str]]] = defaultdict(lambda: (set(), set()))
    for mine, p in stored:
        for pk, rid in ((mine, p["record"]), (p["other_dataset"], p["other_record"])):
            wanted[pk][0].add(rid)
            wanted[pk][1].add(p["item"])
    out = {}
    for pk, (ids, items) in wanted.items():
        dataset = datasets.get(pk)
        if dataset is None or not dataset.columns:
            continue
        names = sorted(n for n in items | {dataset.key_item_name} if n in dataset.columns)
        for row in reading.rows(dataset, items=names, ids=sorted(ids)):
            out[(pk, row.id)] = row
    return out


def _shown(dataset, row: reading.Row, item: str, *, full: bool):
    """One item of a row as the reader may see it (aggregation.access's masking kind unless `full`)."""
    layout = Layout.stored(dataset)
    if item not in layout.columns:
        return None
    kind = None if full else access.mask_kinds(dataset, [(item, "C")])[item]
    return reading.rendered(layout, [row], [item], kinds={item: kind} if kind else None)[0][item]
