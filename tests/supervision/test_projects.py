"""Informatization projects (policy note; RP.1–RP.2): the states and their audit trail, the checklist that refuses an
approval, the overlap search, the catalog check after completion, and refusals of bad input."""

import datetime as dt

import pytest
from django.urls import reverse

from catalog.choices import EntryState
from portal.errors import InvalidTransition, PermissionDenied, PortalError
from portal.models import AuditEvent, Notification
from supervision.choices import CheckItem, ProjectState
from supervision.models import InformatizationProject, ProjectResource
from supervision.selectors.projects import missing_catalog, overlap
from supervision.services import projects as services
from tests.supervision.helpers import ALL_CHECKS, ALL_DECLARED, catalog_entry, make_project, resources, values

pytestmark = pytest.mark.django_db


def actions(project) -> list[str]:
    return list(AuditEvent.objects.filter(object_type="supervision.informatizationproject",
                                          object_id=str(project.pk)).order_by("id").values_list("action", flat=True))


def test_a_project_is_filed_reviewed_built_and_its_history_shown(web_as, staff, reviewer, dept, freeze_today):
    freeze_today(dt.date(2026, 12, 1))
    entry = catalog_entry(dept, "企业信用信息", state=EntryState.DRAFT)
    project = services.project_create(actor=staff, values=values(),
                                      resources=[{"name": "企业信用信息", "resource": entry.resource_key},
                                                 {"name": "信用评价结果"}])
    assert project.state == ProjectState.DRAFT and project.department == dept
    assert [(r.name, r.entry_id) for r in project.resources.all()] == [("企业信用信息", entry.pk),
                                                                      ("信用评价结果", None)]
    services.project_submit(actor=staff, project_id=project.pk)
    assert Notification.objects.filter(recipient=reviewer, url=project.get_absolute_url()).exists()
    services.project_approve(actor=reviewer, project_id=project.pk, checks=ALL_CHECKS, opinion="符合共建共享要求")
    assert Notification.objects.filter(recipient=staff, title__contains="已批准").exists()
    services.project_start(actor=staff, project_id=project.pk)
    project = services.project_complete(actor=staff, project_id=project.pk)
    assert project.state == ProjectState.COMPLETED
    assert project.started_on == project.completed_on == dt.date(2026, 12, 1)
    assert actions(project) == ["supervision.project.created", "supervision.project.submitted",
                                "supervision.project.approved", "supervision.project.started",
                                "supervision.project.completed", "supervision.project.catalog_checked"]
    approved = AuditEvent.objects.get(action="supervision.project.approved")
    assert approved.actor == reviewer and approved.data["checks"] == ALL_CHECKS
    html = web_as(staff).get(project.get_absolute_url()).content.decode()
    for label in ("创建", "提交审核", "审核批准", "开工建设", "建成", "符合共建共享要求"):
        assert label in html
    assert "企业信用信息、信用评价结果" in html  # neither is published yet: both flagged


def test_a_returned_project_is_changed_and_submitted_again(staff, reviewer):
    project = make_project(staff, reviewer, state=ProjectState.RETURNED)
    assert project.return_reason == "请补充建设依据"
    services.project_update(actor=staff, project_id=project.pk, values=values(budget="99"),
                            resources=resources("企业信用信息", "双随机抽查结果"))
    services.project_submit(actor=staff, project_id=project.pk)
    project.refresh_from_db()
    assert project.state == ProjectState.SUBMITTED and str(project.budget) == "99.00"
    updated = AuditEvent.objects.get(action="supervision.project.updated")
    assert updated.data["before"]["budget"] == "120.50" and updated.data["after"]["budget"] == "99.00"
    assert [r["name"] for r in updated.data["after"]["resources"]] == ["企业信用信息", "双随机抽查结果"]


@pytest.mark.parametrize("declared, confirmed, failing", [
    ([c for c in ALL_DECLARED if c != "gov_cloud"], ALL_CHECKS, ["gov_cloud"]),
    (ALL_DECLARED, [c for c in ALL_CHECKS if c != "no_duplicate"], ["no_duplicate"]),
    (ALL_DECLARED, [c for c in ALL_CHECKS if c != "no_exchange"], ["no_exchange"]),
    ([], [], ALL_CHECKS),
])
def test_approval_is_refused_when_the_checklist_fails(web_as, staff, reviewer, declared, confirmed, failing):
    project = make_project(staff, reviewer, state=ProjectState.SUBMITTED, declared_checks=declared)
    with pytest.raises(PortalError) as refused:
        services.project_approve(actor=reviewer, project_id=project.pk, checks=confirmed)
    assert refused.value.code == "checklist_failed"
    for item in failing:
        assert str(CheckItem(item).label) in str(refused.value.detail)
    assert "不予审批" in str(refused.value.detail)
    project.refresh_from_db()
    assert project.state == ProjectState.SUBMITTED and project.reviewed_at is None
    assert not AuditEvent.objects.filter(action="supervision.project.approved").exists()

    # The page says why, on the detail and when the reviewer tries anyway.
    client = web_as(reviewer)
    response = client.post(reverse("supervision:project-approve", args=[project.pk]), {"checks": confirmed},
                           follow=True)
    html = response.content.decode()
    assert "不予审批" in html and str(CheckItem(failing[0]).label) in html
    project.refresh_from_db()
    assert project.state == ProjectState.SUBMITTED
    if "gov_cloud" in failing:
        assert 'data-testid="checklist-fails"' in html


