"""Chapter 5 pages (/security/): the security administrator's desk and the audit administrator's trail viewer.

Each administrator's pages live in `security/views/<concern>.py`; this URLconf only lists them.
"""

from django.urls import path

from security.views import audit, index, roles, settings, twofactor

app_name = "security"

urlpatterns = [
    path("", index.index, name="index"),
    path("two-factor/", twofactor.two_factor_users, name="two-factor"),
    path("roles/", roles.role_list, name="role-list"),
    path("roles/<int:user_id>/", roles.role_detail, name="role-detail"),
    path("roles/<int:user_id>/change/", roles.role_change, name="role-change"),
    path("settings/", settings.security_settings, name="settings"),
    path("audit/", audit.audit_list, name="audit"),
    path("audit/export.csv", audit.audit_export, name="audit-export"),
    path("audit/verify/", audit.audit_verify_now, name="audit-verify"),
]
