"""This chapter's clock-less work in 我的待办 (portal.todo): requests waiting for the provider's comment.

The bureau's review of a request runs on a clock (Clock.SHARING_REVIEW) and is listed by the kernel; the provider's
comment (R19.3) has none, so it would otherwise be found only by opening the request list.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from portal.permissions import is_department_member
from portal.todo import TodoGroup, TodoItem, group

from .choices import RequestState
from .models import SharingRequest


def todo(user, today) -> list[TodoGroup]:
    if not is_department_member(user):
        return []
    waiting = (
        SharingRequest.objects.restrict(user, "comment")
        .filter(state=RequestState.SUBMITTED)
        .exclude(comments__department_id=user.department_id)
        .select_related("consumer", "entry")
        .order_by("created_at", "id")
    )
    url = f"{reverse('sharing:request-list')}?{urlencode({'box': 'provider', 'state': RequestState.SUBMITTED})}"
    return group(
        "sharing.comment", _("待提出意见的共享申请"), url, waiting,
        lambda r: TodoItem(title=r.entry.name, url=reverse("sharing:request-detail", args=[r.pk]),
                           since=r.created_at, note=r.consumer.name),
    )