def test_bad_input_is_refused_in_chinese_and_nothing_is_written(staff, reviewer, other_dept):
    before = AuditEvent.objects.count()
    cases = [
        ({"budget": "-1"}, "budget"), ({"budget": "1.234"}, "budget"), ({"budget": "１２"}, "budget"),
        ({"funding_kind": "loan"}, "funding_kind"), ({"name": " "}, "name"), ({"name": "名\x00称"}, "name"),
        ({"period_end": dt.date(2026, 1, 1)}, "period_end"), ({"declared_checks": ["no_duplicate"]}, "declared_checks"),
        ({"description": ""}, "description"),
    ]
    for override, field in cases:
        with pytest.raises(PortalError) as refused:
            services.project_create(actor=staff, values=values(**override), resources=resources("企业信用信息"))
        assert refused.value.code == "invalid" and field in refused.value.errors, override
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(refused.value.detail)), override
    foreign = catalog_entry(other_dept, "婚姻登记信息")
    with pytest.raises(PortalError) as refused:
        services.project_create(actor=staff, values=values(),
                                resources=[{"name": "婚姻登记信息", "resource": foreign.resource_key}])
    assert "resources" in refused.value.errors and "不是本部门" in str(refused.value.detail)
    with pytest.raises(PortalError) as refused:
        services.project_create(actor=staff, values=values(), resources=resources("企业信用信息", "企业信用信息"))
    assert "resources" in refused.value.errors
    with pytest.raises(PermissionDenied):
        services.project_create(actor=reviewer, values=values(), resources=resources("企业信用信息"))
    with pytest.raises(PermissionDenied):
        services.project_create(actor=staff, values=values(), department_id=other_dept.pk)
    assert not InformatizationProject.objects.exists() and not ProjectResource.objects.exists()
    assert AuditEvent.objects.count() == before

    project = make_project(staff, names=())
    with pytest.raises(PortalError) as refused:
        services.project_submit(actor=staff, project_id=project.pk)
    assert refused.value.code == "no_resources"
    services.project_update(actor=staff, project_id=project.pk, values=values(), resources=resources("企业信用信息"))
    services.project_submit(actor=staff, project_id=project.pk)
    with pytest.raises(InvalidTransition) as twice:
        services.project_submit(actor=staff, project_id=project.pk)
    assert twice.value.code == "already_submitted" and "重复提交" in str(twice.value.detail)
    with pytest.raises(InvalidTransition) as frozen:
        services.project_update(actor=staff, project_id=project.pk, values=values(name="改名"),
                                resources=resources("企业信用信息"))
    assert frozen.value.code == "not_editable"
    with pytest.raises(InvalidTransition):
        services.project_start(actor=staff, project_id=project.pk)
    with pytest.raises(PortalError) as no_reason:
        services.project_return(actor=reviewer, project_id=project.pk, reason=" ")
    assert no_reason.value.code == "invalid" and "reason" in no_reason.value.errors
    with pytest.raises(PortalError) as unknown:
        services.project_approve(actor=reviewer, project_id=project.pk, checks=[*ALL_CHECKS, "cheap"])
    assert "checks" in unknown.value.errors
    project.refresh_from_db()
    assert project.name == "市场主体信用监管平台" and project.state == ProjectState.SUBMITTED


def test_the_overlap_search_finds_a_duplicate_and_not_an_unrelated_project(staff, other_staff, reviewer, dept,
                                                                           other_dept):
    existing = make_project(other_staff, reviewer, state=ProjectState.APPROVED, name="企业信用分级分类监管系统",
                            names=("企业信用信息", "信用评价结果"),
                            description="归集市场主体信用信息，开展信用评价和分级分类监管。")
    unrelated = make_project(other_staff, reviewer, state=ProjectState.SUBMITTED, name="防汛抗旱指挥调度系统",
                             names=("河道水位监测数据",), description="建设水雨情监测和防汛会商调度功能。")
    make_project(other_staff, name="企业信用监管平台（草稿）", names=("企业信用信息",))  # a draft is no duplicate
    entry = catalog_entry(other_dept, "企业信用信息")
    catalog_entry(other_dept, "婚姻登记信息")
    project = make_project(staff, reviewer, state=ProjectState.SUBMITTED, name="市场主体信用监管平台",
                           names=("企业信用信息", "双随机抽查结果"))

    hits = overlap(project, user=reviewer)
    found = {(h.kind, h.obj.pk): h.reasons for h in hits}
    assert ("project", existing.pk) in found
    assert any("拟产生相同的信息资源：企业信用信息" in r for r in found[("project", existing.pk)])
    assert ("project", unrelated.pk) not in found
    assert [k for k in found if k[0] == "project"] == [("project", existing.pk)]
    assert ("entry", entry.pk) in found
    assert any("目录中已有同名信息资源" in r and "企业信用信息" in r for r in found[("entry", entry.pk)])
    assert len([k for k in found if k[0] == "entry"]) == 1

    # A similar name alone is reason enough; the unrelated project still finds nothing of the others.
    renamed = make_project(staff, reviewer, state=ProjectState.SUBMITTED, name="企业信用分级分类监管系统二期",
                           names=("监管档案",))
    reasons = {(h.kind, h.obj.pk): h.reasons for h in overlap(renamed, user=reviewer)}
    assert any("项目名称相近" in r for r in reasons[("project", existing.pk)])
    assert [h for h in overlap(unrelated, user=reviewer) if h.kind == "project"] == []


