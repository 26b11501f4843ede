"""The API's query and path parameters read strictly (portal.api.params, portal.api.pagination), and documented; the
rule for free text sent outside a form (portal.validators.text_problem, safe_text)."""

import base64

import pytest
import yaml

from portal.api.params import parse_integer, path_text
from portal.errors import PortalError
from portal.models import Notification
from portal.validators import safe_text, text_problem
from tests.api_params import BAD_INTEGERS, BAD_PATH_TEXTS, FULL_WIDTH, LONG, NUL, SUPERSCRIPT, assert_invalid

pytestmark = pytest.mark.django_db
NOTIFICATIONS = "/api/v1/notifications/"


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("42", 42), (" 7\t", 7), ("9" * 18, 10**18 - 1)])
def test_parse_integer_reads_ascii_digits(text, value):
    assert parse_integer(text) == value


@pytest.mark.parametrize("text", ["", " ", "-1", "+1", "1.0", "1_0", "1e3", "0x1", "9" * 19, "\u30001", *BAD_INTEGERS])
def test_parse_integer_refuses_everything_else(text):
    with pytest.raises(ValueError):
        parse_integer(text)


@pytest.mark.parametrize("value", BAD_PATH_TEXTS)
def test_path_text_refuses_control_characters_and_overlong_values(value):
    with pytest.raises(PortalError) as refused:
        path_text(value, "resource")
    assert (refused.value.status, refused.value.code, list(refused.value.errors)) == (400, "invalid", ["resource"])
    assert str(refused.value.detail) == "resource：" + text_problem(value)
    assert refused.value.errors["resource"] == [str(refused.value.detail)]


@pytest.mark.parametrize("value", ["303-11410800MA0000000X0001", "JZ-2026-0001", "营业执照 信息", "²", "9" * 200])
def test_path_text_passes_every_other_value(value):
    assert text_problem(value) is None and path_text(value, "key") == value


def test_text_problem_messages():
    assert text_problem("a\x00") == "不能包含空字符（NUL）或其他控制字符"
    assert text_problem("a" * 201) == "不能超过 200 个字"


def test_safe_text_drops_control_characters_and_cuts():
    assert safe_text("3\x000\x013\x7f-\x85x" + "y" * 300, 10) == "303-xyyyyy"
    assert safe_text("\t营业\n执照\x00") == "营业执照" and len(safe_text("y" * 300)) == 200
    assert safe_text("y" * 300, None) == "y" * 300


def test_pagination_limit_and_its_next_link(api_as, staff):
    for n in range(3):
        Notification.objects.create(recipient=staff, title=f"消息{n}")
    client = api_as(staff)
    first = client.get(NOTIFICATIONS, {"limit": "2"}).json()
    assert [n["title"] for n in first["results"]] == ["消息2", "消息1"]
    second = client.get(first["next"]).json()
    assert [n["title"] for n in second["results"]] == ["消息0"] and second["next"] is None
    assert len(client.get(NOTIFICATIONS, {"limit": "100000"}).json()["results"]) == 3  # above 500: 500


@pytest.mark.parametrize("value", [*BAD_INTEGERS, "0", ""])
def test_pagination_refuses_a_bad_limit(api_as, staff, value):
    assert_invalid(api_as(staff).get(NOTIFICATIONS, {"limit": value}), "limit")


def _cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize("value", [
    NUL, SUPERSCRIPT, FULL_WIDTH, LONG, "", "not base64!", "%%%", _cursor("o=x"),
    _cursor("p=abc"),  # a forged position: DRF would hand it to the query (500)
    _cursor("p=１"), _cursor("p=1\x00"),
])
def test_pagination_refuses_a_bad_cursor(api_as, staff, value):
    assert_invalid(api_as(staff).get(NOTIFICATIONS, {"cursor": value}), "cursor")


@pytest.mark.parametrize(("params", "name"), [
    ({"start": "2026-02-30", "days": "3"}, "start"),  # an impossible date
    ({"start": "2026-09-25\x00", "days": "3"}, "start"),
    ({"start": "2026-09-25", "days": FULL_WIDTH}, "days"),
    ({"start": "2026-09-25", "days": SUPERSCRIPT}, "days"),
    ({"start": "2026-09-25", "days": NUL}, "days"),
    ({"start": "2026-09-25", "days": LONG}, "days"),
])
def test_working_days_refuse_bad_values(api_as, staff, params, name):
    assert_invalid(api_as(staff).get("/api/v1/calendar/working-days/", params), name)


# Every list's filter parameters, with their type or enum, as the OpenAPI document must show them.
LISTED = {
    "/api/v1/deadlines/": {
        "scope": ["all", "mine"], "state": ["closed", "open", "overdue", "running"],
        "clock": sorted(["catalog_review", "catalog_update_apply", "catalog_update_review", "verification",
                         "verification_extension", "sharing_review", "rectification", "risk_assessment"]),
        "department": "integer"},
    "/api/v1/notifications/": {"unread": ["0", "1"], "limit": "integer", "cursor": "string"},
    "/api/v1/catalog/entries/": {
        "search": "string", "provider": "integer", "classification": "string", "sharing_type": ["1", "2", "3"],
        "update_cycle": ["daily", "half_year", "monthly", "other", "quarterly", "realtime", "weekly", "yearly"],
        "state": ["approved", "bureau_review", "county_review", "draft", "returned", "signoff"],
    },
    "/api/v1/catalog/update-cases/": {"state": ["approved", "draft", "returned", "submitted", "withdrawn"]},
    "/api/v1/aggregation/verification-cases/": {
        "state": ["confirmed", "corrected", "open"], "side": ["filed", "received"]},
    "/api/v1/aggregation/quality/": {"department": "integer"},
    "/api/v1/aggregation/themes/{id}/rows/": {"after": "integer", "limit": "integer"},
    "/api/v1/sharing/requests/": {
        "box": ["all", "mine", "provider", "review"], "state": ["approved", "rejected", "submitted", "withdrawn"]},
    "/api/v1/sharing/grants/": {"box": ["all", "mine", "provider"], "state": ["active", "expired", "revoked"]},
}


def test_openapi_lists_every_filter_parameter(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    for path, expected in LISTED.items():
        params = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}
        for name, kind in expected.items():
            documented = params[name]["schema"]
            if isinstance(kind, list):
                assert (documented["type"], sorted(documented["enum"])) == ("string", kind), (path, name)
            else:
                assert documented["type"] == kind, (path, name)
            assert params[name].get("description"), (path, name)
    push = schema["paths"]["/api/v1/data/{resource}/records/"]["post"]["parameters"]
    assert [p["schema"]["enum"] for p in push if p["name"] == "mode"] == [["load_valid", "all_or_nothing"]]
