"""Write side of the ingest jobs: upload → job, the mapping step, re-runs, running a job.

State changes of a job are short transactions of their own (so a crash leaves an accurate status behind);
the data change of a job is ONE transaction at the end (upsert + history + job result + audit). The pipeline's
mechanics are the aggregation.ingest package; the Celery task that runs a job is aggregation.tasks. A job whose
worker died is failed by the kernel's reaper (portal.services.jobs; the kind is registered in aggregation.apps).
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

import polars as pl
from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.errors import InvalidTransition, NotFound, PortalError
from portal.services.jobs import OutOfBandHeartbeat, enqueue, job_heartbeat, log_line
from security.crypto import FieldCipher

from ..access import report_in_full
from ..choices import JobFormat, JobMode, JobStatus
from ..ingest import parallel, processing, readers, sniffing, staging
from ..ingest.errors import IngestError
from ..ingest.mapping import auto_mapping, near_matches
from ..ingest.planning import Plan
from ..ingest.processing import RowProcessor
from ..models import Dataset, IngestJob
from ..selectors.ingest import report_csv
from ..storage import moving, reading, rowwork, tables_written, writing
from ..storage.layout import Layout
from .pools import dataset_ensure, dataset_recount, one_source_problems, refresh_encrypted_items, require_loader
from .themes import themes_sources_loaded

log = logging.getLogger(__name__)

PROGRESS_EVERY = 1.0  # seconds between progress/heartbeat writes


# --------------------------------------------------------------------------------------------------
# Upload → job


def ingest_job_create(
    *, actor, entry, upload: UploadedFile, mode: str = JobMode.ALL_OR_NOTHING, encoding: str = "",
    empty_items: list[str] | None = None, empty_all: bool = False,
) -> IngestJob:
    """Store an uploaded file as a new job of the entry's dataset, read its header and map columns by name.

    When the subject-key column is found and no header is close to an item's name without naming it
    (ingest.mapping.near_matches), the job is queued at once; otherwise it waits for the mapping step
    (待确认映射, ingest_job_set_mapping) — a near-matching column is never dropped silently.
    Items the file does not hold keep their stored values, except those the clerk chose to replace with empty
    values (`empty_items`, or every missing item with `empty_all`).
    A file that cannot be read at all gives a job "rejected" with the reason.
    Raises NotFound / PermissionDenied (not the provider's data staff), PortalError (too large, one source, an
    unknown item to empty). Audits aggregation.job.created.
    """
    dataset = dataset_ensure(entry=entry)
    require_loader(actor, dataset)
    limit = settings.AGGREGATION["MAX_UPLOAD_BYTES"]
    if upload.size > limit:
        raise PortalError(_("文件超过 %(mb)d MB 上限") % {"mb": limit // (1 << 20)}, code="too_large")
    problems = one_source_problems(dataset)
    if problems:
        raise PortalError(problems[0], code="one_source", errors={"file": problems})
    if mode not in JobMode.values:
        mode = JobMode.ALL_OR_NOTHING
    name = Path(upload.name or "upload").name[:255]
    with transaction.atomic():
        job = IngestJob(
            dataset=dataset, original_name=name, size=upload.size, format=JobFormat.CSV, mode=mode,
            encoding=encoding, created_by=actor,
        )
        job.file.save(f"{uuid.uuid4().hex}{Path(name).suffix.lower()[:10]}", upload, save=False)
        path = Path(job.file.path)
        job.file_sha256 = file_sha256(path)
        try:
            job.format = sniffing.sniff_format(path, name)
            columns, detected, notes = readers.read_header(path, job.format, encoding=encoding or None)
        except IngestError as exc:
            job.status = JobStatus.REJECTED
            job.finished_at = timezone.now()
            job.progress = 100
            job.log = log_line(str(exc))
            job.save()
            audit.record(actor=actor, action="aggregation.job.created", obj=job,
                         data={"file": name, "size": upload.size, "sha256": job.file_sha256, "rejected": str(exc)})
            return job
        job.header = columns
        job.encoding = detected
        item_names = [i.name for i in dataset.entry.items.order_by("position")]
        mapping = auto_mapping(columns, item_names)
        job.near_matches = near_matches(columns, item_names, mapping)
        ready = not job.near_matches and dataset.key_item_name in mapping.values()
        # Waiting for the mapping step: the choice is a proposal the clerk answers again there.
        try:
            job.empty_items = _empty_choice(dataset, mapping, empty_items, empty_all, strict=ready)
        except PortalError:
            job.file.delete(save=False)  # nothing of a refused upload stays behind
            raise
        log_lines = [_("文件：%(name)s，%(size)s 字节，格式 %(fmt)s，编码 %(enc)s，SHA-256 %(sha)s")
                     % {"name": name, "size": upload.size, "fmt": job.format, "enc": detected or "-",
                        "sha": job.file_sha256}, *notes]
        if job.near_matches:
            log_lines.append(_("待确认映射：表头与信息项名称相近（%(pairs)s），请逐列确认或忽略后开始导入")
                             % {"pairs": "、".join(f"{c}≈{n}" for c, n in job.near_matches.items())})
        elif ready:
            job.mapping = mapping
            unmapped = [c for c in columns if c and c not in mapping]
            if unmapped:
                log_lines.append(_("未对应信息项、不导入的列：%(cols)s") % {"cols": "、".join(unmapped)})
            log_lines.extend(_missing_lines(dataset, mapping, job.empty_items))
        else:
            log_lines.append(_("表头与信息项不一致，请对应各列后开始导入"))
        job.log = "".join(log_line(x) for x in log_lines)
        job.save()
        audit.record(actor=actor, action="aggregation.job.created", obj=job,
                     data={"file": name, "size": upload.size, "sha256": job.file_sha256, "format": job.format,
                           "mode": mode,
                           "encoding": detected, "mapped": bool(job.mapping), "near_matches": job.near_matches,
                           "empty_items": job.empty_items})
        if job.mapping:
            _enqueue(job)
    return job


def ingest_job_set_mapping(*, actor, job_id: int, mapping: dict[str, str], mode: str | None = None,
                           empty_items: list[str] | None = None, empty_all: bool = False) -> IngestJob:
    """The mapping step: file column → item name ("" ignores the column); the subject key must be mapped, each
    item at most once, and every column whose header is close to an item (`job.near_matches`) must be answered
    explicitly — mapped or ignored. Items the mapping leaves out keep their stored values, except `empty_items`
    (or all of them with `empty_all`), which the load replaces with empty values.

    Raises NotFound, PermissionDenied, InvalidTransition (job not waiting), PortalError (bad mapping; code
    "unconfirmed" for a near-matching column left unanswered). Audits aggregation.job.mapped and queues the job.
    """
    with transaction.atomic():
        job = _job_for_update(actor, job_id)
        require_loader(actor, job.dataset)
        if job.status != JobStatus.PENDING or job.mapping:
            raise InvalidTransition(_("该任务已开始或已结束，不能再修改列对应关系"))
        names = {i.name for i in job.dataset.entry.items.all()}
        mapping = {str(c): (n or "") for c, n in (mapping or {}).items()}
        unanswered = [c for c in job.near_matches if c not in mapping]
        if unanswered:
            raise PortalError(
                _("以下列的表头与信息项名称相近，请逐列确认对应的信息项或选择不导入：%(c)s")
                % {"c": "、".join(f"{c}（{job.near_matches[c]}？）" for c in unanswered)},
                code="unconfirmed", errors={"mapping": unanswered})
        clean = {c: n for c, n in mapping.items() if n and c in job.header}
        unknown = sorted(set(clean.values()) - names)
        if unknown:
            raise PortalError(_("不是该资源的信息项：%(n)s") % {"n": "、".join(unknown)}, code="invalid")
        if len(set(clean.values())) != len(clean):
            raise PortalError(_("同一信息项只能对应一列"), code="invalid")
        if job.dataset.key_item_name not in clean.values():
            raise PortalError(_("必须指定主体标识“%(k)s”所在的列") % {"k": job.dataset.key_item_name}, code="invalid")
        job.mapping = clean
        job.empty_items = _empty_choice(job.dataset, clean, empty_items, empty_all)
        if mode in JobMode.values:
            job.mode = mode
        ignored = [c for c in job.header if c and c not in clean]
        job.log += log_line(_("列对应：%(m)s") % {"m": "，".join(f"{c}→{n}" for c, n in clean.items())})
        if ignored:
            job.log += log_line(_("确认不导入的列：%(c)s") % {"c": "、".join(ignored)})
        job.log += "".join(log_line(x) for x in _missing_lines(job.dataset, clean, job.empty_items))
        job.save(update_fields=["mapping", "mode", "log", "empty_items"])
        audit.record(actor=actor, action="aggregation.job.mapped", obj=job,
                     data={"mapping": clean, "mode": job.mode, "ignored": ignored, "near_matches": job.near_matches,
                           "empty_items": job.empty_items})
        _enqueue(job)
    return job


def _missing(dataset, mapping: dict[str, str]) -> list[str]:
    """The dataset's items (in catalog order) that no column of the mapping holds."""
    mapped = set(mapping.values())
    return [n for n in dataset.entry.items.order_by("position").values_list("name", flat=True) if n not in mapped]


