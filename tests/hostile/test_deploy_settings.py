"""Production settings: `check --deploy` answers only what the README justifies; the security headers and cookies as a
browser gets them over HTTPS; the API speaks JSON only (DRF's browsable pages, with their inline code, are for
development)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

from tests.support import sign_in

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# README "Security settings" explains each: HSTS preload is a commitment for the whole domain, the operator's call.
JUSTIFIED = {"security.W021"}
SECURITY = ["SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
            "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_CONTENT_TYPE_NOSNIFF",
            "SECURE_REFERRER_POLICY", "X_FRAME_OPTIONS", "DEBUG"]


def production():
    from config.settings import production as settings

    return settings


def test_check_deploy_reports_only_what_the_readme_justifies():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production", "ALLOWED_HOSTS": "portal.example",
           "SECRET_KEY": "a-long-random-production-like-key-" + "x9Q#" * 12}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    reported = {line.split("(", 1)[1].split(")", 1)[0] for line in result.stderr.splitlines()
                if line.startswith("?: (")}
    assert reported <= JUSTIFIED, result.stderr[-2000:]
    assert "security.W021" in (Path(ROOT) / "README.md").read_text()


def test_production_headers_and_cookies(staff):
    values = {name: getattr(production(), name) for name in SECURITY}
    with override_settings(**values):
        browser = sign_in(Client(), staff)
        response = browser.get("/", secure=True)
        assert response.status_code == 200
        assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]
        login = Client().get("/login/", secure=True)
        cookies = login.cookies
        assert cookies["csrftoken"]["secure"] and cookies["csrftoken"]["samesite"] == "Lax"
        assert response.cookies["sessionid"]["secure"] and response.cookies["sessionid"]["httponly"]
    # HTTP is sent to HTTPS (by default: behind a proxy that redirects itself, SECURE_SSL_REDIRECT=false, README).
    assert values["SECURE_SSL_REDIRECT"] and values["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert not values["DEBUG"]


def test_the_api_answers_json_only(api_as, staff):
    client = api_as(staff)
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/api/v1/me/", HTTP_ACCEPT=browser_accept)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert client.get("/api/v1/me/", {"format": "api"}).status_code == 404
    assert client.get("/api/v1/me/", HTTP_ACCEPT="text/html").status_code == 406
