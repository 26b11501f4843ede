"""API clients (R28.1): a security admin registers, suspends, resumes a consuming system, rotates its secret and sets
the source networks its calls may come from (R28 / 等保: checked on every signed call)."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import Role
from portal.errors import InvalidTransition, NotFound, PortalError
from portal.models import Department, User
from portal.permissions import int_or_none
from security import crypto
from security.networks import parse_networks

from ..choices import ClientState
from ..models import ApiClient

CLIENT_ID_PREFIX = "jzc_"


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _require_security_admin(actor: User) -> None:
    if not (actor.is_authenticated and actor.has_role(Role.SECURITY_ADMIN)):
        raise NotFound()


def _lock_client(actor: User, client_pk) -> ApiClient:
    _require_security_admin(actor)
    client = (
        ApiClient.objects.restrict(actor).filter(pk=int_or_none(client_pk) or 0)
        .select_related("department").select_for_update(of=("self",)).first()
    )
    if client is None:
        raise NotFound()
    return client


def _networks(value) -> list[str]:
    """The normalised networks of `value` (a list or a text), at least one; PortalError `invalid` otherwise."""
    try:
        networks = parse_networks(value if value is not None else [])
    except ValidationError as exc:
        raise PortalError(_("允许的来源网段有误"), errors={"allowed_networks": list(exc.messages)}) from None
    if not networks:
        raise PortalError(_("请至少填写一个允许的来源网段"),
                          errors={"allowed_networks": [_("此项必填（如 10.1.2.0/24）")]})
    return networks


def api_client_register(
    *, actor: User, department_id: int, name: str, allowed_networks, rate_per_minute: int = 600, contact: str = ""
) -> tuple[ApiClient, str]:
    """A security admin registers a department's system, naming the networks its calls may come from (at least one);
    returns (client, secret to show once)."""
    _require_security_admin(actor)
    networks = _networks(allowed_networks)
    department = Department.objects.filter(pk=int_or_none(department_id) or 0, is_active=True).first()
    if department is None:
        raise PortalError(_("请选择部门"), errors={"department": [_("部门不存在或已停用")]})
    name = (name or "").strip()
    if not name:
        raise PortalError(_("请填写系统名称"), errors={"name": [_("此项必填")]})
    if not 1 <= int(rate_per_minute) <= 100_000:
        raise PortalError(_("调用上限应在 1 至 100000 之间"), errors={"rate_per_minute": [_("超出范围")]})
    secret = _new_secret()
    with transaction.atomic():
        client = ApiClient.objects.create(
            client_id=CLIENT_ID_PREFIX + secrets.token_hex(12), name=name[:100], department=department,
            secret_enc=crypto.encrypt(secret), rate_per_minute=int(rate_per_minute), contact=(contact or "")[:100],
            created_by=actor, allowed_networks=networks, any_network=False,
        )
        audit.record(actor=actor, action="sharing.client.registered", obj=client,
                     data={"client_id": client.client_id, "department": department.pk,
                           "rate_per_minute": client.rate_per_minute, "allowed_networks": networks},
                     department=department)
    return client, secret


def api_client_suspend(*, actor: User, client_pk: int, reason: str) -> ApiClient:
    """Stop a client at once (its next call answers `client_suspended`)."""
    reason = (reason or "").strip()
    if not reason:
        raise PortalError(_("停用须说明原因"), errors={"reason": [_("此项必填")]})
    with transaction.atomic():
        client = _lock_client(actor, client_pk)
        if client.state == ClientState.SUSPENDED:
            raise InvalidTransition(_("该接入系统已停用"))
        _suspend(client, reason, who={"actor": actor})
    return client


def _suspend(client: ApiClient, reason: str, *, who: dict, **data) -> None:
    """The suspension itself (the client row locked, active): its save invalidates the signing cache in every
    process (security.signing.clients), so the next signed call is refused; audited as sharing.client.suspended."""
    client.state, client.suspend_reason = ClientState.SUSPENDED, reason[:300]
    client.save(update_fields=["state", "suspend_reason"])
    audit.record(**who, action="sharing.client.suspended", obj=client,
                 data={"state": {"old": ClientState.ACTIVE, "new": client.state}, "reason": reason, **data},
                 department=client.department)


def api_client_suspend_by_monitor(*, caller: str, reason: str, anomaly_id: int) -> bool:
    """The leak monitor's decision (registered with security.services.leaks): suspend the client whose audit label is
    `caller` ("client:<client_id>") when its policy `leak_auto_suspend` is on and it is active; True when suspended
    now. The same suspension as the security administrator's, the monitor as the actor (system:leak-monitor)."""
    from security.services.leaks import MONITOR

    prefix = "client:"
    if not caller.startswith(prefix):
        return False
    with transaction.atomic():
        client = (ApiClient.objects.filter(client_id=caller[len(prefix):]).select_related("department")
                  .select_for_update(of=("self",)).first())
        if client is None or not client.leak_auto_suspend or client.state != ClientState.ACTIVE:
            return False
        _suspend(client, reason, who={"actor": None, "actor_label": MONITOR}, by="leak_monitor", anomaly=anomaly_id)
    return True


