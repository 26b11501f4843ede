"""Access helpers: load an object inside the caller's scope (404 outside it), then check the action (403).

The scope rules live in querysets.py (`.restrict(user, action)`); these helpers combine them the way every
view, API action and service needs: invisible -> NotFound, visible but not allowed -> PermissionDenied.
"""

from __future__ import annotations

from portal.errors import PermissionDenied
from portal.permissions import access_by_id

from .models import Grant, PushSubscription, SharingRequest


def access_request_by_id(user, request_id, *, action: str = "view", for_update: bool = False) -> SharingRequest:
    """The sharing request if `user` may `action` it (view, change, comment, review)."""
    return access_by_id(SharingRequest, user, request_id, action, for_update=for_update,
                   select_related=("consumer", "entry__provider", "created_by", "decided_by"))


def access_grant_by_id(user, grant_id, *, action: str = "view", for_update: bool = False) -> Grant:
    """The grant if `user` may `action` it (view, revoke)."""
    return access_by_id(Grant, user, grant_id, action, for_update=for_update,
                   select_related=("consumer", "entry__provider"))


def access_subscription_by_id(user, subscription_id, *, action: str = "view", for_update: bool = False):
    """The subscription if `user` may `action` it: NotFound outside the view scope, PermissionDenied inside."""
    return access_by_id(PushSubscription, user, subscription_id, action, for_update=for_update,
                        select_related=("grant__entry", "consumer"), denied=PermissionDenied.default_detail)
