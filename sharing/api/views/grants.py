"""/api/v1/sharing/grants/: grants in the caller's scope (an API client: its department's), revocation."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.errors import NotFound

from ...models import Grant
from ...selectors import grant_list
from ...services.grants import grant_revoke
from .. import serializers as s
from ..filters import GrantFilterSet


class GrantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """授权：本部门获得的授权、本部门资源的授权（接入系统只看到本部门的授权）。`box`: mine | provider; `state`."""

    serializer_class = s.GrantSerializer
    filterset_class = GrantFilterSet

    def get_queryset(self):
        return grant_list(user=self.request.user)

    @extend_schema(request=s.ReasonInputSerializer, responses=s.GrantSerializer, summary="撤销授权")
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = grant_revoke(actor=request.user, grant_id=pk, reason=data.validated_data["reason"])
        grant = Grant.objects.select_related("consumer", "entry").filter(pk=grant.pk).first()
        if grant is None:  # pragma: no cover
            raise NotFound()
        return Response(s.GrantSerializer(grant).data)
