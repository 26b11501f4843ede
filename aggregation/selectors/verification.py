"""Read side of the verification cases (数据校核, R14): the open case of a record, the R14.4 flags every record read
carries (pages, APIs, the sharing chapter's pull and export), cases with their clocks, what a user may do now."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, OuterRef, Subquery
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy

from portal.choices import Clock
from portal.models import Deadline
from portal.permissions import access_by_id, is_head_of, is_staff_of

from ..choices import ExtensionState, VerificationState
from ..models import VerificationCase

# R14.4 (第十四条第三款), in the portal's words: shown to every reader of a record under verification.
VERIFICATION_NOTICE = gettext_lazy(
    "该数据正在核校中。依据《焦作市政务数据资源管理暂行办法》第十四条，校核期间，办理业务涉及有关单位和个人的，"
    "如果已经提供合法有效证明材料，受理单位应当照常办理，不得拒绝、推诿或者要求办事人办理信息更正手续。"
)


def open_case_for(record) -> VerificationCase | None:
    """The open verification case of `record`, or None (one query)."""
    return VerificationCase.objects.filter(record_id=record.pk, state=VerificationState.OPEN).first()


def verification_flags(record) -> dict:
    """The R14.4 fields every record read carries (UI and API)."""
    case = open_case_for(record)
    return {
        "under_verification": case is not None,
        "verification_notice": str(VERIFICATION_NOTICE) if case is not None else "",
        "verification_case": case.pk if case is not None else None,
    }


def records_under_verification(record_ids: Iterable[int]) -> set[int]:
    """Which of these records have an open case (one query; for list pages and the push/pull APIs)."""
    ids = list(record_ids)
    if not ids:
        return set()
    return set(
        VerificationCase.objects.filter(record_id__in=ids, state=VerificationState.OPEN).values_list(
            "record_id", flat=True
        )
    )


def with_clocks(cases):
    """Annotate each case with its verification clock: due_on, clock_state, extended_days, closed_late."""
    case_type = ContentType.objects.get_for_model(VerificationCase)
    clock = Deadline.objects.filter(
        case_type=case_type, case_id=Cast(OuterRef("pk"), CharField()), clock=Clock.VERIFICATION
    ).order_by("-id")
    return cases.annotate(
        due_on=Subquery(clock.values("due_on")[:1]),
        clock_state=Subquery(clock.values("state")[:1]),
        extended_days=Subquery(clock.values("extended_days")[:1]),
        closed_late=Subquery(clock.values("closed_late")[:1]),
    )


def access_case_by_id(user, case_id, *, for_update: bool = False) -> VerificationCase:
    """The case if inside the user's view scope, else NotFound."""
    return access_by_id(VerificationCase, user, case_id, "view", for_update=for_update,
                        select_related=("dataset__entry", "provider", "requester", "record"))


def case_actions(user, case: VerificationCase) -> set[str]:
    """What `user` may do on `case` now (drives the buttons; the services re-check)."""
    actions: set[str] = set()
    if not case.is_open:
        return actions
    if is_staff_of(user, case.provider_id):
        actions |= {"correct", "confirm"}
        if case.extension_state == ExtensionState.NONE:
            actions.add("request_extension")
    if case.extension_state == ExtensionState.REQUESTED and is_head_of(user, case.provider_id):
        actions.add("decide_extension")
    return actions
