"""Hostile values in the data calls' URL path (`{resource}`, `{key}`): 400 `invalid` before the entry or a record is
looked up (portal.api.params.path_text), the refusal audited with the value made storable (safe_text)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api_params import BAD_PATH_TEXTS, assert_invalid, path_segment
from tests.sharing.helpers import get

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_people):
    return make_people(2, start=80, methods=("api", "query", "download"))


def _routes(resource: str, key: str, bad: str) -> list[tuple[str, str]]:
    """(URL with `bad` in one path parameter, that parameter's name) for every data route."""
    bad = path_segment(bad)
    return [
        (f"/api/v1/data/{bad}/records/", "resource"),
        (f"/api/v1/data/{resource}{bad}/records/", "resource"),
        (f"/api/v1/data/{bad}/records/{key}/", "resource"),
        (f"/api/v1/data/{resource}/records/{bad}/", "key"),
        (f"/api/v1/data/{bad}/export/?format=csv", "resource"),
        (f"/api/v1/data/{resource}{bad}/export/?format=csv", "resource"),
    ]


def _looked_up(queries) -> bool:
    return any("catalog_catalogentry" in q["sql"] or "aggregation_record" in q["sql"] for q in queries)


@pytest.mark.parametrize("bad", BAD_PATH_TEXTS)
def test_a_bad_path_value_is_refused_before_any_lookup_and_audited(people, other_staff, make_grant, api_as, audit_log,
                                                                   bad):
    entry, keys = people
    make_grant(other_staff.department, entry, ["性别"], methods=("api", "query", "download"))
    client = api_as(other_staff)
    for path, name in _routes(entry.resource_key, keys[0], bad):
        with CaptureQueriesContext(connection) as queries:
            body = assert_invalid(get(client, path), name)
        assert not _looked_up(queries), path
        refused = audit_log("sharing.data.refused")[-1]
        assert refused.data["code"] == "invalid" and list(refused.data["errors"]) == [name]
        assert refused.data["errors"][name] == [body["detail"]]
        stored = refused.data["resource"]
        assert stored == refused.object_repr and len(stored) <= 100
        assert not any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in stored), path
    assert len(audit_log("sharing.data.refused")) == 6 and not audit_log("sharing.data.read")


def test_the_audit_row_keeps_the_value_without_its_control_characters(people, other_staff, api_as, audit_log):
    entry, _keys = people
    response = get(api_as(other_staff), f"/api/v1/data/{entry.resource_key}{path_segment(chr(0))}/records/")
    assert response.json()["detail"] == "resource：不能包含空字符（NUL）或其他控制字符"
    [refused] = audit_log("sharing.data.refused")
    assert refused.data["resource"] == entry.resource_key and refused.object_id == ""


def test_a_path_value_of_200_characters_is_looked_up(people, other_staff, api_as, audit_log):
    entry, _keys = people
    response = get(api_as(other_staff), f"/api/v1/data/{entry.resource_key}/records/{'9' * 200}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("bad", BAD_PATH_TEXTS)
def test_the_providers_push_refuses_a_bad_resource(people, staff, api_as, bad):
    entry, _keys = people
    client = api_as(staff)
    for path in (f"/api/v1/data/{path_segment(bad)}/records/",
                 f"/api/v1/data/{entry.resource_key}{path_segment(bad)}/records/"):
        with CaptureQueriesContext(connection) as queries:
            assert_invalid(client.post(path, [], format="json"), "resource")
        assert not _looked_up(queries), path
