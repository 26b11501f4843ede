"""Chapters 6–7 and the policy note's pages (/supervision/); each register's views live in `views/<domain>.py`."""

from django.urls import path

from supervision.views import assessments, dashboard, index, projects, violations

app_name = "supervision"

urlpatterns = [
    path("", index.index, name="index"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("projects/", projects.project_list_page, name="project-list"),
    path("projects/new/", projects.project_create, name="project-create"),
    path("projects/<int:project_id>/", projects.project_detail, name="project-detail"),
    path("projects/<int:project_id>/edit/", projects.project_edit, name="project-edit"),
    path("projects/<int:project_id>/submit/", projects.project_submit, name="project-submit"),
    path("projects/<int:project_id>/approve/", projects.project_approve, name="project-approve"),
    path("projects/<int:project_id>/return/", projects.project_return, name="project-return"),
    path("projects/<int:project_id>/start/", projects.project_start, name="project-start"),
    path("projects/<int:project_id>/complete/", projects.project_complete, name="project-complete"),
    # ---- annual assessment (R33)
    path("assessments/", assessments.assessment_list_page, name="assessment-list"),
    path("assessments/<int:assessment_id>/", assessments.assessment_detail, name="assessment-detail"),
    path("assessments/<int:assessment_id>/run/", assessments.assessment_run_status, name="assessment-run"),
    path("assessments/<int:assessment_id>/indicators/", assessments.assessment_indicators,
         name="assessment-indicators"),
    path("assessments/<int:assessment_id>/compute/", assessments.assessment_compute, name="assessment-compute"),
    path("assessments/<int:assessment_id>/objection-period/", assessments.assessment_open_objections,
         name="assessment-open-objections"),
    path("assessments/<int:assessment_id>/publish/", assessments.assessment_publish, name="assessment-publish"),
    path("assessments/<int:assessment_id>/adjust/", assessments.assessment_adjust, name="assessment-adjust"),
    path("assessments/<int:assessment_id>/object/", assessments.assessment_object, name="assessment-object"),
    path("assessments/<int:assessment_id>/objections/<int:objection_id>/answer/", assessments.objection_answer,
         name="assessment-answer"),
    path("assessments/<int:assessment_id>/departments/<int:department_id>/", assessments.assessment_scorecard,
         name="assessment-scorecard"),
    path("assessments/<int:assessment_id>/departments/<int:department_id>/report.pdf",
         assessments.assessment_report_pdf, name="assessment-report-pdf"),
    path("assessments/<int:assessment_id>/departments/<int:department_id>/<slug:key>/",
         assessments.assessment_evidence, name="assessment-evidence"),
    # ---- violations register (R35), rectification orders (R36), notices of criticism (通报)
    path("violations/", violations.violation_list_page, name="violation-list"),
    path("violations/new/", violations.violation_file_page, name="violation-new"),
    path("violations/<int:violation_id>/", violations.violation_detail, name="violation-detail"),
    path("violations/<int:violation_id>/dismiss/", violations.violation_dismiss, name="violation-dismiss"),
    path("orders/", violations.order_list_page, name="order-list"),
    path("orders/new/", violations.order_issue_page, name="order-new"),
    path("orders/<int:order_id>/", violations.order_detail, name="order-detail"),
    path("orders/<int:order_id>/report/", violations.order_report_page, name="order-report"),
    path("orders/<int:order_id>/accept/", violations.order_accept, name="order-accept"),
    path("orders/<int:order_id>/return/", violations.order_return, name="order-return"),
    path("orders/<int:order_id>/refer/", violations.order_refer, name="order-refer"),
    path("orders/<int:order_id>/attachments/<int:attachment_id>/", violations.order_attachment,
         name="order-attachment"),
    path("notices/", violations.notice_list_page, name="notice-list"),
    path("notices/<int:notice_id>/", violations.notice_detail, name="notice-detail"),
    path("notices/<int:notice_id>/edit/", violations.notice_edit_page, name="notice-edit"),
    path("notices/<int:notice_id>/publish/", violations.notice_publish, name="notice-publish"),
]