def _empty_choice(dataset, mapping: dict[str, str], empty_items, empty_all: bool, *, strict: bool = True) -> list[str]:
    """The items the clerk chose to replace with empty values: `empty_items` (each an item of the resource that the
    file does not hold) or, with `empty_all`, every item the file does not hold. Raises PortalError (invalid)."""
    missing = _missing(dataset, mapping)
    if empty_all:
        return missing
    chosen = [str(n) for n in (empty_items or []) if n]
    names = set(dataset.entry.items.values_list("name", flat=True))
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise PortalError(_("不是该资源的信息项：%(n)s") % {"n": "、".join(unknown)}, code="invalid",
                          errors={"empty_items": unknown})
    present = [n for n in chosen if n not in missing]
    if present and strict:
        raise PortalError(_("已对应到文件列的信息项不能选择以空值替换：%(n)s") % {"n": "、".join(present)},
                          code="invalid", errors={"empty_items": present})
    return [n for n in missing if n in chosen]


def _missing_lines(dataset, mapping: dict[str, str], empty_items: list[str]) -> list[str]:
    missing = _missing(dataset, mapping)
    kept = [n for n in missing if n not in empty_items]
    emptied = [n for n in missing if n in empty_items]
    lines = []
    if kept:
        lines.append(KEPT_LINE % {"items": "、".join(kept)})
    if emptied:
        lines.append(EMPTIED_LINE % {"items": "、".join(emptied)})
    return lines


