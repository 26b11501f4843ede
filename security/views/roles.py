"""Role assignment, the security administrator's (三员分立): find an account, see its roles, grant or revoke one.

The rules (who may grant, no role to oneself, one administrator role per account, a role fits its holder's
department) are the service's, portal.services.org; this page shows its refusals in Chinese.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.choices import Role
from portal.errors import PortalError
from portal.forms import RoleGrantForm, RoleSearchForm
from portal.models import User, UserRole
from portal.permissions import int_or_none
from portal.services import org
from portal.shortcuts import http_refusal, role_required

PAGE_SIZE = 50


def _user_or_404(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise Http404
    return user


@role_required(Role.SECURITY_ADMIN)
def role_list(request):
    form = RoleSearchForm(request.GET or None)
    users = User.objects.prefetch_related(Prefetch("roles", queryset=UserRole.objects.order_by("role")))
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            users = users.filter(Q(username__icontains=data["q"]) | Q(full_name__icontains=data["q"]))
        if data["department"]:
            users = users.filter(department=data["department"])
        if data["role"] == "none":
            users = users.filter(roles__isnull=True)
        elif data["role"]:
            users = users.filter(roles__role=data["role"])
    elif form.is_bound:
        users = users.none()
    page = Paginator(users.order_by("username").distinct(), PAGE_SIZE).get_page(int_or_none(request.GET.get("page")))
    return render(request, "security/role_list.html", {"form": form, "page": page})


@role_required(Role.SECURITY_ADMIN)
def role_detail(request, user_id: int):
    user = _user_or_404(user_id)
    roles = UserRole.objects.filter(user=user).select_related("granted_by").order_by("role")
    held = [r.role for r in roles]
    context = {
        "subject": user, "roles": roles, "is_self": user.pk == request.user.pk,
        "grant_form": RoleGrantForm(held=held),
    }
    return render(request, "security/role_detail.html", context)


@role_required(Role.SECURITY_ADMIN)
@require_POST
def role_change(request, user_id: int):
    """POST action=grant|revoke, role=…: one service call; a refusal comes back as a message on the user's page."""
    user = _user_or_404(user_id)
    action, role = request.POST.get("action"), request.POST.get("role", "")
    if action not in ("grant", "revoke") or role not in Role.values:
        messages.error(request, _("请选择有效的角色"))
        return redirect("security:role-detail", user_id=user.pk)
    try:
        if action == "grant":
            org.role_grant(actor=request.user, user=user, role=role)
            messages.success(request, _("已授予角色：%(role)s") % {"role": Role(role).label})
        else:
            org.role_revoke(actor=request.user, user=user, role=role)
            messages.success(request, _("已撤销角色：%(role)s") % {"role": Role(role).label})
    except PortalError as exc:
        http_refusal(exc)
        messages.error(request, str(exc.detail))
    return redirect("security:role-detail", user_id=user.pk)
