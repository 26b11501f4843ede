"""/verify/: the public page that checks a served record (R26.1, sharing.services.documents)."""

from __future__ import annotations

import json

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from security import documents

from ..forms import VerifyForm
from ..services.documents import document_verify


@never_cache
def verify_page(request):
    """/verify/: paste a record as served; the page says whether it is authentic and unaltered."""
    form = VerifyForm(request.POST or None)
    answer = None
    if request.method == "POST" and form.is_valid():
        try:
            record = json.loads(form.cleaned_data["record"])
        except ValueError:
            answer = document_verify(record=None)
            answer.update(detail=_("请粘贴 JSON 格式的记录"), reason="not_json")
        else:
            answer = document_verify(record=record)
    return render(request, "sharing/verify.html", {"form": form, "answer": answer,
                                                   "key": documents.public_key_info()})
