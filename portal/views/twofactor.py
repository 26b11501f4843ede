"""Two-factor pages: the sign-in's second step (/login/verify/) and one's own authenticator and backup codes
(/account/two-factor/: enrol, regenerate backup codes, disable when optional). The rules are in
portal/services/twofactor.py; TwoFactorMiddleware sends a session that still owes its second factor here."""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _

from portal.errors import PortalError
from portal.forms import OtpCodeForm
from portal.services import twofactor

_ENROL_KEY = "portal_otp_enrol_key"  # the secret being enrolled, until a code confirms it


def _next_url(request) -> str:
    """Where to go once verified: the page the user asked for, if it is one of ours."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return wanted
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def _agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")


def _codes_page(request, codes, next_url, *, enrolled_now: bool):
    return render(request, "portal/otp_backup_codes.html",
                  {"codes": codes, "next": next_url, "enrolled_now": enrolled_now})


@login_required
def verify(request):
    """The second step of signing in: a code from the authenticator app, or a backup code."""
    user, next_url = request.user, _next_url(request)
    if not twofactor.otp_pending(user):
        return redirect(next_url)
    if not twofactor.has_confirmed_device(user):
        return redirect(_with_next("otp-enrol", next_url))
    form = OtpCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device = twofactor.otp_verify(user=user, code=form.cleaned_data["code"], user_agent=_agent(request))
        except PortalError as exc:
            form.add_error("code", str(exc.detail))
            status = 429 if exc.code == "otp_throttled" else 200
        else:
            twofactor.mark_session_verified(request, device)
            return redirect(next_url)
    return render(request, "portal/otp_verify.html", {"form": form, "next": next_url}, status=status)


@login_required
def two_factor(request):
    """One's own two-factor settings: enrol (QR code, secret, confirming code), then backup codes and disabling."""
    user, next_url = request.user, _next_url(request)
    enrolled = twofactor.has_confirmed_device(user)
    if enrolled and not twofactor.is_verified(user):
        return redirect(_with_next("otp-verify", next_url))
    mandatory = twofactor.otp_mandatory(user)
    if enrolled:
        return _manage(request, user, next_url, mandatory)

    key = request.session.get(_ENROL_KEY)
    if not twofactor.valid_enrolment_key(key):
        key = request.session[_ENROL_KEY] = twofactor.new_enrolment_key()
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = twofactor.otp_enrol(user=user, key=key, code=form.cleaned_data["code"],
                                                user_agent=_agent(request))
        except PortalError as exc:
            form.add_error("code", str(exc.detail))
        else:
            request.session.pop(_ENROL_KEY, None)
            twofactor.mark_session_verified(request, device)
            return _codes_page(request, codes, next_url, enrolled_now=True)
    secret, uri = twofactor.provisioning(user, key)
    context = {
        "form": form, "next": next_url, "mandatory": mandatory,
        "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
        "qr": segno.make(uri, error="m").svg_data_uri(scale=5, dark="#000", light="#fff"),
    }
    return render(request, "portal/otp_enrol.html", context)


def _manage(request, user, next_url, mandatory):
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "regenerate":
                codes = twofactor.otp_backup_codes_regenerate(user=user, user_agent=_agent(request))
                return _codes_page(request, codes, reverse("otp-enrol"), enrolled_now=False)
            if action == "disable":
                twofactor.otp_disable(user=user, user_agent=_agent(request))
                messages.success(request, _("已停用双因素认证。"))
                return redirect("otp-enrol")
        except PortalError as exc:
            messages.error(request, str(exc.detail))
        return redirect("otp-enrol")
    context = {"mandatory": mandatory, "backup_left": twofactor.backup_codes_left(user)}
    return render(request, "portal/otp_manage.html", context)
