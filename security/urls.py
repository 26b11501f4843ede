"""Chapter 5 pages (/security/): the security administrator's desk and the audit administrator's trail viewer.

Each administrator's pages live in `security/views/<concern>.py`; this URLconf only lists them.
"""

from django.urls import path

from security.views import index, twofactor

app_name = "security"

urlpatterns = [
    path("", index.index, name="index"),
    path("two-factor/", twofactor.two_factor_users, name="two-factor"),
]