def api_client_leak_policy_set(*, actor: User, client_pk: int, auto_suspend: bool) -> ApiClient:
    """The security administrator turns the leak monitor's automatic suspension of a client on or off (R28.4)."""
    with transaction.atomic():
        client = _lock_client(actor, client_pk)
        before = client.leak_auto_suspend
        client.leak_auto_suspend = bool(auto_suspend)
        client.save(update_fields=["leak_auto_suspend"])
        audit.record(actor=actor, action="sharing.client.leak_policy_set", obj=client,
                     data={"leak_auto_suspend": {"old": before, "new": client.leak_auto_suspend}},
                     department=client.department)
    return client


def api_client_resume(*, actor: User, client_pk: int) -> ApiClient:
    with transaction.atomic():
        client = _lock_client(actor, client_pk)
        if client.state == ClientState.ACTIVE:
            raise InvalidTransition(_("该接入系统未停用"))
        client.state, client.suspend_reason = ClientState.ACTIVE, ""
        client.save(update_fields=["state", "suspend_reason"])
        audit.record(actor=actor, action="sharing.client.resumed", obj=client,
                     data={"state": {"old": ClientState.SUSPENDED, "new": client.state}},
                     department=client.department)
    return client


def api_client_rotate_secret(*, actor: User, client_pk: int) -> tuple[ApiClient, str]:
    """Issue a new secret (the old one stops working at once); returns (client, new secret to show once)."""
    secret = _new_secret()
    with transaction.atomic():
        client = _lock_client(actor, client_pk)
        client.secret_enc, client.secret_rotated_at = crypto.encrypt(secret), timezone.now()
        client.save(update_fields=["secret_enc", "secret_rotated_at"])
        audit.record(actor=actor, action="sharing.client.secret_rotated", obj=client,
                     data={"client_id": client.client_id}, department=client.department)
    return client, secret


def api_client_networks_set(*, actor: User, client_pk: int, allowed_networks) -> ApiClient:
    """Replace the networks a client's calls may come from (at least one; a client registered before allow-lists
    loses its "any address" too). The next signed call is judged on them in every process (the save invalidates the
    client cache)."""
    networks = _networks(allowed_networks)
    with transaction.atomic():
        client = _lock_client(actor, client_pk)
        before = {"networks": list(client.allowed_networks), "any_network": client.any_network}
        client.allowed_networks, client.any_network = networks, False
        client.save(update_fields=["allowed_networks", "any_network"])
        audit.record(actor=actor, action="sharing.client.networks_set", obj=client,
                     data={"before": before, "after": {"networks": networks, "any_network": False}},
                     department=client.department)
    return client
