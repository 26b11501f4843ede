"""资源权限分配 (R28.2): the department head (own department) or the security administrator (any department, picked
on the page) sets which data staff may load, answer verification cases and comment on sharing requests, per
resource. A page of resources at a time (searchable); one save is one service call."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from portal.choices import Role
from portal.errors import PortalError
from portal.permissions import is_department_member
from portal.shortcuts import http_refusal
from portal.validators import text_problem

from .. import resource_perms as rp
from ..selectors.resource_permissions import assignable_departments, permission_matrix
from ..services.resource_permissions import id_or_none, require_assigner, resource_permissions_set
from .base import render_page


def _assignments(post) -> list[tuple[int, int, set[str]]]:
    """The matrix form: `cell` = "user:entry" for every pair shown, `perm` = "user:entry:perm" for each ticked box.
    A pair shown with no box ticked holds nothing afterwards."""
    cells: dict[tuple[int, int], set[str]] = {}
    for token in post.getlist("cell"):
        user_id, _sep, entry_id = token.partition(":")
        pair = (id_or_none(user_id), id_or_none(entry_id))
        if None in pair:
            raise PortalError(_("权限分配格式不正确"), code="invalid")
        cells[pair] = set()
    for token in post.getlist("perm"):
        parts = token.split(":")
        pair = (id_or_none(parts[0]), id_or_none(parts[1])) if len(parts) == 3 else (None, None)
        if pair not in cells:
            raise PortalError(_("权限分配格式不正确"), code="invalid")
        cells[pair].add(parts[2])
    return [(u, e, perms) for (u, e), perms in cells.items()]


@login_required
def resource_permissions(request):
    user = request.user
    is_security_admin = user.has_role(Role.SECURITY_ADMIN)
    departments = assignable_departments(user)
    if not is_security_admin and not departments.exists():
        if is_department_member(user):  # the department's own staff: the page exists, it is the head's
            raise DjangoPermissionDenied(_("只有部门主要负责人或安全管理员可以分配资源权限"))
        raise Http404
    params = request.POST if request.method == "POST" else request.GET
    q = params.get("q", "")
    if text_problem(q):
        q = ""
    raw = params.get("department")
    department_id = id_or_none(raw) if raw else (None if is_security_admin else user.department_id)
    if raw and department_id is None:
        raise Http404
    context = {"departments": departments if is_security_admin else None, "q": q, "matrix": None,
               "perm_labels": [rp.LABELS[p] for p in rp.RESOURCE_PERMS]}
    if department_id is None:  # the security administrator picks a department first
        return render_page(request, "catalog/resource_permissions.html", context)
    try:
        department = require_assigner(user, department_id)
    except PortalError as exc:
        http_refusal(exc)
        raise
    filter_user = id_or_none(params.get("user"))
    query = {k: v for k, v in {"department": department.pk, "q": q, "user": filter_user or "",
                               "page": params.get("page", "")}.items() if v}
    if request.method == "POST":
        try:
            changes = resource_permissions_set(actor=user, department_id=department.pk,
                                               assignments=_assignments(request.POST))
        except PortalError as exc:
            http_refusal(exc)
            messages.error(request, str(exc.detail))
        else:
            messages.success(request, _("已保存：授予 %(g)d 项，收回 %(r)d 项") % {
                "g": len(changes.granted), "r": len(changes.revoked)})
        return redirect(f"{request.path}?{urlencode(query)}")
    matrix = permission_matrix(department=department, q=q, page=params.get("page"), user_id=filter_user)
    all_staff = matrix.staff if filter_user is None else list(rp.assignable_staff(department.pk))
    context.update({"matrix": matrix, "department": department, "page": matrix.page, "all_staff": all_staff,
                    "filter_user": filter_user, "query": urlencode(query)})
    return render_page(request, "catalog/resource_permissions.html", context)
