"""/api/v1/sharing/clients/ (R28.1, the security administrator): register a department's system, suspend, resume,
rotate its secret (shown once), set the networks its calls may come from, the leak monitor's automatic suspension.
The pages' services (sharing/services/clients.py) and the same refusals."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.choices import Role

from ...selectors import api_client_list
from ...services.clients import (
    api_client_leak_policy_set,
    api_client_networks_set,
    api_client_register,
    api_client_resume,
    api_client_rotate_secret,
    api_client_suspend,
)
from .. import serializers as s


class ManagesClients(permissions.BasePermission):
    message = "仅安全管理员可管理接入系统"

    def has_permission(self, request, view) -> bool:
        return request.user.has_role(Role.SECURITY_ADMIN)


class ApiClientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """接入系统（安全管理员）：登记、停用、恢复、更换密钥（仅显示一次）、来源网段、异常时自动停用。"""

    serializer_class = s.ApiClientSerializer
    permission_classes = [permissions.IsAuthenticated, ManagesClients]

    def get_queryset(self):
        return api_client_list(user=self.request.user)

    def _answer(self, client, code=status.HTTP_200_OK, secret: str | None = None):
        client = self.get_queryset().get(pk=client.pk)
        if secret is None:
            return Response(s.ApiClientSerializer(client).data, status=code)
        client.secret = secret
        return Response(s.ApiClientWithSecretSerializer(client).data, status=code)

    @extend_schema(request=s.ApiClientInputSerializer, responses={201: s.ApiClientWithSecretSerializer},
                   summary="登记接入系统（应答含签名密钥，仅此一次）")
    def create(self, request):
        data = s.ApiClientInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        client, secret = api_client_register(actor=request.user, department_id=v["department"], name=v["name"],
                                             allowed_networks=v["allowed_networks"],
                                             rate_per_minute=v["rate_per_minute"], contact=v["contact"])
        return self._answer(client, status.HTTP_201_CREATED, secret)

    @extend_schema(request=s.ReasonInputSerializer, responses=s.ApiClientSerializer, summary="停用（须说明原因）")
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(api_client_suspend(actor=request.user, client_pk=pk,
                                               reason=data.validated_data["reason"]))

    @extend_schema(request=None, responses=s.ApiClientSerializer, summary="恢复")
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._answer(api_client_resume(actor=request.user, client_pk=pk))

    @extend_schema(request=None, responses=s.ApiClientWithSecretSerializer, summary="更换签名密钥（旧密钥即时失效）")
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        client, secret = api_client_rotate_secret(actor=request.user, client_pk=pk)
        return self._answer(client, secret=secret)

    @extend_schema(request=s.NetworksInputSerializer, responses=s.ApiClientSerializer, summary="设置允许的来源网段")
    @action(detail=True, methods=["post"])
    def networks(self, request, pk=None):
        data = s.NetworksInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(api_client_networks_set(actor=request.user, client_pk=pk,
                                                    allowed_networks=data.validated_data["allowed_networks"]))

    @extend_schema(request=s.LeakPolicyInputSerializer, responses=s.ApiClientSerializer,
                   summary="异常访问时自动停用（开/关）")
    @action(detail=True, methods=["post"], url_path="leak-policy")
    def leak_policy(self, request, pk=None):
        data = s.LeakPolicyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(api_client_leak_policy_set(actor=request.user, client_pk=pk,
                                                       auto_suspend=data.validated_data["auto_suspend"]))
