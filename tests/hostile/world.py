"""A small world with one row of every kind a page or an API path names by id, made through the services where a
person would make it, with a hostile string in the free text people type (names, purposes, comments, reasons).

The attack tests (schemathesis over the API, stored and reflected XSS, CSRF on every form) walk the URLconf or the
OpenAPI document and fill each route's ids from `World.kwargs(route name)`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.support import LOOPBACK

# What an attacker types into every text box: a script element, a broken-out attribute, an event handler.
XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
# The markers that must never reach a page unescaped.
XSS_MARKERS = ("<script>alert(1)", "<img src=x onerror", "onerror=alert(1)>")


def pdf(name: str = "依据.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\nevidence", content_type="application/pdf")


@dataclass
class World:
    people: dict[str, Any]
    rows: dict[str, Any] = field(default_factory=dict)

    def kwargs(self, name: str) -> dict[str, Any] | None:
        """URL keyword arguments of the route `name` (namespace:name) onto this world's rows; None: not known."""
        r = self.rows
        dept_id = r["entry"].provider_id
        table = {
            "calendar-year": {"year": timezone.localdate().year},
            "catalog:entry-detail": {"pk": r["entry"].pk},
            "catalog:entry-edit": {"pk": r["draft"].pk},
            "catalog:entry-diff": {"pk": r["entry"].pk},
            "catalog:update-case-open": {"entry_pk": r["entry"].pk},
            "catalog:entry-transition": {"pk": r["draft"].pk, "action": "submit"},
            "catalog:demand-detail": {"pk": r["demand"].pk},
            "catalog:demand-edit": {"pk": r["demand"].pk},
            "catalog:demand-transition": {"pk": r["demand"].pk, "action": "submit"},
            "catalog:update-case-detail": {"pk": r["update_case"].pk},
            "catalog:update-case-edit": {"pk": r["update_case"].pk},
            "catalog:update-case-transition": {"pk": r["update_case"].pk, "action": "submit"},
            "aggregation:dataset-detail": {"pk": r["dataset"].pk},
            "aggregation:dataset-integrity": {"pk": r["dataset"].pk},
            "aggregation:record-detail": {"dataset_pk": r["dataset"].pk, "pk": r["record"].id},
            "aggregation:upload": {"entry_id": r["entry"].pk},
            "aggregation:job-detail": {"pk": r["job"].pk},
            "aggregation:job-progress": {"pk": r["job"].pk},
            "aggregation:job-report": {"pk": r["job"].pk},
            "aggregation:job-rerun": {"pk": r["job"].pk},
            "aggregation:verification-create": {"dataset_pk": r["dataset"].pk, "pk": r["record"].id},
            "aggregation:verification-detail": {"pk": r["case"].pk},
            "aggregation:verification-extension": {"pk": r["case"].pk},
            "aggregation:verification-decide": {"pk": r["case"].pk},
            "aggregation:verification-confirm": {"pk": r["case"].pk},
            "aggregation:verification-correct": {"pk": r["case"].pk},
            "aggregation:verification-evidence": {"pk": r["case"].pk, "evidence_pk": r["evidence"].pk},
            "aggregation:subject-lookup": {"kind": "population"},
            "aggregation:theme-detail": {"pk": r["theme"].pk},
            "aggregation:theme-edit": {"pk": r["theme"].pk},
            "aggregation:theme-rebuild": {"pk": r["theme"].pk},
            "aggregation:theme-job": {"pk": r["theme"].pk, "job_pk": r["theme_job"].pk},
            "sharing:interface-spec": {"entry_id": r["entry"].pk},
            "sharing:interface-openapi": {"entry_id": r["entry"].pk},
            "sharing:request-new": {"entry_id": r["other_entry"].pk},
            "sharing:request-detail": {"pk": r["request"].pk},
            "sharing:request-comment": {"pk": r["request"].pk},
            "sharing:request-approve": {"pk": r["request"].pk},
            "sharing:request-reject": {"pk": r["request"].pk},
            "sharing:request-withdraw": {"pk": r["request"].pk},
            "sharing:attachment": {"pk": r["attachment"].pk},
            "sharing:grant-revoke": {"pk": r["grant"].pk},
            "sharing:client-suspend": {"pk": r["api_client"].pk},
            "sharing:client-resume": {"pk": r["api_client"].pk},
            "sharing:client-rotate": {"pk": r["api_client"].pk},
            "sharing:client-networks": {"pk": r["api_client"].pk},
            "sharing:client-leak-policy": {"pk": r["api_client"].pk},
            "security:role-detail": {"user_id": self.people["staff"].pk},
            "security:role-change": {"user_id": self.people["staff"].pk},
            "security:incident-detail": {"incident_id": r["incident"].pk},
            "security:incident-handle": {"incident_id": r["incident"].pk},
            "security:incident-close": {"incident_id": r["incident"].pk},
            "security:secrecy-detail": {"review_id": r["secrecy_review"].pk},
            "security:secrecy-decide": {"review_id": r["secrecy_review"].pk},
            "security:risk-detail": {"assessment_id": r["risk"].pk},
            "security:risk-complete": {"assessment_id": r["risk"].pk},
            "security:plan-detail": {"plan_id": r["plan"].pk},
            "security:anomaly-detail": {"anomaly_id": r["anomaly"].pk},
            "security:anomaly-confirm": {"anomaly_id": r["anomaly"].pk},
            "security:anomaly-dismiss": {"anomaly_id": r["anomaly"].pk},
            "security:plan-document": {"plan_id": r["plan"].pk},
            "sharing:push-detail": {"pk": r["push"].pk},
            "supervision:project-detail": {"project_id": r["project"].pk},
            "supervision:project-edit": {"project_id": r["project"].pk},
            "supervision:project-submit": {"project_id": r["project"].pk},
            "supervision:project-approve": {"project_id": r["submitted_project"].pk},
            "supervision:project-return": {"project_id": r["submitted_project"].pk},
            "supervision:project-start": {"project_id": r["project"].pk},
            "supervision:project-complete": {"project_id": r["project"].pk},
            "sharing:push-run": {"pk": r["push"].pk},
            "sharing:push-pause": {"pk": r["push"].pk},
            "sharing:push-resume": {"pk": r["push"].pk},
            # --- assessments (R33) ---
            "supervision:assessment-detail": {"assessment_id": r["assessment"].pk},
            "supervision:assessment-run": {"assessment_id": r["assessment"].pk},
            "supervision:assessment-indicators": {"assessment_id": r["assessment"].pk},
            "supervision:assessment-compute": {"assessment_id": r["assessment"].pk},
            "supervision:assessment-open-objections": {"assessment_id": r["assessment"].pk},
            "supervision:assessment-publish": {"assessment_id": r["assessment"].pk},
            "supervision:assessment-adjust": {"assessment_id": r["assessment"].pk},
            "supervision:assessment-object": {"assessment_id": r["assessment"].pk},
            "supervision:assessment-answer": {"assessment_id": r["assessment"].pk,
                                              "objection_id": r["objection"].pk},
            "supervision:assessment-scorecard": {"assessment_id": r["assessment"].pk, "department_id": dept_id},
            "supervision:assessment-report-pdf": {"assessment_id": r["assessment"].pk, "department_id": dept_id},
            "supervision:assessment-evidence": {"assessment_id": r["assessment"].pk, "department_id": dept_id,
                                                "key": "sharing_on_time"},
            # ---- violations, rectification orders, notices of criticism (R35, R36)
            "supervision:violation-detail": {"violation_id": r["violation"].pk},
            "supervision:violation-dismiss": {"violation_id": r["violation"].pk},
            "supervision:order-detail": {"order_id": r["order"].pk},
            "supervision:order-report": {"order_id": r["order"].pk},
            "supervision:order-accept": {"order_id": r["order"].pk},
            "supervision:order-return": {"order_id": r["order"].pk},
            "supervision:order-refer": {"order_id": r["order"].pk},
            "supervision:order-attachment": {"order_id": r["order"].pk,
                                             "attachment_id": r["report_attachment"].pk},
            "supervision:notice-detail": {"notice_id": r["notice"].pk},
            "supervision:notice-edit": {"notice_id": r["notice"].pk},
            "supervision:notice-publish": {"notice_id": r["notice"].pk},
        }
        return table.get(name)


