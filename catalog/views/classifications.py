"""The classification tree page: everyone reads it, the bureau maintains it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from portal.choices import Role

from ..forms.base import apply_errors
from ..forms.classifications import ClassificationForm
from ..models import Classification
from ..services import classifications as services
from .base import render_page, run_service


@login_required
def classifications(request):
    user = request.user
    can_edit = user.has_role(Role.BUREAU_REVIEWER, Role.SYSTEM_ADMIN)
    form = ClassificationForm(request.POST or None) if can_edit else None
    if request.method == "POST":
        if not can_edit:
            raise Http404
        if "toggle" in request.POST:
            node = Classification.objects.filter(pk=request.POST.get("toggle")).first()
            if node is None:
                raise Http404
            run_service(
                request,
                services.classification_set_active,
                actor=user,
                classification_id=node.pk,
                active=not node.is_active,
            )
            messages.success(request, _("已更新"))
            return redirect("catalog:classifications")
        if form.is_valid():
            _result, error = run_service(request, services.classification_create, actor=user, **form.cleaned_data)
            if error is None:
                messages.success(request, _("已添加分类"))
                return redirect("catalog:classifications")
            apply_errors(form, None, error.errors, [])
    nodes = Classification.objects.order_by("code")
    return render_page(request, "catalog/classifications.html", {"nodes": nodes, "form": form, "can_edit": can_edit})

