"""In-app notifications: send (from any chapter's on_commit hook) and mark read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from portal.choices import NotificationKind, Role
from portal.models import Department, Notification, User


def department_recipients(department: Department, *roles: str) -> list[User]:
    """Active members of the department holding `roles` (default: data staff and head), plus its recorded head."""
    roles = roles or (Role.DEPT_STAFF, Role.DEPT_HEAD)
    members = User.objects.filter(department=department, is_active=True)
    return list(members.filter(Q(roles__role__in=roles) | Q(pk=department.head_id)).distinct())


@dataclass(frozen=True)
class Digest:
    """How messages of one kind fold together: while a person has an unread one of `key`, the next one does not add a
    message but counts into it — its title becomes `summary` ("{n}" replaced by the count), its link `url` (the list
    of them all), its body the newest message's title. Read it, and the next one starts a new message."""

    key: str
    summary: str
    url: str = ""


# One statement for every recipient; the partial unique index portal_notification_one_unread_digest is the arbiter,
# so concurrent senders fold into the same row.
_DIGEST_SQL = """
INSERT INTO portal_notification (recipient_id, kind, title, body, url, group_key, count, created_at)
SELECT r, %(kind)s, %(first_title)s, %(first_body)s, %(first_url)s, %(key)s, %(count)s, now()
  FROM unnest(%(recipients)s::bigint[]) AS r
ON CONFLICT (recipient_id, group_key) WHERE read_at IS NULL AND group_key <> ''
DO UPDATE SET count = portal_notification.count + %(count)s,
              title = left(replace(%(summary)s, '{n}', (portal_notification.count + %(count)s)::text), 200),
              body = %(title)s, url = %(digest_url)s, created_at = now()
"""


def notify(*, recipients: Iterable[User], title: str, body: str = "", url: str = "",
           digest: Digest | None = None, count: int = 1) -> int:
    """Queue one message per recipient (folded into their unread digest of the same kind when `digest` is given);
    call inside the use case's transaction. Returns the number of recipients.

    With a digest, `count` > 1 folds that many messages of the kind in one statement (a set-based job telling a
    person of n new things at once): the digest counts n more, its title the summary; `title` is the newest one."""
    users = list(recipients)
    if digest is None:
        Notification.objects.bulk_create([Notification(recipient=u, title=title[:200], body=body, url=url)
                                          for u in users])
        return len(users)
    if users:
        with connection.cursor() as cur:
            cur.execute(_DIGEST_SQL, {
                "kind": NotificationKind.INFO, "title": title[:200], "body": body, "url": url, "key": digest.key,
                "count": count, "first_url": url if count == 1 else (digest.url or url),
                "first_body": body if count == 1 else title[:200],
                "first_title": title[:200] if count == 1 else str(digest.summary).replace("{n}", str(count))[:200],
                "summary": str(digest.summary), "digest_url": digest.url or url,
                "recipients": sorted({u.pk for u in users}),
            })
    return len(users)


def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one (or, with no id, all) of the user's messages read. Reading a message is not audited."""
    with transaction.atomic():
        qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
        if notification_id is not None:
            qs = qs.filter(pk=notification_id)
        return qs.update(read_at=timezone.now())
