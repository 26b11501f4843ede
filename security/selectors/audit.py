"""The audit administrator's search of the trail (R29, 三员分立): one rule for the page, the CSV export and the API.

`search_events(filters)` takes the values the FilterSet (security.api.filters.AuditEventFilterSet) has already read
strictly and answers the matching events, newest first. Each filter is served by an index of portal_auditevent:

- person: actor_label (a person's username, an API client's `client:…`) or the ids of users whose username or name
  (姓名) is the value — `portal_audit_label_idx`, `portal_audit_actor_idx`;
- department: the FK's index; action: exact or, ending with `.`, a prefix (`sharing.`) — the `varchar_pattern_ops`
  index; object: type and/or id — `portal_audit_object_idx` (an id alone scans);
- grant: events on the grant itself (`sharing.grant` #id) and events naming it in `data.grant` (data reads,
  approvals, pushes) — `portal_audit_grant_idx` (partial, on `data -> 'grant'`);
- source IP: one address (=) or a network (`<<=`, which PostgreSQL answers from the btree on inet) —
  `portal_audit_ip_idx`; time range: `occurred_at`'s index; result: no index (three values).

Newest first is by time (`occurred_at`, then id): a time range is then one backward range scan of its index. Paging
is by keyset (the API: a cursor on the time; the page: `before` / `after` an event), never OFFSET, and nothing
counts the whole result.

`narrowed` guards against the classic trap of `ORDER BY … LIMIT` with a rare filter: the planner walks the time index
backwards hoping to meet 50 matches soon, and for an old grant or an address seen twice it reads most of the table
(measured: 135–245 ms on 500 000 rows, growing with the trail). So the ids of the matches are first fetched without
an order, at most COUNT_LIMIT + 1 of them (the filters' own indexes answer that); when there are no more than
COUNT_LIMIT, the page is read from exactly those ids (and their number is the exact count), otherwise the matches
are common enough for the ordered scan to meet them early, and the page says "more than COUNT_LIMIT".
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.db.models import BooleanField, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from portal.choices import Role
from portal.models import AuditEvent, User

# The labels of the actions an auditor meets most; any other action is shown by its code.
ACTION_LABELS = {
    "portal.auth.login": _("登录"),
    "portal.auth.logout": _("退出登录"),
    "portal.auth.login_failed": _("登录失败"),
    "portal.auth.locked_out": _("账户锁定"),
    "portal.auth.unlocked": _("解除锁定"),
    "portal.auth.password_changed": _("修改密码"),
    "portal.auth.disabled_inactive": _("长期未用账户停用"),
    "portal.role.granted": _("授予角色"),
    "portal.role.revoked": _("撤销角色"),
    "portal.user.created": _("创建用户"),
    "portal.user.updated": _("修改用户"),
    "portal.department.created": _("创建部门"),
    "portal.department.updated": _("修改部门"),
    "portal.token.created": _("签发个人令牌"),
    "portal.token.revoked": _("撤销个人令牌"),
    "security.signature.refused": _("签名调用被拒绝"),
    "security.signature.throttled": _("签名调用超出频率"),
    "security.field_keys.rotated": _("字段密钥轮换"),
    "security.keys.rotated_batch": _("字段密钥轮换（批次）"),
    "security.audit.searched": _("查询审计日志"),
    "security.audit.exported": _("导出审计日志"),
    "security.leak.traced": _("追踪泄露文件"),
    "security.incident.reported": _("报告安全事件"),
    "security.incident.handling": _("处置安全事件"),
    "security.incident.closed": _("关闭安全事件"),
    "security.secrecy_review.flagged": _("提请保密审查"),
    "security.secrecy_review.decided": _("作出保密审查结论"),
    "security.risk_assessment.scheduled": _("安排风险评估"),
    "security.risk_assessment.completed": _("登记风险评估结果"),
    "security.emergency_plan.filed": _("登记应急预案"),
    "security.emergency_plan.reviewed": _("评审应急预案"),
    "security.emergency_plan.downloaded": _("下载应急预案"),
    "sharing.client.registered": _("登记接入系统"),
    "sharing.client.suspended": _("停用接入系统"),
    "sharing.client.resumed": _("恢复接入系统"),
    "sharing.client.secret_rotated": _("更换接入系统密钥"),
    "sharing.client.networks_set": _("设置接入系统来源网段"),
    "sharing.data.read": _("读取共享数据"),
    "sharing.data.refused": _("拒绝数据调用"),
    "sharing.request.submitted": _("提交共享申请"),
    "sharing.request.approved": _("批准共享申请"),
    "sharing.request.rejected": _("驳回共享申请"),
    "sharing.request.withdrawn": _("撤回共享申请"),
    "sharing.grant.revoked": _("撤销授权"),
    "sharing.grant.expired": _("授权到期"),
    "catalog.entry.created": _("新建目录"),
    "catalog.entry.submitted": _("提交目录"),
    "catalog.entry.approved": _("目录审核通过"),
    "catalog.entry.returned": _("目录退回"),
    "aggregation.record.viewed": _("查看数据记录"),
    "aggregation.record.deleted": _("删除数据记录"),
}

# How many rows a page may show, and how far the page counts before it says "more than".
PAGE_SIZES = (20, 50, 100)
COUNT_LIMIT = 1000


def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def role_labels(roles: str) -> str:
    """The comma-separated role codes of an event as their Chinese names."""
    names = []
    for code in filter(None, (roles or "").split(",")):
        try:
            names.append(str(Role(code).label))
        except ValueError:
            names.append(code)
    return "、".join(names)


def _person(value: str) -> Q:
    users = list(User.objects.filter(Q(username__iexact=value) | Q(full_name=value)).values_list("pk", flat=True)[:50])
    match = Q(actor_label=value)
    if users:
        match |= Q(actor_id__in=users)
    return match


def _in_network(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> RawSQL:
    # `<<=` (is contained by or equals): Django has no lookup for it; the value travels as a parameter.
    return RawSQL('"portal_auditevent"."ip" <<= %s::inet', [str(network)], output_field=BooleanField())


def search_events(filters: dict[str, Any], queryset: QuerySet[AuditEvent] | None = None) -> QuerySet[AuditEvent]:
    """The events matching `filters` (read by AuditEventFilterSet; empty values are no filter), newest first, with
    `actor_name` and `department_name`."""
    qs = AuditEvent.objects.all() if queryset is None else queryset
    f = {k: v for k, v in filters.items() if v not in (None, "", [])}
    if "person" in f:
        qs = qs.filter(_person(f["person"]))
    if "department" in f:
        qs = qs.filter(department_id=getattr(f["department"], "pk", f["department"]))
    if "action" in f:
        action = f["action"]
        qs = qs.filter(action__startswith=action) if action.endswith(".") else qs.filter(action=action)
    if "object_type" in f:
        qs = qs.filter(object_type=f["object_type"])
    if "object_id" in f:
        qs = qs.filter(object_id=f["object_id"])
    if "grant" in f:
        grant = f["grant"]
        qs = qs.filter(Q(object_type="sharing.grant", object_id=str(grant))
                       | (Q(data__has_key="grant") & Q(data__grant=grant)))
    if "result" in f:
        qs = qs.filter(result=f["result"])
    if "ip" in f:
        network = f["ip"]
        if network.num_addresses == 1:
            qs = qs.filter(ip=str(network.network_address))
        else:
            qs = qs.alias(in_network=_in_network(network)).filter(in_network=True)
    if "since" in f:
        qs = qs.filter(occurred_at__gte=f["since"])
    if "until" in f:
        qs = qs.filter(occurred_at__lt=f["until"])
    return _shown(qs)


ORDERING = ("-occurred_at", "-id")


def _shown(qs: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    # The names by annotation, not select_related: the user row would bring its password hash along.
    return qs.annotate(actor_name=F("actor__full_name"), department_name=F("department__name")).order_by(*ORDERING)


def narrowed(qs: QuerySet[AuditEvent]) -> tuple[QuerySet[AuditEvent], int, bool]:
    """(the same events, read by id when they are few; how many, up to COUNT_LIMIT; whether there are more)."""
    ids = list(qs.order_by().values_list("id", flat=True)[: COUNT_LIMIT + 1])
    if len(ids) > COUNT_LIMIT:
        return qs, COUNT_LIMIT, True
    return _shown(AuditEvent.objects.filter(pk__in=ids)), len(ids), False


def _older(event_id: int) -> Q | None:
    """The events shown after `event_id` (older, or as old with a lower id); None when there is no such event."""
    when = AuditEvent.objects.filter(pk=event_id).values_list("occurred_at", flat=True).first()
    if when is None:
        return None
    # The first condition alone is what the time index serves; the second breaks ties.
    return Q(occurred_at__lte=when) & (Q(occurred_at__lt=when) | Q(id__lt=event_id))


def _newer(event_id: int) -> Q | None:
    when = AuditEvent.objects.filter(pk=event_id).values_list("occurred_at", flat=True).first()
    if when is None:
        return None
    return Q(occurred_at__gte=when) & (Q(occurred_at__gt=when) | Q(id__gt=event_id))


def page_of(qs: QuerySet[AuditEvent], *, size: int, before: int | None = None,
            after: int | None = None) -> tuple[list[AuditEvent], bool, bool]:
    """One page of `qs` by keyset: (events newest first, whether older ones exist, whether newer ones exist).
    `before`: the events shown after that event (the next page); `after`: those shown before it (the previous one).
    An unknown event id gives an empty page."""
    if after is not None:
        newer = _newer(after)
        if newer is None:
            return [], False, False
        rows = list(qs.filter(newer).order_by("occurred_at", "id")[: size + 1])
        return rows[:size][::-1], True, len(rows) > size
    if before is not None:
        older = _older(before)
        if older is None:
            return [], False, False
        qs = qs.filter(older)
    rows = list(qs[: size + 1])
    return rows[:size], len(rows) > size, before is not None
