"""The data call's parameters (sharing.data_api.params): one serializer, refusals in the call's order."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from sharing.data_api.params import DataCallParams
from tests.api_params import FULL_WIDTH, LONG, NUL, SUPERSCRIPT
from tests.sharing.helpers import get, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_people):
    return make_people(3, start=40)


def _refusal(response) -> tuple[int, str, list]:
    body = response.json()
    return response.status_code, body["code"], sorted(body.get("errors") or {})


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # The selection first, then the grant policy, then the rest in the order filters, since, limit, cursor.
        ({"fields": " , ", "limit": "abc"}, (400, "invalid", ["fields"])),
        ({"fields": "户籍地址", "limit": "abc"}, (403, "no_grant", ["items"])),
        ({"性别": "", "since": "yesterday", "limit": "0"}, (400, "invalid", ["性别"])),
        ({"since": "yesterday", "limit": "0", "cursor": "x"}, (400, "invalid", ["since"])),
        ({"limit": "0", "cursor": "x"}, (400, "invalid", ["limit"])),
        ({"limit": "10.0"}, (400, "invalid", ["limit"])),
        ({"limit": ""}, (400, "invalid", ["limit"])),
        ({"cursor": ""}, (400, "invalid", ["cursor"])),
    ],
)
def test_refusals_come_in_the_calls_order(people, other_staff, make_grant, api_as, audit_log, params, expected):
    entry, _keys = people
    make_grant(other_staff.department, entry, ["性别"])
    assert _refusal(get(api_as(other_staff), url(entry, **params))) == expected
    [refused] = audit_log("sharing.data.refused")
    assert refused.data["code"] == expected[1]


def test_the_online_query_takes_no_filters_and_ignores_paging(people, other_staff, make_grant, api_as):
    entry, keys = people
    make_grant(other_staff.department, entry, ["性别"], methods=("query",))
    client = api_as(other_staff)
    assert get(client, url(entry, keys[0], limit="abc", cursor="x")).status_code == 200
    response = get(client, url(entry, keys[0], 性别="男", 姓名="x"))
    assert _refusal(response) == (400, "invalid", ["params"])
    assert response.json()["detail"] == "不支持的参数：姓名、性别"


def test_values_of_a_valid_call():
    params = DataCallParams(data=QueryDict("fields=b,a,b&since=2026-01-01T08:00:00 08:00&limit=7&性别=男"),
                            context={"dataset": None, "paged": True, "filters_allowed": True})
    assert params.is_valid(), params.errors
    values = params.values
    assert values["fields"] == ["b", "a"] and values["limit"] == 7 and values["cursor"] is None
    assert values["since"].isoformat() == "2026-01-01T08:00:00+08:00" and not values["cursor_given"]
    assert params.filters == {"性别": "男"}


@pytest.mark.parametrize(
    ("params", "refused"),
    [
        ({"fields": "性别\x00"}, ["fields"]),
        ({"fields": SUPERSCRIPT}, ["items"]),  # an unknown item
        ({"fields": "性" * 10_000}, ["items"]),
        ({"since": "2026-01-01T08:00:00\x00"}, ["since"]),
        ({"since": "2026-0²-01T08:00:00"}, ["since"]),
        ({"since": "２０２６-01-01T08:00:00"}, ["since"]),
        ({"since": "2026-02-30T08:00:00"}, ["since"]),  # an impossible date
        ({"since": LONG}, ["since"]),
        ({"limit": NUL}, ["limit"]),
        ({"limit": SUPERSCRIPT}, ["limit"]),
        ({"limit": FULL_WIDTH}, ["limit"]),
        ({"limit": "1_0"}, ["limit"]),
        ({"limit": LONG}, ["limit"]),
        ({"cursor": "\x00"}, ["cursor"]),
        ({"cursor": SUPERSCRIPT}, ["cursor"]),
        ({"cursor": LONG}, ["cursor"]),
        ({"性别": "男\x00"}, ["性别"]),
        ({"性别": "男" * 10_000}, ["性别"]),
        ({"性\x00别": "男"}, ["params"]),
        ({"性" * 10_000: "男"}, ["items"]),  # an unknown item
    ],
)
def test_bad_values_are_refused_and_audited(people, other_staff, make_grant, api_as, audit_log, params, refused):
    entry, _keys = people
    make_grant(other_staff.department, entry, ["性别"])
    assert _refusal(get(api_as(other_staff), url(entry, **params))) == (400, "invalid", refused)
    [event] = audit_log("sharing.data.refused")
    assert event.data["code"] == "invalid"


def test_a_nul_in_a_parameter_name_of_the_online_query(people, other_staff, make_grant, api_as, audit_log):
    entry, keys = people
    make_grant(other_staff.department, entry, ["性别"], methods=("query",))
    response = get(api_as(other_staff), url(entry, keys[0], **{"性\x00别": "男"}))
    assert _refusal(response) == (400, "invalid", ["params"])
    assert response.json()["detail"] == "参数名不能包含空字符（NUL）"
    assert len(audit_log("sharing.data.refused")) == 1


def test_limit_in_ascii_digits_with_blanks_around():
    params = DataCallParams(data=QueryDict("limit=%2007%20"), context={"dataset": None, "paged": True})
    assert params.is_valid(), params.errors
    assert params.values["limit"] == 7


def test_control_characters_of_the_purpose_are_dropped(people, other_staff, make_grant, api_as, audit_log):
    entry, _keys = people
    make_grant(other_staff.department, entry, ["性别"])
    client = api_as(other_staff)
    assert get(client, url(entry), purpose="%00低保%01审核").status_code == 200
    assert audit_log("sharing.data.read")[-1].data["purpose"] == "低保审核"
    assert _refusal(get(client, url(entry), purpose="%00")) == (400, "invalid", ["X-Purpose"])
    assert audit_log("sharing.data.refused")[-1].data["purpose"] == ""
