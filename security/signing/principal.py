"""`request.user` of a signed call (ClientPrincipal) and the audit keywords of a person or a client."""

from __future__ import annotations

from security.signing.store import PENDING


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
    # The call's rate counters as its authentication read them (ClientRateThrottle); see store.spend.
    rate = PENDING

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
