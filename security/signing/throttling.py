"""Per-client rate of signed calls (DRF throttle), counted in the call's one Redis round trip."""

from __future__ import annotations

from django.core.cache import cache
from rest_framework import throttling

from portal import audit
from portal.choices import AuditResult
from portal.validators import safe_text
from security.signing import clients, store
from security.signing.principal import ClientPrincipal
from security.signing.store import PENDING, RATE_WINDOW_SECONDS


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
    one Redis round trip (ClientSignatureAuthentication, `store.spend`); a refused call is taken off again, so only
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
        if state is PENDING:
            state = principal.rate = store.count(client.client_id)
        if state is None:  # the store failed (logged where it did): fail open
            return True
        current, previous, elapsed, _window = state
        limit = client.rate_per_minute
        if previous * (RATE_WINDOW_SECONDS - elapsed) / RATE_WINDOW_SECONDS + current <= limit:
            return True
        store.uncount(client.client_id, state)
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
                object_type=clients.client_object_type(),
                object_id=principal.api_client.client_id,
                data={"code": "throttled", "rate_per_minute": limit, "path": safe_text(request.path, 300)},
            )