# API operations only one administrator may call (三员分立): their parameters are tried as that person, everything
# else as the department's staff member.
ADMIN_APIS = {
    "/api/v1/security/audit-events/": "audit_admin",
    "/api/v1/security/settings/": "security_admin",
    "/api/v1/security/incidents/": "security_admin",
    "/api/v1/security/incidents/{id}/": "security_admin",
    "/api/v1/security/incidents/{id}/handle/": "security_admin",
    "/api/v1/security/incidents/{id}/close/": "security_admin",
    "/api/v1/security/secrecy-reviews/": "reviewer",
    "/api/v1/security/risk-assessments/": "security_admin",
    "/api/v1/security/emergency-plans/": "security_admin",
    "/api/v1/security/emergency-plans/{id}/": "security_admin",
    "/api/v1/security/risk-assessments/{id}/": "security_admin",
    "/api/v1/security/risk-assessments/{id}/complete/": "security_admin",
    "/api/v1/security/secrecy-reviews/{id}/": "reviewer",
    "/api/v1/security/secrecy-reviews/{id}/decide/": "reviewer",
    "/api/v1/security/anomalies/": "security_admin",
    "/api/v1/security/anomalies/{id}/": "security_admin",
    "/api/v1/security/anomalies/{id}/confirm/": "security_admin",
    "/api/v1/security/anomalies/{id}/dismiss/": "security_admin",
    "/api/v1/settings/": "system_admin",
    **{f"/api/v1/sharing/clients/{tail}": "security_admin"
       for tail in ("", "{id}/", "{id}/suspend/", "{id}/resume/", "{id}/rotate/", "{id}/networks/",
                    "{id}/leak-policy/")},
    # Not an administrator's, but the consumer's: the world's push subscription is other_dept's.
    **{f"/api/v1/sharing/push-subscriptions/{{id}}/{action}": "other_staff"
       for action in ("", "pause/", "resume/", "run/", "runs/")},
}


