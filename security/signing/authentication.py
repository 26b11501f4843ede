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

Cost of a correctly signed call: one Redis command (a script: nonce SET NX, the client's rate counter, the
client-cache generation) and no database query while the process's copy of the client row is valid — see
`_KnownClient` for when it is re-read: on the next call after any ApiClient or Department is saved (suspend,
resume, rotate, …), and at the latest CLIENT_CACHE_SECONDS (5 s) after a change that bypassed the ORM.
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
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import signals
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
_NEVER = object()  # a client generation that matches nothing: the row is read again on the next call
_PENDING = object()  # ClientPrincipal.rate when the call's authentication did not count it (the throttle does)


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
    # The call's rate counters as its authentication read them (ClientRateThrottle); see _spend.
    rate = _PENDING

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


# ---------------------------------------------------------------- the call store (one Redis round trip a call)

# A correctly signed call costs ONE Redis round trip (`_spend`): its nonce's SET NX EX, the client's rate counter
# (INCR + EXPIRE of this minute's counter, GET of the previous minute's) and the generation of the client cache, run
# together by one script (_SPEND, below). Keys go through the default cache's key function (the same nonce keys as
# cache.add wrote before), values are plain integers.
RATE_WINDOW_SECONDS = 60
# How long a process trusts its copy of a client row without asking anything (see _KnownClient).
CLIENT_CACHE_SECONDS = 5.0
_CLIENTS_GENERATION = "sharing:clients:generation"
_CLIENTS_MAX = 4096

_redis_client: tuple = ((), None, None)  # (the cache's server URLs, a redis-py client for them, its _SPEND script)

# _spend's round trip as ONE command: a script runs the five steps in Redis (one command to pack and one reply to
# parse instead of a pipeline of five: a third less of the client's CPU per call, measured). KEYS: nonce, client
# generation, this minute's counter, the previous minute's; ARGV: nonce TTL, counter TTL, "1" to count. Reply:
# {1 if the nonce was fresh else 0, generation or nil, calls this minute or nil, calls the minute before or nil} —
# the counter's steps run under pcall, and a counter that fails (say, a key holding something not a number) answers
# nil for both counts, so the throttle fails open while the nonce still fails closed.
_SPEND = """
local fresh = redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) and 1 or 0
local generation = redis.call('GET', KEYS[2])
if ARGV[3] ~= '1' then return {fresh, generation} end
local current = redis.pcall('INCR', KEYS[3])
if type(current) ~= 'number' then return {fresh, generation, false, false} end
redis.pcall('EXPIRE', KEYS[3], ARGV[2])
local previous = redis.pcall('GET', KEYS[4])
if type(previous) == 'table' then return {fresh, generation, false, false} end
return {fresh, generation, current, previous}
"""


def _store():
    """The redis-py client behind the default cache (one per process; thread-safe), or None when it is not Redis.

    Django's own cache methods build a new client object per operation; this one is built once.
    """
    return _store_and_script()[0]


def _store_and_script():
    """(_store(), the _SPEND script registered with it) — (None, None) when the cache is not Redis."""
    global _redis_client
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None, None
    servers, client, script = _redis_client
    if client is None or servers != backend._servers:
        client = backend._cache.get_client(None, write=True)
        script = client.register_script(_SPEND)
        _redis_client = (backend._servers, client, script)
    return client, script


def _nonce_name(client_id: str, nonce: str) -> str:
    return f"sharing:nonce:{client_id}:{nonce}"


def _rate_name(client_id: str, window: int) -> str:
    return f"sharing:rate:{client_id}:{window}"


class _Spent:
    """What the call's round trip answered: nonce fresh?, the client generation, the rate counters."""

    __slots__ = ("fresh", "generation", "rate")

    def __init__(self, fresh: bool, generation, rate):
        self.fresh, self.generation, self.rate = fresh, generation, rate


def _rate_state(current, previous, now: float, window: int):
    """(calls this minute including this one, calls the minute before, seconds into this minute, window) or None."""
    try:
        return int(current), int(previous or 0), now - window * RATE_WINDOW_SECONDS, window
    except (TypeError, ValueError):
        return None


