"""Issue 14 item 2: two-factor login (TOTP, django-otp) — who must use it, enrolment, the verify step, replay,
backup codes, throttling, personal tokens, the security administrator's reset — and the ways around it that must
fail (posting straight to a page or the API, a token, a replayed code, a fixed session)."""

import base64
import datetime as dt
import re

import pytest
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from portal.choices import Role
from portal.errors import PermissionDenied, PortalError
from portal.models import PasswordHistory, PersonalToken
from portal.services import twofactor
from portal.services.settings import settings_update
from portal.services.tokens import token_create
from tests.factories import PASSWORD, make_user
from tests.support import otp_verified

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (2FA test)"
KEY = "3132333435363738393031323334353637383930"  # RFC 6238's test secret, hex


def code_for(key_hex: str, *, steps_ahead: int = 0) -> str:
    totp = TOTP(bytes.fromhex(key_hex))
    totp.time = timezone.now().timestamp() + 30 * steps_ahead
    return f"{totp.token():06d}"


def device_for(user, key: str = KEY) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="手机", key=key, confirmed=True)


def password_step(client, username, next_url=None):
    data = {"username": username, "password": PASSWORD}
    url = "/login/" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data, REMOTE_ADDR="10.7.7.7", HTTP_USER_AGENT=UA)


def verify(client, code, next_url="/"):
    return client.post("/login/verify/", {"code": code, "next": next_url}, REMOTE_ADDR="10.7.7.7",
                       HTTP_USER_AGENT=UA)


def verified(client) -> bool:
    return DEVICE_ID_SESSION_KEY in client.session


# ---------------------------------------------------------------- who must use it


@pytest.mark.parametrize("role", [Role.BUREAU_REVIEWER, Role.ASSESSOR, Role.COUNTY_BUREAU, Role.SYSTEM_ADMIN,
                                  Role.SECURITY_ADMIN, Role.AUDIT_ADMIN])
def test_mandatory_roles_must_use_it_enrolled_or_not(role):
    user = make_user(role)
    assert twofactor.otp_required(user) and twofactor.otp_mandatory(user)


@pytest.mark.parametrize("role", [Role.DEPT_STAFF, Role.DEPT_HEAD])
def test_department_people_may_and_once_enrolled_must(role):
    user = make_user(role)
    assert not twofactor.otp_required(user)
    device_for(user)
    assert twofactor.otp_required(user) and not twofactor.otp_mandatory(user)


def test_the_setting_makes_it_mandatory_for_everyone(client, staff, security_admin):
    settings_update(actor=security_admin, values={"otp_required_for_all": True})
    assert twofactor.otp_mandatory(staff)
    response = password_step(client, "staff")
    assert response.status_code == 302 and response["Location"].startswith("/account/two-factor/")
    assert client.get("/").status_code == 302  # not before enrolling
    settings_update(actor=security_admin, values={"otp_required_for_all": False})
    assert client.get("/").status_code == 200


def test_an_optional_user_without_a_device_signs_in_with_the_password_alone(client, staff):
    response = password_step(client, "staff")
    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.get("/").status_code == 200


# ---------------------------------------------------------------- enrolment, the verify step


