"""The process's copy of API-client rows, its invalidation, and the registration of the API-client model.

Security sits below the app that owns the API clients (sharing), so it never names that model: the owner registers
it at start-up, in its AppConfig.ready():

    from security.signing.clients import register_client_model
    register_client_model(self.get_model("ApiClient"))

Until a model is registered every signed call is refused as `unknown_client` (no client can exist).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import time
from typing import TYPE_CHECKING, Protocol

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import signals
from django.utils import timezone

from security.networks import NetworkSet
from security.signing import store
from security.signing.scheme import SIGNATURE_RE, canonical_request

if TYPE_CHECKING:
    from portal.models import Department

logger = logging.getLogger(__name__)

# How long a process trusts its copy of a client row without asking anything (see _KnownClient).
CLIENT_CACHE_SECONDS = 5.0
_CLIENTS_MAX = 4096


class ApiClientRow(Protocol):
    """What a row of the registered API-client model provides (sharing.ApiClient does).

    The model's default manager must support `.select_related("department__region").filter(client_id=…)` and
    `.filter(pk=…).update(last_used_at=…)`; post_save/post_delete of the model invalidate the cache.
    """

    pk: int
    client_id: str  # unique, [A-Za-z0-9_-]{1,40}: the X-Client-Id of its calls
    name: str  # shown as the principal's full name
    secret_enc: str  # the shared secret, encrypted with security.crypto
    last_used_at: dt.datetime | None  # recorded at most once a minute per process
    is_active: bool  # a suspended client is refused (`client_suspended`); its department's is_active too
    rate_per_minute: int  # the client's allowance (ClientRateThrottle)
    department: Department  # acts for it (portal.Department, with its region)
    department_id: int
    allowed_networks: list[str]  # normalised CIDR (security.networks): where its calls may come from
    any_network: bool  # from anywhere (a client registered before allow-lists existed, until it names its networks)


_client_model = None  # the registered API-client model (register_client_model)


def register_client_model(model) -> None:
    """Make `model` (rows as ApiClientRow) the API clients of signed calls; its saves and deletes invalidate the
    cache in every process. Called by the owning app's AppConfig.ready(); registering again replaces the model."""
    global _client_model
    if _client_model is not None and _client_model is not model:
        signals.post_save.disconnect(sender=_client_model, dispatch_uid="signing.clients.save.client_model")
        signals.post_delete.disconnect(sender=_client_model, dispatch_uid="signing.clients.delete.client_model")
    _client_model = model
    signals.post_save.connect(clients_changed, sender=model, dispatch_uid="signing.clients.save.client_model")
    signals.post_delete.connect(clients_changed, sender=model, dispatch_uid="signing.clients.delete.client_model")
    _clients.clear()


def client_model():
    """The registered API-client model, or None."""
    return _client_model


def client_object_type() -> str:
    """The audit object type of the API clients ("app_label.model" of the registered model)."""
    return _client_model._meta.label_lower if _client_model is not None else ""


class _KnownClient:
    """A process's copy of one client row (with its department and the decrypted secret).

    A call is ACCEPTED on the copy while (a) it is younger than CLIENT_CACHE_SECONDS and (b) the client generation,
    read in the call's one Redis round trip, is still the one the copy was loaded under; otherwise the row is read
    again and the call judged on it. Saving or deleting any API client or Department (suspend, resume, rotate, rate
    change, department deactivated) bumps the generation at once and again after its commit (`clients_changed`),
    so a suspension or a rotation refuses the very next call in every process. A call the copy would REFUSE (bad
    signature, suspended) is judged on the row read again, so a new secret or a resumed client works at once too.
    Bound: a change that bypasses the ORM's signals (raw SQL, queryset.update()) or whose bump is lost (Redis
    down or flushed) is noticed after CLIENT_CACHE_SECONDS (5 s) at most.
    """

    __slots__ = ("active", "client", "expires", "generation", "key", "last_used", "networks")

    def __init__(self, client: ApiClientRow, generation):
        from security import crypto

        self.client = client
        self.key = crypto.decrypt(client.secret_enc).encode()
        self.generation = generation
        self.expires = time.monotonic() + CLIENT_CACHE_SECONDS
        self.last_used = client.last_used_at
        self.active = client.is_active and client.department.is_active
        # Parsed here, once per load: the check on every call is a membership test (None: any address).
        self.networks = None if client.any_network else NetworkSet(client.allowed_networks)

    def allows(self, address: str | None) -> bool:
        """Whether a call from `address` (the request's source, as the audit trail records it) may use this client."""
        return self.networks is None or address in self.networks

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
            type(self.client)._default_manager.filter(pk=self.client.pk).update(last_used_at=now)


_clients: dict[str, _KnownClient] = {}


def current_generation():
    """The client generation now (read before the row, so a change committed in between is noticed)."""
    try:
        redis = store.redis_client()
        if redis is None:
            return cache.get(store.CLIENTS_GENERATION)
        return redis.get(cache.make_key(store.CLIENTS_GENERATION))
    except Exception:  # the call's own round trip will fail closed if the store is really down
        return store.NEVER


def load_client(client_id: str, generation) -> _KnownClient | None:
    """The client's row read now (cached under `generation`), or None when there is no such client."""
    model = _client_model
    client = None
    if model is not None:
        client = model._default_manager.select_related("department__region").filter(client_id=client_id).first()
    if client is None:
        _clients.pop(client_id, None)
        return None
    known = _KnownClient(client, generation)
    if len(_clients) >= _CLIENTS_MAX:
        _clients.clear()
    _clients[client_id] = known
    return known


def known_client(client_id: str) -> tuple[_KnownClient | None, bool]:
    """(this process's copy of the client, read from the database just now?)."""
    known = _clients.get(client_id)
    if known is not None and known.expires > time.monotonic():
        return known, False
    return load_client(client_id, current_generation()), True


def _bump_generation() -> None:
    try:
        redis = store.redis_client()
        if redis is None:
            try:
                cache.incr(store.CLIENTS_GENERATION)
            except ValueError:
                cache.set(store.CLIENTS_GENERATION, 1, timeout=None)
        else:
            redis.incr(cache.make_key(store.CLIENTS_GENERATION))
    except Exception:
        logger.exception("client cache generation not bumped: other processes notice the change after %s s",
                         CLIENT_CACHE_SECONDS)


def _clients_committed() -> None:
    _clients.clear()
    _bump_generation()


def clients_changed(sender=None, using=None, **kwargs) -> None:
    """post_save/post_delete of the API-client model and Department: every process re-reads its client rows on
    their next call.

    Bumped at once (this process forgets its copies; other processes reload) and again after the commit (a process
    that re-read the row between the save and the commit saw the old row; the second bump makes it read again).
    """
    _clients.clear()
    _bump_generation()
    transaction.on_commit(_clients_committed, using=using or DEFAULT_DB_ALIAS)


# Department is the kernel's (below security): hooked here directly. The API-client model: register_client_model.
signals.post_save.connect(clients_changed, sender="portal.Department", dispatch_uid="signing.clients.save.department")
signals.post_delete.connect(clients_changed, sender="portal.Department",
                            dispatch_uid="signing.clients.delete.department")
