"""The security administrator's view of who uses two-factor login (the reset page, /security/two-factor/)."""

from __future__ import annotations

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.choices import Role
from portal.errors import PermissionDenied
from portal.models import User
from portal.services.twofactor import mandatory_for_roles


def users_with_otp_state(*, actor: User, q: str = "") -> QuerySet[User]:
    """Every account, each with `otp_enrolled` (a confirmed TOTP device) and `otp_backup_left` (unused backup codes),
    searchable by username or name. Security administrator only (PermissionDenied otherwise)."""
    if not actor.has_role(Role.SECURITY_ADMIN):
        raise PermissionDenied()
    backup_left = (StaticToken.objects.filter(device__user=OuterRef("pk"), device__confirmed=True)
                   .order_by().values("device__user").annotate(n=Count("pk")).values("n"))
    qs = (User.objects.select_related("department").prefetch_related("roles")
          .annotate(otp_enrolled=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
                    otp_backup_left=Coalesce(Subquery(backup_left, output_field=IntegerField()), 0))
          .order_by("username"))
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(full_name__icontains=q))
    return qs


def with_mandatory(users) -> list[User]:
    """The page's rows, each with `otp_mandatory` (from the prefetched roles: no query per row)."""
    rows = list(users)
    for user in rows:
        user.otp_mandatory = mandatory_for_roles(r.role for r in user.roles.all())
    return rows
