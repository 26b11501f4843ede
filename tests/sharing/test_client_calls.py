"""What a signed API client sees of sharing: its department's grants, an interface's specification (and what a bad
`{resource}` in its path gets)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api_params import BAD_PATH_TEXTS, assert_invalid, path_segment

pytestmark = pytest.mark.django_db


def test_signed_call_succeeds_as_the_clients_department(signed_get, make_entry, make_grant, other_dept, dept,
                                                        api_client_row):
    mine = make_grant(other_dept, make_entry(), ["法定代表人"])
    make_grant(dept, make_entry(provider=other_dept), ["法定代表人"])  # another department's grant
    response = signed_get()
    assert response.status_code == 200, response.content
    assert [g["id"] for g in response.json()["results"]] == [mine.pk]
    client, _ = api_client_row
    client.refresh_from_db()
    assert client.last_used_at is not None


def test_interface_spec_api_for_a_client(signed_get, make_entry):
    entry = make_entry()
    response = signed_get(path=f"/api/v1/sharing/interface/{entry.resource_key}/")
    assert response.status_code == 200
    body = response.json()
    assert body["resource"] == entry.resource_key and [f["name"] for f in body["fields"]][:2] == ["统一社会信用代码",
                                                                                                 "企业名称"]
    assert body["example"]["headers"]["X-Signature"]
    # the answer is what the OpenAPI document says it is (InterfaceSpec, no longer a bare object)
    import jsonschema
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    operation = document["paths"]["/api/v1/sharing/interface/{resource}/"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/InterfaceSpec"}
    from tests.support import json_schema

    jsonschema.validate(body, json_schema({**schema, "components": document["components"]}))


@pytest.mark.parametrize("bad", BAD_PATH_TEXTS)
def test_interface_spec_refuses_a_bad_resource_before_any_lookup(api_as, other_staff, make_entry, bad):
    entry, client = make_entry(), api_as(other_staff)
    for resource in (path_segment(bad), entry.resource_key + path_segment(bad)):
        path = f"/api/v1/sharing/interface/{resource}/"
        with CaptureQueriesContext(connection) as queries:
            assert_invalid(client.get(path), "resource")
        assert not any("catalog_catalogentry" in q["sql"] for q in queries), path


@pytest.mark.parametrize("resource", ["²", "１", "9" * 200])
def test_interface_spec_of_digits_it_cannot_read_is_not_found(api_as, other_staff, resource):
    response = api_as(other_staff).get(f"/api/v1/sharing/interface/{path_segment(resource)}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
