"""The incident register as its readers may see it (security administrator, bureau reviewers)."""

from __future__ import annotations

from portal.errors import NotFound
from portal.permissions import int_or_none

from ..models import SecurityIncident


def incident_list(*, user):
    return (SecurityIncident.objects.restrict(user, "view")
            .select_related("reported_by", "handled_by", "closed_by")
            .prefetch_related("resources", "departments"))


def incident_get(*, user, incident_id: int) -> SecurityIncident:
    incident = incident_list(user=user).filter(pk=int_or_none(incident_id) or 0).first()
    if incident is None:
        raise NotFound()
    return incident
