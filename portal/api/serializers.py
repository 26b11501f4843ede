"""Kernel API shapes."""

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.params import DateParam, IntegerParam, QuerySerializer
from portal.models import Deadline, Department, Notification, Region, User
from portal.selectors.deadlines import deadline_row
from portal.services.workdays import WorkCalendar


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "code", "name", "kind"]


class DepartmentSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.name")

    class Meta:
        model = Department
        fields = ["id", "name", "short_name", "region", "kind", "credit_code", "is_bureau"]


class MeSerializer(serializers.ModelSerializer):
    department = DepartmentSerializer(allow_null=True)
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "department", "roles"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_roles(self, user) -> list[str]:
        return sorted(user.role_set)


class DeadlineSerializer(serializers.ModelSerializer):
    department = serializers.CharField(source="department.name")
    remaining_working_days = serializers.SerializerMethodField()

    class Meta:
        model = Deadline
        fields = [
            "id", "clock", "title", "department", "responsible_role", "started_on", "working_days", "due_on",
            "provisional", "extended_days", "state", "closed_on", "closed_late", "url", "remaining_working_days",
        ]

    def get_remaining_working_days(self, deadline) -> int | None:
        return deadline_row(deadline, calendar=self.context.setdefault("calendar", WorkCalendar())).remaining


class TodoItemSerializer(serializers.Serializer):
    title = serializers.CharField()
    url = serializers.CharField()
    since = serializers.SerializerMethodField(help_text="开始等待的时间（日期或日期时间，ISO 8601）")
    note = serializers.CharField()

    def get_since(self, item) -> str | None:
        if item.since is None:
            return None
        if isinstance(item.since, dt.datetime):
            return timezone.localtime(item.since).isoformat()
        return item.since.isoformat()


class TodoGroupSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="稳定标识，如 catalog.signoff")
    title = serializers.CharField()
    url = serializers.CharField(help_text="列出全部事项的页面")
    count = serializers.IntegerField()
    urgent = serializers.BooleanField()
    items = TodoItemSerializer(many=True, help_text="最早的几项")


class TodoSerializer(serializers.Serializer):
    deadlines = DeadlineSerializer(many=True, help_text="分配给我的正在计时的事项，截止日期最早的在前")
    groups = TodoGroupSerializer(many=True, help_text="各章节报告的无时限待办，紧急的在前")


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "count", "created_at", "read_at"]


class WorkingDaysQuerySerializer(QuerySerializer):
    start = DateParam()
    days = IntegerParam(min_value=0, max_value=366)


class WorkingDaysResultSerializer(serializers.Serializer):
    start = serializers.DateField()
    days = serializers.IntegerField()
    due = serializers.DateField()
    provisional = serializers.BooleanField()
