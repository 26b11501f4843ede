"""Theme databases (主题库, R13.2 第三款): a department's saved combination of pool and base data, joined on the
subject key, materialised into ThemeRow by a background job and browsed like a resource.

A definition is: owner department, name, key kind, join mode, and a list of (dataset, item names). Every source
must be keyed by the theme's key kind (the join is on the blind index, which is equal for equal keys across
datasets) and must be a dataset the owner department may read (its own, or an unconditional resource; grants
come with the sharing chapter — `access.dataset_scope_q`).

Freshness: a theme is rebuilt when someone asks (`theme_rebuild_request`), when one of its sources loads new data
(`themes_sources_loaded`, called when an ingest job's load commits: the theme becomes due THEME_REBUILD_DEBOUNCE_SECONDS
after the first such load, so the loads of that window give one build) and nightly (`themes_schedule`). The beat's
minute sweep `themes_rebuild_due` queues one build per due theme. Each build records the loads it read
(`ThemeBuildJob.source_loads`: per source its latest succeeded ingest job), which the theme page links.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg import sql

from portal import audit
from portal.errors import InvalidTransition, PermissionDenied, PortalError
from portal.permissions import is_department_member
from portal.services.jobs import enqueue, enqueue_many
from security import crypto

from .. import access
from ..choices import JobStatus, JoinMode, KeyKind, ThemeJobStatus, ThemeTrigger
from ..models import Dataset, IngestJob, ThemeBuildJob, ThemeDatabase, ThemeRow, ThemeSource
from ..selectors.themes import access_theme_by_id, source_choices, theme_columns
from ..storage import reading
from ..storage.layout import Layout

MAX_SOURCES = 10
PAGE_SIZE = 50
# A build is one INSERT … SELECT (no heartbeat while it runs). One still queued after this long was lost (worker
# restart, message dropped) and no longer blocks a new request; one running this long without its worker holding
# the job's row is failed by the kernel's reaper (the kind is registered in aggregation.apps).
STALE_AFTER = dt.timedelta(hours=1)


def _clean_sources(user, key_kind: str, sources: list[dict]) -> tuple[list[tuple], dict[str, list[str]]]:
    errors: list[str] = []
    cleaned = []
    if not sources:
        errors.append(_("请至少选择一个数据资源"))
    if len(sources) > MAX_SOURCES:
        errors.append(_("一个主题库最多组合 %(n)d 个数据资源") % {"n": MAX_SOURCES})
    visible = {d.pk: d for d in source_choices(user)}
    seen = set()
    for src in sources:
        try:
            dataset_id = int(src.get("dataset"))
        except (TypeError, ValueError):
            dataset_id = None
        dataset = visible.get(dataset_id)
        if dataset is None:
            errors.append(_("数据资源不存在或无权使用：%(id)s") % {"id": src.get("dataset")})
            continue
        if dataset_id in seen:
            errors.append(_("数据资源重复：%(name)s") % {"name": dataset.entry.name})
            continue
        seen.add(dataset_id)
        if dataset.key_kind != key_kind:
            errors.append(_("“%(name)s”的主体标识类型与主题库不一致，无法关联") % {"name": dataset.entry.name})
            continue
        names = list(dataset.entry.items.values_list("name", flat=True))
        chosen = [n for n in dict.fromkeys(str(n).strip() for n in src.get("items") or []) if n]
        if not chosen:
            errors.append(_("请为“%(name)s”选择信息项") % {"name": dataset.entry.name})
            continue
        if unknown := [n for n in chosen if n not in names]:
            errors.append(
                _("“%(name)s”没有信息项：%(items)s") % {"name": dataset.entry.name, "items": "、".join(unknown)}
            )
            continue
        cleaned.append((dataset, chosen))
    return cleaned, ({"sources": errors} if errors else {})


def theme_save(
    *, actor, name: str, key_kind: str, sources: list[dict], description: str = "",
    join_mode: str = JoinMode.ANY, theme_id: int | None = None,
) -> ThemeDatabase:
    """Create or change a theme definition of the actor's department (it is rebuilt separately).

    `sources`: [{"dataset": id, "items": [names]}]. Raises PermissionDenied (not department staff / another
    department's theme), PortalError "invalid". Audit: aggregation.theme.created / aggregation.theme.changed.
    """
    if not is_department_member(actor):
        raise PermissionDenied(_("只有政务部门的数据专员或负责人可以定义主题库"))
    name, description = (name or "").strip(), (description or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("请填写名称")]
    if key_kind not in KeyKind.values:
        errors["key_kind"] = [_("请选择主体标识类型")]
    if join_mode not in JoinMode.values:
        errors["join_mode"] = [_("关联方式无效")]
    cleaned, source_errors = _clean_sources(actor, key_kind, list(sources or []))
    errors.update(source_errors)
    if errors:
        raise PortalError(next(iter(errors.values()))[0], code="invalid", errors=errors)
    with transaction.atomic():
        if theme_id is None:
            if ThemeDatabase.objects.filter(department_id=actor.department_id, name=name).exists():
                raise PortalError(_("本部门已有同名主题库"), code="invalid", errors={"name": [_("名称重复")]})
            theme = ThemeDatabase.objects.create(
                name=name, department=actor.department, description=description, key_kind=key_kind,
                join_mode=join_mode, created_by=actor,
            )
            action, before = "aggregation.theme.created", None
        else:
            theme = access_theme_by_id(actor, theme_id, action="change", for_update=True)
            if ThemeDatabase.objects.filter(department_id=theme.department_id, name=name).exclude(pk=theme.pk).exists():
                raise PortalError(_("本部门已有同名主题库"), code="invalid", errors={"name": [_("名称重复")]})
            before = theme_definition(theme)
            theme.name, theme.description, theme.key_kind, theme.join_mode = name, description, key_kind, join_mode
            theme.save(update_fields=["name", "description", "key_kind", "join_mode", "updated_at"])
            theme.sources.all().delete()
            action = "aggregation.theme.changed"
        ThemeSource.objects.bulk_create(
            ThemeSource(theme=theme, dataset=dataset, item_names=items, position=i)
            for i, (dataset, items) in enumerate(cleaned)
        )
        audit.record(actor=actor, action=action, obj=theme, data={"before": before, "after": theme_definition(theme)})
    return theme


def theme_definition(theme: ThemeDatabase) -> dict:
    return {
        "name": theme.name, "key_kind": theme.key_kind, "join_mode": theme.join_mode,
        "sources": [{"dataset": s.dataset_id, "items": list(s.item_names)} for s in theme.sources.order_by("position")],
    }


def theme_rebuild_request(*, actor, theme_id: int) -> ThemeBuildJob:
    """Queue a (re)build of the theme; a build already queued or running is returned instead of a second one
    (unless it is still queued after STALE_AFTER: its task was lost, so it is marked failed and replaced; a
    running build whose worker died is failed by the kernel's reaper).

    Raises NotFound / PermissionDenied (not the owner's staff). The Celery task runs after commit.
    """
    with transaction.atomic():
        theme = access_theme_by_id(actor, theme_id, action="change", for_update=True)
        running = theme.jobs.filter(status__in=[ThemeJobStatus.PENDING, ThemeJobStatus.RUNNING]).first()
        if running is not None and (
            running.status == ThemeJobStatus.RUNNING or running.created_at > timezone.now() - STALE_AFTER
        ):
            return running
        if running is not None:
            running.status, running.finished_at = ThemeJobStatus.FAILED, timezone.now()
            running.log = _("超时未完成，已由新的生成任务取代")
            running.save(update_fields=["status", "finished_at", "log"])
        if not theme.sources.exists():
            raise InvalidTransition(_("主题库没有数据来源"), code="no_sources")
        job = ThemeBuildJob.objects.create(theme=theme, created_by=actor)
        if theme.rebuild_due_at is not None:  # this build reads the new loads too
            theme.rebuild_due_at, theme.rebuild_reason = None, ""
            theme.save(update_fields=["rebuild_due_at", "rebuild_reason"])
        audit.record(actor=actor, action="aggregation.theme.rebuild_requested", obj=theme, data={"job": job.pk})
        enqueue("aggregation.theme_build", job.pk)
    return job


# Set-based materialisation: the sources' live rows (storage.reading.theme_sources_sql: selected clear items as text,
# a row's token where a selected item is encrypted), aggregated per subject. The newest source row's token is the
# key's (key_enc, key_dataset); one row per source and subject (key_hash is unique in a table), so count(*) counts
# the sources that hold the subject. The data objects are merged by one scalar subquery over the group's array.
_BUILD_SQL = """
INSERT INTO {row_table} (theme_id, key_hash, key_enc, key_dataset, data, updated_at)
SELECT %s, s.key_hash, (array_agg(s.token ORDER BY s.updated_at DESC, s.dataset_id))[1],
       (array_agg(s.dataset_id ORDER BY s.updated_at DESC, s.dataset_id))[1],
       (SELECT jsonb_object_agg(e.key, e.value) FROM unnest(array_agg(s.data)) AS d(data), jsonb_each(d.data) AS e),
       max(s.updated_at)
  FROM ({sources}) s
 GROUP BY s.key_hash
HAVING %s = false OR count(*) = %s
"""


def theme_build(*, job_id: int) -> ThemeBuildJob:
    """Run one build job: replace the theme's rows in one transaction (readers see the old rows until commit).

    Marks the job running → succeeded (or failed with the error in its log). Audit: aggregation.theme.built.
    """
    with transaction.atomic():
        job = ThemeBuildJob.objects.select_for_update().select_related("theme").get(pk=job_id)
        if job.status != ThemeJobStatus.PENDING:
            return job  # a redelivered task: the job already ran or is running
        job.status, job.progress = ThemeJobStatus.RUNNING, 5
        job.started_at = job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "started_at", "heartbeat_at", "progress"])
    theme = job.theme
    try:
        with transaction.atomic():
            theme = ThemeDatabase.objects.select_for_update().get(pk=theme.pk)
            # The job's row stays locked until the build commits: the reaper (SKIP LOCKED) leaves a build alone
            # while its worker lives, however long the INSERT takes.
            if not ThemeBuildJob.objects.select_for_update().filter(pk=job.pk, status=ThemeJobStatus.RUNNING):
                job.refresh_from_db()
                return job  # the reaper failed it before the build began: its verdict stands
            # Re-checked at every build: a source the owner may no longer read (its sharing type changed) or whose
            # key kind no longer matches is left out, and the job log says so.
            readable = Q(dataset__department_id=theme.department_id) | Q(
                dataset__entry__share_type=access.UNCONDITIONAL, dataset__entry__state="approved"
            )
            all_sources = list(theme.sources.select_related("dataset__entry"))
            usable = set(theme.sources.filter(readable, dataset__key_kind=theme.key_kind).values_list("pk", flat=True))
            sources = [{"dataset_id": s.dataset_id, "items": list(s.item_names)} for s in all_sources if s.pk in usable]
            skipped = [s.dataset.entry.name for s in all_sources if s.pk not in usable]
            job.source_loads = _latest_loads([s["dataset_id"] for s in sources])
            ThemeRow.objects.filter(theme=theme).delete()
            count = _insert_rows(theme, sources)
            theme.row_count, theme.built_at = count, timezone.now()
            theme.save(update_fields=["row_count", "built_at"])
            job.status, job.progress, job.row_count = ThemeJobStatus.SUCCEEDED, 100, count
            job.finished_at = timezone.now()
            job.log = _("已生成 %(n)d 个主体，来源 %(s)d 个数据资源") % {"n": count, "s": len(sources)}
            if skipped:
                job.log += _("；已跳过无权使用的数据资源：%(names)s") % {"names": "、".join(skipped)}
            job.save(update_fields=["status", "progress", "row_count", "finished_at", "log", "source_loads"])
            audit.record(actor=None, actor_label="system", action="aggregation.theme.built", obj=theme,
                         data={"job": job.pk, "rows": count, "trigger": job.trigger,
                               "loads": [load["job"] for load in job.source_loads]},
                         department=theme.department)
    except Exception as exc:  # the job row must tell the user; the error is logged for the operator
        with transaction.atomic():
            ThemeBuildJob.objects.filter(pk=job.pk, status=ThemeJobStatus.RUNNING).update(
                status=ThemeJobStatus.FAILED, finished_at=timezone.now(), log=f"{type(exc).__name__}: {exc}"[:2000]
            )
        raise
    return job


def _insert_rows(theme: ThemeDatabase, sources: list[dict]) -> int:
    """The theme's rows from its usable `sources` in one INSERT … SELECT over their tables; how many."""
    datasets = {d.pk: d for d in Dataset.objects.filter(pk__in=[s["dataset_id"] for s in sources])}
    built = reading.theme_sources_sql([(Layout.stored(datasets[s["dataset_id"]]), s["items"]) for s in sources])
    if built is None:  # no source (left), or none holds a selected item
        return 0
    union, params = built
    statement = sql.SQL(_BUILD_SQL).format(row_table=sql.Identifier(ThemeRow._meta.db_table), sources=union)
    with connection.cursor() as cur:
        cur.execute(statement.as_string(connection.connection),
                    [theme.pk, *params, theme.join_mode == JoinMode.ALL, len(sources)])
        return cur.rowcount


def _latest_loads(dataset_ids: list[int]) -> list[dict]:
    """Per dataset, its latest succeeded ingest job: [{"job", "dataset", "finished_at" (ISO)}], in dataset order."""
    loads = (
        IngestJob.objects.filter(dataset_id__in=dataset_ids, status=JobStatus.SUCCEEDED, finished_at__isnull=False)
        .order_by("dataset_id", "-finished_at", "-pk").distinct("dataset_id")
        .values_list("pk", "dataset_id", "finished_at")
    )
    by_dataset = {dataset: (pk, finished) for pk, dataset, finished in loads}
    return [{"job": by_dataset[d][0], "dataset": d, "finished_at": by_dataset[d][1].isoformat()}
            for d in dataset_ids if d in by_dataset]


def theme_rows_rehash(*, cipher, batch: int, recompute_blind_index: bool, dry_run: bool,
                      on_batch=lambda table, column, count: None) -> dict[str, int]:
    """Key rotation of the theme rows' subject index (registered with security.rotation after the generic rotators
    of `key_enc` and `data`, which re-seal the rows' tokens under the current key as they are): on a blind-index
    rotation each row's `key_hash` is recomputed from its key — the value of `key_dataset`'s key item in `key_enc` —
    batch by batch, one transaction each; {"theme row indexes": rows changed}. A field-key rotation leaves the index
    alone. A row whose key does not read (its token does not open) keeps its index until the theme's next build."""
    count = 0
    if not recompute_blind_index:
        return {"theme row indexes": count}
    key_items = dict(Dataset.objects.values_list("pk", "key_item_name"))
    table = ThemeRow._meta.db_table
    last = 0
    while True:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"SELECT id, key_hash, key_enc, key_dataset FROM {table} WHERE id > %s "  # noqa: S608
                        "ORDER BY id LIMIT %s FOR UPDATE", [last, batch])
            rows = cur.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            opened = reading.tokens_opened([r[2] for r in rows], cipher)
            updates = []
            for (rid, key_hash, _token, key_dataset), secret in zip(rows, opened, strict=True):
                key = (secret or {}).get(key_items.get(key_dataset))
                if key and (new := cipher.blind_index(key)) != bytes(key_hash):
                    updates.append((new, rid))
            if updates and not dry_run:
                cur.executemany(f"UPDATE {table} SET key_hash = %s WHERE id = %s", updates)  # noqa: S608
                on_batch(table, "key_hash", len(updates))
            count += len(updates)
    return {"theme row indexes": count}


# --------------------------------------------------------------------------------------------------
# Freshness: due themes (a source's load, debounced; the nightly schedule) and the sweep that builds them


def themes_sources_loaded(*, dataset_ids: list[int], now: dt.datetime | None = None) -> int:
    """New data was loaded into `dataset_ids` (committed): every theme built from one of them becomes due
    THEME_REBUILD_DEBOUNCE_SECONDS from now — unless it is due already, so every load inside that window is read by
    the same one build. One UPDATE (set-based; concurrent loads agree). Returns how many themes it touched."""
    now = now or timezone.now()
    due = now + dt.timedelta(seconds=settings.AGGREGATION["THEME_REBUILD_DEBOUNCE_SECONDS"])
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            """UPDATE aggregation_themedatabase t
                   SET rebuild_due_at = coalesce(t.rebuild_due_at, %(due)s),
                       rebuild_reason = CASE WHEN t.rebuild_due_at IS NULL THEN %(source)s ELSE t.rebuild_reason END
                 WHERE t.id IN (SELECT s.theme_id FROM aggregation_themesource s
                                 WHERE s.dataset_id = ANY(%(datasets)s))""",
            {"due": due, "source": ThemeTrigger.SOURCE, "datasets": list(dataset_ids)},
        )
        return cur.rowcount


def themes_schedule(*, now: dt.datetime | None = None) -> list[int]:
    """The nightly rebuild: every theme is due now (one already due for a load keeps that reason), then the sweep
    queues their builds. Returns the queued job ids."""
    now = now or timezone.now()
    with transaction.atomic():
        ThemeDatabase.objects.filter(rebuild_due_at__isnull=True).update(
            rebuild_due_at=now, rebuild_reason=ThemeTrigger.SCHEDULE)
        ThemeDatabase.objects.filter(rebuild_due_at__gt=now).update(rebuild_due_at=now)
    return themes_rebuild_due(now=now)


_DUE_SQL = """
WITH due AS (
    SELECT t.id, t.rebuild_reason FROM {theme} t
     WHERE t.rebuild_due_at <= %(now)s
       AND NOT EXISTS (SELECT 1 FROM {job} j WHERE j.theme_id = t.id AND j.status IN ('pending', 'running'))
     ORDER BY t.id
       FOR UPDATE OF t SKIP LOCKED
), cleared AS (
    UPDATE {theme} t SET rebuild_due_at = NULL, rebuild_reason = '' FROM due WHERE t.id = due.id RETURNING t.id
), queued AS (
    INSERT INTO {job} (theme_id, status, progress, log, error_code, error_message, row_count, trigger, source_loads,
                       created_at)
    SELECT due.id, 'pending', 0, '', '', '', 0, coalesce(nullif(due.rebuild_reason, ''), %(source)s), '[]'::jsonb,
           %(now)s
      FROM due JOIN cleared ON cleared.id = due.id
        ON CONFLICT (theme_id) WHERE status IN ('pending', 'running') DO NOTHING
    RETURNING id, theme_id, trigger
), audited AS ({audited})
SELECT id FROM queued ORDER BY id
"""


def themes_rebuild_due(*, now: dt.datetime | None = None) -> list[int]:
    """The minute sweep: one build queued for each theme whose rebuild is due and that has no build queued or
    running (such a theme stays due until that build ends). One statement: the due themes are locked (SKIP LOCKED:
    a concurrent sweep or rebuild request takes the others), cleared, their jobs inserted (the one-open-build
    constraint absorbs a race), each audited aggregation.theme.rebuild_requested (actor: the system). The builds
    run after commit. Returns the queued job ids."""
    now = now or timezone.now()
    audited, audit_params = audit.record_rows_sql(
        "SELECT t.department_id, q.theme_id, t.name, jsonb_build_object('job', q.id, 'trigger', q.trigger) "
        "FROM queued q JOIN aggregation_themedatabase t ON t.id = q.theme_id",
        action="aggregation.theme.rebuild_requested", object_type=ThemeDatabase._meta.label_lower,
        actor=None, actor_label="system",
    )
    sql = _DUE_SQL.format(theme=ThemeDatabase._meta.db_table, job=ThemeBuildJob._meta.db_table, audited=audited)
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(sql, {"now": now, "source": ThemeTrigger.SOURCE, **audit_params})
            ids = [row[0] for row in cur.fetchall()]
        enqueue_many("aggregation.theme_build", [(pk,) for pk in ids])
    return ids


def theme_rows_page(*, actor, theme: ThemeDatabase, after: int | None = None, limit: int = PAGE_SIZE) -> dict:
    """One keyset page of the built theme, masked for the reader; writes aggregation.theme.viewed.

    A selected clear item is read from the row's text, a selected encrypted one from its source's row token (the
    page's tokens opened in one frame, storage.reading.tokens_opened); only the theme's selected items are shown —
    the token's other items never leave this function. The key: the value of the key item of `key_dataset` in
    `key_enc`. A token that does not open reads as empty.

    Returns {"columns", "rows": [{"id", "key", "values": {column key: shown value}, "updated_at"}], "next"}.
    """
    limit = max(1, min(int(limit or PAGE_SIZE), 500))
    columns = theme_columns(theme)
    full = {c["dataset"].pk: access.full_values_allowed(actor, c["dataset"]) for c in columns}
    key_source = columns[0]["dataset"] if columns else None
    sealed = {ds.pk: {n for n, e in (ds.columns or {}).items() if not e.get("col")}
              for ds in {c["dataset"].pk: c["dataset"] for c in columns}.values()}
    # Per column: (key, dataset id, item, encrypted, masking kind or None when shown in full).
    plan = []
    for c in columns:
        ds = c["dataset"]
        kind = None if full[ds.pk] else access.mask_kinds(ds, [(c["item"], c["data_type"])])[c["item"]]
        plan.append((c["key"], ds.pk, c["item"], c["item"] in sealed[ds.pk], kind))
    qs = ThemeRow.objects.filter(theme=theme).order_by("id")
    if after:
        qs = qs.filter(id__gt=after)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    key_items = dict(Dataset.objects.filter(pk__in={r.key_dataset for r in rows}).values_list("pk", "key_item_name"))
    token_of = {ds_id: reading.theme_token_key(ds_id) for ds_id in {p[1] for p in plan if p[3]}}
    tokens = list(dict.fromkeys(t for r in rows for t in (r.key_enc, *(r.data.get(k) for k in token_of.values()))
                                if t))
    opened = dict(zip(tokens, reading.tokens_opened(tokens, crypto.cipher()), strict=True))
    key_full = all(full.values()) if full else False
    shown = []
    for row in rows:
        values = {}
        for key, ds_id, item, encrypted, kind in plan:
            value = (opened.get(row.data.get(token_of[ds_id])) or {}).get(item) if encrypted else row.data.get(key)
            values[key] = access.mask(value, kind) if kind else value
        key_plain = (opened.get(row.key_enc) or {}).get(key_items.get(row.key_dataset), "")
        shown.append({
            "id": row.pk,
            "key": access.key_display(key_source, key_plain, full=key_full) if key_source else "",
            "values": values, "cells": [values[c["key"]] for c in columns], "updated_at": row.updated_at,
        })
    with transaction.atomic():
        audit.record(actor=actor, action="aggregation.theme.viewed", obj=theme,
                     data={"after": after, "rows": len(shown), "keys": [access.hash_hex(r.key_hash) for r in rows]})
    return {"columns": columns, "rows": shown, "next": rows[-1].pk if more and rows else None}
