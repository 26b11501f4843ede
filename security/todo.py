"""This chapter's work in 我的待办 (portal.todo): anomalies, incidents and locks for the security administrator, secrecy
reviews for the bureau, a failed or missing audit verification for the audit administrator.
"""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.choices import Role
from portal.lockout import current_locks
from portal.models import AuditVerification
from portal.todo import FIRST_ITEMS, TodoGroup, TodoItem, group

from .choices import AnomalyState, IncidentState, SecrecyState
from .models import LeakAnomaly, SecrecyReview, SecurityIncident

# The beat verifies every 15 minutes and in full every night: a day without an intact run means it stopped.
VERIFICATION_STALE = dt.timedelta(hours=26)


def todo(user, today) -> list[TodoGroup]:
    groups: list[TodoGroup] = []
    if user.has_role(Role.SECURITY_ADMIN):
        groups += group(
            "security.incidents", _("未关闭的安全事件"), reverse("security:incident-list"),
            SecurityIncident.objects.restrict(user, "change").exclude(state=IncidentState.CLOSED)
            .order_by("reported_at", "id"),
            lambda i: TodoItem(title=i.title, url=reverse("security:incident-detail", args=[i.pk]),
                               since=i.reported_at, note=i.get_state_display()),
        )
        groups += group(
            "security.anomalies", _("待处理的异常访问"), reverse("security:anomaly-list") + "?state=open",
            LeakAnomaly.objects.restrict(user, "view").filter(state=AnomalyState.OPEN).order_by("created_at", "id"),
            lambda a: TodoItem(title=f"{a.get_kind_display()} · {a.caller}",
                               url=reverse("security:anomaly-detail", args=[a.pk]), since=a.created_at),
            urgent=True,
        )
        locks = [lock for lock in current_locks() if lock.kind == "username"]
        if locks:
            groups.append(TodoGroup(
                key="security.locks", title=_("被锁定的账号"), url=reverse("locks"), count=len(locks),
                items=tuple(TodoItem(title=lock.value, url=reverse("locks"), note=_("锁定至 %(t)s") % {
                    "t": timezone.localtime(lock.until).strftime("%H:%M")}) for lock in locks[:FIRST_ITEMS]),
            ))
    if user.has_role(Role.BUREAU_REVIEWER):
        groups += group(
            "security.secrecy", _("待保密审查的资源"), reverse("security:secrecy-list"),
            SecrecyReview.objects.restrict(user, "decide").filter(state=SecrecyState.PENDING)
            .select_related("entry").order_by("flagged_at", "id"),
            lambda r: TodoItem(title=r.entry.name, url=reverse("security:secrecy-detail", args=[r.pk]),
                               since=r.flagged_at, note=r.reason[:60]),
        )
    if user.has_role(Role.AUDIT_ADMIN):
        groups += _verification(timezone.now())
    return groups


def _verification(now: dt.datetime) -> list[TodoGroup]:
    last = AuditVerification.objects.first()
    url = reverse("security:audit")
    if last is not None and not last.ok:
        where = _("位置 %(seq)s：%(kind)s") % {"seq": last.break_seq, "kind": last.break_detail or last.break_kind}
        return [TodoGroup(key="security.audit_broken", title=_("审计日志校验发现异常"), url=url, count=1, urgent=True,
                          items=(TodoItem(title=where, url=url, since=last.started_at),))]
    last_ok = AuditVerification.objects.filter(ok=True).values_list("finished_at", flat=True).first()
    if last_ok is None or last_ok < now - VERIFICATION_STALE:
        item = TodoItem(title=_("请检查定时任务，或立即校验"), url=url, since=last_ok)
        return [TodoGroup(key="security.audit_stale", title=_("审计日志超过一天未完成校验"), url=url, count=1,
                          urgent=True, items=(item,))]
    return []
