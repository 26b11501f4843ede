"""Password history: none of a user's last passwords may come back (等保 8.1.4.1 a, R28.1).

`PasswordHistoryValidator` is one of AUTH_PASSWORD_VALIDATORS: `validate` refuses a password matching one of the
last `keep` hashes; `password_changed` — called by Django when a user with a new password is saved — records the
new hash and drops the older ones. Passwords set directly (seed data, test factories) are recorded too.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models.passwords import PasswordHistory
from portal.services.settings import value as setting_value


class PasswordHistoryValidator:
    def __init__(self, keep: int = 5):
        self.keep = keep

    def _recent(self, user):
        return PasswordHistory.objects.filter(user_id=user.pk).order_by("-set_at", "-id")[: self.keep]

    def validate(self, password: str, user=None) -> None:
        if user is None or user.pk is None:
            return
        if any(check_password(password, h) for h in self._recent(user).values_list("password_hash", flat=True)):
            raise ValidationError(
                _("新密码不得与最近 %(keep)d 次使用过的密码相同。"),
                code="password_reused", params={"keep": self.keep},
            )

    def password_changed(self, password: str, user=None) -> None:
        if user is None or user.pk is None or not user.password:
            return
        PasswordHistory.objects.create(user_id=user.pk, password_hash=user.password)
        keep_ids = list(self._recent(user).values_list("id", flat=True))
        PasswordHistory.objects.filter(user_id=user.pk).exclude(id__in=keep_ids).delete()

    def get_help_text(self) -> str:
        return str(_("新密码不得与最近 %(keep)d 次使用过的密码相同。") % {"keep": self.keep})


def password_set_at(user):
    """When the user's current password was set: its `PasswordHistory` row (written whenever a password is saved,
    seed data and test factories included), else — an account older than the history — when the account was made."""
    latest = PasswordHistory.objects.filter(user_id=user.pk).order_by("-set_at", "-id").values_list("set_at", flat=True)
    return latest.first() or user.date_joined


PASSWORD_EXPIRED = _("密码已超过有效期，请先在门户修改密码。")


def password_expired(user, *, now=None) -> bool:
    """True for a user holding one of PORTAL["PASSWORD_MAX_AGE_ROLES"] whose password is older than the security
    administrator's setting `password_max_age_days` (等保 8.1.4.1 a: changed regularly)."""
    if not user.is_authenticated or not user.has_role(*settings.PORTAL["PASSWORD_MAX_AGE_ROLES"]):
        return False
    max_age = dt.timedelta(days=setting_value("password_max_age_days"))
    return password_set_at(user) < (now or timezone.now()) - max_age
