"""In-app notifications (站内消息)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.choices import NotificationKind


class Notification(models.Model):
    """A message to one user, e.g. a deadline reminder; read when the user opens it."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("类型"), max_length=20, choices=NotificationKind.choices, default=NotificationKind.INFO)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    deadline = models.ForeignKey(
        "portal.Deadline", verbose_name=_("时限"), null=True, blank=True, on_delete=models.CASCADE
    )
    # Messages of one kind (e.g. every entry waiting for review) fold into one unread message per person: `group_key`
    # names the kind, `count` how many it stands for (portal.services.notifications.notify, Digest).
    # Database defaults too: the deadline sweep inserts its messages in SQL (portal.services.deadlines).
    group_key = models.CharField(_("汇总类别"), max_length=60, blank=True, default="", db_default="")
    count = models.PositiveIntegerField(_("条数"), default=1, db_default=1)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内消息")
        verbose_name_plural = _("站内消息")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="portal_notif_unread_idx")]
        constraints = [
            # The sweep may run twice or concurrently: one reminder / overdue message per deadline and person.
            models.UniqueConstraint(
                fields=["recipient", "deadline", "kind"],
                condition=models.Q(deadline__isnull=False),
                name="portal_notification_once_per_deadline",
            ),
            models.UniqueConstraint(
                fields=["recipient", "group_key"],
                condition=models.Q(read_at__isnull=True) & ~models.Q(group_key=""),
                name="portal_notification_one_unread_digest",
            ),
        ]

    def __str__(self) -> str:
        return self.title
