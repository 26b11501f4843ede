"""The shared catalog (共享目录, R21.1) and the interface specification of one published entry (R20.1)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from catalog.choices import ExchangeMethod, ShareType
from portal.choices import STAFF_ROLES
from portal.errors import PortalError

from .. import selectors
from ..forms import CatalogFilterForm
from ..interface import interface_spec
from ..openapi import resource_openapi
from ..policy import read_permission


@login_required
def index(request):
    """共享目录: published entries by sharing type, with conditions and exchange methods (R21.1)."""
    form = CatalogFilterForm(request.GET or None)
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {k: v for k, v in data.items() if v and k != "provider"}
        if data.get("provider"):
            filters["provider"] = data["provider"].pk
    qs = selectors.shared_catalog(user=request.user, filters=filters)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    counts = selectors.shared_catalog_counts(user=request.user)
    tabs = [{"value": "", "label": _("全部"), "count": sum(counts.values())}] + [
        {"value": t.value, "label": t.label, "count": counts[t.value]} for t in ShareType
    ]
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("share_type", None)
    standing = selectors.department_standing(department_id=request.user.department_id,
                                             entry_ids=[e.pk for e in page.object_list])
    return render(request, "sharing/catalog.html", {
        "form": form, "page": page, "tabs": tabs, "current_type": filters.get("share_type", ""),
        "granted": standing["granted"], "pending": standing["pending"],
        "query": query.urlencode(), "can_request": request.user.has_role(*STAFF_ROLES),
    })


@login_required
def interface_spec_view(request, entry_id: int):
    """接口说明 of one published entry (R20.1): endpoints, fields, a signed example request and response."""
    entry = selectors.entry_with_items(entry_id, request.user)
    if entry is None:
        raise Http404
    spec = interface_spec(entry, base_url=request.build_absolute_uri("/").rstrip("/"))
    readable = None
    if request.user.department_id and entry.exchange_methods:
        method = ExchangeMethod.API if ExchangeMethod.API in entry.exchange_methods else entry.exchange_methods[0]
        try:
            perm = read_permission(department=request.user.department, entry=entry, items=None, method=method)
            readable = {"items": perm.items, "grant": perm.grant, "basis": perm.basis}
        except PortalError as exc:
            readable = {"items": (), "error": str(exc.detail), "code": exc.code}
    return render(request, "sharing/interface_spec.html", {"entry": entry, "spec": spec, "readable": readable})


@login_required
def interface_openapi_view(request, entry_id: int):
    """The entry's data interface as an OpenAPI 3 document (R20), downloaded from its 接口说明 page by whoever may see
    the page (not audited, as the page is not: it shows the catalog's metadata, no data)."""
    entry = selectors.entry_with_items(entry_id, request.user)
    if entry is None:
        raise Http404
    document = resource_openapi(entry, base_url=request.build_absolute_uri("/").rstrip("/"))
    response = JsonResponse(document, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{entry.resource_key}-openapi.json"'
    return response
