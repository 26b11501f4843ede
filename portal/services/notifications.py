"""In-app notifications: send (from any chapter's on_commit hook) and mark read."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.choices import Role
from portal.models import Department, Notification, User


def department_recipients(department: Department, *roles: str) -> list[User]:
    """Active members of the department holding `roles` (default: data staff and head), plus its recorded head."""
    roles = roles or (Role.DEPT_STAFF, Role.DEPT_HEAD)
    members = User.objects.filter(department=department, is_active=True)
    return list(members.filter(Q(roles__role__in=roles) | Q(pk=department.head_id)).distinct())


def notify(*, recipients: Iterable[User], title: str, body: str = "", url: str = "") -> int:
    """Queue one message per recipient; call inside the use case's transaction."""
    rows = [Notification(recipient=u, title=title[:200], body=body, url=url) for u in recipients]
    Notification.objects.bulk_create(rows)
    return len(rows)


def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one (or, with no id, all) of the user's messages read. Reading a message is not audited."""
    with transaction.atomic():
        qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
        if notification_id is not None:
            qs = qs.filter(pk=notification_id)
        return qs.update(read_at=timezone.now())
