"""API client pages (R28.1, security admin): register, suspend, resume, rotate the secret (shown once), set the
source networks a client's calls may come from, turn the leak monitor's automatic suspension on or off (R28.4)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.choices import Role
from portal.errors import PortalError
from portal.shortcuts import http_refusal, role_required

from .. import selectors
from ..forms import ApiClientForm, ApiClientNetworksForm, ReasonForm
from ..services.clients import (
    api_client_leak_policy_set,
    api_client_networks_set,
    api_client_register,
    api_client_resume,
    api_client_rotate_secret,
    api_client_suspend,
)
from .common import error_text, run_form_service, run_service


@role_required(Role.SECURITY_ADMIN)
@never_cache
def client_list(request):
    """List and register; the secret of a new client is shown in this response only, never stored in clear."""
    form = ApiClientForm(request.POST or None)
    secret = new_client = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            new_client, secret = api_client_register(
                actor=request.user, department_id=data["department"].pk, name=data["name"],
                rate_per_minute=data["rate_per_minute"], contact=data["contact"],
                allowed_networks=data["allowed_networks"],
            )
        except PortalError as exc:
            http_refusal(exc)
            form.add_error(None, error_text(exc))
        else:
            form = ApiClientForm()
    return render(request, "sharing/client_list.html", {
        "form": form, "clients": selectors.api_client_list(user=request.user), "secret": secret,
        "new_client": new_client, "reason_form": ReasonForm(),
    })


@role_required(Role.SECURITY_ADMIN)
@require_POST
def client_suspend(request, pk: int):
    run_form_service(request, ReasonForm(request.POST), api_client_suspend, _("接入系统已停用"), _("停用须说明原因"),
                     client_pk=pk)
    return redirect("sharing:client-list")


@role_required(Role.SECURITY_ADMIN)
@require_POST
def client_resume(request, pk: int):
    run_service(request, api_client_resume, _("接入系统已恢复"), client_pk=pk)
    return redirect("sharing:client-list")


@role_required(Role.SECURITY_ADMIN)
@require_POST
@never_cache
def client_rotate(request, pk: int):
    try:
        client, secret = api_client_rotate_secret(actor=request.user, client_pk=pk)
    except PortalError as exc:
        http_refusal(exc)
        messages.error(request, error_text(exc))
        return redirect("sharing:client-list")
    return render(request, "sharing/client_list.html", {
        "form": ApiClientForm(), "clients": selectors.api_client_list(user=request.user), "secret": secret,
        "new_client": client, "rotated": True, "reason_form": ReasonForm(),
    })


@role_required(Role.SECURITY_ADMIN)
def client_networks(request, pk: int):
    """The networks a client's calls may come from; the change holds from the client's next call."""
    client = selectors.api_client_list(user=request.user).filter(pk=pk).first()
    if client is None:
        raise Http404
    form = ApiClientNetworksForm(request.POST or None, initial={"allowed_networks": client.allowed_networks})
    if request.method == "POST" and form.is_valid():
        try:
            api_client_networks_set(actor=request.user, client_pk=pk,
                                    allowed_networks=form.cleaned_data["allowed_networks"])
        except PortalError as exc:
            http_refusal(exc)
            form.add_error(None, error_text(exc))
        else:
            messages.success(request, _("已更新允许的来源网段，下一次调用起生效"))
            return redirect("sharing:client-list")
    return render(request, "sharing/client_networks.html", {"form": form, "client": client})


@role_required(Role.SECURITY_ADMIN)
@require_POST
def client_leak_policy(request, pk: int):
    """The leak monitor's automatic suspension of this client (R28.4): `auto_suspend` = 1 (on) or 0 (off)."""
    value = request.POST.get("auto_suspend", "")
    if value not in ("0", "1"):
        messages.error(request, _("请选择开启或关闭自动停用"))
    else:
        run_service(request, api_client_leak_policy_set,
                    _("已开启异常时自动停用") if value == "1" else _("已关闭异常时自动停用"),
                    client_pk=pk, auto_suspend=value == "1")
    return redirect("sharing:client-list")
