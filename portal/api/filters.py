"""The kernel's lists' query parameters (FilterSets on portal.api.params)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from portal.choices import Clock, DeadlineState

from .params import ChoiceFilter, FilterSet, IdFilter


class DeadlineFilterSet(FilterSet):
    """Clocks: `scope` (mine / all in my scope), `state`, `clock`, `department` — the API's list and the clock list page
    (portal.views.deadlines) read the same rule."""

    scope = ChoiceFilter(choices=[("mine", _("分配给我的（缺省）")), ("all", _("职责范围内的全部"))],
                         help_text="范围")
    state = ChoiceFilter(choices=[("running", _("进行中（缺省）")), ("open", _("未超期")), ("overdue", _("已超期")),
                                  ("closed", _("包括已结束的"))],
                         help_text="状态")
    clock = ChoiceFilter(choices=Clock.choices, help_text="时限类型")
    department = IdFilter(field_name="department", help_text="责任部门编号")

    def filter_queryset(self, queryset):
        user, data = self.request.user, self.form.cleaned_data
        qs = queryset.restrict(user, "view") if data["scope"] == "all" else queryset.assigned_to(user)
        if data["state"] in (DeadlineState.OPEN, DeadlineState.OVERDUE):
            qs = qs.filter(state=data["state"])
        elif data["state"] != "closed":
            qs = qs.running()
        if data["clock"]:
            qs = qs.filter(clock=data["clock"])
        if data["department"]:
            qs = qs.filter(department_id=data["department"])
        return qs.order_by("due_on", "id")


class NotificationFilterSet(FilterSet):
    unread = ChoiceFilter(choices=[("1", _("仅未读")), ("0", _("全部（缺省）"))], help_text="是否只列未读消息")

    def filter_queryset(self, queryset):
        if self.form.cleaned_data["unread"] == "1":
            queryset = queryset.filter(read_at__isnull=True)
        return queryset
