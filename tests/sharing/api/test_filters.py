"""The sharing chapter's API list parameters (sharing.api.filters): `box` and `state` of requests and grants filter
as the pages do; bad values are refused."""

import pytest
from django.utils import timezone

from sharing.choices import GrantState, RequestState
from sharing.models import SharingRequest
from tests.api_params import BAD_CHOICES, assert_invalid
from tests.sharing.helpers import request_values

pytestmark = pytest.mark.django_db
REQUESTS = "/api/v1/sharing/requests/"
GRANTS = "/api/v1/sharing/grants/"


@pytest.fixture
def world(make_entry, make_grant, other_dept, other_staff):
    """other_dept holds an active and a revoked grant on dept's entries, and has one request waiting."""
    active = make_grant(other_dept, make_entry(), ["企业名称"])
    revoked = make_grant(other_dept, make_entry(), ["企业名称"], state=GrantState.REVOKED)
    values = request_values(items=["企业名称"])
    waiting = SharingRequest.objects.create(consumer=other_dept, entry=make_entry(), state=RequestState.SUBMITTED,
                                            submitted_on=timezone.localdate(), created_by=other_staff, **values)
    return {"active": active, "revoked": revoked, "waiting": waiting}


def _ids(client, path, **query):
    response = client.get(path, query)
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def test_request_filters(world, api_as, staff, other_staff, reviewer):
    granted = sorted([world["active"].request_id, world["revoked"].request_id])
    everything = sorted([*granted, world["waiting"].pk])
    consumer, provider = api_as(other_staff), api_as(staff)
    assert _ids(consumer, REQUESTS) == _ids(consumer, REQUESTS, box="all") == _ids(consumer, REQUESTS, box="mine") \
        == everything
    assert _ids(consumer, REQUESTS, box="provider") == [] == _ids(provider, REQUESTS, box="mine")
    assert _ids(provider, REQUESTS, box="provider") == everything
    assert _ids(consumer, REQUESTS, state="approved") == granted
    assert _ids(api_as(reviewer), REQUESTS, box="review") == [world["waiting"].pk]
    assert _ids(consumer, REQUESTS, box="review") == []  # not a reviewer


def test_grant_filters(world, api_as, staff, other_staff):
    consumer, provider = api_as(other_staff), api_as(staff)
    both = sorted([world["active"].pk, world["revoked"].pk])
    assert _ids(consumer, GRANTS) == _ids(consumer, GRANTS, box="all") == _ids(consumer, GRANTS, box="mine") == both
    assert _ids(consumer, GRANTS, box="provider") == [] == _ids(provider, GRANTS, box="mine")
    assert _ids(provider, GRANTS, box="provider", state="active") == [world["active"].pk]
    assert _ids(consumer, GRANTS, state="revoked") == [world["revoked"].pk]


@pytest.mark.parametrize("path", [REQUESTS, GRANTS])
@pytest.mark.parametrize("name", ["box", "state"])
@pytest.mark.parametrize("value", BAD_CHOICES)
def test_bad_values_are_refused(api_as, staff, path, name, value):
    assert_invalid(api_as(staff).get(path, {name: value}), name)


def test_grants_box_review_is_not_a_grant_box(api_as, staff):
    assert_invalid(api_as(staff).get(GRANTS, {"box": "review"}), "box")
