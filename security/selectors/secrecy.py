"""The secrecy review register as its readers may see it (security administrator, bureau reviewers)."""

from __future__ import annotations

from portal.errors import NotFound
from portal.permissions import int_or_none

from ..models import SecrecyReview


def secrecy_review_list(*, user):
    return SecrecyReview.objects.restrict(user, "view").select_related("entry", "flagged_by", "decided_by")


def secrecy_review_get(*, user, review_id: int) -> SecrecyReview:
    review = secrecy_review_list(user=user).filter(pk=int_or_none(review_id) or 0).first()
    if review is None:
        raise NotFound()
    return review
