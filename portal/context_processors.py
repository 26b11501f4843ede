"""Template context for the base layout: navigation by chapter, unread messages, the user's roles."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from portal.choices import Role
from portal.confinement import may_visit
from portal.models import Notification
from portal.services.settings import value

# (label, url name, roles allowed or None for every signed-in user). Chapters add theirs as they land: one item per
# chapter, whose index page or sub-navigation links the chapter's pages (tests/test_navigation.py walks every role's
# menu and fails on a page the role may open but cannot reach by clicking).
NAVIGATION = [
    (_("我的待办"), "home", None),
    (_("数据概览"), "supervision:dashboard", (Role.BUREAU_REVIEWER, Role.ASSESSOR, Role.COUNTY_BUREAU)),
    (_("数据目录"), "catalog:index", None),
    (_("数据归集"), "aggregation:index", None),
    (_("数据共享"), "sharing:index", None),
    (_("安全管理"), "security:index", (Role.SECURITY_ADMIN,)),
    (_("审计查询"), "security:audit", (Role.AUDIT_ADMIN,)),
    (_("安全登记"), "security:incident-list", (Role.BUREAU_REVIEWER,)),
    # The supervision desk lists the registers each role reads (projects, assessments, violations, orders, notices).
    (_("监督考核"), "supervision:index",
     (Role.ASSESSOR, Role.BUREAU_REVIEWER, Role.COUNTY_BUREAU, Role.DEPT_STAFF, Role.DEPT_HEAD)),
    (_("工作日历"), "calendar", (Role.SYSTEM_ADMIN,)),
]


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _announcements() -> dict:
    """The system administrator's notice (every page) and operations contact (login page, footer)."""
    return {"portal_notice": value("portal_notice"), "ops_contact": value("ops_contact")}


def portal(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": [], **_announcements()}
    nav = []
    for label, name, roles in NAVIGATION:
        url = _url(name)
        if url and (roles is None or user.has_role(*roles)) and may_visit(user, name):
            active = request.path == url or (url != "/" and request.path.startswith(url))
            nav.append({"label": label, "url": url, "active": active})
    return {
        "nav": nav,
        "unread_count": Notification.objects.filter(recipient=user, read_at__isnull=True).count(),
        "user_roles": [Role(r).label for r in sorted(user.role_set)],
        "is_system_admin": user.has_role(Role.SYSTEM_ADMIN),
        **_announcements(),
    }
