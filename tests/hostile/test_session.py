"""Session fixation on the password login, and logout: a session id known before the login (planted by an attacker)
is not the one the signed-in person gets and authenticates nobody afterwards; logging out ends the session on the
server, so a copied cookie is worthless. This test drives the login form itself (what tests.support.sign_in stands in
for elsewhere)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

COOKIE = settings.SESSION_COOKIE_NAME


def with_cookie(session_key: str) -> Client:
    """Another browser presenting `session_key` (the attacker's copy)."""
    other = Client()
    other.cookies[COOKIE] = session_key
    return other


def signed_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200


def test_the_login_issues_a_new_session_and_the_planted_one_authenticates_nobody(staff):
    victim = Client()
    planted = victim.session  # a session the attacker made the victim's browser carry
    planted["lang"] = "zh-hans"
    planted.save()
    planted_key = planted.session_key
    victim.cookies[COOKIE] = planted_key
    assert not signed_in(with_cookie(planted_key))

    response = victim.post("/login/", {"username": staff.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    new_key = victim.cookies[COOKIE].value
    assert new_key and new_key != planted_key
    assert signed_in(victim)
    assert not Session.objects.filter(session_key=planted_key).exists()
    assert not signed_in(with_cookie(planted_key))


def test_logout_ends_the_session_on_the_server(staff):
    browser = Client()
    assert browser.post("/login/", {"username": staff.username, "password": PASSWORD}).status_code == 302
    key = browser.cookies[COOKIE].value
    copy = with_cookie(key)
    assert signed_in(copy)  # the copied cookie works while the session lives …

    assert browser.post("/logout/").status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert not signed_in(copy)  # … and not after the logout
    assert not signed_in(browser)


def test_logout_is_a_post(staff):
    browser = Client()
    browser.post("/login/", {"username": staff.username, "password": PASSWORD})
    assert browser.get("/logout/").status_code == 405  # a link or an <img> on another site cannot log anyone out
    assert signed_in(browser)
