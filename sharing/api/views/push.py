"""/api/v1/sharing/push-subscriptions/: the database push (R22.1) for integrators — subscribe a push grant, pause,
resume, run now, read the receipts. Same services and scope as the pages (sharing/views/push.py): the consumer
department's people manage their subscriptions; a county bureau reads its region's, the city bureau all."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ...models import PushSubscription
from ...services.push import (
    push_subscription_create,
    push_subscription_pause,
    push_subscription_resume,
    push_subscription_run_now,
)
from .. import serializers as s


class PushSubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """数据库推送订阅：本部门的订阅（县级主管部门、市局可查看）；创建、暂停、恢复、立即推送，推送回执。"""

    serializer_class = s.PushSubscriptionSerializer

    def get_queryset(self):
        return (PushSubscription.objects.restrict(self.request.user, "view")
                .select_related("grant__entry", "consumer").order_by("-id"))

    def _answer(self, sub, code=status.HTTP_200_OK):
        return Response(s.PushSubscriptionSerializer(self.get_queryset().get(pk=sub.pk)).data, status=code)

    @extend_schema(request=s.PushSubscriptionInputSerializer, responses={201: s.PushSubscriptionSerializer},
                   summary="创建推送订阅")
    def create(self, request):
        data = s.PushSubscriptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        sub = push_subscription_create(actor=request.user, grant_id=v["grant"], dsn=v["dsn"], table=v["table"],
                                       interval_minutes=v["interval_minutes"])
        return self._answer(sub, status.HTTP_201_CREATED)

    @extend_schema(request=s.PauseInputSerializer, responses=s.PushSubscriptionSerializer, summary="暂停订阅")
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        data = s.PauseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(push_subscription_pause(actor=request.user, subscription_id=pk,
                                                    reason=data.validated_data.get("reason", "")))

    @extend_schema(request=None, responses=s.PushSubscriptionSerializer, summary="恢复订阅（从上次确认的水位继续）")
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._answer(push_subscription_resume(actor=request.user, subscription_id=pk))

    @extend_schema(request=None, responses={202: s.PushSubscriptionSerializer}, summary="立即推送")
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        return self._answer(push_subscription_run_now(actor=request.user, subscription_id=pk),
                            status.HTTP_202_ACCEPTED)

    @extend_schema(responses=s.PushRunSerializer(many=True), summary="推送回执（最近 100 次）")
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def runs(self, request, pk=None):
        sub = self.get_object()
        return Response(s.PushRunSerializer(sub.runs.order_by("-id")[:100], many=True).data)
