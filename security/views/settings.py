"""The security administrator's settings: 2FA for everyone, password age, dormant accounts, idle sessions."""

from portal.choices import Role
from portal.shortcuts import role_required
from portal.views.system import settings_page


@role_required(Role.SECURITY_ADMIN)
def security_settings(request):
    return settings_page(request, owner=Role.SECURITY_ADMIN, template="security/settings.html",
                         done_url="security:settings")
