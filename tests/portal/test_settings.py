"""The settings registry: owner roles, validation, audit (before/after), the cached read and what reads it
(password age, dormant accounts, idle sessions, the notice and contact on the pages)."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from portal.choices import Role
from portal.errors import PermissionDenied, PortalError
from portal.middleware import SessionIdleMiddleware
from portal.models import Setting
from portal.services import settings as portal_settings
from portal.services.auth import disable_inactive_accounts
from portal.services.passwords import password_expired
from portal.services.settings import settings_update, value
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_defaults_until_changed(db):
    assert (value("otp_required_for_all"), value("password_max_age_days"), value("inactive_disable_days"),
            value("session_idle_minutes"), value("portal_notice")) == (False, 90, 90, 30, "")
    with pytest.raises(KeyError):
        value("no_such_key")


def test_each_key_is_changed_by_its_owner_only(system_admin, security_admin, staff):
    with pytest.raises(PermissionDenied):
        settings_update(actor=system_admin, values={"session_idle_minutes": 15})
    with pytest.raises(PermissionDenied):
        settings_update(actor=security_admin, values={"portal_notice": "维护"})
    with pytest.raises(PermissionDenied):  # one key not the actor's refuses the whole change
        settings_update(actor=security_admin, values={"session_idle_minutes": 15, "ops_contact": "x"})
    with pytest.raises(PermissionDenied):
        settings_update(actor=staff, values={"ops_contact": "x"})
    auditor = make_user(Role.AUDIT_ADMIN, department=system_admin.department)
    with pytest.raises(PermissionDenied):
        settings_update(actor=auditor, values={"otp_required_for_all": True})
    assert not Setting.objects.exists()


@pytest.mark.parametrize(("key", "raw"), [
    ("password_max_age_days", 29), ("password_max_age_days", 91), ("inactive_disable_days", "abc"),
    ("session_idle_minutes", 4), ("session_idle_minutes", 121), ("session_idle_minutes", "３０"),
    ("session_idle_minutes", "³⁰"), ("session_idle_minutes", True), ("otp_required_for_all", "maybe"),
])
def test_security_values_are_validated(security_admin, key, raw):
    with pytest.raises(PortalError) as err:
        settings_update(actor=security_admin, values={key: raw})
    assert err.value.code == "invalid" and key in err.value.errors
    assert not Setting.objects.exists()


@pytest.mark.parametrize("raw", ["维护\x00公告", "x" * 501, 12])
def test_text_values_are_validated(system_admin, raw):
    with pytest.raises(PortalError) as err:
        settings_update(actor=system_admin, values={"portal_notice": raw})
    assert "portal_notice" in err.value.errors


def test_unknown_keys_are_refused(security_admin):
    with pytest.raises(PortalError) as err:
        settings_update(actor=security_admin, values={"debug": True})
    assert err.value.code == "invalid"


def test_a_change_is_audited_with_before_and_after(security_admin, audit_log):
    assert settings_update(actor=security_admin, values={"session_idle_minutes": "15",
                                                         "password_max_age_days": 90}) == ["session_idle_minutes"]
    assert settings_update(actor=security_admin, values={"session_idle_minutes": 20}) == ["session_idle_minutes"]
    assert settings_update(actor=security_admin, values={"session_idle_minutes": 20}) == []  # no change, no event
    events = audit_log("portal.setting.updated")
    assert [(e.actor, e.object_id, e.data) for e in events] == [
        (security_admin, "session_idle_minutes", {"key": "session_idle_minutes", "before": 30, "after": 15}),
        (security_admin, "session_idle_minutes", {"key": "session_idle_minutes", "before": 15, "after": 20}),
    ]
    assert Setting.objects.get(key="session_idle_minutes").updated_by == security_admin


def test_the_read_is_cached_and_a_change_invalidates_it(security_admin, django_assert_num_queries):
    value("session_idle_minutes")
    with django_assert_num_queries(0):  # from the cache, not the table
        assert value("session_idle_minutes") == 30 and value("password_max_age_days") == 90
    settings_update(actor=security_admin, values={"session_idle_minutes": 45})
    assert value("session_idle_minutes") == 45
    Setting.objects.filter(key="session_idle_minutes").update(value=50)  # behind the service's back
    assert value("session_idle_minutes") == 45  # the cache answers until the next change
    from django.core.cache import cache

    cache.delete(portal_settings.CACHE_KEY)
    assert value("session_idle_minutes") == 50


def test_a_stored_value_out_of_range_reads_as_the_default(db):
    Setting.objects.create(key="session_idle_minutes", value=1000)
    assert value("session_idle_minutes") == 30


def test_password_age_follows_the_setting(security_admin, reviewer):
    later = timezone.now() + dt.timedelta(days=45)
    assert not password_expired(reviewer, now=later)
    settings_update(actor=security_admin, values={"password_max_age_days": 30})
    assert password_expired(reviewer, now=later)


def test_dormant_accounts_follow_the_setting(security_admin, staff, audit_log):
    staff.last_login = timezone.now() - dt.timedelta(days=40)
    staff.save(update_fields=["last_login"])
    assert disable_inactive_accounts() == 0
    settings_update(actor=security_admin, values={"inactive_disable_days": 30})
    assert disable_inactive_accounts() == 1
    staff.refresh_from_db()
    assert not staff.is_active
    assert audit_log("portal.auth.disabled_inactive")[0].data["inactive_days"] == 30


def _idle(client, minutes: int) -> None:
    session = client.session
    session[SessionIdleMiddleware.SESSION_KEY] = int(time.time()) - minutes * 60
    session.save()


def test_an_idle_session_ends_on_the_login_page_saying_so(web_as, staff, audit_log):
    client = web_as(staff)
    assert client.get("/notifications/").status_code == 200
    _idle(client, 29)
    assert client.get("/notifications/").status_code == 200  # activity slides the window
    _idle(client, 31)
    response = client.get("/notifications/", follow=True)
    assert response.redirect_chain[0][0].startswith("/login/?next=/notifications/")
    assert "30 分钟未操作" in response.content.decode()
    assert client.get("/notifications/").status_code == 302  # signed out for good
    (event,) = audit_log("portal.auth.logout")
    assert event.actor == staff and event.data["reason"] == "idle_timeout"


def test_the_idle_limit_is_the_security_administrators_setting(web_as, security_admin, staff):
    settings_update(actor=security_admin, values={"session_idle_minutes": 60})
    client = web_as(staff)
    client.get("/")
    _idle(client, 45)
    assert client.get("/notifications/").status_code == 200
    settings_update(actor=security_admin, values={"session_idle_minutes": 5})
    _idle(client, 6)
    assert client.get("/notifications/").status_code == 302


def test_an_idle_session_on_the_api_answers_as_signed_out_and_signed_calls_pass(api_as, staff, signed_get):
    client = api_as(staff)
    assert client.get("/api/v1/me/").status_code == 200
    _idle(client, 31)
    response = client.get("/api/v1/me/")
    assert response.status_code in (401, 403) and response.json()["code"] == "not_authenticated"
    assert signed_get().status_code == 200  # a signed call has no session to expire


def test_the_notice_and_the_contact_show_on_the_pages(system_admin, web_as, client, staff):
    settings_update(actor=system_admin, values={"portal_notice": "今晚 22:00 起系统维护", "ops_contact": "0391-8888"})
    login = client.get("/login/").content.decode()
    assert "今晚 22:00 起系统维护" in login and "0391-8888" in login
    page = web_as(staff).get("/").content.decode()
    assert "今晚 22:00 起系统维护" in page and 'data-testid="ops-contact"' in page


# The leak monitor's thresholds on the same page (R28.4), posted as the form shows them.
LEAK_DEFAULTS = {"leak_volume_factor": 10, "leak_enumeration_run": 10, "leak_offhours_rows": 5000,
                 "leak_shared_subject_callers": 5}


def test_the_settings_pages_save_through_the_service(web_as, security_admin, system_admin, audit_log):
    page = web_as(security_admin).get("/security/settings/").content.decode()
    assert "会话空闲超时（分钟）" in page and "门户公告" not in page
    response = web_as(security_admin).post("/security/settings/", {
        "otp_required_for_all": "on", "password_max_age_days": 90, "inactive_disable_days": 90,
        "session_idle_minutes": 200, **LEAK_DEFAULTS,
    })
    assert response.status_code == 200 and "120" in response.content.decode()
    assert not audit_log("portal.setting.updated")
    response = web_as(security_admin).post("/security/settings/", {
        "otp_required_for_all": "on", "password_max_age_days": 90, "inactive_disable_days": 90,
        "session_idle_minutes": 30, **LEAK_DEFAULTS,
    })
    assert response.status_code == 302 and value("otp_required_for_all") is True
    assert [e.data["key"] for e in audit_log("portal.setting.updated")] == ["otp_required_for_all"]
    page = web_as(system_admin).get("/settings/").content.decode()
    assert "门户公告" in page and "会话空闲超时" not in page
