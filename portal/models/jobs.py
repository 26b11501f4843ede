"""The lifecycle every long job shares (imports, theme builds, push runs): one abstract model, one reaper.

A job a user waits for is a row: created pending, marked running by the worker that picks it up (`started_at`,
`heartbeat_at`), its `progress` and `heartbeat_at` moved while it works, and finally succeeded or failed
(`finished_at`, and `error_code` / `error_message` when it failed). The page polls the row and shows `log`.

A worker that dies leaves its job running; `portal.services.jobs.reap_stale_jobs()` (beat, every minute) marks
such jobs failed for every job model an app registered with `register_job_kind` in its `AppConfig.ready()`.

Each app's job model inherits `Job` and keeps its own relations (what the job works on, who asked for it, when).
It may override `status` to use its own TextChoices (labels, or an extra state such as "rejected"), as long as
its values are those of `portal.choices.JobStatus` (plus its own): the reaper reads "running" and writes
"failed". It may override another field too where its own definition differs (a start time set on creation).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.choices import JobStatus


class Job(models.Model):
    """Abstract: status, progress, log, heartbeat, started / finished times and the error of a long job."""

    status = models.CharField(_("状态"), max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)
    log = models.TextField(_("日志"), blank=True, default="")
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("心跳时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    error_code = models.CharField(_("错误代码"), max_length=40, blank=True)
    error_message = models.CharField(_("错误说明"), max_length=300, blank=True)

    class Meta:
        abstract = True

    @property
    def is_running(self) -> bool:
        return self.status == JobStatus.RUNNING

    @property
    def is_finished(self) -> bool:
        return self.status not in (JobStatus.PENDING, JobStatus.RUNNING)
