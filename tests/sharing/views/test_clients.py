"""The API client pages' source networks (R28): set at registration, shown on the list, edited by the security admin."""

import pytest
from django.urls import reverse

from portal.choices import Role
from sharing.models import ApiClient
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_registration_needs_valid_networks(web_as, security_admin, other_dept):
    page = web_as(security_admin)
    url = reverse("sharing:client-list")
    form = {"department": other_dept.pk, "name": "民政系统", "rate_per_minute": 600, "contact": ""}
    response = page.post(url, {**form, "allowed_networks": ""})
    assert response.status_code == 200 and not ApiClient.objects.exists()
    assert "该字段是必填项" in response.content.decode()
    response = page.post(url, {**form, "allowed_networks": "10.0.0.0/33\n<script>x</script>"})
    html = response.content.decode()
    assert response.status_code == 200 and not ApiClient.objects.exists()
    assert "“10.0.0.0/33”不是有效的 IP 地址或网段" in html and "<script>x" not in html
    response = page.post(url, {**form, "allowed_networks": "10.1.2.3/24\n2001:db8::/48"})
    assert response.status_code == 200
    client = ApiClient.objects.get()
    assert client.allowed_networks == ["10.1.2.0/24", "2001:db8::/48"] and client.any_network is False
    html = page.get(url).content.decode()
    assert "10.1.2.0/24" in html and "2001:db8::/48" in html


def test_security_admin_edits_networks(web_as, security_admin, api_client_row, audit_log):
    client, _secret = api_client_row
    page = web_as(security_admin)
    url = reverse("sharing:client-networks", args=[client.pk])
    assert "127.0.0.0/8" in page.get(url).content.decode()
    bad = page.post(url, {"allowed_networks": "10.0.0.1/99"})
    assert bad.status_code == 200 and "不是有效的 IP 地址或网段" in bad.content.decode()
    assert page.post(url, {"allowed_networks": ""}).status_code == 200
    client.refresh_from_db()
    assert client.allowed_networks == ["127.0.0.0/8", "::1/128"] and not audit_log("sharing.client.networks_set")
    response = page.post(url, {"allowed_networks": "172.16.5.0/24"})
    assert response.status_code == 302 and response["Location"] == reverse("sharing:client-list")
    client.refresh_from_db()
    assert client.allowed_networks == ["172.16.5.0/24"]
    [event] = audit_log("sharing.client.networks_set")
    assert event.actor == security_admin and event.data["before"]["networks"] == ["127.0.0.0/8", "::1/128"]
    assert event.data["after"]["networks"] == ["172.16.5.0/24"]


def test_pre_existing_client_is_flagged_on_the_list(web_as, security_admin, api_client_row):
    client, _secret = api_client_row
    ApiClient.objects.filter(pk=client.pk).update(allowed_networks=[], any_network=True)
    html = web_as(security_admin).get(reverse("sharing:client-list")).content.decode()
    assert "不限（升级前登记，请尽快设置）" in html


@pytest.mark.parametrize("role", [r for r in Role if r != Role.SECURITY_ADMIN])
def test_only_the_security_admin_sees_the_networks_page(client, role, api_client_row, bureau):
    from tests.support import sign_in

    api_row, _secret = api_client_row
    url = reverse("sharing:client-networks", args=[api_row.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login page
    sign_in(client, make_user(role, department=bureau, username=f"u_{role}"))
    assert client.get(url).status_code == 404
    assert client.post(url, {"allowed_networks": "0.0.0.0/0"}).status_code == 404
    api_row.refresh_from_db()
    assert api_row.allowed_networks == ["127.0.0.0/8", "::1/128"]


def test_unknown_client_is_404(web_as, security_admin):
    assert web_as(security_admin).get(reverse("sharing:client-networks", args=[999999])).status_code == 404
