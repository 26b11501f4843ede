"""Account pages: sign-in (and axes' lockout answer), sign-out, own password, personal tokens, the locks page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY

from portal.choices import Role
from portal.errors import PortalError
from portal.forms import LoginForm, OwnPasswordChangeForm, TokenForm
from portal.lockout import current_locks, locked_until
from portal.permissions import int_or_none
from portal.services.auth import password_change
from portal.services.lockout import unlock
from portal.services.passwords import password_expired
from portal.services.tokens import token_create, token_revoke
from portal.services.twofactor import has_confirmed_device, otp_required
from portal.shortcuts import http_refusal, role_required


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        # A password alone never inherits a second factor verified earlier in this browser session.
        self.request.session.pop(DEVICE_ID_SESSION_KEY, None)
        # The session, last_login and the audit event (the user_logged_in receiver) commit together.
        with transaction.atomic():
            return super().form_valid(form)

    def get_success_url(self):
        # Users who must use two-factor login go on to the code (or, with no device yet, to enrolment) first.
        url = super().get_success_url()
        if otp_required(self.request.user):
            step = "otp-verify" if has_confirmed_device(self.request.user) else "otp-enrol"
            return f"{reverse(step)}?{urlencode({'next': url})}"
        return url


def locked_out(request, response=None, credentials=None):
    """axes' lockout answer (AXES_LOCKOUT_CALLABLE): the login page, saying in Chinese until when it is locked."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    until = locked_until(username=username, ip_address=getattr(request, "axes_ip_address", None))
    until = until or request.axes_attempt_time + settings.AXES_COOLOFF_TIME
    form = LoginForm(request, initial={"username": username})
    context = {"form": form, "locked_until": timezone.localtime(until), "next": request.POST.get("next", "")}
    return render(request, "portal/login.html", context, status=429)


@login_required
def password_change_view(request):
    """Every signed-in user's own password change; the one page open to a user whose password has expired."""
    form = OwnPasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        password_change(
            user=request.user, new_password=form.cleaned_data["new_password1"],
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        update_session_auth_hash(request, request.user)  # stay signed in with the new password
        messages.success(request, _("密码已修改。"))
        return redirect("home")
    return render(request, "portal/password_change.html", {"form": form, "expired": password_expired(request.user)})


def logout_view(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return auth_views.LogoutView.as_view()(request)


@role_required(Role.SECURITY_ADMIN)
def locks(request):
    """The security administrator's page: accounts and source addresses locked now; unlock one (audited)."""
    if request.method == "POST":
        kind, value = request.POST.get("kind", ""), request.POST.get("value", "")
        if kind in ("username", "ip_address") and value:
            unlock(actor=request.user, kind=kind, value=value)
            messages.success(request, _("已解除锁定：%(value)s") % {"value": value})
        return redirect("locks")
    return render(request, "portal/locks.html", {"locks": current_locks()})


@login_required
def tokens(request):
    raw = None
    form = TokenForm(request.POST or None)
    if request.method == "POST":
        if "revoke" in request.POST:
            try:
                token_revoke(actor=request.user, token_id=int_or_none(request.POST["revoke"]) or 0)
                messages.success(request, _("令牌已吊销"))
            except PortalError as exc:
                messages.error(request, str(exc.detail))
            return redirect("tokens")
        if form.is_valid():
            try:
                _token, raw = token_create(
                    actor=request.user, name=form.cleaned_data["name"], valid_days=form.cleaned_data["valid_days"]
                )
            except PortalError as exc:
                http_refusal(exc)  # otp_required: a session without its second factor (403)
                messages.error(request, str(exc.detail))
            else:
                form = TokenForm()
    context = {"form": form, "raw": raw, "tokens": request.user.tokens.all()}
    return render(request, "portal/tokens.html", context)
