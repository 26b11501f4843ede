"""Who may open each page of the portal that has no ids in its URL: one permission-matrix row per page route, over
the demo world's accounts (seed_demo: one account per role).

tests/test_navigation.py checks every cell of these rows (tests.permissions.check_matrix) and then walks each
account's navigation from the home page: every page a row allows an account (200) must be reached by clicking. A page
route without ids is either a row here or named in NOT_PAGES with the reason it is no page to navigate to; the test
fails on a route that is neither, so a new page cannot be left out of both the matrix and the menus.
"""

from __future__ import annotations

from functools import partial

from django.urls import reverse

from tests.permissions import Row

# The demo world's accounts (portal/demo.py ACCOUNTS): the three administrators, the bureau's reviewer and
# assessor, a city department's data staff and head, a county bureau and a county department's staff and head.
ADMINS = ("admin", "security", "auditor")
OVERSIGHT = ("reviewer", "assessor", "xw_bureau")
DEPARTMENTS = ("ga_staff", "ga_head", "xw_ga_staff", "xw_ga_head")
BUSINESS = OVERSIGHT + DEPARTMENTS
ACCOUNTS = ADMINS + BUSINESS


def allowed(*who: str, **refused: int) -> dict[str, int]:
    """200 for `who`, 404 for every other account (a page outside a role is not there), `refused` overriding."""
    return {account: 200 if account in who else refused.get(account, 404) for account in ACCOUNTS}


def _page(name: str, expect: dict[str, int]) -> Row:
    return Row("get", partial(reverse, name), expect, label=name)


PAGES = [
    # The kernel: everybody's own pages; the system administrator's desk; the security administrator's locks.
    _page("home", allowed(*ACCOUNTS)),
    _page("notifications", allowed(*ACCOUNTS)),
    _page("password-change", allowed(*ACCOUNTS)),
    _page("otp-enrol", allowed(*ACCOUNTS)),
    _page("tokens", allowed(*ACCOUNTS)),
    _page("clock-list", allowed(*BUSINESS)),
    _page("system", allowed("admin")),
    _page("system-settings", allowed("admin")),
    _page("calendar", allowed("admin")),
    _page("calendar-day", allowed("admin")),
    _page("locks", allowed("security")),
    # Chapter 2: the catalog.
    _page("catalog:index", allowed(*BUSINESS)),
    _page("catalog:master", allowed(*BUSINESS)),
    _page("catalog:review-queue", allowed(*BUSINESS)),
    _page("catalog:region", allowed(*OVERSIGHT)),
    _page("catalog:entry-create", allowed(*DEPARTMENTS)),
    _page("catalog:excel-import", allowed(*DEPARTMENTS)),
    _page("catalog:demand-list", allowed(*BUSINESS)),
    _page("catalog:demand-create", allowed(*DEPARTMENTS)),
    _page("catalog:demand-import", allowed(*DEPARTMENTS)),
    _page("catalog:gap-list", allowed("reviewer")),
    _page("catalog:responsibility", allowed(*BUSINESS)),
    _page("catalog:update-case-list", allowed(*BUSINESS)),
    _page("catalog:classifications", allowed(*BUSINESS)),
    # R28.2: the head assigns the department's staff their resources; the staff see the page is not theirs.
    _page("catalog:resource-permissions", allowed("security", "ga_head", "xw_ga_head", ga_staff=403, xw_ga_staff=403)),
    # Chapter 3: the 数据归集 index and its sub-navigation.
    _page("aggregation:index", allowed(*BUSINESS)),
    _page("aggregation:verification-list", allowed(*BUSINESS)),
    _page("aggregation:basedb-index", allowed(*BUSINESS)),
    _page("aggregation:theme-list", allowed(*BUSINESS)),
    _page("aggregation:theme-create", allowed(*DEPARTMENTS)),
    _page("aggregation:quality-report", allowed(*BUSINESS)),
    # Chapter 4: sharing.
    _page("sharing:index", allowed(*BUSINESS)),
    _page("sharing:request-list", allowed(*BUSINESS)),
    _page("sharing:review-queue", allowed("reviewer")),
    _page("sharing:grant-list", allowed(*BUSINESS)),
    _page("sharing:online-query", allowed(*BUSINESS)),
    _page("sharing:push-list", allowed(*BUSINESS)),
    _page("sharing:client-list", allowed("security")),
    # Chapter 5: the security administrator's desk, the security registers (the bureau reads them), the audit trail.
    _page("security:index", allowed("security")),
    _page("security:two-factor", allowed("security")),
    _page("security:role-list", allowed("security")),
    _page("security:settings", allowed("security")),
    _page("security:anomaly-list", allowed("security")),
    _page("security:incident-list", allowed("security", "reviewer")),
    _page("security:incident-report", allowed("security", reviewer=403)),
    _page("security:secrecy-list", allowed("security", "reviewer")),
    _page("security:risk-list", allowed("security", "reviewer")),
    _page("security:plan-list", allowed("security", "reviewer")),
    _page("security:audit", allowed("auditor")),
    # Chapters 6–7: the supervision desk and its registers.
    _page("supervision:index", allowed(*BUSINESS)),
    _page("supervision:dashboard", allowed(*OVERSIGHT)),
    _page("supervision:project-list", allowed(*BUSINESS)),
    _page("supervision:project-create", allowed(*DEPARTMENTS)),
    _page("supervision:assessment-list", allowed("assessor", "xw_bureau", *DEPARTMENTS)),
    _page("supervision:violation-list", allowed(*BUSINESS)),
    _page("supervision:violation-new", allowed("assessor")),
    _page("supervision:order-list", allowed(*BUSINESS)),
    _page("supervision:order-new", allowed("assessor")),
    _page("supervision:notice-list", allowed(*BUSINESS)),
]

# Routes without ids that are no page a person navigates to, and why.
NOT_PAGES = {
    "login": "the login flow (signed-out)",
    "otp-verify": "the login flow's second step",
    "logout": "a POST from the account menu",
    "set_language": "a POST from the language switch",
    "healthz": "the load balancer's probe",
    "verify": "the public document-verification page, opened from the document itself (R26.1)",
    "calendar-confirm": "a POST target of the calendar page",
    "security:audit-verify": "a POST target of the audit page",
    "catalog:excel-template": "a download (the import page links it)",
    "catalog:excel-export": "a download (the catalog index links it)",
    "catalog:master-export": "a download (the master catalog links it)",
    "catalog:demand-template": "a download (the demand list and its import page link it)",
    "catalog:demand-export": "a download (the demand list links it)",
    "catalog:responsibility-export": "a download (the responsibility list links it)",
    "security:audit-export": "a download (the audit page's search links it)",
    "security:audit-bundle": "a download (the audit page's day-bundle form)",
}
