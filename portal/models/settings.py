"""Values the administrators change at run time (portal.services.settings holds the registry of keys)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Setting(models.Model):
    """One key's value as changed by its owner; a key without a row has its registered default."""

    key = models.CharField(_("键"), max_length=60, primary_key=True)
    value = models.JSONField(_("值"))
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)
    updated_by = models.ForeignKey(
        "portal.User", verbose_name=_("修改人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("系统设置")
        verbose_name_plural = _("系统设置")

    def __str__(self) -> str:
        return self.key
