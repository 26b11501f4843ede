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


class PasswordExpiryMiddleware:
    """A signed-in administrator or bureau user whose password is older than PORTAL["PASSWORD_MAX_AGE_DAYS"] may
    only change it (or sign out): pages redirect to the change page, API calls answer 403 `password_expired`."""

    _OPEN_URL_NAMES = ("password-change", "logout")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.user.is_authenticated:  # signed API clients and visitors (the hot path): nothing to look up
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