KEPT_LINE = "未包含的数据项，保留原值：%(items)s"
EMPTIED_LINE = "未包含的数据项，按选择以空值替换：%(items)s"


def ingest_job_rerun(*, actor, job_id: int, mode: str | None = None) -> IngestJob:
    """Queue a failed or rejected job again (optionally as "load valid rows"); idempotent by key upsert.

    Raises NotFound, PermissionDenied, InvalidTransition (job not finished, or succeeded). Audits
    aggregation.job.rerun.
    """
    with transaction.atomic():
        job = _job_for_update(actor, job_id)
        require_loader(actor, job.dataset)
        if job.status not in (JobStatus.FAILED, JobStatus.REJECTED):
            raise InvalidTransition(_("只有失败或未导入的任务可以重新运行"))
        if not job.mapping or not job.file:
            raise InvalidTransition(_("该文件无法读取，请修正后重新上传"))
        old = job.status
        if mode in JobMode.values:
            job.mode = mode
        job.status = JobStatus.PENDING
        job.progress = 0
        job.finished_at = None
        job.log += log_line(_("重新运行（%(mode)s）") % {"mode": job.get_mode_display()})
        job.save(update_fields=["status", "progress", "finished_at", "log", "mode"])
        audit.record(actor=actor, action="aggregation.job.rerun", obj=job, data={"from": old, "mode": job.mode})
        _enqueue(job)
    return job