def test_enrolment_end_to_end(client, reviewer, audit_log):
    response = password_step(client, "reviewer")
    assert response["Location"] == "/account/two-factor/?next=%2F"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "必须使用双因素认证" in html
    assert 'src="data:image/svg+xml' in html  # the QR code is drawn here, not by an outside service
    secret = re.search(r'data-testid="otp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    key = base64.b32decode(secret).hex()
    assert client.get("/account/two-factor/").content.decode().count(secret[:4]) >= 1  # same secret on reload

    wrong = client.post("/account/two-factor/", {"code": "000000" if code_for(key) != "000000" else "111111",
                                                 "next": "/"})
    assert wrong.status_code == 200 and "验证码不正确" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=reviewer).exists()

    done = client.post("/account/two-factor/", {"code": code_for(key), "next": "/"}, HTTP_USER_AGENT=UA)
    assert done.status_code == 200
    codes = re.findall(r"<li class=\"col\">([a-z2-7]{4}-[a-z2-7]{4})</li>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    (device,) = TOTPDevice.objects.filter(user=reviewer)
    assert device.confirmed and device.key == key
    # Stored as keyed digests, not as shown.
    assert not StaticToken.objects.filter(token__in=[c.replace("-", "") for c in codes]).exists()
    assert StaticToken.objects.filter(device__user=reviewer).count() == 10
    assert verified(client) and client.get("/").status_code == 200
    (enrolled,) = audit_log("portal.auth.otp_enrolled")
    (issued,) = audit_log("portal.auth.otp_backup_codes_issued")
    assert (enrolled.actor, enrolled.data["user_agent"], issued.data["count"]) == (reviewer, UA, 10)
    (failed,) = audit_log("portal.auth.otp_failed")
    assert (failed.result, failed.data["stage"]) == ("failure", "enrol")


def test_login_with_a_code(client, reviewer, audit_log):
    device = device_for(reviewer)
    response = password_step(client, "reviewer", next_url="/notifications/")
    assert response["Location"] == "/login/verify/?next=%2Fnotifications%2F"
    assert client.get(response["Location"]).status_code == 200
    done = verify(client, code_for(KEY), next_url="/notifications/")
    assert (done.status_code, done["Location"]) == (302, "/notifications/")
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/notifications/").status_code == 200
    (event,) = audit_log("portal.auth.otp_verified")
    assert (event.actor, str(event.ip), event.data["user_agent"], event.data["method"]) == (
        reviewer, "10.7.7.7", UA, "totp")


def test_verify_refuses_an_outside_next_url(client, reviewer):
    device_for(reviewer)
    password_step(client, "reviewer")
    done = verify(client, code_for(KEY), next_url="https://evil.example/")
    assert done["Location"] == "/"


def test_the_session_key_changes_at_verification(client, reviewer):
    device_for(reviewer)
    password_step(client, "reviewer")
    before = client.session.session_key
    verify(client, code_for(KEY))
    after = client.session.session_key
    assert before != after and verified(client)
    # The old key, were it fixed by an attacker, is no longer a session at all.
    attacker = APIClient()
    attacker.cookies["sessionid"] = before
    assert attacker.get("/api/v1/me/").status_code in (401, 403)


def test_a_password_step_never_inherits_an_earlier_verification(client, reviewer):
    device_for(reviewer)
    password_step(client, "reviewer")
    verify(client, code_for(KEY))
    client.post("/logout/")
    password_step(client, "reviewer")
    assert not verified(client) and client.get("/").status_code == 302


# ---------------------------------------------------------------- the ways around it


def test_an_unverified_session_reaches_no_page_and_no_api(client, reviewer, audit_log):
    device_for(reviewer)
    password_step(client, "reviewer")
    page = client.get("/catalog/")
    assert page.status_code == 302 and page["Location"] == "/login/verify/?next=%2Fcatalog%2F"
    posted = client.post("/tokens/", {"name": "绕过", "valid_days": 90})
    assert posted.status_code == 302 and posted["Location"] == "/login/verify/"
    assert not PersonalToken.objects.exists()
    assert client.post("/account/password/", {}).status_code == 302
    assert client.get("/security/two-factor/").status_code == 302
    assert client.get("/admin/").status_code == 302
    htmx = client.get("/notifications/", HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"].startswith("/login/verify/")
    for call in (client.get("/api/v1/me/"), client.post("/api/v1/me/", {})):
        assert call.status_code == 403
        assert call.json()["code"] == "otp_required" and "双因素认证" in call.json()["detail"]
    # What stays open: the verify page, the language switch, static files, logout.
    assert client.get("/login/verify/").status_code == 200
    assert client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/verify/"}).status_code == 302
    assert client.post("/logout/").status_code == 302 and "_auth_user_id" not in client.session


def test_no_device_means_enrolment_not_the_verify_page(client, reviewer):
    password_step(client, "reviewer")
    assert client.get("/").headers["Location"].startswith("/account/two-factor/")
    assert client.get("/login/verify/").headers["Location"].startswith("/account/two-factor/")


def test_with_a_device_the_enrolment_page_asks_for_the_code_first(client, reviewer):
    device_for(reviewer)
    password_step(client, "reviewer")
    assert client.get("/account/two-factor/").headers["Location"].startswith("/login/verify/")
    assert client.post("/account/two-factor/", {"action": "disable"}).status_code == 302
    assert TOTPDevice.objects.filter(user=reviewer).exists()


def test_a_replayed_code_is_refused(client, reviewer, audit_log):
    device_for(reviewer)
    code = code_for(KEY)
    password_step(client, "reviewer")
    assert verify(client, code).status_code == 302
    client.post("/logout/")
    other = type(client)()
    password_step(other, "reviewer")
    again = verify(other, code)
    assert again.status_code == 200 and "已使用" in again.content.decode() and not verified(other)
    (failed,) = audit_log("portal.auth.otp_failed")
    assert (failed.actor, failed.result, failed.data["reason"], failed.data["user_agent"]) == (
        reviewer, "failure", "otp_invalid", UA)


def test_wrong_codes_are_throttled_and_audited(client, reviewer, audit_log):
    device = device_for(reviewer)
    password_step(client, "reviewer")
    right = code_for(KEY)
    assert verify(client, "000000" if right != "000000" else "111111").status_code == 200
    throttled = verify(client, right)  # even the right code, within the wait after a failure
    assert throttled.status_code == 429 and "失败次数过多" in throttled.content.decode() and not verified(client)
    assert [e.data["reason"] for e in audit_log("portal.auth.otp_failed")] == ["otp_invalid", "otp_throttled"]
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - dt.timedelta(seconds=5))
    assert verify(client, right).status_code == 302 and verified(client)


def test_a_backup_code_works_once(client, reviewer, audit_log):
    device_for(reviewer)
    codes = twofactor.otp_backup_codes_regenerate(user=otp_verified(reviewer))
    password_step(client, "reviewer")
    assert verify(client, codes[0].upper()).status_code == 302 and verified(client)
    used = audit_log("portal.auth.otp_backup_code_used")
    assert len(used) == 1 and used[0].data["remaining"] == 9
    assert audit_log("portal.auth.otp_verified")[0].data["method"] == "backup"
    client.post("/logout/")
    password_step(client, "reviewer")
    assert verify(client, codes[0]).status_code == 200 and not verified(client)
    TOTPDevice.objects.filter(user=reviewer).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    from django_otp.plugins.otp_static.models import StaticDevice
    StaticDevice.objects.filter(user=reviewer).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    assert verify(client, codes[1]).status_code == 302


def test_regenerating_backup_codes_voids_the_old_ones(web_as, reviewer, audit_log):
    client = web_as(reviewer)
    first = twofactor.otp_backup_codes_regenerate(user=otp_verified(reviewer))
    page = client.post("/account/two-factor/", {"action": "regenerate"}, HTTP_USER_AGENT=UA)
    second = re.findall(r"<li class=\"col\">([a-z2-7]{4}-[a-z2-7]{4})</li>", page.content.decode())
    assert page.status_code == 200 and len(second) == 10 and not set(first) & set(second)
    assert StaticToken.objects.filter(device__user=reviewer).count() == 10
    assert [e.data["count"] for e in audit_log("portal.auth.otp_backup_codes_issued")] == [10, 10]


def test_an_unverified_actor_cannot_issue_a_token(reviewer, staff):
    with pytest.raises(PermissionDenied) as refused:
        token_create(actor=reviewer, name="脚本")
    assert refused.value.code == "otp_required"
    assert not PersonalToken.objects.exists()
    token_create(actor=otp_verified(reviewer), name="脚本")
    token_create(actor=staff, name="脚本")  # optional and not enrolled: the password session is complete
    device_for(staff)
    with pytest.raises(PermissionDenied):
        token_create(actor=staff, name="再一个")


def test_a_verified_session_issues_a_token_on_the_page(web_as, reviewer):
    page = web_as(reviewer).post("/tokens/", {"name": "脚本", "valid_days": 90})
    assert page.status_code == 200 and 'data-testid="new-token"' in page.content.decode()


def test_the_token_of_a_user_without_the_required_device_is_refused(client, reviewer, staff):
    _token, raw = token_create(actor=otp_verified(reviewer), name="脚本")
    headers = {"HTTP_AUTHORIZATION": f"Token {raw}"}
    assert client.get("/api/v1/me/", **headers).status_code == 200
    TOTPDevice.objects.filter(user=reviewer).delete()  # e.g. a token from before two-factor login existed
    refused = client.get("/api/v1/me/", **headers)
    assert refused.status_code == 403 and refused.json()["code"] == "otp_required"
    _token, staff_raw = token_create(actor=staff, name="脚本")  # optional users' tokens are not affected
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {staff_raw}").status_code == 200


# ---------------------------------------------------------------- own device: optional users


def test_an_optional_user_enrols_then_needs_the_code_then_disables(web_as, client, staff, audit_log):
    web_as(staff)
    page = client.get("/account/two-factor/").content.decode()
    assert "必须使用" not in page
    secret = re.search(r'data-testid="otp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    key = base64.b32decode(secret).hex()
    assert client.post("/account/two-factor/", {"code": code_for(key)}).status_code == 200
    client.post("/logout/")
    response = password_step(client, "staff")
    assert response["Location"].startswith("/login/verify/")
    assert verify(client, code_for(key, steps_ahead=1)).status_code == 302
    manage = client.get("/account/two-factor/").content.decode()
    assert "停用双因素认证" in manage and "剩余 10 个备用码" in manage
    assert client.post("/account/two-factor/", {"action": "disable"}, HTTP_USER_AGENT=UA).status_code == 302
    assert not TOTPDevice.objects.filter(user=staff).exists()
    (event,) = audit_log("portal.auth.otp_disabled")
    assert (event.actor, event.data["user_agent"]) == (staff, UA)
    client.post("/logout/")
    assert password_step(client, "staff")["Location"] == "/"


def test_a_mandatory_user_cannot_disable(web_as, reviewer):
    client = web_as(reviewer)
    page = client.get("/account/two-factor/").content.decode()
    assert "不能停用" in page and 'value="disable"' not in page
    assert client.post("/account/two-factor/", {"action": "disable"}).status_code == 302
    assert TOTPDevice.objects.filter(user=reviewer).exists()
    with pytest.raises(PermissionDenied) as refused:
        twofactor.otp_disable(user=otp_verified(reviewer))
    assert refused.value.code == "otp_mandatory"


def test_the_menu_links_the_page(web_as, staff):
    assert 'href="/account/two-factor/">双因素认证</a>' in web_as(staff).get("/").content.decode()


# ---------------------------------------------------------------- verify first, then the expired password


def test_verify_first_then_the_forced_password_change(client, reviewer):
    device_for(reviewer)
    PasswordHistory.objects.filter(user=reviewer).update(set_at=timezone.now() - dt.timedelta(days=91))
    password_step(client, "reviewer")
    assert client.get("/").headers["Location"].startswith("/login/verify/")
    assert client.get("/account/password/").headers["Location"].startswith("/login/verify/")
    assert client.get("/login/verify/").status_code == 200
    assert verify(client, code_for(KEY)).status_code == 302
    assert client.get("/").headers["Location"] == "/account/password/?expired=1"
    assert client.get("/account/password/").status_code == 200


# ---------------------------------------------------------------- the security administrator's reset


def test_reset_by_the_security_admin(web_as, client, reviewer, security_admin, audit_log):
    device_for(reviewer)
    twofactor.otp_backup_codes_regenerate(user=otp_verified(reviewer))
    _token, raw = token_create(actor=reviewer, name="脚本")
    web_as(security_admin)
    page = client.get("/security/two-factor/?q=review").content.decode()
    assert "<code>reviewer</code>" in page and "已启用" in page and "<code>secadmin</code>" not in page
    assert 'href="/security/two-factor/"' in client.get("/security/").content.decode()

    done = client.post("/security/two-factor/", {"user": reviewer.pk, "q": "review"}, HTTP_USER_AGENT=UA)
    assert (done.status_code, done["Location"]) == (302, "/security/two-factor/?q=review")
    assert not TOTPDevice.objects.filter(user=reviewer).exists()
    assert not StaticToken.objects.filter(device__user=reviewer).exists()
    assert PersonalToken.objects.get(user=reviewer).revoked_at is not None
    assert APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {raw}").status_code == 401
    (event,) = audit_log("portal.auth.otp_reset")
    assert (event.actor, event.object_id, event.data["tokens_revoked"], event.data["devices_removed"],
            event.data["user_agent"]) == (security_admin, str(reviewer.pk), 1, 1, UA)
    assert "未绑定" in client.get("/security/two-factor/?q=reviewer").content.decode()

    other = type(client)()
    assert password_step(other, "reviewer")["Location"].startswith("/account/two-factor/")  # enrols again


def test_the_security_admin_cannot_reset_themselves(web_as, security_admin, audit_log):
    client = web_as(security_admin)
    assert client.post("/security/two-factor/", {"user": security_admin.pk}).status_code == 403
    assert TOTPDevice.objects.filter(user=security_admin).exists()
    assert audit_log("portal.auth.otp_reset") == []


def test_only_the_security_admin_has_the_reset(web_as, client, reviewer, system_admin, staff, security_admin):
    device_for(staff)
    for user in (reviewer, system_admin, make_user(Role.AUDIT_ADMIN, username="auditor"), staff):
        web_as(user)
        assert client.get("/security/two-factor/").status_code == 404
        assert client.post("/security/two-factor/", {"user": staff.pk}).status_code == 404
    assert TOTPDevice.objects.filter(user=staff).exists()
    with pytest.raises(PermissionDenied):
        twofactor.otp_reset(actor=system_admin, user_id=staff.pk)


@pytest.mark.parametrize("bad", ["\x00", "１２", "9" * 30, "", "abc"])
def test_a_bad_user_id_is_not_found(web_as, security_admin, bad):
    assert web_as(security_admin).post("/security/two-factor/", {"user": bad}).status_code == 404


def test_the_list_is_searchable_and_paged(web_as, security_admin):
    for i in range(55):
        make_user(Role.DEPT_STAFF, username=f"pager{i:02d}")
    client = web_as(security_admin)
    first = client.get("/security/two-factor/?q=pager").content.decode()
    assert first.count("<code>pager") == 50 and "1 / 2" in first
    second = client.get("/security/two-factor/?q=pager&page=2").content.decode()
    assert second.count("<code>pager") == 5
    refused = client.get("/security/two-factor/?q=%00")
    assert refused.status_code == 200 and "搜索词无效" in refused.content.decode()


def test_enrol_service_refuses_a_second_enrolment(reviewer):
    device_for(reviewer)
    key = twofactor.new_enrolment_key()
    with pytest.raises(PortalError) as refused:
        twofactor.otp_enrol(user=reviewer, key=key, code=code_for(key))
    assert refused.value.code == "otp_already_enrolled"