def caller(world: World, path: str, default: str = "staff"):
    """The person whose call reaches operation `path` (an OpenAPI path)."""
    return world.people[ADMIN_APIS.get(path, default)]


def api_path_values(world: World) -> dict[str, dict]:
    """Each OpenAPI path's parameters onto the world's rows (as the staff member of `dept` may see them)."""
    from portal.models import Deadline, Notification

    r = world.rows
    resource = r["entry"].resource_key
    notification = Notification.objects.filter(recipient=world.people["staff"]).first()
    deadline = Deadline.objects.order_by("pk").first()
    dept = r["entry"].provider
    return {
        "/api/v1/aggregation/datasets/{dataset_pk}/records/{id}/": {"dataset_pk": r["dataset"].pk,
                                                                    "id": r["record"].id},
        "/api/v1/aggregation/jobs/{id}/": {"id": r["job"].pk},
        "/api/v1/aggregation/jobs/{id}/mapping/": {"id": r["job"].pk},
        "/api/v1/aggregation/jobs/{id}/report/": {"id": r["job"].pk},
        "/api/v1/aggregation/subjects/{kind}/": {"kind": "population"},
        "/api/v1/aggregation/subjects/{kind}/{key}/": {"kind": "population", "key": r["keys"][0]},
        "/api/v1/aggregation/themes/{id}/": {"id": r["theme"].pk},
        "/api/v1/aggregation/themes/{id}/rebuild/": {"id": r["theme"].pk},
        "/api/v1/aggregation/themes/{id}/rows/": {"id": r["theme"].pk},
        "/api/v1/aggregation/verification-cases/{id}/": {"id": r["case"].pk},
        "/api/v1/aggregation/verification-cases/{id}/confirm/": {"id": r["case"].pk},
        "/api/v1/aggregation/verification-cases/{id}/correct/": {"id": r["case"].pk},
        "/api/v1/aggregation/verification-cases/{id}/extension/": {"id": r["case"].pk},
        "/api/v1/aggregation/verification-cases/{id}/extension/decision/": {"id": r["case"].pk},
        "/api/v1/catalog/demands/{id}/": {"id": r["demand"].pk},
        "/api/v1/catalog/demands/{id}/close/": {"id": r["demand"].pk},
        "/api/v1/catalog/demands/{id}/matches/": {"id": r["demand"].pk},
        "/api/v1/catalog/demands/{id}/submit/": {"id": r["demand"].pk},
        "/api/v1/catalog/entries/{resource}/": {"resource": resource},
        "/api/v1/catalog/entries/{resource}/versions/": {"resource": resource},
        "/api/v1/catalog/update-cases/{id}/": {"id": r["update_case"].pk},
        "/api/v1/data/{resource}/export/": {"resource": resource},
        "/api/v1/data/{resource}/records/": {"resource": resource},
        "/api/v1/data/{resource}/records/{key}/": {"resource": resource, "key": r["keys"][0]},
        "/api/v1/deadlines/{id}/": {"id": deadline.pk},
        "/api/v1/departments/{id}/": {"id": dept.pk},
        "/api/v1/notifications/{id}/read/": {"id": notification.pk},
        "/api/v1/regions/{id}/": {"id": dept.region_id},
        "/api/v1/security/incidents/{id}/": {"id": r["incident"].pk},
        "/api/v1/security/incidents/{id}/handle/": {"id": r["incident"].pk},
        "/api/v1/security/incidents/{id}/close/": {"id": r["incident"].pk},
        "/api/v1/security/secrecy-reviews/{id}/": {"id": r["secrecy_review"].pk},
        "/api/v1/security/secrecy-reviews/{id}/decide/": {"id": r["secrecy_review"].pk},
        "/api/v1/security/risk-assessments/{id}/": {"id": r["risk"].pk},
        "/api/v1/security/risk-assessments/{id}/complete/": {"id": r["risk"].pk},
        "/api/v1/security/emergency-plans/{id}/": {"id": r["plan"].pk},
        "/api/v1/security/anomalies/{id}/": {"id": r["anomaly"].pk},
        "/api/v1/security/anomalies/{id}/confirm/": {"id": r["anomaly"].pk},
        "/api/v1/security/anomalies/{id}/dismiss/": {"id": r["anomaly"].pk},
        "/api/v1/supervision/projects/{id}/": {"id": r["project"].pk},
        "/api/v1/supervision/projects/{id}/submit/": {"id": r["project"].pk},
        "/api/v1/supervision/projects/{id}/approve/": {"id": r["submitted_project"].pk},
        "/api/v1/supervision/projects/{id}/return/": {"id": r["submitted_project"].pk},
        "/api/v1/supervision/projects/{id}/start/": {"id": r["project"].pk},
        "/api/v1/supervision/projects/{id}/complete/": {"id": r["project"].pk},
        "/api/v1/supervision/projects/{id}/overlap/": {"id": r["submitted_project"].pk},
        "/api/v1/sharing/grants/{id}/": {"id": r["grant"].pk},
        "/api/v1/sharing/grants/{id}/revoke/": {"id": r["grant"].pk},
        "/api/v1/sharing/interface/{resource}/": {"resource": resource},
        **{f"/api/v1/sharing/clients/{{id}}/{tail}": {"id": r["api_client"].pk}
           for tail in ("", "suspend/", "resume/", "rotate/", "networks/", "leak-policy/")},
        "/api/v1/sharing/push-subscriptions/{id}/": {"id": r["push"].pk},
        "/api/v1/sharing/push-subscriptions/{id}/pause/": {"id": r["push"].pk},
        "/api/v1/sharing/push-subscriptions/{id}/resume/": {"id": r["push"].pk},
        "/api/v1/sharing/push-subscriptions/{id}/run/": {"id": r["push"].pk},
        "/api/v1/sharing/push-subscriptions/{id}/runs/": {"id": r["push"].pk},
        "/api/v1/sharing/requests/{id}/": {"id": r["request"].pk},
        "/api/v1/supervision/assessments/{id}/": {"id": r["assessment"].pk},
        "/api/v1/supervision/assessments/{id}/adjust/": {"id": r["assessment"].pk},
        "/api/v1/supervision/assessments/{id}/adjustments/": {"id": r["assessment"].pk},
        "/api/v1/supervision/assessments/{id}/answer/": {"id": r["assessment"].pk},
        "/api/v1/supervision/assessments/{id}/compute/": {"id": r["assessment"].pk},
        "/api/v1/supervision/assessments/{id}/indicators/": {"id": r["assessment"].pk},
        "/api/v1/supervision/assessments/{id}/object/": {"id": r["assessment"].pk},
        "/api/v1/supervision/assessments/{id}/objections/": {"id": r["assessment"].pk},
        "/api/v1/supervision/assessments/{id}/open-objections/": {"id": r["assessment"].pk},
        "/api/v1/supervision/assessments/{id}/publish/": {"id": r["assessment"].pk},
        "/api/v1/supervision/assessments/{id}/results/": {"id": r["assessment"].pk},
        "/api/v1/supervision/assessments/{id}/scores/": {"id": r["assessment"].pk},
        # ---- violations, rectification orders, notices of criticism (R35, R36)
        "/api/v1/supervision/violations/{id}/": {"id": r["violation"].pk},
        "/api/v1/supervision/violations/{id}/dismiss/": {"id": r["violation"].pk},
        "/api/v1/supervision/orders/{id}/": {"id": r["order"].pk},
        "/api/v1/supervision/orders/{id}/report/": {"id": r["order"].pk},
        "/api/v1/supervision/orders/{id}/accept/": {"id": r["order"].pk},
        "/api/v1/supervision/orders/{id}/return/": {"id": r["order"].pk},
        "/api/v1/supervision/orders/{id}/refer/": {"id": r["order"].pk},
        "/api/v1/supervision/notices/{id}/": {"id": r["notice"].pk},
        "/api/v1/supervision/notices/{id}/publish/": {"id": r["notice"].pk},
    }


