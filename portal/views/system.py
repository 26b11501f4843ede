"""The system administrator's desk (系统管理) and the settings that role owns (门户公告, 运维联系方式)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from portal.choices import Role
from portal.errors import PortalError
from portal.forms import SettingsForm
from portal.services.settings import settings_update
from portal.shortcuts import http_refusal, role_required, service_errors


@role_required(Role.SYSTEM_ADMIN)
def desk(request):
    return render(request, "portal/system_index.html")


def settings_page(request, *, owner: str, template: str, done_url: str):
    """One administrator's settings form: GET shows the current values, POST saves what changed (audited)."""
    form = SettingsForm(owner, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            changed = settings_update(actor=request.user, values=form.cleaned_data)
        except PortalError as exc:
            http_refusal(exc)
            service_errors(form, exc)
        else:
            if changed:
                messages.success(request, _("已保存 %(n)d 项设置。") % {"n": len(changed)})
            else:
                messages.info(request, _("设置没有变化。"))
            return redirect(done_url)
    return render(request, template, {"form": form})


@role_required(Role.SYSTEM_ADMIN)
def system_settings(request):
    return settings_page(request, owner=Role.SYSTEM_ADMIN, template="portal/system_settings.html",
                         done_url="system-settings")
