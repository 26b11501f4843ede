"""Theme databases stay fresh: a source's load makes its themes due after the debounce window (the loads of that
window give one build), the nightly schedule makes every theme due, the minute sweep queues one build per due theme,
and the page shows when the theme was built and from which loads."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from aggregation.models import ThemeBuildJob, ThemeDatabase
from aggregation.services import ingest as ingest_services
from aggregation.services import themes
from tests.aggregation.builders import csv_bytes, ids, person, submit

pytestmark = pytest.mark.django_db
WINDOW = dt.timedelta(seconds=300)


@pytest.fixture(autouse=True)
def _debounce(settings, monkeypatch):
    settings.AGGREGATION = {**settings.AGGREGATION, "THEME_REBUILD_DEBOUNCE_SECONDS": int(WINDOW.total_seconds())}
    monkeypatch.setattr(ingest_services, "_enqueue", lambda job: None)  # loads run in this process


@pytest.fixture
def loaded(staff, people_entry, django_capture_on_commit_callbacks):
    """loaded(start) -> a succeeded load of 3 people into people_entry's dataset, its after-commit hooks run."""

    def _load(start: int):
        with django_capture_on_commit_callbacks(execute=True):
            job = submit(staff, people_entry, csv_bytes([person(k) for k in ids(3, start=start)]))
        assert job.status == "succeeded"
        return job

    return _load


@pytest.fixture
def people_theme(staff, people_entry, loaded):
    first = loaded(0)  # the dataset exists from its first load
    theme = themes.theme_save(actor=staff, name="人口主题", key_kind="id_number",
                              sources=[{"dataset": first.dataset_id, "items": ["姓名", "性别"]}])
    return theme


def sweep(at):
    """The minute sweep at `at`; its builds run here (the Celery task only calls theme_build)."""
    queued = themes.themes_rebuild_due(now=at)
    return [themes.theme_build(job_id=pk) for pk in queued]


def test_a_load_makes_the_theme_rebuild_once_after_the_debounce(people_theme, loaded, audit_log):
    assert ThemeDatabase.objects.get(pk=people_theme.pk).rebuild_due_at is None  # defined after the first load
    before = timezone.now()
    job = loaded(10)
    theme = ThemeDatabase.objects.get(pk=people_theme.pk)
    assert theme.rebuild_reason == "source" and before + WINDOW <= theme.rebuild_due_at <= timezone.now() + WINDOW

    assert sweep(theme.rebuild_due_at - dt.timedelta(seconds=1)) == []  # inside the window: nothing yet
    (build,) = sweep(theme.rebuild_due_at)
    assert (build.status, build.trigger, build.row_count) == ("succeeded", "source", 6)
    assert build.source_loads == [{"job": job.pk, "dataset": job.dataset_id,
                                   "finished_at": job.finished_at.isoformat()}]
    assert ThemeDatabase.objects.get(pk=people_theme.pk).rebuild_due_at is None
    assert sweep(theme.rebuild_due_at + WINDOW) == []  # once
    requested = audit_log("aggregation.theme.rebuild_requested")[-1]
    assert requested.actor_label == "system" and requested.data == {"job": build.pk, "trigger": "source"}
    assert audit_log("aggregation.theme.built")[-1].data["loads"] == [job.pk]


def test_two_loads_in_the_window_give_one_build_from_the_latest_load(people_theme, loaded):
    loaded(10)
    due = ThemeDatabase.objects.get(pk=people_theme.pk).rebuild_due_at
    second = loaded(20)  # within the window: joins the same build, the due time does not move
    assert ThemeDatabase.objects.get(pk=people_theme.pk).rebuild_due_at == due
    (build,) = sweep(due)
    assert build.row_count == 9 and [load["job"] for load in build.source_loads] == [second.pk]
    assert ThemeBuildJob.objects.filter(theme=people_theme).count() == 1


def test_a_theme_with_a_build_under_way_stays_due_until_it_ends(people_theme, loaded, staff):
    running = themes.theme_rebuild_request(actor=staff, theme_id=people_theme.pk)
    ThemeBuildJob.objects.filter(pk=running.pk).update(status="running")
    loaded(10)  # arrives while the build runs: that build may not have read it
    due = ThemeDatabase.objects.get(pk=people_theme.pk).rebuild_due_at
    assert themes.themes_rebuild_due(now=due) == []
    assert ThemeDatabase.objects.get(pk=people_theme.pk).rebuild_due_at == due
    ThemeBuildJob.objects.filter(pk=running.pk).update(status="succeeded")
    (build,) = sweep(due)
    assert build.trigger == "source"


def test_the_nightly_schedule_rebuilds_every_theme(people_theme, audit_log):
    queued = themes.themes_schedule()
    (build,) = [themes.theme_build(job_id=pk) for pk in queued]
    assert (build.theme_id, build.trigger, build.status, build.row_count) == (people_theme.pk, "schedule",
                                                                             "succeeded", 3)
    assert themes.themes_schedule(now=timezone.now()) != []  # the next night again
    assert len(audit_log("aggregation.theme.rebuild_requested")) == 2


def test_a_manual_build_clears_a_pending_debounce(people_theme, loaded, staff):
    loaded(10)
    job = themes.theme_rebuild_request(actor=staff, theme_id=people_theme.pk)
    assert job.trigger == "manual" and ThemeDatabase.objects.get(pk=people_theme.pk).rebuild_due_at is None


def test_the_page_shows_when_the_theme_was_built_and_from_which_loads(people_theme, loaded, web_as, staff):
    job = loaded(10)
    (build,) = sweep(ThemeDatabase.objects.get(pk=people_theme.pk).rebuild_due_at)
    loaded(20)  # the next build is due
    url = reverse("aggregation:theme-detail", args=[people_theme.pk])
    page = web_as(staff).get(url).content.decode()
    assert "最近一次生成" in page and timezone.localtime(build.finished_at).strftime("%Y-%m-%d %H:%M") in page
    assert "来源数据更新" in page and f'href="{reverse("aggregation:job-detail", args=[job.pk])}"' in page
    assert f"户籍人口信息 #{job.pk}" in page and "重新生成" in page
