"""The online query page (在线查询, R22.1/R23.1) for a clerk at a counter (sharing.data_api.online_query)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from portal.permissions import signed_in

from ..data_api.online_query import online_query
from ..forms import OnlineQueryForm


@never_cache
@login_required
def online_query_view(request):
    form = OnlineQueryForm(request.POST or None)
    answers = None
    if not signed_in(request.user) or not request.user.department_id:
        return render(request, "sharing/online_query.html", {"form": None, "answers": None,
                                                             "no_department": True}, status=403)
    if request.method == "POST" and form.is_valid():
        answers = online_query(user=request.user, key=form.cleaned_data["key"], purpose=form.purpose_text(),
                               entry=form.cleaned_data.get("resource"))
    return render(request, "sharing/online_query.html", {"form": form, "answers": answers})