def ingest_job_report(*, actor, job_id: int):
    """A job's rejected-rows report for `actor` to download: (job, CSV chunks). Values as uploaded for whoever holds
    "load" on the resource (access.report_in_full), masked for anyone else who may open the job.

    Raises NotFound (out of scope, or the job has no report). Audits aggregation.job.report_downloaded (with
    whether the values were given in full).
    """
    job = IngestJob.objects.restrict(actor, "view").select_related("dataset__entry").filter(pk=job_id).first()
    if job is None or not job.report:
        raise NotFound()
    full = report_in_full(actor, job.dataset)
    audit.record(actor=actor, action="aggregation.job.report_downloaded", obj=job, department=job.dataset.department,
                 data={"rejected": job.rejected_rows, "duplicates": job.duplicate_rows, "full": full})
    return job, report_csv(job, full=full)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a stored file, read in 1 MB blocks (≈ 0.2 s for a 168 MB file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _enqueue(job: IngestJob) -> None:
    enqueue("aggregation.tasks.ingest_job_run", job.pk)


def _job_for_update(actor, job_id: int) -> IngestJob:
    job = (
        IngestJob.objects.restrict(actor, "view").select_for_update(of=("self",)).select_related("dataset__entry")
        .filter(pk=job_id).first()
    )
    if job is None:
        raise NotFound()
    return job


# --------------------------------------------------------------------------------------------------
# Running a job


@dataclass
class _Counts:
    total: int = 0
    accepted: int = 0
    rejected: int = 0
    shifts: dict[int, int] = field(default_factory=dict)  # parallel.Chunk: part → shift (stage row → file row)

    def file_row(self, row_no: int) -> int:
        return row_no + self.shifts.get(row_no >> parallel._SHIFT, 0)

    def fields(self) -> dict[str, int]:
        """The job's row counts as they are shown while it runs (sent with each heartbeat)."""
        return {"total_rows": self.total, "accepted_rows": self.accepted, "rejected_rows": self.rejected}


def ingest_job_claim(job_id: int) -> IngestJob | None:
    """pending → running (short transaction); None when the job is not pending (already run, or re-delivered)."""
    with transaction.atomic():
        job = IngestJob.objects.select_for_update().select_related("dataset__entry").filter(pk=job_id).first()
        if job is None or job.status != JobStatus.PENDING or not job.mapping:
            return None
        now = timezone.now()
        job.status = JobStatus.RUNNING
        job.started_at = job.heartbeat_at = now
        job.attempts += 1
        job.progress = 0
        job.total_rows = job.accepted_rows = job.rejected_rows = job.duplicate_rows = 0
        job.kept_items = []
        job.inserted_rows = job.updated_rows = job.unchanged_rows = 0
        job.log += log_line(_("开始第 %(n)d 次运行") % {"n": job.attempts})
        job.save()
        audit.record(actor=None, action="aggregation.job.started", obj=job, department=job.dataset.department,
                     data={"attempt": job.attempts})
    return job


def ingest_job_run(*, job_id: int) -> IngestJob | None:
    """Run a queued job: stream, validate, stage, then one transaction for the upsert + history + result — or,
    when the writers write the resource tables (storage.tables_written), stream the checked rows into the dataset's
    table in the job's one transaction (`_load_table`).

    Ends the job succeeded, rejected (file unreadable; or rows rejected in all-or-nothing mode; nothing
    loaded) or failed (unexpected error; nothing loaded; may be re-run). Audits aggregation.job.started and
    aggregation.job.finished / aggregation.job.failed.
    """
    job = ingest_job_claim(job_id)
    if job is None:
        return None
    stage = f"agg_stage_{job.pk}"
    report_path = None
    try:
        plan = refresh_encrypted_items(job.dataset)
        problems = one_source_problems(job.dataset)
        if problems:
            raise IngestError(problems[0])
        done = _finish_if_loaded_before(job)
        if done is not None:
            return done
        if tables_written():
            return _load_table(job, plan)
        counts, report_path, duplicates, notes = _stage_file(job, plan, stage)
        return _finish(job, counts, report_path, duplicates, stage, notes, plan)
    except IngestError as exc:
        return _end(job, JobStatus.REJECTED, str(exc), report_path)
    except Exception as exc:
        log.exception("ingest job %s failed", job.pk)
        reason = _("系统错误，未导入任何数据，可重新运行：%(e)s") % {"e": exc.__class__.__name__}
        return _end(job, JobStatus.FAILED, reason, report_path)
    finally:
        try:
            with connection.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {stage}")
        except Exception:  # the connection may be gone after a crash; the temp table went with it
            log.warning("could not drop %s", stage)


def _stage_file(job: IngestJob, plan: Plan, stage: str):
    """Stream the file through the processor into the stage table; returns counts and the report file.

    A large CSV file is processed by worker processes (aggregation.ingest.parallel); if one of their cuts turns out to
    lie inside a quoted field, what they staged is discarded and the file is read again by this process alone."""
    path = Path(job.file.path)
    source = readers.open_source(path, job.format, encoding=job.encoding or None)
    report = tempfile.NamedTemporaryFile(  # noqa: SIM115 — handed to _finish / _end
        "w", suffix=".jsonl", delete=False, encoding="utf-8", newline=""
    )
    try:
        processor = RowProcessor(plan, source.columns, job.mapping)
        processor.pretranslated = source.pretranslated
        cur = staging.raw_cursor()
        staging.stage_create(cur, stage)
        started = time.monotonic()
        workers = parallel.worker_count(job.size) if job.format == JobFormat.CSV else 1
        the_layout = parallel.layout(path, source) if workers > 1 else None
        if the_layout:
            workers = min(workers, len(the_layout.ranges))
        how = _("%(w)d 个进程") % {"w": workers} if the_layout else _("单进程")
        if the_layout:
            chunks = parallel.results(path, source, the_layout, plan, job.mapping, workers)
            try:
                counts = _stage_results(job, plan, chunks, cur, stage, report)
            except parallel.Unsplittable:
                how = _("单进程（文件的切分点落在引号内的字段中）")
                cur.execute(f"TRUNCATE {stage}")
                report.seek(0)
                report.truncate()
                the_layout = None
        if not the_layout:
            batches = processing.batched(source.rows(), first_row_no=2)
            chunks = (parallel.Chunk(processor.process(*batch), -1) for batch in batches)
            counts = _stage_results(job, plan, chunks, cur, stage, report, source=source)
        read_s = time.monotonic() - started
        duplicates = _report_duplicates(job, plan, cur, stage, report, counts)
        report.close()
        staging.stage_dedupe(cur, stage)
        cur.close()
        notes = [*source.notes, _("读取、清洗、校验、加密并暂存 %(n)d 行（%(how)s）：%(s).1f 秒；去重 %(d).1f 秒")
                 % {"n": counts.total, "how": how, "s": read_s, "d": time.monotonic() - started - read_s}]
        return counts, report.name, duplicates, notes
    except BaseException:
        report.close()
        Path(report.name).unlink(missing_ok=True)
        raise
    finally:
        source.close()


class _ReportWriter:
    """The rejected-rows report as stored: JSON lines [row, column, value, reason, masking kind]. The clerk's values
    are kept as uploaded (it is their data); a value of an item with a masking kind (access.mask_kind) is stored
    encrypted. Who reads it in which form: selectors.ingest.report_rows."""

    def __init__(self, fh, plan: Plan, mapping: dict[str, str]):
        self.fh = fh
        self.cipher = FieldCipher(plan.keys_spec, plan.blind_key)
        kinds = {i.name: i.mask_kind for i in plan.items}
        self.kinds = {c: kinds.get(n) for c, n in mapping.items()}

    def write(self, row_no: int, column: str, value: str, reason: str, *, token: str | None = None) -> None:
        kind = self.kinds.get(column)
        if kind and value and token is None:
            token = self.cipher.encrypt(value)
        stored = token if kind and (value or token) else value
        self.fh.write(json.dumps([row_no, column, stored, reason, kind or ""], ensure_ascii=False) + "\n")


def _report_duplicates(job: IngestJob, plan: Plan, cur, stage: str, report, counts: _Counts) -> int:
    """List each key the file holds more than once in the report: every earlier row, with all the rows of that key
    and the one that wins (the last, as stage_dedupe keeps it); returns the number of rows not loaded for that."""
    key_column = next(c for c, n in job.mapping.items() if n == plan.key_item)
    writer = _ReportWriter(report, plan, job.mapping)
    dropped = 0
    for stage_rows, token in staging.stage_duplicates(cur, stage):
        rows = [counts.file_row(r) for r in stage_rows]
        winner = rows[-1]
        reason = DUPLICATE_REASON % {"rows": "、".join(map(str, rows)), "n": winner}
        for row in rows[:-1]:
            writer.write(row, key_column, "", reason, token=token)
            dropped += 1
    return dropped


DUPLICATE_REASON = "文件内重复主键（第 %(rows)s 行），以第 %(n)d 行为准"


def _checked(job: IngestJob, plan: Plan, chunks, report, counts: _Counts, beat, *, source=None):
    """The processed chunks' results in file order, their rejections written into the report (_ReportWriter) and
    counted in `counts`; `beat(position)` (0–1 of the file) every PROGRESS_EVERY seconds."""
    writer = _ReportWriter(report, plan, job.mapping)
    last = time.monotonic()
    for chunk in chunks:
        result = chunk.result
        if chunk.part:
            counts.shifts[chunk.part] = chunk.shift
        counts.total += result.rows
        counts.accepted += result.accepted
        if result.rejections:
            counts.rejected += len({r[0] for r in result.rejections})
            for row_no, column, value, reason in result.rejections:
                writer.write(row_no, column, value, reason)
        yield result
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY:
            last = now
            beat(source.position() if source is not None else chunk.end / max(job.size, 1))


def _stage_results(job: IngestJob, plan: Plan, chunks, cur, stage: str, report, *, source=None) -> _Counts:
    """COPY processed chunks into the stage table and their rejections into the report (_checked). Rows are
    staged also when the job will load nothing (all-or-nothing with rejections), so that its report lists the
    file's duplicate keys too."""
    counts = _Counts()
    stage_writer = staging.StageWriter(cur, stage)

    def beat(position: float) -> None:
        stage_writer.pause()
        job_heartbeat(IngestJob, job.pk, progress=int(position * 90), **counts.fields())

    try:
        for result in _checked(job, plan, chunks, report, counts, beat, source=source):
            if result.copy_text:
                stage_writer.write(result.copy_text)
        stage_writer.pause()
    except (IngestError, parallel.Unsplittable):
        stage_writer.pause()  # what was written is well-formed; the stage is emptied or dropped next
        raise
    except BaseException as exc:
        stage_writer.abort(exc)
        raise
    return counts


def _finish_if_loaded_before(job: IngestJob) -> IngestJob | None:
    """The very same file loaded again, when nothing can have changed since: the job ends succeeded with the earlier
    load's result (every row unchanged, its report), without reading a row — or None, and the file is processed.

    "Nothing can have changed" — checked under the dataset's lock, which every writer of its records takes: the
    earlier job is the dataset's latest succeeded load, with the same SHA-256, column mapping, items to empty and
    mode; no catalog update was approved since (the rules, the items and what is encrypted are as they were); no
    record of the dataset was written since (a push, a correction, a deletion moves `updated_at`). Anything else
    goes through the row-digest comparison, which also writes nothing for unchanged rows, at the cost of reading
    and hashing them all (≈ 40 % of a first load). Audits aggregation.job.finished with `same_as`."""
    if not job.file_sha256:
        return None
    with transaction.atomic():
        dataset = Dataset.objects.select_for_update().select_related("entry").get(pk=job.dataset_id)
        last = (IngestJob.objects.filter(dataset=dataset, status=JobStatus.SUCCEEDED).exclude(pk=job.pk)
                .order_by("-finished_at", "-pk").first())
        if (last is None or last.file_sha256 != job.file_sha256 or last.mapping != job.mapping
                or sorted(last.empty_items) != sorted(job.empty_items) or last.mode != job.mode
                or (dataset.entry.approved_at and dataset.entry.approved_at > last.finished_at)
                or _written_since(dataset, last.finished_at)):
            return None
        locked = IngestJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != JobStatus.RUNNING:
            return None  # reaped meanwhile: the normal path reports it
        now = timezone.now()
        job.log = locked.log + log_line(
            _("文件与导入任务 #%(id)d 完全相同（SHA-256 一致），且此后资源目录和数据均未变化：未重新读取，"
              "结果同该任务，所有有效行未变化") % {"id": last.pk})
        job.status, job.progress, job.finished_at = JobStatus.SUCCEEDED, 100, now
        job.total_rows, job.accepted_rows = last.total_rows, last.accepted_rows
        job.rejected_rows, job.duplicate_rows = last.rejected_rows, last.duplicate_rows
        job.inserted_rows = job.updated_rows = 0
        job.unchanged_rows = max(last.accepted_rows - last.duplicate_rows, 0)
        job.kept_items = last.kept_items
        job.report = last.report.name  # the same file gives the same rejected-rows report
        job.save()
        dataset_recount(dataset, now)  # the provider's data arrived on cycle (R9.1), as after any load
        transaction.on_commit(partial(themes_sources_loaded, dataset_ids=[dataset.pk]))
        audit.record(
            actor=job.created_by, action="aggregation.job.finished", obj=job, department=dataset.department,
            data={"status": job.status, "total": job.total_rows, "accepted": job.accepted_rows,
                  "rejected": job.rejected_rows, "duplicates": job.duplicate_rows, "inserted": 0, "updated": 0,
                  "unchanged": job.unchanged_rows, "mode": job.mode, "kept_items": job.kept_items,
                  "empty_items": job.empty_items, "same_as": last.pk},
        )
    return job


def _written_since(dataset: Dataset, moment) -> bool:
    """Whether a row of the dataset was written (a load, a push, a correction, a deletion) after `moment`."""
    from ..models import Record

    if not tables_written():
        return Record.objects.filter(dataset_id=dataset.pk, updated_at__gt=moment).exists()
    return bool(dataset.columns and reading.rows(dataset, items=[], since=moment, include_deleted=True, limit=1))


def _attach_report(job: IngestJob, report_path: str | None, rejected: int) -> None:
    if not report_path:
        return
    path = Path(report_path)
    try:
        if rejected:
            with open(path, "rb") as fh:
                job.report.save(f"rejected-{job.pk}-{job.attempts}.jsonl", File(fh), save=False)
    finally:
        path.unlink(missing_ok=True)


def _refusal(job: IngestJob, counts: _Counts) -> str | None:
    """Why a read file loads nothing (the log line), or None: it loads its valid rows."""
    if counts.total == 0:
        return _("文件中没有数据行")
    if counts.rejected and job.mode == JobMode.ALL_OR_NOTHING:
        return _("%(r)d 行未通过校验；按“全部有效才导入”未导入任何数据。可下载问题行报告修正后重新上传，"
                 "或选择“仅导入有效行”重新运行") % {"r": counts.rejected}
    if counts.accepted == 0:
        return _("没有可导入的有效行")
    return None


def _locked_running(job: IngestJob) -> IngestJob:
    """The job's row, locked, while it still runs (else the reaper failed it meanwhile: IngestError, the caller's
    transaction rolls back)."""
    locked = IngestJob.objects.select_for_update().get(pk=job.pk)
    if locked.status != JobStatus.RUNNING:
        raise IngestError(_("任务已被标记为失败（心跳超时），本次运行结果未写入；请重新运行"))
    return locked


def _missing_items(job: IngestJob, plan: Plan) -> tuple[list[str], list[str]]:
    """The items the file has no column for: (kept — each stored row keeps its value —, emptied by the clerk's
    choice)."""
    mapped = set(job.mapping.values())
    missing = [i.name for i in plan.items if i.name not in mapped]
    return [n for n in missing if n not in job.empty_items], [n for n in missing if n in job.empty_items]


def _finish(job: IngestJob, counts: _Counts, report_path, duplicates: int, stage: str, notes: list[str],
            plan: Plan) -> IngestJob:
    job_heartbeat(IngestJob, job.pk, progress=92, **counts.fields())
    with transaction.atomic():
        locked = _locked_running(job)
        job.log = locked.log + "".join(log_line(n) for n in notes)
        refusal = _refusal(job, counts)
        inserted = updated = 0
        if refusal:
            job.log += log_line(refusal)
        else:
            dataset = Dataset.objects.select_for_update().get(pk=job.dataset_id)
            now = timezone.now()
            t0 = time.monotonic()
            job.kept_items, emptied = _missing_items(job, plan)
            with connection.cursor() as cur:
                if job.kept_items:
                    kept_rows = staging.stage_keep_items(
                        cur, stage, dataset_id=dataset.pk, items=job.kept_items,
                        cipher=FieldCipher(plan.keys_spec, plan.blind_key))
                    job.log += log_line(KEPT_LINE % {"items": "、".join(job.kept_items)}
                                        + _("（%(n)d 条已有记录保留了原值）") % {"n": kept_rows})
                if emptied:
                    job.log += log_line(EMPTIED_LINE % {"items": "、".join(emptied)})
                inserted, updated = staging.upsert_from_stage(
                    cur, stage, dataset_id=dataset.pk, actor_id=job.created_by_id, job_id=job.pk,
                    reason=_("导入任务 #%(id)d") % {"id": job.pk}, now=now,
                )
            if inserted or updated:
                moving.mirror(dataset.pk, since=now)
            _loaded(dataset, now)
            job.log += log_line(_("写入（更新数据与历史）：%(s).1f 秒") % {"s": time.monotonic() - t0})
        _record_result(job, JobStatus.REJECTED if refusal else JobStatus.SUCCEEDED, counts, inserted, updated,
                       duplicates, report_path)
    return job


def _loaded(dataset: Dataset, now) -> None:
    """After a load's write: the dataset's count and load time; the themes built from it due once committed."""
    dataset_recount(dataset, now)
    transaction.on_commit(partial(themes_sources_loaded, dataset_ids=[dataset.pk]))


def _record_result(job: IngestJob, status: str, counts: _Counts, inserted: int, updated: int, duplicates: int,
                   report_path) -> None:
    """The job's end (in the caller's transaction, its row locked): counts, log, report, audit."""
    job.status = status
    job.progress = 100
    job.finished_at = timezone.now()
    job.total_rows, job.accepted_rows, job.rejected_rows = counts.total, counts.accepted, counts.rejected
    job.duplicate_rows = duplicates
    job.inserted_rows, job.updated_rows = inserted, updated
    job.unchanged_rows = max(counts.accepted - duplicates - inserted - updated, 0) if status == "succeeded" else 0
    if status == JobStatus.SUCCEEDED:
        job.log += log_line(
            _("完成：共 %(t)d 行，有效 %(a)d 行，问题 %(r)d 行，重复 %(d)d 行（以最后一次出现为准）；"
              "新增 %(i)d，更新 %(u)d，未变化 %(n)d")
            % {"t": counts.total, "a": counts.accepted, "r": counts.rejected, "d": duplicates, "i": inserted,
               "u": updated, "n": job.unchanged_rows}
        )
    _attach_report(job, report_path, counts.rejected + duplicates)
    job.save()
    audit.record(
        actor=job.created_by, action="aggregation.job.finished", obj=job, department=job.dataset.department,
        data={"status": status, "total": counts.total, "accepted": counts.accepted, "rejected": counts.rejected,
              "duplicates": duplicates, "inserted": inserted, "updated": updated,
              "unchanged": job.unchanged_rows, "mode": job.mode, "kept_items": job.kept_items,
              "empty_items": job.empty_items},
    )


# --------------------------------------------------------------------------------------------------
# A load into the resource table (issue 18: AGGREGATION["WRITE_RECORDS"] off)


class _NothingLoaded(Exception):
    """Rolls back what the writer wrote of a file that turned out to load nothing (all-or-nothing)."""


def _load_table(job: IngestJob, plan: Plan) -> IngestJob:
    """Read, check and write in one pass: the checked batches (canonical frames) stream into the dataset's resource
    table (storage.writing.write_batches) in the job's one transaction while the file is still being read — the
    writer's producer thread runs the reading, so parsing and the database write overlap. Memory holds a few
    batches and each row's (row number, key), not the file.

    All or nothing: at the first rejected row the stream stops feeding the writer (the rest of the file is still
    read for the report) and what was written is rolled back to a savepoint. Progress and heartbeats go through a
    connection of their own (OutOfBandHeartbeat): this transaction's writes are invisible until it commits. A cut
    of the parallel reading that lies inside a quoted field rolls the transaction back and the file is read again
    by this process alone."""
    path = Path(job.file.path)
    source = readers.open_source(path, job.format, encoding=job.encoding or None)
    report = tempfile.NamedTemporaryFile(  # noqa: SIM115 — closed below, attached by _record_result
        "w", suffix=".jsonl", delete=False, encoding="utf-8", newline="")
    beat = OutOfBandHeartbeat(IngestJob, job.pk)
    try:
        processor = RowProcessor(plan, source.columns, job.mapping, frames=True)
        processor.pretranslated = source.pretranslated
        if job.format == JobFormat.CSV and settings.AGGREGATION["INGEST_CSV_READER"] == "polars":
            try:
                return _write_checked(job, plan, _polars_chunks(job, source, processor), report, beat,
                                      _("polars 多线程读取"), notes=source.notes)
            except readers.FastReadRefused:
                report.seek(0)  # (nothing was written: the transaction rolled back; the file is read again)
                report.truncate()
        workers = parallel.worker_count(job.size) if job.format == JobFormat.CSV else 1
        the_layout = parallel.layout(path, source) if workers > 1 else None
        if the_layout:
            workers = min(workers, len(the_layout.ranges))
            try:
                chunks = parallel.results(path, source, the_layout, plan, job.mapping, workers, frames=True)
                return _write_checked(job, plan, chunks, report, beat, _("%(w)d 个进程") % {"w": workers},
                                      notes=source.notes)
            except parallel.Unsplittable:
                report.seek(0)
                report.truncate()
                how = _("单进程（文件的切分点落在引号内的字段中）")
        else:
            how = _("单进程")
        chunks = (parallel.Chunk(processor.process(*batch), -1)
                  for batch in processing.batched(source.rows(), first_row_no=2))
        return _write_checked(job, plan, chunks, report, beat, how, notes=source.notes, source=source)
    finally:
        beat.close()
        report.close()
        Path(report.name).unlink(missing_ok=True)
        source.close()


def _polars_chunks(job: IngestJob, source, processor: RowProcessor):
    """A CSV file read by polars' reader (readers.CsvSource.frames; FastReadRefused when it cannot stand in for the
    csv module) and checked a batch at a time; each chunk's `end` estimates the bytes read, for the progress."""
    for first, frame in source.frames(Path(job.file.path), WRITE_BATCH_ROWS):
        checked, rejections, counted = processor.checker.check(first, frame, translated=False)
        yield parallel.Chunk(processing.BatchResult("", checked.height, rejections, counted, frame=checked),
                             int(min((first - 2 + frame.height) * source.line_bytes, job.size)))


def _write_checked(job: IngestJob, plan: Plan, chunks, report, beat, how: str, *, notes: list[str],
                   source=None) -> IngestJob:
    counts = _Counts()
    # (row_no, key) of every accepted row, for the duplicate keys' report: on disk (rowwork.Spilled), opened below
    keys: rowwork.Spilled
    stopped = [False]
    refuse_at_first = job.mode == JobMode.ALL_OR_NOTHING
    started = time.monotonic()
    kept, emptied = _missing_items(job, plan)

    def batches(extra: list[pl.Expr]):
        """Runs in the writer's producer thread: no database here (the heartbeat has its own connection)."""
        def progress(position: float) -> None:
            beat(progress=int(position * 90), **counts.fields())

        pending: list[pl.DataFrame] = []
        rows = 0
        for result in _checked(job, plan, chunks, report, counts, progress, source=source):
            frame = result.frame
            if frame is not None and frame.height:
                keys.append(frame.select("row_no", plan.key_item))
                pending.append(frame)
                rows += frame.height
            stopped[0] = stopped[0] or (refuse_at_first and counts.rejected > 0)
            if stopped[0]:
                pending, rows = [], 0
            elif rows >= WRITE_BATCH_ROWS:
                yield _batch(pending, extra)
                pending, rows = [], 0
        if pending:
            yield _batch(pending, extra)

    with rowwork.Spilled("ingest-keys-") as keys, transaction.atomic():
        dataset = Dataset.objects.select_for_update().get(pk=job.dataset_id)
        target = Layout.stored(dataset).target(dataset.key_item_name)
        mapped = set(job.mapping.values())
        extra = [pl.lit(None, dtype=pl.Utf8).alias(c.item) for c in target.columns if c.item not in mapped]
        if kept:
            extra.append(pl.lit(kept, dtype=pl.List(pl.Utf8)).alias("_keep"))
        now = timezone.now()
        result = None
        try:
            with transaction.atomic():
                result = writing.write_batches(
                    target, batches(extra), cipher=writing.cipher(), job_id=job.pk, actor_id=job.created_by_id,
                    reason=_("导入任务 #%(id)d") % {"id": job.pk}, now=now)
                if _refusal(job, counts):
                    raise _NothingLoaded
        except _NothingLoaded:
            result = None
        report.flush()
        locked = _locked_running(job)
        job.log = locked.log + "".join(log_line(n) for n in notes) + log_line(
            _("读取、清洗、校验并写入 %(n)d 行（%(how)s）：%(s).1f 秒") % {
                "n": counts.total, "how": how, "s": time.monotonic() - started})
        refusal = _refusal(job, counts)
        groups = result.duplicates if result is not None else _duplicate_groups(keys, plan.key_item)
        duplicates = _report_duplicate_rows(job, plan, report, keys, groups)
        report.close()
        inserted = updated = 0
        if refusal:
            job.log += log_line(refusal)
        else:
            inserted, updated = result.inserted, result.updated
            job.written_at = now  # (the created_at of every row it inserted: selectors.pools.record_integrity)
            job.kept_items = kept
            if kept:
                # (every stored row the file gives keeps them: the ones it changed and the ones it left alone)
                job.log += log_line(KEPT_LINE % {"items": "、".join(kept)} + _("（%(n)d 条已有记录保留了原值）")
                                    % {"n": result.updated + result.unchanged})
            if emptied:
                job.log += log_line(EMPTIED_LINE % {"items": "、".join(emptied)})
            job.log += log_line(_("写入资源表：%(phases)s") % {"phases": "，".join(
                f"{name} {seconds:.1f} 秒" for name, seconds in result.seconds.items() if name != "workers")})
            _loaded(dataset, now)
        _record_result(job, JobStatus.REJECTED if refusal else JobStatus.SUCCEEDED, counts, inserted, updated,
                       duplicates, report.name)
    return job


# Rows per batch handed to the writer (the processor checks 4 000 at a time; the writer's worker processes take
# batches from storage.preparing's WRITE_PARALLEL_MIN_ROWS on).
WRITE_BATCH_ROWS = 50_000


def _batch(frames: list[pl.DataFrame], extra: list[pl.Expr]) -> pl.DataFrame:
    frame = pl.concat(frames, how="vertical_relaxed", rechunk=True) if len(frames) > 1 else frames[0]
    return frame.with_columns(extra) if extra else frame


def _duplicate_groups(keys: rowwork.Spilled, key_item: str) -> list[list[int]]:
    """Each key given more than once, its row numbers in order (as the writer reports them): for a file that loads
    nothing, whose rows the writer did not all see."""
    given = keys.scan()
    return writing.duplicate_rows(given.collect() if given is not None else None, key_item, cipher=writing.cipher())


def _report_duplicate_rows(job: IngestJob, plan: Plan, report, keys: rowwork.Spilled,
                           groups: list[list[int]]) -> int:
    """List each key given more than once in the report (as _report_duplicates does for the stage): every earlier
    row, with all the rows of that key and the one that wins (the last); the number of rows not loaded for that."""
    if not groups:
        return 0
    key_column = next(c for c, n in job.mapping.items() if n == plan.key_item)
    winners = keys.scan().filter(pl.col("row_no").is_in([rows[-1] for rows in groups])).collect()
    key_of = dict(zip(winners["row_no"].to_list(), winners[plan.key_item].to_list(), strict=True))
    writer = _ReportWriter(report, plan, job.mapping)
    dropped = 0
    for rows in groups:
        reason = DUPLICATE_REASON % {"rows": "、".join(map(str, rows)), "n": rows[-1]}
        token = writer.cipher.encrypt(key_of[rows[-1]])
        for row in rows[:-1]:
            writer.write(row, key_column, "", reason, token=token)
            dropped += 1
    return dropped


def _end(job: IngestJob, status: str, reason: str, report_path: str | None) -> IngestJob:
    """A job ends without loading anything (own short transaction)."""
    if report_path:
        Path(report_path).unlink(missing_ok=True)
    if connection.in_atomic_block and connection.needs_rollback:
        return job  # inside a broken outer transaction (tests): the caller sees the exception state
    with transaction.atomic():
        locked = IngestJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != JobStatus.RUNNING:  # the reaper got there first: keep its verdict
            locked.log += log_line(reason)
            locked.save(update_fields=["log"])
            return locked
        locked.status = status
        locked.progress = 100
        locked.finished_at = timezone.now()
        locked.inserted_rows = locked.updated_rows = locked.unchanged_rows = 0
        locked.log += log_line(reason)
        locked.save()
        audit.record(
            actor=locked.created_by, action="aggregation.job.failed" if status == JobStatus.FAILED
            else "aggregation.job.finished", obj=locked, department=job.dataset.department,
            data={"status": status, "reason": reason},
        )
    return locked


def reaped_message(stale: timedelta) -> str:
    """The log line and error of a job the kernel's reaper failed (its worker went quiet for `stale`)."""
    return _("处理进程中断（超过 %(s)d 秒无心跳），已标记为失败；未导入任何数据，可重新运行") % {
        "s": int(stale.total_seconds())}


def lost_message() -> str:
    """The log line and error of a job whose worker process died under it (portal.services.jobs.worker_lost)."""
    return _("处理进程意外退出（worker lost），已标记为失败；未导入任何数据，可重新运行")
