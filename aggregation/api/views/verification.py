"""API of the verification cases (数据校核, R14): filing, the extension, the provider's answers.

Reads go through the same scope rules as the pages (404 outside them); every transition is an @action calling
one service; PortalError becomes {"code", "detail"} in the project's exception handler.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from portal.choices import Clock
from portal.selectors.deadlines import with_deadline
from portal.services.workdays import WorkCalendar

from ...models import VerificationCase
from ...services import verification
from ..filters import VerificationCaseFilterSet
from ..serializers import verification as s


class VerificationCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """数据校核（R14）：使用部门申请，提供部门 10 个工作日内答复，延期须主要负责人同意。"""

    serializer_class = s.VerificationCaseSerializer
    queryset = VerificationCase.objects.none()  # typing for the schema; get_queryset() scopes every request
    lookup_value_regex = r"\d+"
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    filterset_class = VerificationCaseFilterSet

    def get_queryset(self):
        qs = VerificationCase.objects.restrict(self.request.user).select_related(
            "dataset__entry", "provider", "requester"
        ).prefetch_related("evidence")
        return with_deadline(qs, Clock.VERIFICATION)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "calendar": WorkCalendar()}

    def _answer(self, case_id):
        case = with_deadline(VerificationCase.objects.filter(pk=case_id), Clock.VERIFICATION).select_related(
            "dataset__entry", "provider", "requester"
        ).prefetch_related("evidence").get()
        return Response(self.get_serializer(case).data)

    def _transition(self, request, pk, serializer_class, service):
        """Validate the body with `serializer_class`, call `service` on case `pk`, answer the case."""
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        service(actor=request.user, case_id=pk, **data.validated_data)
        return self._answer(pk)

    @extend_schema(
        request={"multipart/form-data": s.VerificationCaseCreateSerializer,
                 "application/json": s.VerificationCaseCreateSerializer},
        responses={201: s.VerificationCaseSerializer}, summary="申请数据校核",
    )
    def create(self, request):
        data = s.VerificationCaseCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        evidence = request.FILES.getlist("evidence") if hasattr(request, "FILES") else []
        case = verification.verification_case_file(
            actor=request.user, record_id=v["record"], dataset_id=v["dataset"], fields=v["fields"],
            description=v["description"], evidence=evidence or v.get("evidence") or [],
        )
        response = self._answer(case.pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(request=s.ExtensionRequestSerializer, responses=s.VerificationCaseSerializer, summary="申请延期")
    @action(detail=True, methods=["post"], url_path="extension")
    def request_extension(self, request, pk=None):
        return self._transition(request, pk, s.ExtensionRequestSerializer, verification.verification_extension_request)

    @extend_schema(request=s.ExtensionDecisionSerializer, responses=s.VerificationCaseSerializer,
                   summary="主要负责人审批延期")
    @action(detail=True, methods=["post"], url_path="extension/decision")
    def decide_extension(self, request, pk=None):
        return self._transition(request, pk, s.ExtensionDecisionSerializer, verification.verification_extension_decide)

    @extend_schema(request=s.ConfirmSerializer, responses=s.VerificationCaseSerializer, summary="经核无误")
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._transition(request, pk, s.ConfirmSerializer, verification.verification_case_confirm)

    @extend_schema(request=s.CorrectSerializer, responses=s.VerificationCaseSerializer, summary="更正数据")
    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        return self._transition(request, pk, s.CorrectSerializer, verification.verification_case_correct)