def _spend(client_id: str, nonce: str, *, count: bool) -> _Spent:
    """Spend the nonce (SET NX EX), count the call (when `count`) and read the client generation: one round trip.

    The nonce store failing refuses the call (503 `unavailable`: it might be a replay); the counter failing lets the
    call through (a throttle must not take the API down with Redis), logged either way.
    """
    now = time.time()
    window = int(now // RATE_WINDOW_SECONDS)
    store, script = _store_and_script()
    if store is None:
        return _spend_via_cache_api(client_id, nonce, count=count, now=now, window=window)
    keys = [cache.make_key(_nonce_name(client_id, nonce)), cache.make_key(_CLIENTS_GENERATION),
            cache.make_key(_rate_name(client_id, window)), cache.make_key(_rate_name(client_id, window - 1))]
    try:
        reply = script(keys=keys, args=[NONCE_TTL_SECONDS, 2 * RATE_WINDOW_SECONDS, "1" if count else "0"])
    except Exception as exc:  # any store failure: fail closed, and say so
        logger.exception("nonce store unavailable")
        raise Unavailable() from exc
    fresh, generation = reply[0], reply[1]
    rate = _PENDING
    if count:
        current, previous = reply[2], reply[3]
        rate = None if current is None else _rate_state(current, previous, now, window)
        if rate is None:
            logger.error("throttle store unavailable: the counter of %s did not count", client_id)
    return _Spent(fresh == 1, generation, rate)


def _spend_via_cache_api(client_id: str, nonce: str, *, count: bool, now: float, window: int) -> _Spent:
    """_spend for a cache that is not Redis (several round trips; the project itself always runs on Redis)."""
    try:
        fresh = cache.add(_nonce_name(client_id, nonce), 1, timeout=NONCE_TTL_SECONDS)
    except Exception as exc:
        logger.exception("nonce store unavailable")
        raise Unavailable() from exc
    try:
        generation = cache.get(_CLIENTS_GENERATION)
    except Exception:
        generation = _NEVER
    rate = _PENDING
    if count:
        rate = _count_via_cache_api(client_id, now, window)
    return _Spent(bool(fresh), generation, rate)


def _count_via_cache_api(client_id: str, now: float, window: int):
    name = _rate_name(client_id, window)
    try:
        current = 1 if cache.add(name, 1, timeout=2 * RATE_WINDOW_SECONDS) else cache.incr(name)
        return _rate_state(current, cache.get(_rate_name(client_id, window - 1)), now, window)
    except Exception:
        logger.exception("throttle store unavailable")
        return None


def _count(client_id: str):
    """Count a call whose authentication did not (its own round trip); the rate state, or None (fail open)."""
    now = time.time()
    window = int(now // RATE_WINDOW_SECONDS)
    store = _store()
    if store is None:
        return _count_via_cache_api(client_id, now, window)
    try:
        current = cache.make_key(_rate_name(client_id, window))
        pipe = store.pipeline(transaction=False)
        pipe.incr(current)
        pipe.expire(current, 2 * RATE_WINDOW_SECONDS)
        pipe.get(cache.make_key(_rate_name(client_id, window - 1)))
        counted, _expire, previous = pipe.execute()
    except Exception:
        logger.exception("throttle store unavailable")
        return None
    return _rate_state(counted, previous, now, window)


def _uncount(client_id: str, rate) -> None:
    """Take a refused call off the counter again (refused calls do not use up the client's allowance)."""
    if not isinstance(rate, tuple):
        return
    name = _rate_name(client_id, rate[3])
    try:
        store = _store()
        if store is None:
            cache.decr(name)
        else:
            store.decr(cache.make_key(name))
    except Exception:  # best effort: at worst the refused call counts
        logger.warning("throttle store: could not take back a refused call", exc_info=True)


# ---------------------------------------------------------------- the client cache


class _KnownClient:
    """A process's copy of one client row (with its department and the decrypted secret).

    A call is ACCEPTED on the copy while (a) it is younger than CLIENT_CACHE_SECONDS and (b) the client generation,
    read in the call's one Redis round trip, is still the one the copy was loaded under; otherwise the row is read
    again and the call judged on it. Saving or deleting any ApiClient or Department (suspend, resume, rotate, rate
    change, department deactivated) bumps the generation at once and again after its commit (`clients_changed`),
    so a suspension or a rotation refuses the very next call in every process. A call the copy would REFUSE (bad
    signature, suspended) is judged on the row read again, so a new secret or a resumed client works at once too.
    Bound: a change that bypasses the ORM's signals (raw SQL, queryset.update()) or whose bump is lost (Redis
    down or flushed) is noticed after CLIENT_CACHE_SECONDS (5 s) at most.
    """

    __slots__ = ("active", "client", "expires", "generation", "key", "last_used")

    def __init__(self, client, generation):
        from security import crypto

        self.client = client
        self.key = crypto.decrypt(client.secret_enc).encode()
        self.generation = generation
        self.expires = time.monotonic() + CLIENT_CACHE_SECONDS
        self.last_used = client.last_used_at
        self.active = client.is_active and client.department.is_active

    def signed(self, request, timestamp: str, nonce: str, signature: str) -> bool:
        message = canonical_request(request.method, request.path, request.META.get("QUERY_STRING", ""), timestamp,
                                    nonce, request.body)
        expected = hmac.new(self.key, message.encode(), hashlib.sha256).hexdigest()
        return bool(SIGNATURE_RE.match(signature)) and hmac.compare_digest(expected, signature)

    def touch(self) -> None:
        """Record the call on the row at most once a minute (per process)."""
        now = timezone.now()
        if self.last_used is None or now - self.last_used > dt.timedelta(minutes=1):
            self.last_used = now
            apps.get_model("sharing", "ApiClient").objects.filter(pk=self.client.pk).update(last_used_at=now)


_clients: dict[str, _KnownClient] = {}


def _generation():
    """The client generation now (read before the row, so a change committed in between is noticed)."""
    try:
        store = _store()
        if store is None:
            return cache.get(_CLIENTS_GENERATION)
        return store.get(cache.make_key(_CLIENTS_GENERATION))
    except Exception:  # the call's own round trip will fail closed if the store is really down
        return _NEVER


def _load_client(client_id: str, generation) -> _KnownClient | None:
    ApiClient = apps.get_model("sharing", "ApiClient")
    client = ApiClient.objects.select_related("department__region").filter(client_id=client_id).first()
    if client is None:
        _clients.pop(client_id, None)
        return None
    known = _KnownClient(client, generation)
    if len(_clients) >= _CLIENTS_MAX:
        _clients.clear()
    _clients[client_id] = known
    return known


def _known_client(client_id: str) -> tuple[_KnownClient | None, bool]:
    """(this process's copy of the client, read from the database just now?)."""
    known = _clients.get(client_id)
    if known is not None and known.expires > time.monotonic():
        return known, False
    return _load_client(client_id, _generation()), True


def _bump_generation() -> None:
    try:
        store = _store()
        if store is None:
            try:
                cache.incr(_CLIENTS_GENERATION)
            except ValueError:
                cache.set(_CLIENTS_GENERATION, 1, timeout=None)
        else:
            store.incr(cache.make_key(_CLIENTS_GENERATION))
    except Exception:
        logger.exception("client cache generation not bumped: other processes notice the change after %s s",
                         CLIENT_CACHE_SECONDS)


def _clients_committed() -> None:
    _clients.clear()
    _bump_generation()


def clients_changed(sender=None, using=None, **kwargs) -> None:
    """post_save/post_delete of ApiClient and Department: every process re-reads its client rows on their next call.

    Bumped at once (this process forgets its copies; other processes reload) and again after the commit (a process
    that re-read the row between the save and the commit saw the old row; the second bump makes it read again).
    """
    _clients.clear()
    _bump_generation()
    transaction.on_commit(_clients_committed, using=using or DEFAULT_DB_ALIAS)


for _model in ("sharing.ApiClient", "portal.Department"):
    signals.post_save.connect(clients_changed, sender=_model, dispatch_uid=f"signing.clients.save.{_model}")
    signals.post_delete.connect(clients_changed, sender=_model, dispatch_uid=f"signing.clients.delete.{_model}")


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
    (_KnownClient), and one Redis round trip for nonce, rate counter and client generation (_spend).
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
        known, fresh = _known_client(client_id)
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
        if not (signed and known.active) and not fresh:
            # A copy refuses nothing on its own: the row as it is now does (so a new secret or a resumed client is
            # accepted at once by every process, not after CLIENT_CACHE_SECONDS).
            known = _load_client(client_id, _generation())
            if known is None:
                raise _refuse(NotAuthenticated, client_id=client_id, request=request, reason="unknown_client")
            department = known.client.department
            signed = known.signed(request, timestamp, nonce, signature)
        if not signed:
            raise _refuse(SignatureInvalid, client_id=client_id, request=request, reason="signature_mismatch",
                          department=department)
        if not known.active:
            raise _refuse(ClientSuspended, client_id=client_id, request=request, reason="suspended",
                          department=department)
        # Only a correctly signed call spends its nonce, so nobody can burn another client's nonces.
        spent = _spend(client_id, nonce, count=_counts_calls(request))
        if spent.generation != known.generation:
            # A client or department changed since this copy was read: judge the call on the row as it is now.
            known = _load_client(client_id, spent.generation)
            refusal = None
            if known is None:
                refusal = (NotAuthenticated, "unknown_client", None)
            elif not known.signed(request, timestamp, nonce, signature):
                refusal = (SignatureInvalid, "signature_mismatch", known.client.department)
            elif not known.active:
                refusal = (ClientSuspended, "suspended", known.client.department)
            if refusal is not None:
                _uncount(client_id, spent.rate)
                error, reason, department = refusal
                raise _refuse(error, client_id=client_id, request=request, reason=reason, department=department)
        if not spent.fresh:
            _uncount(client_id, spent.rate)
            raise _refuse(Replayed, client_id=client_id, request=request, reason="nonce_seen",
                          department=known.client.department)
        known.touch()
        principal = ClientPrincipal(known.client)
        principal.rate = spent.rate
        return principal, known.client

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


def _retry_after(accepted: int, previous: int, elapsed: float, limit: int) -> float:
    """Seconds until one more call fits the sliding estimate, if the client makes no other call meanwhile."""
    window = RATE_WINDOW_SECONDS
    room = limit - accepted - 1
    if room >= 0 and previous > 0:  # the previous minute's share has to fade
        return max(0.0, window * (1 - room / previous) - elapsed)
    # this minute is full: after it, its own calls are the previous minute's share
    fade = window * (1 - (limit - 1) / accepted) if accepted > 0 else 0.0
    return (window - elapsed) + max(0.0, fade)


class ClientRateThrottle(throttling.BaseThrottle):
    """Per-client calls per minute from the client's own row (`rate_per_minute`), counted in Redis.

    A sliding window over two one-minute counters: the call is allowed while
    `previous minute's calls × (share of this minute still to run) + this minute's calls (this one included)`
    stays within the rate, so a burst at the turn of a minute cannot double it. The counter is INCR'd in the call's
    one Redis round trip (ClientSignatureAuthentication, `_spend`); a refused call is taken off again, so only
    accepted calls use up the allowance (as DRF's history list did, without its pickled list per client).
    Applies to signed calls only; staff sessions and personal tokens pass. A failing store fails open (logged).
    """

    scope = "api_client"

    def __init__(self):
        self._wait = None

    def allow_request(self, request, view):
        principal = getattr(request, "user", None)
        if not isinstance(principal, ClientPrincipal):
            return True
        client = principal.api_client
        state = principal.rate
        if state is _PENDING:
            state = principal.rate = _count(client.client_id)
        if state is None:  # the store failed (logged where it did): fail open
            return True
        current, previous, elapsed, _window = state
        limit = client.rate_per_minute
        if previous * (RATE_WINDOW_SECONDS - elapsed) / RATE_WINDOW_SECONDS + current <= limit:
            return True
        _uncount(client.client_id, state)
        self._wait = _retry_after(current - 1, previous, elapsed, limit)
        self._record_refusal(request, principal, limit)
        return False

    def wait(self):
        return self._wait

    def _record_refusal(self, request, principal: ClientPrincipal, limit: int) -> None:
        # One audit event per client per minute is evidence enough; a runaway loop must not flood the trail.
        if cache.add(f"sharing:throttle-audit:{principal.api_client.client_id}", 1, timeout=60):
            audit.record(
                **principal.audit_kwargs,
                action="security.signature.throttled",
                result=AuditResult.DENIED,
                object_type="sharing.apiclient",
                object_id=principal.api_client.client_id,
                data={"code": "throttled", "rate_per_minute": limit, "path": request.path[:300]},
            )
