"""Read side of the verification cases (数据校核, R14): the open case of a record, the R14.4 flags every record read
carries (pages, APIs, the sharing chapter's pull and export), what a user may do now."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy

from catalog import resource_perms
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
    return VerificationCase.objects.filter(record_id=record.id, state=VerificationState.OPEN).first()


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


def access_case_by_id(user, case_id, *, for_update: bool = False) -> VerificationCase:
    """The case if inside the user's view scope, else NotFound. (Its record is not joined: the row lives in the
    resource table, read by id through storage.reading.)"""
    return access_by_id(VerificationCase, user, case_id, "view", for_update=for_update,
                        select_related=("dataset__entry", "provider", "requester"))


def case_actions(user, case: VerificationCase) -> set[str]:
    """What `user` may do on `case` now (drives the buttons; the services re-check)."""
    actions: set[str] = set()
    if not case.is_open:
        return actions
    if is_staff_of(user, case.provider_id) and resource_perms.holds(
        user, entry_id=case.dataset.entry_id, provider_id=case.provider_id, perm=resource_perms.ANSWER_VERIFICATION
    ):
        actions |= {"correct", "confirm"}
        if case.extension_state == ExtensionState.NONE:
            actions.add("request_extension")
    if case.extension_state == ExtensionState.REQUESTED and is_head_of(user, case.provider_id):
        actions.add("decide_extension")
    return actions
