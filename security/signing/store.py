"""The call store: one Redis round trip a signed call (nonce, the client's rate counter, the client-cache generation).

A correctly signed call costs ONE Redis round trip (`spend`): its nonce's SET NX EX, the client's rate counter
(INCR + EXPIRE of this minute's counter, GET of the previous minute's) and the generation of the client cache, run
together by one script (_SPEND, below). Keys go through the default cache's key function (the same nonce keys as
cache.add wrote before), values are plain integers. A cache that is not Redis works too, in several round trips.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from security.signing.errors import Unavailable
from security.signing.scheme import NONCE_TTL_SECONDS

logger = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 60
CLIENTS_GENERATION = "sharing:clients:generation"  # the client cache's generation (security.signing.clients)
NEVER = object()  # a client generation that matches nothing: the row is read again on the next call
PENDING = object()  # ClientPrincipal.rate when the call's authentication did not count it (the throttle does)

_redis: tuple = ((), None, None)  # (the cache's server URLs, a redis-py client for them, its _SPEND script)

# spend's round trip as ONE command: a script runs the five steps in Redis (one command to pack and one reply to
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


def redis_client():
    """The redis-py client behind the default cache (one per process; thread-safe), or None when it is not Redis.

    Django's own cache methods build a new client object per operation; this one is built once.
    """
    return redis_client_and_script()[0]


def redis_client_and_script():
    """(redis_client(), the _SPEND script registered with it) — (None, None) when the cache is not Redis."""
    global _redis
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None, None
    servers, client, script = _redis
    if client is None or servers != backend._servers:
        client = backend._cache.get_client(None, write=True)
        script = client.register_script(_SPEND)
        _redis = (backend._servers, client, script)
    return client, script


def _nonce_name(client_id: str, nonce: str) -> str:
    return f"sharing:nonce:{client_id}:{nonce}"


def rate_name(client_id: str, window: int) -> str:
    return f"sharing:rate:{client_id}:{window}"


class Spent:
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


def spend(client_id: str, nonce: str, *, count: bool) -> Spent:
    """Spend the nonce (SET NX EX), count the call (when `count`) and read the client generation: one round trip.

    The nonce store failing refuses the call (503 `unavailable`: it might be a replay); the counter failing lets the
    call through (a throttle must not take the API down with Redis), logged either way.
    """
    now = time.time()
    window = int(now // RATE_WINDOW_SECONDS)
    store, script = redis_client_and_script()
    if store is None:
        return _spend_via_cache_api(client_id, nonce, count=count, now=now, window=window)
    keys = [cache.make_key(_nonce_name(client_id, nonce)), cache.make_key(CLIENTS_GENERATION),
            cache.make_key(rate_name(client_id, window)), cache.make_key(rate_name(client_id, window - 1))]
    try:
        reply = script(keys=keys, args=[NONCE_TTL_SECONDS, 2 * RATE_WINDOW_SECONDS, "1" if count else "0"])
    except Exception as exc:  # any store failure: fail closed, and say so
        logger.exception("nonce store unavailable")
        raise Unavailable() from exc
    fresh, generation = reply[0], reply[1]
    rate = PENDING
    if count:
        current, previous = reply[2], reply[3]
        rate = None if current is None else _rate_state(current, previous, now, window)
        if rate is None:
            logger.error("throttle store unavailable: the counter of %s did not count", client_id)
    return Spent(fresh == 1, generation, rate)


def _spend_via_cache_api(client_id: str, nonce: str, *, count: bool, now: float, window: int) -> Spent:
    """spend for a cache that is not Redis (several round trips; the project itself always runs on Redis)."""
    try:
        fresh = cache.add(_nonce_name(client_id, nonce), 1, timeout=NONCE_TTL_SECONDS)
    except Exception as exc:
        logger.exception("nonce store unavailable")
        raise Unavailable() from exc
    try:
        generation = cache.get(CLIENTS_GENERATION)
    except Exception:
        generation = NEVER
    rate = PENDING
    if count:
        rate = _count_via_cache_api(client_id, now, window)
    return Spent(bool(fresh), generation, rate)


def _count_via_cache_api(client_id: str, now: float, window: int):
    name = rate_name(client_id, window)
    try:
        current = 1 if cache.add(name, 1, timeout=2 * RATE_WINDOW_SECONDS) else cache.incr(name)
        return _rate_state(current, cache.get(rate_name(client_id, window - 1)), now, window)
    except Exception:
        logger.exception("throttle store unavailable")
        return None


def count(client_id: str):
    """Count a call whose authentication did not (its own round trip); the rate state, or None (fail open)."""
    now = time.time()
    window = int(now // RATE_WINDOW_SECONDS)
    store = redis_client()
    if store is None:
        return _count_via_cache_api(client_id, now, window)
    try:
        current = cache.make_key(rate_name(client_id, window))
        pipe = store.pipeline(transaction=False)
        pipe.incr(current)
        pipe.expire(current, 2 * RATE_WINDOW_SECONDS)
        pipe.get(cache.make_key(rate_name(client_id, window - 1)))
        counted, _expire, previous = pipe.execute()
    except Exception:
        logger.exception("throttle store unavailable")
        return None
    return _rate_state(counted, previous, now, window)


def uncount(client_id: str, rate) -> None:
    """Take a refused call off the counter again (refused calls do not use up the client's allowance)."""
    if not isinstance(rate, tuple):
        return
    name = rate_name(client_id, rate[3])
    try:
        store = redis_client()
        if store is None:
            cache.decr(name)
        else:
            store.decr(cache.make_key(name))
    except Exception:  # best effort: at worst the refused call counts
        logger.warning("throttle store: could not take back a refused call", exc_info=True)
