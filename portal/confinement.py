"""三员分立 at the door: an administrator's account reaches its own administrative pages and nothing else.

The three administrators (system, security, audit) run the platform; none of them does the business of the
regulation (filing catalogs, loading or reading data, reviewing requests). Their querysets already come back empty
(an administrator's scope is the platform, not a department), but an empty business page is still a page: this is the
outer wall. `ConfinementMiddleware` answers 404 to an administrator asking for any view outside

- `EVERYONE`: the account pages every signed-in person has (dashboard, messages, own password, 2FA, tokens, docs);
- `AREAS[role]`: that administrator's own pages and API operations.

Views are named by their URL name (`namespace:name`); an entry ending in ":" or "-" is a prefix. The views keep their
own role checks (role_required, IsAuditAdmin …): this table only narrows, it never opens a page. A new page of an
administrator is added here, and tests/portal/test_three_admins.py and tests/test_site_walk.py fail until it is.
An administrator's account holds its one role and no business role (portal.services.org.role_grant), so nobody's
business work is confined by this.
"""

from __future__ import annotations

from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _

from portal.choices import ADMIN_ROLES, Role

EVERYONE = (
    "home", "login", "logout", "password-change", "otp-verify", "otp-enrol", "notifications", "tokens",
    "set_language", "healthz", "verify", "document-verify", "document-verify-key",
    "api-docs", "api-redoc", "api-schema", "api-root", "api-me", "api-todo", "notification-",
)

AREAS = {
    Role.SYSTEM_ADMIN: (
        "admin:", "system", "system-settings", "api-settings", "calendar", "calendar-", "api-working-days",
        "region-", "department-",
    ),
    Role.SECURITY_ADMIN: (
        "security:index", "security:two-factor", "security:role-", "security:settings", "api-security-settings",
        "security:incident-", "security-incident-", "security:secrecy-", "secrecy-review-",
        "security:risk-", "risk-assessment-", "security:plan-", "emergency-plan-",
        "security:anomaly-", "leak-anomaly-",
        "locks", "sharing:client-", "sharing-client-", "catalog:resource-permissions",
        "catalog-api:resource-permissions",
        "department-",
    ),
    Role.AUDIT_ADMIN: ("security:audit", "security:audit-export", "security:audit-verify", "security:audit-bundle",
                       "audit-event-"),
}


def _matches(view_name: str, names) -> bool:
    return any(view_name == n or (n.endswith((":", "-")) and view_name.startswith(n)) for n in names)


def admin_role(user) -> str | None:
    """The administrator role the account holds, or None (an account holds at most one: 三员分立)."""
    if not getattr(user, "is_authenticated", False):
        return None
    held = user.role_set.intersection(ADMIN_ROLES)
    return next(iter(held), None)


def may_visit(user, view_name: str) -> bool:
    """Whether `user` may reach the view named `view_name` as far as confinement goes (everybody else: yes)."""
    role = admin_role(user)
    if role is None:
        return True
    return _matches(view_name, EVERYONE) or _matches(view_name, AREAS[Role(role)])


class ConfinementMiddleware:
    """404 for an administrator outside their area (after authentication; signed API clients hold no role)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or may_visit(request.user, match.view_name):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"code": "not_found", "detail": _("对象不存在或无权查看")}, status=404)
        raise Http404
