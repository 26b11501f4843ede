"""`.restrict(user, action)` for the sharing tables, on the kernel's `RestrictedQuerySet` (404 outside the scope).

Sharing requests and grants are seen by both sides: the consumer department's scope and the provider
department's scope (own department / own region / the whole city for bureau roles). Actions:
- request "change" (withdraw): data staff or head of the consumer department;
- request "comment": data staff or head of the provider department holding the resource's comment_request
  permission (catalog.resource_perms; the head always does);
- request "review": bureau reviewers (the service refuses their own department's requests);
- grant "revoke": the provider department's staff or head, or a bureau reviewer.
A signed API client sees its own department's grants and changes nothing. API clients are managed by security
admins only. Push subscriptions: seen in the consumer's scope, changed by the consumer department's staff or head.
"""

from __future__ import annotations

from catalog.resource_perms import COMMENT_REQUEST, resource_q
from portal.choices import Role
from portal.permissions import is_api_client
from portal.querysets import RestrictedQuerySet


class SharingRequestQuerySet(RestrictedQuerySet):
    scope_paths = ("consumer", "entry__provider")

    def restrict_change(self, user):
        return self.of_own_department(user, "consumer")

    def restrict_comment(self, user):
        """The provider's people holding comment_request on the requested resource (catalog.resource_perms)."""
        return self.of_own_department(user, "entry__provider").filter(resource_q(user, COMMENT_REQUEST, "entry"))

    def restrict_review(self, user):
        return self.for_roles(user, Role.BUREAU_REVIEWER)


class GrantQuerySet(RestrictedQuerySet):
    scope_paths = ("consumer", "entry__provider")
    admits_api_clients = True

    def restrict_view(self, user):
        if is_api_client(user):
            return self.filter(consumer_id=user.department_id)
        return super().restrict_view(user)

    def restrict_revoke(self, user):
        if user.has_role(Role.BUREAU_REVIEWER):
            return self.all()
        return self.of_own_department(user, "entry__provider")  # none for an API client (it holds no role)


class ApiClientQuerySet(RestrictedQuerySet):
    def restrict_view(self, user):
        return self.for_roles(user, Role.SECURITY_ADMIN)


class PushSubscriptionQuerySet(RestrictedQuerySet):
    """view: the consumer's scope (own department / region / city); change: the consumer's staff or head."""

    scope_paths = ("consumer",)

    def restrict_change(self, user):
        return self.of_own_department(user, "consumer")
