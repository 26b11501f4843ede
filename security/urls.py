"""Chapter 5 pages (/security/): the security administrator's desk and the audit administrator's trail viewer.

Each administrator's pages live in `security/views/<concern>.py`; this URLconf only lists them.
"""

from django.urls import path

from security.views import audit, incidents, index, plans, risk, roles, secrecy, settings, twofactor

app_name = "security"

urlpatterns = [
    path("", index.index, name="index"),
    path("two-factor/", twofactor.two_factor_users, name="two-factor"),
    path("roles/", roles.role_list, name="role-list"),
    path("roles/<int:user_id>/", roles.role_detail, name="role-detail"),
    path("roles/<int:user_id>/change/", roles.role_change, name="role-change"),
    path("settings/", settings.security_settings, name="settings"),
    path("incidents/", incidents.incident_list_page, name="incident-list"),
    path("incidents/new/", incidents.incident_report, name="incident-report"),
    path("incidents/<int:incident_id>/", incidents.incident_detail, name="incident-detail"),
    path("incidents/<int:incident_id>/handle/", incidents.incident_handle, name="incident-handle"),
    path("incidents/<int:incident_id>/close/", incidents.incident_close, name="incident-close"),
    path("secrecy/", secrecy.secrecy_list, name="secrecy-list"),
    path("secrecy/<int:review_id>/", secrecy.secrecy_detail, name="secrecy-detail"),
    path("secrecy/<int:review_id>/decide/", secrecy.secrecy_decide, name="secrecy-decide"),
    path("risk/", risk.risk_list, name="risk-list"),
    path("risk/<int:assessment_id>/", risk.risk_detail, name="risk-detail"),
    path("risk/<int:assessment_id>/complete/", risk.risk_complete, name="risk-complete"),
    path("plans/", plans.plan_list_page, name="plan-list"),
    path("plans/<int:plan_id>/", plans.plan_detail, name="plan-detail"),
    path("plans/<int:plan_id>/document/", plans.plan_document, name="plan-document"),
    path("audit/", audit.audit_list, name="audit"),
    path("audit/export.csv", audit.audit_export, name="audit-export"),
    path("audit/verify/", audit.audit_verify_now, name="audit-verify"),
    path("audit/bundle/", audit.audit_bundle_download, name="audit-bundle"),
]
