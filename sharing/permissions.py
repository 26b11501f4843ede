"""Access helpers: load an object inside the caller's scope (404 outside it), then check the action (403).

The scope rules live in querysets.py (`.restrict(user, action)`); these helpers combine them the way every
view, API action and service needs: invisible -> NotFound, visible but not allowed -> PermissionDenied.
"""

from __future__ import annotations

from portal.errors import NotFound, PermissionDenied

from .models import Grant, SharingRequest


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _access(model, user, obj_id, action: str, *, for_update: bool, select_related=()):
    pk = _int(obj_id)
    if pk is None:
        raise NotFound()
    qs = model.objects.restrict(user, action).filter(pk=pk).select_related(*select_related)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    obj = qs.first()
    if obj is not None:
        return obj
    if action != "view" and model.objects.restrict(user, "view").filter(pk=pk).exists():
        raise PermissionDenied()
    raise NotFound()


def access_request_by_id(user, request_id, *, action: str = "view", for_update: bool = False) -> SharingRequest:
    """The sharing request if `user` may `action` it (view, change, comment, review)."""
    return _access(SharingRequest, user, request_id, action, for_update=for_update,
                   select_related=("consumer", "entry__provider", "created_by", "decided_by"))


def access_grant_by_id(user, grant_id, *, action: str = "view", for_update: bool = False) -> Grant:
    """The grant if `user` may `action` it (view, revoke)."""
    return _access(Grant, user, grant_id, action, for_update=for_update,
                   select_related=("consumer", "entry__provider"))