def test_the_catalog_check_flags_once_is_idempotent_and_clears(staff, head, other_staff, reviewer, dept, other_dept):
    catalog_entry(dept, "户籍人口信息")
    catalog_entry(other_dept, "电子证照数据")  # another department's entry does not count
    catalog_entry(dept, "居住证信息", state=EntryState.DRAFT)  # nor a draft
    project = make_project(staff, reviewer, state=ProjectState.COMPLETED,
                           names=("户籍人口信息", "电子证照数据", "居住证信息"))
    assert project.missing_resources == ["电子证照数据", "居住证信息"] and project.missing_notified_at
    told = Notification.objects.filter(title__contains="未编入目录", url=project.get_absolute_url())
    assert {n.recipient for n in told} == {staff, head} and told.count() == 2
    assert list(missing_catalog()) == [project] and list(missing_catalog(user=other_staff)) == []

    events = AuditEvent.objects.count()
    assert services.project_catalog_check() == {"changed": 0, "notified": 0}
    assert services.project_catalog_check() == {"changed": 0, "notified": 0}
    assert AuditEvent.objects.count() == events and told.count() == 2

    catalog_entry(dept, "电子证照数据")
    assert services.project_catalog_check() == {"changed": 1, "notified": 0}
    project.refresh_from_db()
    assert project.missing_resources == ["居住证信息"] and told.count() == 2

    catalog_entry(dept, "居住证信息")
    assert services.project_catalog_check()["changed"] == 1
    project.refresh_from_db()
    assert project.missing_resources == [] and project.missing_notified_at is None
    assert list(missing_catalog()) == []
    checked = AuditEvent.objects.filter(action="supervision.project.catalog_checked").order_by("id")
    assert [e.data["missing"] for e in checked] == [["电子证照数据", "居住证信息"], ["居住证信息"], []]
    assert services.project_catalog_check() == {"changed": 0, "notified": 0}


def test_a_linked_entry_counts_whatever_its_name(staff, reviewer, dept):
    entry = catalog_entry(dept, "不动产登记簿")
    project = services.project_create(actor=staff, values=values(),
                                      resources=[{"name": "不动产登记信息", "resource": entry.resource_key}])
    for step in (services.project_submit,):
        step(actor=staff, project_id=project.pk)
    services.project_approve(actor=reviewer, project_id=project.pk, checks=ALL_CHECKS)
    services.project_start(actor=staff, project_id=project.pk)
    assert services.project_complete(actor=staff, project_id=project.pk).missing_resources == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_catalog_checks_flag_and_notify_once(staff, head, reviewer, dept):
    import threading

    from django.db import connection

    from catalog.models import CatalogEntry

    entry = catalog_entry(dept, "户籍人口信息")
    project = make_project(staff, reviewer, state=ProjectState.COMPLETED, names=("户籍人口信息",))
    assert project.missing_resources == []
    CatalogEntry.objects.filter(pk=entry.pk).update(state=EntryState.DRAFT)  # no longer published

    barrier, results = threading.Barrier(4), []

    def run():
        try:
            barrier.wait()
            results.append(services.project_catalog_check())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["changed"] for r in results) == 1 and sum(r["notified"] for r in results) == 1
    project.refresh_from_db()
    assert project.missing_resources == ["户籍人口信息"]
    assert Notification.objects.filter(title__contains="未编入目录").count() == 2  # staff and head, once each
    assert AuditEvent.objects.filter(action="supervision.project.catalog_checked").count() == 1  # the flag, once


def test_submissions_fold_into_one_unread_message_per_reviewer(staff, reviewer):
    make_project(staff, reviewer, state=ProjectState.SUBMITTED)
    make_project(staff, reviewer, state=ProjectState.SUBMITTED, name="信用监管二期")
    unread = Notification.objects.get(recipient=reviewer, read_at__isnull=True)
    assert unread.count == 2 and unread.title == "有 2 个信息化项目待审核"
    assert unread.url == reverse("supervision:project-list") + "?state=submitted"
