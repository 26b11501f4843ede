"""DRF authentication of signed calls (SPEC §9.1): the check of a call's headers, signature, client and nonce.

The check runs before anything else of the request (first in DEFAULT_AUTHENTICATION_CLASSES) and only
when X-Client-Id is present, so staff sessions and personal tokens are untouched. Every refusal answers a
stable code (`not_authenticated`, `signature_invalid`, `ip_not_allowed`, `replayed`, `client_suspended`,
`throttled`) and writes an audit event; the secret never leaves security.signing in clear.

The source address is checked against the client's allowed networks (R28) right after the signature: a caller
without the secret learns nothing about a client's networks (from any address it gets the same answers as before),
and a stolen secret used from elsewhere is refused 403 `ip_not_allowed` and audited. The address is the one the
audit trail records (portal.middleware.client_ip: X-Real-IP only from a trusted proxy).

Cost of a correctly signed call: one Redis command (store.spend: nonce SET NX, the client's rate counter, the
client-cache generation) and no database query while the process's copy of the client row is valid — see
clients._KnownClient for when it is re-read: on the next call after any API client or Department is saved (suspend,
resume, rotate, …), and at the latest CLIENT_CACHE_SECONDS (5 s) after a change that bypassed the ORM.
"""

from __future__ import annotations

import time

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication

from portal import audit, context
from portal.choices import AuditResult
from portal.validators import safe_text
from security.signing import clients, store
from security.signing.errors import (
    ClientAuthError,
    ClientSuspended,
    IpNotAllowed,
    NotAuthenticated,
    Replayed,
    SignatureInvalid,
)
from security.signing.principal import ClientPrincipal
from security.signing.scheme import CLIENT_ID_RE, NONCE_RE, WINDOW_SECONDS
from security.signing.throttling import ClientRateThrottle


def _refuse(error: type[ClientAuthError], *, client_id: str, request, reason: str, department=None, detail=None):
    audit.record(
        actor=None,
        actor_label=f"client:{client_id}"[:150] if client_id else "client:?",
        action="security.signature.refused",
        department=department,
        result=AuditResult.DENIED,
        object_type=clients.client_object_type(),
        object_id=client_id[:40],
        data={"code": error.code, "reason": reason, "method": request.method, "path": safe_text(request.path, 300)},
    )
    return error(detail) if detail else error()


def _source_address(request) -> str | None:
    """The call's source address as its audit events record it (bound by RequestContextMiddleware)."""
    ip = context.current().ip
    if ip is None:
        from portal.middleware import client_ip

        ip = client_ip(request)
    return ip


def _counts_calls(request) -> bool:
    """Whether the view throttles signed calls (ClientRateThrottle): only then does the call count against the rate."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    classes = getattr(view, "throttle_classes", None)
    if classes is None:
        return True
    return any(isinstance(c, type) and issubclass(c, ClientRateThrottle) for c in classes)


class ClientSignatureAuthentication(authentication.BaseAuthentication):
    """DRF authentication of API clients by HMAC signature (SPEC §9.1); None when X-Client-Id is absent.

    Cost of a correctly signed call: no database query while the process's copy of the client row is valid
    (clients._KnownClient), and one Redis round trip for nonce, rate counter and client generation (store.spend).
    """

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
        known, fresh = clients.known_client(client_id)
        if known is None:
            raise _refuse(NotAuthenticated, client_id=client_id, request=request, reason="unknown_client")
        department = known.client.department
        if not NONCE_RE.match(nonce):
            raise _refuse(SignatureInvalid, client_id=client_id, request=request, reason="nonce_malformed",
                          department=department, detail=_("X-Nonce 须为 16–64 位字母、数字、-、_"))
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            skew = None
        if skew is None or skew > WINDOW_SECONDS:
            raise _refuse(SignatureInvalid, client_id=client_id, request=request, reason="timestamp_skew",
                          department=department,
                          detail=_("X-Timestamp 与服务器时间相差超过 300 秒，请校准时钟"))
        signed = known.signed(request, timestamp, nonce, signature)
        address = _source_address(request)
        if not (signed and known.active and known.allows(address)) and not fresh:
            # A copy refuses nothing on its own: the row as it is now does (so a new secret or a resumed client is
            # accepted at once by every process, not after CLIENT_CACHE_SECONDS).
            known = clients.load_client(client_id, clients.current_generation())
            if known is None:
                raise _refuse(NotAuthenticated, client_id=client_id, request=request, reason="unknown_client")
            department = known.client.department
            signed = known.signed(request, timestamp, nonce, signature)
        if not signed:
            raise _refuse(SignatureInvalid, client_id=client_id, request=request, reason="signature_mismatch",
                          department=department)
        if not known.allows(address):
            raise _refuse(IpNotAllowed, client_id=client_id, request=request, reason="ip_not_allowed",
                          department=department)
        if not known.active:
            raise _refuse(ClientSuspended, client_id=client_id, request=request, reason="suspended",
                          department=department)
        # Only a correctly signed call spends its nonce, so nobody can burn another client's nonces.
        spent = store.spend(client_id, nonce, count=_counts_calls(request))
        if spent.generation != known.generation:
            # A client or department changed since this copy was read: judge the call on the row as it is now.
            known = clients.load_client(client_id, spent.generation)
            refusal = None
            if known is None:
                refusal = (NotAuthenticated, "unknown_client", None)
            elif not known.signed(request, timestamp, nonce, signature):
                refusal = (SignatureInvalid, "signature_mismatch", known.client.department)
            elif not known.allows(address):
                refusal = (IpNotAllowed, "ip_not_allowed", known.client.department)
            elif not known.active:
                refusal = (ClientSuspended, "suspended", known.client.department)
            if refusal is not None:
                store.uncount(client_id, spent.rate)
                error, reason, department = refusal
                raise _refuse(error, client_id=client_id, request=request, reason=reason, department=department)
        if not spent.fresh:
            store.uncount(client_id, spent.rate)
            raise _refuse(Replayed, client_id=client_id, request=request, reason="nonce_seen",
                          department=known.client.department)
        known.touch()
        principal = ClientPrincipal(known.client)
        principal.rate = spent.rate
        return principal, known.client

    def authenticate_header(self, request):
        return 'HMAC-SHA256 realm="api", headers="X-Client-Id X-Timestamp X-Nonce X-Signature"'
