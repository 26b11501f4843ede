"""portal.shortcuts: a service's refusal as a page answers it (404 out of scope, 403 not allowed, else passed on)."""

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404

from portal.errors import InvalidTransition, NotFound, PermissionDenied
from portal.shortcuts import access_or_404, http_refusal


def _raise(exc):
    raise exc


def test_refusals_map_to_404_and_403_and_others_return():
    with pytest.raises(Http404):
        http_refusal(NotFound())
    with pytest.raises(DjangoPermissionDenied):
        http_refusal(PermissionDenied())
    assert http_refusal(InvalidTransition()) is None


def test_access_or_404():
    assert access_or_404(lambda pk, *, action: (pk, action), 7, action="view") == (7, "view")
    with pytest.raises(Http404):
        access_or_404(_raise, NotFound())
    with pytest.raises(DjangoPermissionDenied):
        access_or_404(_raise, PermissionDenied())
    with pytest.raises(InvalidTransition):
        access_or_404(_raise, InvalidTransition())
