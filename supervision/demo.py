"""Supervision demo data, this app's part of `manage.py seed_demo`: informatization projects in every state (and,
from `demo_violations`, violations with rectification orders in every state).

Filed and moved through their states by the real services as the demo accounts (so audit events, checklists,
notifications and the RP.2 flag are what production would have): one completed project whose resources are all in the
catalog, one completed with a resource missing (flagged, its department told), one under construction, one approved,
one waiting for review that overlaps the project under construction (the reviewer sees the hit), one returned for a
separate exchange system, a draft, and a county department's project waiting for review. Idempotent: a project is
keyed by (department, name); running it again adds only what is missing.
"""

from __future__ import annotations

import datetime as dt

from catalog.choices import EntryState
from catalog.models import CatalogEntry
from portal.models import User
from portal.services.workdays import local_today

from .choices import DECLARED_ITEMS, CheckItem, ProjectState
from .models import InformatizationProject
from .services import projects as services

ALL_DECLARED = [item.value for item in DECLARED_ITEMS]
STEPS = [ProjectState.SUBMITTED, ProjectState.APPROVED, ProjectState.UNDER_CONSTRUCTION, ProjectState.COMPLETED]

# (filer, name, funding kind, budget 万元, months, description, resources, declared items, target state, return reason)
# A resource "@N" is the department's N-th published catalog entry (linked); "=N" the same entry by name only.
PROJECTS = [
    ("ga_staff", "智慧警务大数据应用平台", "government", "860.00", 12,
     "依托市政务云建设警务数据资源池和综合研判应用，户籍、车驾管数据经市大数据平台共享。",
     ["@1", "=2"], ALL_DECLARED, ProjectState.COMPLETED, ""),
    ("mz_staff", "社会救助综合管理信息系统", "government", "320.00", 10,
     "建设低保、特困、临时救助一体化经办和困难群众动态监测功能，依托电子政务外网部署。",
     ["=1", "困难群众动态监测信息"], ALL_DECLARED, ProjectState.COMPLETED, ""),
    ("sj_staff", "市场主体信用监管平台", "joint", "450.00", 18,
     "与运营商共建，归集市场主体信用信息，开展信用风险分类和双随机抽查。",
     ["企业信用风险分类结果", "双随机抽查结果"], ALL_DECLARED, ProjectState.UNDER_CONSTRUCTION, ""),
    ("rs_staff", "人社一体化经办平台", "purchased", "210.00", 12,
     "以购买服务方式建设社保、就业业务一体化经办，接入市大数据平台共享参保信息。",
     ["就业登记信息"], ALL_DECLARED, ProjectState.APPROVED, ""),
    ("sj_staff", "企业信用风险分类监管系统", "government", "380.00", 12,
     "对市场主体开展信用风险分类，形成企业信用风险分类结果，支撑分级分类监管。",
     ["企业信用风险分类结果"], ALL_DECLARED, ProjectState.SUBMITTED, ""),
    ("wj_staff", "全民健康信息平台二期", "government", "980.00", 24,
     "建设区域卫生信息交换平台，与各医疗机构点对点交换诊疗数据。",
     ["电子健康档案", "电子病历共享信息"], [i for i in ALL_DECLARED if i != CheckItem.NO_EXCHANGE],
     ProjectState.RETURNED,
     "项目拟自建区域卫生信息交换平台，不符合“不另建数据共享交换系统”的要求，请改为通过市大数据平台共享后重新提交。"),
    ("zr_staff", "不动产登记信息管理系统升级", "operation", "95.50", 6,
     "对现有不动产登记系统进行运维升级，完善登记簿信息的实时共享。",
     ["不动产登记簿信息"], ALL_DECLARED, ProjectState.DRAFT, ""),
    ("xw_ga_staff", "修武县智慧警务二期", "government", "150.00", 12,
     "建设修武县公安视频和警情数据汇聚应用，依托市政务云和电子政务外网部署。",
     ["警情信息"], ALL_DECLARED, ProjectState.SUBMITTED, ""),
]


def _resources(department_id: int, specs: list[str]) -> list[dict]:
    published = list(CatalogEntry.objects.filter(provider_id=department_id, state=EntryState.APPROVED)
                     .order_by("pk")[:5])
    rows = []
    for spec in specs:
        if spec[:1] in "@=" and spec[1:].isdigit():
            index = int(spec[1:]) - 1
            if index < len(published):
                entry = published[index]
                rows.append({"name": entry.name, "resource": entry.resource_key if spec[0] == "@" else ""})
            continue
        rows.append({"name": spec})
    return rows


def seed(stdout=None) -> None:
    today = local_today()
    reviewer = User.objects.filter(username="reviewer").first()
    made = 0
    for username, name, funding, budget, months, description, specs, declared, state, reason in PROJECTS:
        filer = User.objects.filter(username=username).select_related("department").first()
        if filer is None or reviewer is None or InformatizationProject.objects.filter(
                department_id=filer.department_id, name=name).exists():
            continue
        start = today.replace(day=1) - dt.timedelta(days=30 * months)
        values = {"name": name, "funding_kind": funding, "budget": budget, "period_start": start,
                  "period_end": start + dt.timedelta(days=30 * months), "description": description,
                  "declared_checks": declared}
        project = services.project_create(actor=filer, values=values,
                                          resources=_resources(filer.department_id, specs))
        made += 1
        if state == ProjectState.DRAFT:
            continue
        services.project_submit(actor=filer, project_id=project.pk)
        if state == ProjectState.RETURNED:
            services.project_return(actor=reviewer, project_id=project.pk, reason=reason,
                                    checks=[c for c in declared if c != CheckItem.NO_EXCHANGE])
            continue
        for step in STEPS[1: STEPS.index(state) + 1]:
            if step == ProjectState.APPROVED:
                services.project_approve(actor=reviewer, project_id=project.pk, checks=list(CheckItem.values),
                                         opinion="符合共建共享要求，同意建设。")
            elif step == ProjectState.UNDER_CONSTRUCTION:
                services.project_start(actor=filer, project_id=project.pk)
            elif step == ProjectState.COMPLETED:
                services.project_complete(actor=filer, project_id=project.pk)
    services.project_catalog_check(request_id="seed_demo")
    if stdout is not None:
        stdout.write(f"信息化项目：新增 {made} 个，共 {InformatizationProject.objects.count()} 个；"
                     f"资源未编目 {InformatizationProject.objects.missing_catalog().count()} 个")
    # ---- violations, rectification orders, notices of criticism (R35, R36)
    from .demo_violations import seed as seed_violations

    seed_violations(stdout)
