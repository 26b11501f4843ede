"""The counter clerk's online query page (sharing:online-query, R22.1/R23.1)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.choices import ShareType
from portal.choices import Role
from tests.aggregation.builders import ids
from tests.factories import make_user
from tests.sharing.helpers import PEOPLE, PHONE, load, rows_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def resources(make_entry, dept, staff):
    """Three people resources of `dept`: conditional (query), unconditional (query), conditional (api only)."""
    keys = ids(3, start=500)
    granted = make_entry(provider=dept, items=PEOPLE, name="户籍人口信息")
    open_ = make_entry(provider=dept, items=PEOPLE, name="婚姻登记信息", share_type=ShareType.UNCONDITIONAL)
    api_only = make_entry(provider=dept, items=PEOPLE, name="社保参保信息", methods=("api",))
    for entry in (granted, open_, api_only):
        load(entry, staff, rows_for(keys))
    return granted, open_, api_only, keys


def test_clerk_sees_granted_items_across_readable_resources(resources, other_staff, make_grant, web_as, audit_log):
    granted, open_, api_only, keys = resources
    grant = make_grant(other_staff.department, granted, ["联系电话"], methods=("query",))
    client = web_as(other_staff)
    page = client.get(reverse("sharing:online-query"))
    assert page.status_code == 200 and "在线查询" in page.content.decode()
    response = client.post(reverse("sharing:online-query"),
                           {"key": keys[1].lower(), "purpose": "administrative", "purpose_detail": "办理低保"})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="answer-{granted.pk}"' in html and f'id="answer-{open_.pk}"' in html
    assert f'id="answer-{api_only.pk}"' not in html  # does not offer online query
    assert PHONE in html and f"授权 #{grant.pk}" in html and "已脱敏" in html
    assert html.count(keys[1]) == 1  # only in the form the clerk typed it into: the answers show it masked
    events = audit_log("sharing.data.read")
    assert sorted(e.object_id for e in events) == sorted([str(granted.pk), str(open_.pk)])
    assert all(e.data["method"] == "query" and e.data["rows"] == 1 and e.data["purpose"] == "行政依据：办理低保"
               for e in events)


def test_clerk_picks_one_resource_refusal_and_missing_subject(resources, other_staff, web_as, audit_log):
    granted, open_, _api_only, keys = resources
    client = web_as(other_staff)
    # The conditional resource without a grant: default projection is the base items (R19.2) — no refusal.
    html = client.post(reverse("sharing:online-query"),
                       {"key": keys[0], "purpose": "reference", "resource": granted.pk}).content.decode()
    assert "张*" in html and PHONE not in html
    missing = ids(1, start=4242)[0]
    html = client.post(reverse("sharing:online-query"),
                       {"key": missing, "purpose": "reference", "resource": open_.pk}).content.decode()
    assert "没有此主体的数据" in html
    assert audit_log("sharing.data.read")[-1].data["rows"] == 0
    bad = client.post(reverse("sharing:online-query"), {"key": "123", "purpose": "reference"})
    assert "身份证号" in bad.content.decode() and bad.status_code == 200


def test_clerk_with_expired_grant_sees_the_refusal(resources, other_staff, make_grant, web_as, audit_log):
    import datetime as dt

    from django.utils import timezone

    from sharing.choices import GrantState

    granted, _open, _api_only, keys = resources
    today = timezone.localdate()
    make_grant(other_staff.department, granted, ["联系电话"], methods=("query",),
               valid_from=today - dt.timedelta(days=90), valid_to=today - dt.timedelta(days=1),
               state=GrantState.EXPIRED)
    html = web_as(other_staff).post(reverse("sharing:online-query"),
                                    {"key": keys[0], "purpose": "reference", "resource": granted.pk}).content.decode()
    assert "授权已过期" in html
    assert audit_log("sharing.data.refused")[-1].data["code"] == "grant_expired"


def test_person_without_department_role_is_refused(resources, other_dept, web_as):
    response = web_as(make_user(department=other_dept)).get(reverse("sharing:online-query"))
    assert response.status_code == 403
    ok = web_as(make_user(Role.DEPT_HEAD, department=other_dept, username="head2")).get(
        reverse("sharing:online-query"))
    assert ok.status_code == 200


def test_the_badge_says_on_which_basis_each_answer_was_read(resources, staff, other_staff, dept, web_as):
    _granted, open_, _api_only, keys = resources
    other = web_as(other_staff).post(reverse("sharing:online-query"),
                                     {"key": keys[1], "purpose": "administrative", "purpose_detail": "办理低保"})
    html = other.content.decode()
    answer = html.split(f'id="answer-{open_.pk}"', 1)[1].split('class="card-body"', 1)[0]
    assert f"无条件共享 · {dept.name}" in answer and "本部门数据" not in answer  # another department's data
    own = web_as(staff).post(reverse("sharing:online-query"),
                             {"key": keys[1], "purpose": "administrative", "purpose_detail": "核对"})
    answer = own.content.decode().split(f'id="answer-{open_.pk}"', 1)[1].split('class="card-body"', 1)[0]
    assert "本部门数据" in answer and "无条件共享" not in answer
