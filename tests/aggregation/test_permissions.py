"""Permission matrix over every page and API endpoint of the uses part.

Who: anonymous, the provider department's staff ("own"), a consuming department's staff ("other", who filed the
case), a third department's staff ("third", no relation), the bureau reviewer (city-wide), a county bureau of
another region ("county"). Outside the scope is 404, inside the scope but not allowed is 403 (SPEC §9.2).
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aggregation.services import themes as theme
from aggregation.services import verification
from portal.choices import Role
from tests.aggregation.builders import PERSON_ITEMS, id_number, load, make_dataset
from tests.factories import DepartmentFactory, make_user

LOGIN = 302  # pages send anonymous visitors to the login page
API_ANON = 401


@pytest.fixture
def world(person_dataset, person_record, dept, staff, head, other_staff, reviewer, county_bureau_user, system_admin,
          freeze_today):
    """A conditional dataset, a case filed by other_staff on the unconditional one, a theme of dept."""
    import datetime as dt

    freeze_today(dt.date(2026, 11, 25))
    conditional = make_dataset(dept, name="在押人员信息", share_type="2", items=PERSON_ITEMS[:3])
    hidden = load(conditional, [{"身份证号码": id_number(5), "姓名": "赵六", "性别": "男"}], actor=staff)[id_number(5)]
    case = verification.verification_case_file(
        actor=other_staff, record_id=person_record.pk, dataset_id=person_dataset.pk, fields=["姓名"],
        description="有误", evidence=[SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\nxxxx")],
    )
    t = theme.theme_save(actor=staff, name="人口主题", key_kind="id_number",
                         sources=[{"dataset": person_dataset.pk, "items": ["姓名"]}])
    third = make_user(Role.DEPT_STAFF, department=DepartmentFactory(), username="third")
    return {
        "users": {"own": staff, "other": other_staff, "third": third, "bureau": reviewer,
                  "county": county_bureau_user, "head": head, "admin": system_admin},
        "case": case, "theme": t, "record": person_record, "dataset": person_dataset,
        "conditional": conditional, "hidden": hidden, "evidence": case.evidence.get(),
    }


def _check(make_client, world, url, expected, method="get", data=None, **kwargs):
    got = {}
    for who in expected:
        client = make_client(world["users"][who]) if who != "anon" else make_client(None)
        response = getattr(client, method)(url, data or {}, **kwargs)
        got[who] = response.status_code
    assert got == expected, url


@pytest.fixture
def web(client):
    def make(user):
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    def make(user):
        c = APIClient()
        if user is not None:
            c.force_login(user)
        return c

    return make


def test_pages(world, web):
    d, r, c, t = world["dataset"], world["record"], world["case"], world["theme"]
    everyone = {"anon": LOGIN, "own": 200, "other": 200, "third": 200, "bureau": 200, "county": 200}
    # an unconditional resource's record: every department may read it (masked); county bureau: outside region
    _check(web, world, reverse("aggregation:record-detail", args=[d.pk, r.pk]),
           {"anon": LOGIN, "own": 200, "other": 200, "third": 200, "bureau": 200, "county": 200})
    # a conditional resource's record: the provider's scope only (grants come with the sharing chapter)
    _check(web, world, reverse("aggregation:record-detail", args=[world["conditional"].pk, world["hidden"].pk]),
           {"anon": LOGIN, "own": 200, "other": 404, "third": 404, "bureau": 200, "county": 404})
    _check(web, world, reverse("aggregation:verification-create", args=[world["conditional"].pk, world["hidden"].pk]),
           {"anon": LOGIN, "own": 403, "other": 404, "third": 404, "bureau": 403})
    _check(web, world, reverse("aggregation:verification-create", args=[d.pk, r.pk]),
           {"anon": LOGIN, "own": 403, "other": 200, "third": 200, "bureau": 403})
    _check(web, world, reverse("aggregation:verification-list"), everyone)
    case_scope = {"anon": LOGIN, "own": 200, "head": 200, "other": 200, "third": 404, "bureau": 200, "county": 404}
    _check(web, world, reverse("aggregation:verification-detail", args=[c.pk]), case_scope)
    _check(web, world, reverse("aggregation:verification-evidence", args=[c.pk, world["evidence"].pk]), case_scope)
    _check(web, world, reverse("aggregation:basedb-index"), everyone)
    _check(web, world, reverse("aggregation:subject-lookup", args=["population"]), everyone)
    _check(web, world, reverse("aggregation:subject-lookup", args=["unknown"]), {"anon": LOGIN, "own": 404})
    _check(web, world, reverse("aggregation:theme-list"), everyone)
    theme_scope = {"anon": LOGIN, "own": 200, "other": 404, "third": 404, "bureau": 200, "county": 404}
    _check(web, world, reverse("aggregation:theme-detail", args=[t.pk]), theme_scope)
    _check(web, world, reverse("aggregation:theme-edit", args=[t.pk]),
           {"anon": LOGIN, "own": 200, "other": 404, "bureau": 403, "county": 404})
    _check(web, world, reverse("aggregation:theme-create"), {"anon": LOGIN, "own": 200, "bureau": 404})
    _check(web, world, reverse("aggregation:quality-report"), everyone)
    job = theme.theme_rebuild_request(actor=world["users"]["own"], theme_id=t.pk)
    _check(web, world, reverse("aggregation:theme-job", args=[t.pk, job.pk]), theme_scope)
    _check(web, world, reverse("aggregation:subject-lookup", args=["population"]),
           {"anon": LOGIN, "own": 200, "other": 200, "bureau": 200, "county": 200, "admin": 404},
           method="post", data={"key": id_number(1)})
    # the platform admins do not read citizens' data (三员分立)
    _check(web, world, reverse("aggregation:record-detail", args=[d.pk, r.pk]), {"admin": 404})
    _check(web, world, reverse("aggregation:basedb-index"), {"admin": 404})
    _check(web, world, reverse("aggregation:subject-lookup", args=["population"]), {"admin": 404})
    _check(web, world, reverse("aggregation:theme-list"), {"admin": 404})
    _check(web, world, reverse("aggregation:quality-report"), {"admin": 404})
    _check(web, world, reverse("aggregation:verification-detail", args=[c.pk]), {"admin": 404})


def test_page_transitions(world, web):
    c, t = world["case"], world["theme"]
    # extension request: only the provider; others in scope 403, outside 404
    _check(web, world, reverse("aggregation:verification-extension", args=[c.pk]),
           {"anon": LOGIN, "other": 403, "third": 404, "bureau": 403, "county": 404},
           method="post", data={"working_days": 3, "reason": "理由"})
    _check(web, world, reverse("aggregation:verification-extension", args=[c.pk]), {"own": 302},
           method="post", data={"working_days": 3, "reason": "理由"})
    _check(web, world, reverse("aggregation:verification-decide", args=[c.pk]),
           {"anon": LOGIN, "own": 403, "other": 403, "third": 404, "bureau": 403},
           method="post", data={"approve": "1", "comment": ""})
    _check(web, world, reverse("aggregation:verification-decide", args=[c.pk]), {"head": 302},
           method="post", data={"approve": "1", "comment": ""})
    _check(web, world, reverse("aggregation:verification-confirm", args=[c.pk]),
           {"anon": LOGIN, "other": 403, "third": 404, "bureau": 403},
           method="post", data={"explanation": "无误"})
    _check(web, world, reverse("aggregation:verification-correct", args=[c.pk]),
           {"anon": LOGIN, "other": 403, "third": 404, "bureau": 403},
           method="post", data={"item_0": "张叁"})
    _check(web, world, reverse("aggregation:verification-correct", args=[c.pk]), {"own": 302},
           method="post", data={"item_0": "张叁"})
    _check(web, world, reverse("aggregation:theme-rebuild", args=[t.pk]),
           {"anon": LOGIN, "other": 404, "third": 404, "bureau": 403, "county": 404}, method="post")
    # GET on a transition is not allowed
    _check(web, world, reverse("aggregation:verification-confirm", args=[c.pk]), {"own": 405})


def test_api(world, api):
    d, r, c, t = world["dataset"], world["record"], world["case"], world["theme"]
    everyone = {"anon": API_ANON, "own": 200, "other": 200, "third": 200, "bureau": 200, "county": 200}
    _check(api, world, reverse("aggregation-verification-list"), everyone)
    _check(api, world, reverse("aggregation-verification-detail", args=[c.pk]),
           {"anon": API_ANON, "own": 200, "head": 200, "other": 200, "third": 404, "bureau": 200, "county": 404})
    _check(api, world, reverse("aggregation-record", args=[d.pk, r.pk]), {**everyone, "admin": 404})
    _check(api, world, reverse("aggregation-record", args=[world["conditional"].pk, world["hidden"].pk]),
           {"anon": API_ANON, "own": 200, "other": 404, "third": 404, "bureau": 200, "county": 404})
    _check(api, world, reverse("aggregation-subject", args=["population", id_number(1)]), {**everyone, "admin": 404})
    _check(api, world, reverse("aggregation-subject-lookup", args=["population"]), {**everyone, "admin": 404},
           method="post", data={"key": id_number(1)}, format="json")
    _check(api, world, reverse("aggregation-theme-list"), everyone)
    _check(api, world, reverse("aggregation-theme-detail", args=[t.pk]),
           {"anon": API_ANON, "own": 200, "other": 404, "third": 404, "bureau": 200, "county": 404})
    _check(api, world, reverse("aggregation-theme-rows", args=[t.pk]),
           {"anon": API_ANON, "own": 200, "other": 404, "bureau": 200})
    _check(api, world, reverse("aggregation-quality-list"), everyone)
    # transitions
    _check(api, world, reverse("aggregation-verification-list"),
           {"anon": API_ANON, "own": 403, "bureau": 403, "county": 403},
           method="post", data={"dataset": d.pk, "record": r.pk, "fields": ["姓名"], "description": "x"}, format="json")
    _check(api, world, reverse("aggregation-verification-confirm", args=[c.pk]),
           {"anon": API_ANON, "other": 403, "third": 404, "bureau": 403, "county": 404},
           method="post", data={"explanation": "无误"}, format="json")
    _check(api, world, reverse("aggregation-verification-request-extension", args=[c.pk]),
           {"anon": API_ANON, "other": 403, "third": 404, "head": 200},
           method="post", data={"working_days": 2, "reason": "理由"}, format="json")
    _check(api, world, reverse("aggregation-verification-decide-extension", args=[c.pk]),
           {"anon": API_ANON, "own": 403, "other": 403, "third": 404, "head": 200},
           method="post", data={"approve": False, "comment": "不同意"}, format="json")
    _check(api, world, reverse("aggregation-verification-correct", args=[c.pk]),
           {"anon": API_ANON, "other": 403, "third": 404, "bureau": 403, "county": 404},
           method="post", data={"values": {"姓名": "张叁"}}, format="json")
    _check(api, world, reverse("aggregation-theme-rebuild", args=[t.pk]),
           {"anon": API_ANON, "other": 404, "third": 404, "bureau": 403, "county": 404}, method="post")
    _check(api, world, reverse("aggregation-theme-rebuild", args=[t.pk]), {"own": 202}, method="post")


def test_list_query_counts_are_flat(world, api, staff, django_assert_max_num_queries):
    from aggregation.services.quality import quality_compute_all

    for n in range(3):  # more rows must not mean more queries
        theme.theme_save(actor=staff, name=f"主题{n}", key_kind="id_number",
                         sources=[{"dataset": world["dataset"].pk, "items": ["姓名"]}])
    quality_compute_all()
    client = api(world["users"]["bureau"])
    for name in ("aggregation-verification-list", "aggregation-theme-list", "aggregation-quality-list"):
        with django_assert_max_num_queries(12):
            assert client.get(reverse(name)).status_code == 200
