"""Signed calls of API clients (SPEC §9.1, R28.1): HMAC-SHA256 over the request, timestamp window, nonces.

    X-Client-Id   the client id
    X-Timestamp   Unix seconds, within ±300 s of server time
    X-Nonce       16–64 characters [A-Za-z0-9_-], never seen within 600 s (Redis SET NX EX)
    X-Signature   lowercase hex HMAC-SHA256(secret, canonical_request(...))

canonical_request = METHOD "\\n" PATH "\\n" SORTED_QUERY "\\n" TIMESTAMP "\\n" NONCE "\\n" hex(SHA-256(body))

PATH is the URL path, percent-decoded (e.g. "/api/v1/catalog/entries/"). SORTED_QUERY is the query's
(name, value) pairs, decoded, sorted by name then value, each percent-encoded per RFC 3986 (unreserved
characters kept, space as %20) and joined as "name=value&…"; empty when there is no query.

The check runs before anything else of the request (first in DEFAULT_AUTHENTICATION_CLASSES) and only
when X-Client-Id is present, so staff sessions and personal tokens are untouched. Every refusal answers a
stable code (`not_authenticated`, `signature_invalid`, `replayed`, `client_suspended`, `throttled`) and
writes an audit event; the secret never leaves this module in clear.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import re
import time
from urllib.parse import parse_qsl, quote, unquote

from django.apps import apps
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, throttling

from portal import audit
from portal.choices import AuditResult
from portal.errors import PortalError

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 300
NONCE_TTL_SECONDS = 600
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SIGNATURE_RE = re.compile(r"^[0-9a-f]{64}$")
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()


# ---------------------------------------------------------------- the scheme (shared with clients/)


def sorted_query(query_string: str) -> str:
    pairs = parse_qsl(query_string or "", keep_blank_values=True)
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs))


def canonical_request(method: str, path: str, query_string: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join(
        [method.upper(), path, sorted_query(query_string), timestamp, nonce, hashlib.sha256(body or b"").hexdigest()]
    )


def sign(secret: str, method: str, path: str, query_string: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = canonical_request(method, path, query_string, timestamp, nonce, body)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def purpose_of(request) -> str:
    """The caller's X-Purpose in words: percent-encoded UTF-8 (our client) or raw UTF-8 bytes (curl) both work.

    WSGI hands header bytes over decoded as Latin-1; raw UTF-8 is recovered from that.
    """
    raw = request.META.get("HTTP_X_PURPOSE", "")
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        raw = raw.encode("latin-1").decode("utf-8")
    return unquote(raw).strip()[:200]


# ---------------------------------------------------------------- errors


class ClientAuthError(PortalError, exceptions.AuthenticationFailed):
    """A refused signed call; a PortalError so the API handler answers its exact code and status.

    Also an AuthenticationFailed so DRF treats it as an authentication failure (unauthenticated request).
    """

    code = "not_authenticated"
    status = 401
    status_code = 401
    default_detail = _("身份认证失败")


class NotAuthenticated(ClientAuthError):
    code = "not_authenticated"
    default_detail = _("身份认证失败：缺少或错误的认证信息")


class SignatureInvalid(ClientAuthError):
    code = "signature_invalid"
    default_detail = _("签名无效")


class Replayed(ClientAuthError):
    code = "replayed"
    default_detail = _("请求重放：该随机串已使用过")


class Unavailable(PortalError):
    """The replay guard (Redis) cannot be reached: refuse rather than accept a call that might be a replay."""

    code = "unavailable"
    status = 503
    default_detail = _("服务暂不可用，请稍后重试")


class ClientSuspended(ClientAuthError):
    code = "client_suspended"
    status = 403
    status_code = 403
    default_detail = _("接入系统已停用")


# ---------------------------------------------------------------- the principal


class ClientPrincipal:
    """`request.user` of a signed call: authenticated, no roles, acting for its department."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    role_set: frozenset[str] = frozenset()
    pk = None
    id = None

    def __init__(self, api_client):
        self.api_client = api_client
        self.department = api_client.department
        self.department_id = api_client.department_id
        self.username = f"client:{api_client.client_id}"
        self.full_name = api_client.name

    def has_role(self, *roles: str) -> bool:
        return False

    def get_username(self) -> str:
        return self.username

    @property
    def region(self):
        return self.department.region

    @property
    def audit_kwargs(self) -> dict:
        """What `portal.audit.record` needs for a call of this client (it has no User row)."""
        return {"actor": None, "actor_label": self.username, "department": self.department}

    def __str__(self) -> str:
        return self.username


def audit_actor(user) -> dict:
    """`actor=…` keyword arguments of audit.record for a person or a client principal."""
    if isinstance(user, ClientPrincipal):
        return user.audit_kwargs
    return {"actor": user}


# ---------------------------------------------------------------- authentication


def _refuse(error: type[ClientAuthError], *, client_id: str, request, reason: str, department=None, detail=None):
    audit.record(
        actor=None,
        actor_label=f"client:{client_id}"[:150] if client_id else "client:?",
        action="security.signature.refused",
        department=department,
        result=AuditResult.DENIED,
        object_type="sharing.apiclient",
        object_id=client_id[:40],
        data={"code": error.code, "reason": reason, "method": request.method, "path": request.path[:300]},
    )
    return error(detail) if detail else error()


