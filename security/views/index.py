"""The security administrator's desk: one page linking every task that role owns (三员分立)."""

from django.shortcuts import render

from portal.choices import Role
from portal.shortcuts import role_required


@role_required(Role.SECURITY_ADMIN)
def index(request):
    return render(request, "security/index.html")
