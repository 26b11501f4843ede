"""The API shell: errors as {"code", "detail"}, OpenAPI served locally, the working-day calculator."""

import pytest

pytestmark = pytest.mark.django_db


def test_unauthenticated_calls_get_a_stable_code(api_client):
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.json()["detail"]


def test_validation_errors_are_invalid_with_a_detail(api_as, staff):
    response = api_as(staff).get("/api/v1/calendar/working-days/?start=not-a-date&days=3")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "start" in body["errors"]


def test_unknown_object_is_not_found(api_as, staff):
    response = api_as(staff).get("/api/v1/departments/999999/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_working_days_calculator(api_as, staff):
    body = api_as(staff).get("/api/v1/calendar/working-days/?start=2026-09-25&days=10").json()
    assert body == {"start": "2026-09-25", "days": 10, "due": "2026-10-15", "provisional": False}
    body = api_as(staff).get("/api/v1/calendar/working-days/?start=2026-12-24&days=10").json()
    assert body["provisional"] is True


def test_openapi_schema_and_local_docs(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/deadlines/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()


def test_request_id_is_echoed(api_as, staff):
    response = api_as(staff).get("/api/v1/me/", HTTP_X_REQUEST_ID="abc-12345678")
    assert response["X-Request-Id"] == "abc-12345678"