class ClientSignatureAuthentication(authentication.BaseAuthentication):
    """DRF authentication of API clients by HMAC signature (SPEC §9.1); None when X-Client-Id is absent."""

    def authenticate(self, request):
        meta = request.META
        client_id = meta.get("HTTP_X_CLIENT_ID")
        if client_id is None:
            return None
        client_id = client_id.strip()
        timestamp = meta.get("HTTP_X_TIMESTAMP", "").strip()
        nonce = meta.get("HTTP_X_NONCE", "").strip()
        signature = meta.get("HTTP_X_SIGNATURE", "").strip().lower()
        if not CLIENT_ID_RE.match(client_id):
            raise _refuse(NotAuthenticated, client_id="?", request=request, reason="client_id_malformed")
        if not (timestamp and nonce and signature):
            raise _refuse(NotAuthenticated, client_id=client_id, request=request, reason="headers_missing",
                          detail=_("缺少签名请求头：X-Timestamp、X-Nonce、X-Signature"))
        ApiClient = apps.get_model("sharing", "ApiClient")
        client = ApiClient.objects.select_related("department__region").filter(client_id=client_id).first()
        if client is None:
            raise _refuse(NotAuthenticated, client_id=client_id, request=request, reason="unknown_client")
        if not NONCE_RE.match(nonce):
            raise _refuse(SignatureInvalid, client_id=client_id, request=request, reason="nonce_malformed",
                          department=client.department, detail=_("X-Nonce 须为 16–64 位字母、数字、-、_"))
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            skew = None
        if skew is None or skew > WINDOW_SECONDS:
            raise _refuse(SignatureInvalid, client_id=client_id, request=request, reason="timestamp_skew",
                          department=client.department,
                          detail=_("X-Timestamp 与服务器时间相差超过 300 秒，请校准时钟"))
        from security import crypto

        expected = sign(crypto.decrypt(client.secret_enc), request.method, request.path,
                        meta.get("QUERY_STRING", ""), timestamp, nonce, request.body)
        if not SIGNATURE_RE.match(signature) or not hmac.compare_digest(expected, signature):
            raise _refuse(SignatureInvalid, client_id=client_id, request=request, reason="signature_mismatch",
                          department=client.department)
        if not client.is_active or not client.department.is_active:
            raise _refuse(ClientSuspended, client_id=client_id, request=request, reason="suspended",
                          department=client.department)
        # Only a correctly signed call spends its nonce, so nobody can burn another client's nonces.
        try:
            fresh = cache.add(f"sharing:nonce:{client_id}:{nonce}", 1, timeout=NONCE_TTL_SECONDS)
        except Exception as exc:  # any cache failure: fail closed, and say so
            logger.exception("nonce store unavailable")
            raise Unavailable() from exc
        if not fresh:
            raise _refuse(Replayed, client_id=client_id, request=request, reason="nonce_seen",
                          department=client.department)
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at > dt.timedelta(minutes=1):
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        return ClientPrincipal(client), client

    def authenticate_header(self, request):
        return 'HMAC-SHA256 realm="api", headers="X-Client-Id X-Timestamp X-Nonce X-Signature"'


class ClientSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "security.signing.ClientSignatureAuthentication"
    name = "clientSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Signature",
            "description": (
                "接入系统签名：X-Client-Id、X-Timestamp（Unix 秒，±300 秒）、X-Nonce（16–64 位）、"
                "X-Signature = hex(HMAC-SHA256(secret, METHOD\\nPATH\\nSORTED_QUERY\\nTIMESTAMP\\nNONCE\\n"
                "hex(SHA-256(body))))"
            ),
        }


# ---------------------------------------------------------------- throttling


class ClientRateThrottle(throttling.SimpleRateThrottle):
    """Per-client calls per minute from the client's own row (`rate_per_minute`), counted in Redis.

    Applies to signed calls only; staff sessions and personal tokens pass (None cache key).
    """

    scope = "api_client"

    def __init__(self):  # the rate is per client, known only once the request is authenticated
        self.history = []

    def allow_request(self, request, view):
        principal = getattr(request, "user", None)
        if not isinstance(principal, ClientPrincipal):
            return True
        self.num_requests, self.duration = principal.api_client.rate_per_minute, 60
        self.rate = f"{self.num_requests}/m"
        self.key = self.cache_format % {"scope": self.scope, "ident": principal.api_client.client_id}
        try:
            self.history = self.cache.get(self.key, [])
        except Exception:  # a throttle must not take the API down with Redis: fail open
            logger.exception("throttle store unavailable")
            return True
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            self._record_refusal(request, principal)
            return self.throttle_failure()
        try:
            return self.throttle_success()
        except Exception:
            logger.exception("throttle store unavailable")
            return True

    def get_cache_key(self, request, view):  # pragma: no cover — allow_request computes the key itself
        principal = getattr(request, "user", None)
        if isinstance(principal, ClientPrincipal):
            return self.cache_format % {"scope": self.scope, "ident": principal.api_client.client_id}
        return None

    def _record_refusal(self, request, principal: ClientPrincipal) -> None:
        # One audit event per client per minute is evidence enough; a runaway loop must not flood the trail.
        if cache.add(f"sharing:throttle-audit:{principal.api_client.client_id}", 1, timeout=60):
            audit.record(
                **principal.audit_kwargs,
                action="security.signature.throttled",
                result=AuditResult.DENIED,
                object_type="sharing.apiclient",
                object_id=principal.api_client.client_id,
                data={"code": "throttled", "rate_per_minute": self.num_requests, "path": request.path[:300]},
            )
