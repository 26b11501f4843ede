"""Binds the request's client IP and request id for the audit trail and echoes the id to the client."""

from __future__ import annotations

import functools
import ipaddress
import re

from portal import context

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@functools.lru_cache(maxsize=4)
def _proxies(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _address(text: str | None) -> str | None:
    """`text` as an IP address (its canonical form), or None: the audit column is inet, the allow-lists match it."""
    try:
        return str(ipaddress.ip_address((text or "").strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The request's source address, as the audit trail records it and API-client allow-lists check it.

    Behind the reverse proxy of production REMOTE_ADDR is the proxy, which sets X-Real-IP. The header is believed only
    when the connection comes from a proxy named in PORTAL["TRUSTED_PROXIES"]: anyone else could write any address
    into it (and so pass an allow-list, or lock another address out)."""
    from django.conf import settings

    remote = _address(request.META.get("REMOTE_ADDR"))
    forwarded = request.META.get("HTTP_X_REAL_IP")
    if forwarded and remote:
        trusted = _proxies(tuple(settings.PORTAL.get("TRUSTED_PROXIES", ())))
        ip = ipaddress.ip_address(remote)
        if any(ip in net for net in trusted if net.version == ip.version):
            return _address(forwarded) or remote
    return remote


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if _REQUEST_ID_RE.match(offered) else context.new_request_id()
        request.request_id = request_id
        token = context.bind(context.RequestContext(ip=client_ip(request), request_id=request_id))
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-Id"] = request_id
        return response


class LanguageMiddleware:
    """Simplified Chinese unless the user picked another language with the switch (its cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language; a government portal
    speaks Chinese first whatever the browser says (SPEC: zh-hans first, English second).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.utils import translation

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


class TwoFactorMiddleware:
    """A signed-in session that still owes its second factor (portal.services.twofactor.otp_pending) reaches only
    the verify page (the enrolment page when the user has no device yet), logout, static files and the language
    switch: other pages redirect there, API calls answer 403 `otp_required`. Runs before PasswordExpiryMiddleware:
    the second factor first, then the forced password change."""

    _OPEN_URL_NAMES = ("otp-verify", "otp-enrol", "logout", "set_language")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.user.is_authenticated:  # signed API clients, personal tokens and visitors: nothing to do here
            return self.get_response(request)

        from django.conf import settings
        from django.http import JsonResponse
        from django.shortcuts import redirect
        from django.urls import reverse
        from django.utils.http import urlencode

        from portal.services.twofactor import OTP_REQUIRED, has_confirmed_device, otp_pending

        if not otp_pending(request.user):
            return self.get_response(request)
        request.otp_pending = True  # PasswordExpiryMiddleware leaves these requests to this one
        path = request.path_info
        if path in {reverse(name) for name in self._OPEN_URL_NAMES} or path.startswith(settings.STATIC_URL):
            return self.get_response(request)
        if path.startswith("/api/"):
            return JsonResponse({"code": "otp_required", "detail": str(OTP_REQUIRED)}, status=403)
        target = reverse("otp-verify" if has_confirmed_device(request.user) else "otp-enrol")
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        response = redirect(target)
        if request.headers.get("HX-Request"):  # an htmx fragment request: send the whole page there
            response["HX-Redirect"] = target
        return response


class PasswordExpiryMiddleware:
    """A signed-in administrator or bureau user whose password is older than the setting `password_max_age_days` may
    only change it (or sign out): pages redirect to the change page, API calls answer 403 `password_expired`."""

    _OPEN_URL_NAMES = ("password-change", "logout")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.user.is_authenticated:  # signed API clients and visitors (the hot path): nothing to look up
            return self.get_response(request)
        if getattr(request, "otp_pending", False):  # only the 2FA pages get here: the second factor comes first
            return self.get_response(request)

        from django.conf import settings
        from django.http import JsonResponse
        from django.shortcuts import redirect
        from django.urls import reverse

        from portal.services.passwords import PASSWORD_EXPIRED, password_expired

        path = request.path_info
        open_paths = [reverse(name) for name in self._OPEN_URL_NAMES]
        if path in open_paths or path.startswith(settings.STATIC_URL) or not password_expired(request.user):
            return self.get_response(request)
        if path.startswith("/api/"):
            return JsonResponse(
                {"code": "password_expired", "detail": str(PASSWORD_EXPIRED)}, status=403
            )
        return redirect(f"{open_paths[0]}?expired=1")


class SessionIdleMiddleware:
    """等保 8.1.4.1 b: a signed-in session idle longer than the setting `session_idle_minutes` is ended — the user is
    signed out (audited as a logout for idleness) and a page goes to the login page saying why; an API call made
    with that session answers as for anybody signed out. Signed API calls and personal tokens carry no session and
    pass untouched (nothing is read for them)."""

    SESSION_KEY = "_portal_last_seen"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.user.is_authenticated:
            return self.get_response(request)

        import time

        from portal.services.settings import value as setting_value

        now = int(time.time())
        last_seen = request.session.get(self.SESSION_KEY)
        minutes = setting_value("session_idle_minutes")
        if isinstance(last_seen, int) and now - last_seen > minutes * 60:
            return self._expire(request, minutes)
        request.session[self.SESSION_KEY] = now
        return self.get_response(request)

    def _expire(self, request, minutes: int):
        from django.contrib import messages
        from django.contrib.auth import logout
        from django.contrib.auth.views import redirect_to_login
        from django.http import HttpResponse
        from django.utils.translation import gettext as _

        request.portal_logout_reason = "idle_timeout"  # read by the logout receiver for the audit event
        logout(request)
        if request.path_info.startswith("/api/"):
            return self.get_response(request)
        message = _("您已连续 %(n)d 分钟未操作，为保障账号安全已自动退出，请重新登录。") % {"n": minutes}
        messages.warning(request, message)
        target = request.get_full_path() if request.method == "GET" else "/"
        response = redirect_to_login(target)
        if request.headers.get("HX-Request"):  # htmx would swap the login page into a fragment: reload instead
            response = HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
        return response
