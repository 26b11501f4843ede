"""What every catalog page uses: service calls mapped to 404 / 403 / a message, the sub-navigation, paging."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from portal.choices import Role
from portal.errors import PortalError
from portal.permissions import is_department_member
from portal.shortcuts import http_refusal

from .. import resource_perms
from ..models import CatalogEntry

PAGE_SIZE = 50


def run_service(request, fn, **kwargs):
    """Run a service: (result, None), or (None, the refusal) for the page to show; 404/403 as for access."""
    try:
        return fn(**kwargs), None
    except PortalError as exc:
        http_refusal(exc)
        return None, exc


def render_page(request, template: str, context: dict):
    """render() plus the flags the catalog's sub-navigation needs (which tabs the user's roles open)."""
    user = request.user
    context["catalog_nav"] = {
        "staff": can_file(user),
        "region": user.has_role(Role.COUNTY_BUREAU, Role.BUREAU_REVIEWER, Role.ASSESSOR),
        "reviewer": user.has_role(Role.BUREAU_REVIEWER),
        "assigner": user.has_role(Role.SECURITY_ADMIN) or resource_perms.may_assign(user, user.department_id),
        "current": request.resolver_match.url_name if request.resolver_match else "",
    }
    return render(request, template, context)


def paginate(request, queryset):
    """The `?page=` page of `queryset`, PAGE_SIZE rows a page."""
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def can_file(user) -> bool:
    """Data staff or head of a department: may file entries and demands for it."""
    return is_department_member(user)


def sharing_request_url(entry: CatalogEntry) -> str:
    """Where to ask for a sharing request of `entry` (the sharing chapter's form)."""
    try:
        return reverse("sharing:request-new", args=[entry.pk])
    except NoReverseMatch:
        return entry.get_absolute_url()

