"""Chapter 5 pages (/security/): the security administrator's desk and the audit administrator's trail viewer.

Each administrator's pages live in `security/views/<concern>.py`; this URLconf only lists them.
"""

from django.urls import path

from security.views import audit, index

app_name = "security"

urlpatterns = [
    path("", index.index, name="index"),
    path("audit/", audit.audit_list, name="audit"),
    path("audit/export.csv", audit.audit_export, name="audit-export"),
]
