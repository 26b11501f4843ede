"""Pages of the base databases (基础库, R13.2): the four databases and their sources, one subject looked up."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from portal.errors import PermissionDenied, PortalError
from portal.shortcuts import access_or_404

from .. import access
from ..forms.basedb import SubjectLookupForm
from ..selectors import basedb
from ..selectors.verification import VERIFICATION_NOTICE
from ..services.basedb import subject_view
from .common import form_errors


@login_required
def basedb_index(request):
    """The four base databases and their authoritative sources (readable by every department, R19.2)."""
    if not access.reads_data(request.user):
        raise Http404
    databases = [
        {"db": db, "datasets": list(basedb.contributing_datasets(db))} for db in basedb.BASE_DATABASES.values()
    ]
    return render(request, "aggregation/basedb_index.html", {"databases": databases})


@login_required
def subject_lookup(request, kind: str):
    """Type a key → the subject's base items merged across sources. POST, so the key never sits in a URL or log."""
    if not access.reads_data(request.user):
        raise Http404
    db = access_or_404(basedb.base_database, kind)
    form = SubjectLookupForm(request.POST or None)
    view = None
    if request.method == "POST" and form.is_valid():
        try:
            view = subject_view(actor=request.user, kind=kind, key=form.cleaned_data["key"])
        except PermissionDenied as exc:
            raise Http404 from exc
        except PortalError as exc:
            form_errors(form, exc)
    return render(request, "aggregation/subject.html", {
        "db": db, "form": form, "view": view, "notice": VERIFICATION_NOTICE,
    })