def _anomaly(department):
    """An open enumeration anomaly of the leak monitor (R28.4), its caller and the calls' purpose hostile text."""
    from portal.models import AuditEvent
    from security.markers import subject_markers
    from security.models import LeakAnomaly
    from security.services.leaks import hour_floor, leak_monitor_hour
    from tests.aggregation.builders import id_number

    hour = hour_floor(timezone.now()) - dt.timedelta(hours=2)
    AuditEvent.objects.bulk_create([
        AuditEvent(occurred_at=hour + dt.timedelta(seconds=n), actor_label="client:" + XSS, department=department,
                   action="sharing.data.read", object_repr=XSS,
                   data={"rows": 1, "method": "query", "purpose": XSS, "resource": XSS,
                         **subject_markers(id_number(n, born="19700101"))})
        for n in range(12)])
    return LeakAnomaly.objects.get(pk=leak_monitor_hour(hour=hour)[0])


def build(*, dept, other_dept, bureau, staff, head, other_staff, reviewer, security_admin) -> World:
    """The world, built as its people would build it (ORM only where a test helper of the chapter does the same)."""
    from aggregation.models import IngestJob
    from aggregation.services import themes, verification
    from aggregation.storage import reading
    from catalog.choices import EntryState, ShareType, UpdateTrigger
    from catalog.services.demands import demand_item_save
    from catalog.services.update_cases import update_case_open
    from portal.services.notifications import notify
    from security.services.incidents import security_incident_report
    from security.services.plans import emergency_plan_file
    from security.services.risk import risk_assessment_schedule
    from security.services.secrecy import secrecy_review_flag
    from sharing.choices import GrantState, Purpose, RequestState
    from sharing.models import Grant, PushSubscription, SharingRequest
    from sharing.services import clients as client_services
    from sharing.services.requests import sharing_request_comment, sharing_request_submit
    from supervision.services.projects import project_create, project_submit
    from tests.aggregation.builders import ids, submit
    from tests.sharing.helpers import PEOPLE, load, published_entry, request_values, rows_for

    today = timezone.localdate()
    rows: dict[str, Any] = {}
    # dept's published (unconditional) people resource with two people, and a draft; other_dept's firm resource.
    entry = rows["entry"] = published_entry(dept, ShareType.UNCONDITIONAL, items=PEOPLE, name="户籍人口" + XSS,
                                            methods=("api", "query", "download", "push"))
    rows["draft"] = published_entry(dept, state=EntryState.DRAFT, name="草稿目录" + XSS)
    rows["other_entry"] = published_entry(other_dept, name="企业登记" + XSS)
    keys = ids(2, start=900)
    dataset = rows["dataset"] = load(entry, staff, rows_for(keys))
    rows["record"] = reading.rows(dataset, limit=1)[0]  # the first row of its resource table
    rows["keys"] = keys
    csv = ("公民身份号码,姓名,性别,联系电话,户籍地址\n" + f"{keys[0]},王{XSS},男,13903910000,{XSS}\n").encode()
    job = submit(staff, entry, csv)
    rows["job"] = IngestJob.objects.get(pk=job.pk)

    rows["demand"] = demand_item_save(actor=staff, department=dept, values={
        "needed_data": "企业营业执照" + XSS, "item_names": ["统一社会信用代码", XSS], "purpose": "核验" + XSS,
        "legal_basis": "《条例》" + XSS, "provider": None})
    rows["update_case"] = update_case_open(actor=staff, entry_id=entry.pk, trigger_kind=UpdateTrigger.values[0],
                                           trigger_date=today, trigger_document="文件" + XSS,
                                           trigger_description=XSS)
    theme = rows["theme"] = themes.theme_save(actor=staff, name="主题" + XSS, key_kind="id_number",
                                              description=XSS,
                                              sources=[{"dataset": dataset.pk, "items": ["姓名", "户籍地址"]}])
    rows["theme_job"] = themes.theme_rebuild_request(actor=staff, theme_id=theme.pk)

    req = rows["request"] = sharing_request_submit(
        actor=staff, entry_id=rows["other_entry"].pk, attachments=[pdf("依据" + XSS + ".pdf")],
        values=request_values(legal_basis="依据" + XSS, duty_basis="职责" + XSS, business_need="需要" + XSS,
                              purpose=Purpose.OTHER, purpose_detail="用途" + XSS))
    rows["attachment"] = req.attachments.first()
    rows["comment"] = sharing_request_comment(actor=other_staff, request_id=req.pk, body="意见" + XSS)
    # other_dept's grant on dept's resource (as tests/sharing/conftest.py's make_grant makes one).
    granted = SharingRequest.objects.create(
        consumer=other_dept, entry=entry, legal_basis="依据" + XSS, duty_basis="职责", business_need="核验" + XSS,
        purpose=Purpose.COLLABORATION, items=["姓名", "性别"], methods=["api", "push"],
        valid_from=today - dt.timedelta(days=1), valid_to=today + dt.timedelta(days=30),
        state=RequestState.APPROVED, submitted_on=today, created_by=other_staff)
    rows["grant"] = Grant.objects.create(
        request=granted, consumer=other_dept, entry=entry, items=["姓名", "性别"], purpose=Purpose.COLLABORATION,
        methods=["api", "push"], valid_from=granted.valid_from, valid_to=granted.valid_to, state=GrantState.ACTIVE,
        approved_by=reviewer)
    case = rows["case"] = verification.verification_case_file(
        actor=other_staff, record_id=rows["record"].id, dataset_id=dataset.pk, fields=["姓名"],
        description="有疑义" + XSS, evidence=[pdf("证明" + XSS + ".pdf")])
    rows["evidence"] = case.evidence.first()
    rows["api_client"], rows["api_secret"] = client_services.api_client_register(
        actor=security_admin, department_id=other_dept.pk, name="业务系统" + XSS, contact=XSS,
        allowed_networks=LOOPBACK)
    rows["push"] = PushSubscription.objects.create(
        grant=rows["grant"], consumer=other_dept, target_dsn_enc="x", target_label="127.0.0.1:5432/" + XSS,
        target_table="hj_people", interval_minutes=60, paused_reason=XSS, created_by=other_staff)
    rows["incident"] = security_incident_report(
        actor=security_admin, title="事件" + XSS, severity="3", occurred_at=timezone.now() - dt.timedelta(hours=1),
        description=XSS, resource_keys=[entry.resource_key], department_ids=[dept.pk])
    rows["secrecy_review"] = secrecy_review_flag(actor=security_admin, resource=rows["other_entry"].resource_key,
                                                 reason="涉密" + XSS)
    rows["risk"] = risk_assessment_schedule(actor=security_admin, department_id=dept.pk, cycle="12",
                                            due_date=today + dt.timedelta(days=200))
    rows["plan"] = emergency_plan_file(actor=security_admin, title="预案" + XSS, summary=XSS,
                                       document=pdf("预案" + XSS + ".pdf"), review_date=today + dt.timedelta(days=90))
    rows["anomaly"] = _anomaly(other_dept)
    project_values = {"name": "项目" + XSS, "funding_kind": "government", "budget": "10", "period_start": today,
                      "period_end": today + dt.timedelta(days=365), "description": "建设内容" + XSS,
                      "declared_checks": ["gov_cloud", "egov_network", "data_platform", "no_exchange"]}
    rows["project"] = project_create(actor=staff, values=project_values,
                                     resources=[{"name": "资源" + XSS}, {"name": entry.name,
                                                                       "resource": entry.resource_key}])
    rows["submitted_project"] = project_create(actor=staff, values={**project_values, "name": "待审项目" + XSS},
                                               resources=[{"name": "资源" + XSS}])
    project_submit(actor=staff, project_id=rows["submitted_project"].pk)
    # --- assessments (R33): a computed assessment in its objection period, an objection and an adjustment.
    from portal.choices import Role
    from supervision.services import assessments as assessment_services
    from tests.factories import make_user

    assessor = make_user(Role.ASSESSOR, department=bureau, username="world_assessor")
    assessment = rows["assessment"] = assessment_services.assessment_create(actor=assessor, year=today.year - 1,
                                                                            title="考核" + XSS)
    run = assessment_services.assessment_compute(actor=assessor, assessment_id=assessment.pk)
    assessment_services.assessment_run_execute(run_id=run.pk)
    assessment_services.assessment_adjust(actor=assessor, assessment_id=assessment.pk, department_id=dept.pk,
                                          delta="-1", reason="理由" + XSS, indicator_key="sharing_on_time")
    assessment_services.assessment_objections_open(actor=assessor, assessment_id=assessment.pk,
                                                   until=today + dt.timedelta(days=5))
    rows["objection"] = assessment_services.assessment_object(actor=staff, assessment_id=assessment.pk,
                                                              reason="异议" + XSS)
    # ---- violations, rectification orders, notices of criticism (R35, R36): the assessor files two violations of
    # dept and orders one; dept reports with a document; the overdue job's draft notice (as notices_draft_overdue
    # drafts it, without sweeping the world's clocks overdue).
    from supervision.models import CriticismNotice
    from supervision.services.orders import order_issue, order_report
    from supervision.services.violations import violation_file

    rows["violation"] = violation_file(actor=assessor, category="35.7", department_id=dept.pk, title="违规" + XSS,
                                       evidence="证据" + XSS)
    ordered = violation_file(actor=assessor, category="35.3", department_id=dept.pk, title="索要证明" + XSS,
                             evidence=XSS)
    order = rows["order"] = order_issue(actor=assessor, violation_ids=[ordered.pk], requirements="要求" + XSS,
                                        working_days=10)
    report = order_report(actor=staff, order_id=order.pk, body="整改" + XSS, attachments=[pdf("整改" + XSS + ".pdf")])
    rows["report_attachment"] = report.attachments.get()
    rows["notice"] = CriticismNotice.objects.create(order=order, department=dept, title="通报" + XSS, body=XSS)

    notify(recipients=[staff, other_staff, reviewer, head], title="通知" + XSS, body=XSS, url="/")
    return World(people={"staff": staff, "head": head, "other_staff": other_staff, "reviewer": reviewer,
                         "security_admin": security_admin}, rows=rows)
