"""三员分立 at the door (portal.confinement): each administrator reaches their own pages and the account pages,
nothing else — by session, by session API call and by personal token; an administrator account holds no business
role."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from portal.choices import Role
from portal.confinement import AREAS, EVERYONE, may_visit
from portal.errors import PortalError
from portal.services import org
from portal.services.tokens import token_create
from tests.support import otp_verified, sign_in

pytestmark = pytest.mark.django_db

BUSINESS_PAGES = ["/catalog/", "/catalog/master/", "/aggregation/", "/aggregation/verification/", "/sharing/",
                  "/sharing/requests/", "/sharing/grants/", "/aggregation/quality/"]
BUSINESS_APIS = ["/api/v1/catalog/entries/", "/api/v1/sharing/requests/", "/api/v1/aggregation/jobs/",
                 "/api/v1/deadlines/"]


@pytest.fixture
def admins(system_admin, security_admin, audit_admin):
    return {"system": system_admin, "security": security_admin, "audit": audit_admin}


OWN = {
    "system": ["/system/", "/settings/", "/calendar/", "/admin/"],
    "security": ["/security/", "/security/roles/", "/security/two-factor/", "/security/settings/", "/accounts/locks/",
                 "/sharing/clients/", "/catalog/permissions/"],
    "audit": ["/security/audit/"],
}


def test_each_administrator_reaches_their_own_pages_and_no_one_elses(admins):
    for who, user in admins.items():
        client = sign_in(Client(), user)
        for url in OWN[who] + ["/", "/notifications/", "/account/password/", "/tokens/"]:
            assert client.get(url).status_code == 200, (who, url)
        others = [u for other, urls in OWN.items() if other != who for u in urls]
        for url in BUSINESS_PAGES + others:
            assert client.get(url).status_code == 404, (who, url)


def test_business_api_calls_of_an_administrator_answer_404_by_session_and_by_token(admins):
    for who, user in admins.items():
        session = sign_in(APIClient(), user)
        _row, raw = token_create(actor=otp_verified(user), name="脚本")
        token = APIClient()
        token.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
        for url in BUSINESS_APIS:
            for client in (session, token):
                response = client.get(url)
                assert response.status_code == 404 and response.json()["code"] == "not_found", (who, url)
        assert token.get("/api/v1/me/").status_code == 200
    audit_token = APIClient()
    raw = token_create(actor=otp_verified(admins["audit"]), name="查询")[1]
    audit_token.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert audit_token.get("/api/v1/security/audit-events/").status_code == 200


def test_business_people_are_not_confined(staff, reviewer):
    assert sign_in(Client(), staff).get("/catalog/").status_code == 200
    assert sign_in(Client(), reviewer).get("/sharing/review/").status_code == 200
    assert may_visit(staff, "catalog:index") and may_visit(reviewer, "sharing:review-queue")


def test_the_table_names_prefixes_and_names():
    assert "security:audit" in AREAS[Role.AUDIT_ADMIN] and "home" in EVERYONE
    # "security:" is no prefix of the security administrator's area: the audit viewer is not theirs.
    assert not any(n == "security:" for n in AREAS[Role.SECURITY_ADMIN])


def test_an_administrator_account_holds_no_business_role(security_admin, audit_admin, staff, bureau):
    with pytest.raises(PortalError) as refused:
        org.role_grant(actor=security_admin, user=audit_admin, role=Role.BUREAU_REVIEWER)
    assert refused.value.code == "admin_role_exclusive"
    with pytest.raises(PortalError) as refused:
        org.role_grant(actor=security_admin, user=staff, role=Role.SYSTEM_ADMIN)
    assert refused.value.code == "admin_role_exclusive"


def test_the_menu_shows_an_administrator_their_area_only(admins, staff):
    menus = {who: [item["label"] for item in sign_in(Client(), user).get("/").context["nav"]]
             for who, user in {**admins, "staff": staff}.items()}
    assert [str(x) for x in menus["audit"]] == ["我的待办", "审计查询"]
    assert [str(x) for x in menus["security"]] == ["我的待办", "安全管理"]
    assert [str(x) for x in menus["system"]] == ["我的待办", "工作日历"]
    assert {"数据目录", "数据归集", "数据共享"} <= {str(x) for x in menus["staff"]}
