"""The kernel's lists' query parameters (FilterSets on portal.api.params)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .params import ChoiceFilter, FilterSet


class DeadlineFilterSet(FilterSet):
    """My pending work: `scope`, `state`."""

    scope = ChoiceFilter(choices=[("mine", _("分配给我的（缺省）")), ("all", _("职责范围内的全部"))],
                         help_text="范围")
    state = ChoiceFilter(choices=[("running", _("进行中（缺省）")), ("closed", _("包括已结束的"))],
                         help_text="状态")

    def filter_queryset(self, queryset):
        user, data = self.request.user, self.form.cleaned_data
        qs = queryset.restrict(user, "view") if data["scope"] == "all" else queryset.assigned_to(user)
        if data["state"] != "closed":
            qs = qs.running()
        return qs.order_by("due_on", "id")


class NotificationFilterSet(FilterSet):
    unread = ChoiceFilter(choices=[("1", _("仅未读")), ("0", _("全部（缺省）"))], help_text="是否只列未读消息")

    def filter_queryset(self, queryset):
        if self.form.cleaned_data["unread"] == "1":
            queryset = queryset.filter(read_at__isnull=True)
        return queryset
