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
from tests.permissions import LOGIN, Row, check_matrix

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
        actor=other_staff, record_id=person_record.id, dataset_id=person_dataset.pk, fields=["姓名"],
        description="有误", evidence=[SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\nxxxx")],
    )
    t = theme.theme_save(actor=staff, name="人口主题", key_kind="id_number",
                         sources=[{"dataset": person_dataset.pk, "items": ["姓名"]}])
    third = make_user(Role.DEPT_STAFF, department=DepartmentFactory(), username="third")
    return {
        "users": {"anon": None, "own": staff, "other": other_staff, "third": third, "bureau": reviewer,
                  "county": county_bureau_user, "head": head, "admin": system_admin},
        "case": case, "theme": t, "record": person_record, "dataset": person_dataset,
        "conditional": conditional, "hidden": hidden, "evidence": case.evidence.get(),
    }


def test_pages(world):
    d, r, c, t = world["dataset"], world["record"], world["case"], world["theme"]
    everyone = {"anon": LOGIN, "own": 200, "other": 200, "third": 200, "bureau": 200, "county": 200}
    case_scope = {"anon": LOGIN, "own": 200, "head": 200, "other": 200, "third": 404, "bureau": 200, "county": 404}
    theme_scope = {"anon": LOGIN, "own": 200, "other": 404, "third": 404, "bureau": 200, "county": 404}
    check_matrix(world["users"], [
        # an unconditional resource's record: every department may read it (masked); county bureau: outside region
        Row("get", reverse("aggregation:record-detail", args=[d.pk, r.pk]),
            {"anon": LOGIN, "own": 200, "other": 200, "third": 200, "bureau": 200, "county": 200}),
        # a conditional resource's record: the provider's scope only (grants come with the sharing chapter)
        Row("get", reverse("aggregation:record-detail", args=[world["conditional"].pk, world["hidden"].id]),
            {"anon": LOGIN, "own": 200, "other": 404, "third": 404, "bureau": 200, "county": 404}),
        Row("get", reverse("aggregation:verification-create", args=[world["conditional"].pk, world["hidden"].id]),
            {"anon": LOGIN, "own": 403, "other": 404, "third": 404, "bureau": 403}),
        Row("get", reverse("aggregation:verification-create", args=[d.pk, r.pk]),
            {"anon": LOGIN, "own": 403, "other": 200, "third": 200, "bureau": 403}),
        Row("get", reverse("aggregation:verification-list"), everyone),
        Row("get", reverse("aggregation:verification-detail", args=[c.pk]), case_scope),
        Row("get", reverse("aggregation:verification-evidence", args=[c.pk, world["evidence"].pk]), case_scope),
        Row("get", reverse("aggregation:basedb-index"), everyone),
        Row("get", reverse("aggregation:subject-lookup", args=["population"]), everyone),
        Row("get", reverse("aggregation:subject-lookup", args=["unknown"]), {"anon": LOGIN, "own": 404}),
        Row("get", reverse("aggregation:theme-list"), everyone),
        Row("get", reverse("aggregation:theme-detail", args=[t.pk]), theme_scope),
        Row("get", reverse("aggregation:theme-edit", args=[t.pk]),
            {"anon": LOGIN, "own": 200, "other": 404, "bureau": 403, "county": 404}),
        Row("get", reverse("aggregation:theme-create"), {"anon": LOGIN, "own": 200, "bureau": 404}),
        Row("get", reverse("aggregation:quality-report"), everyone),
    ])
    job = theme.theme_rebuild_request(actor=world["users"]["own"], theme_id=t.pk)
    check_matrix(world["users"], [
        Row("get", reverse("aggregation:theme-job", args=[t.pk, job.pk]), theme_scope),
        Row("post", reverse("aggregation:subject-lookup", args=["population"]),
            {"anon": LOGIN, "own": 200, "other": 200, "bureau": 200, "county": 200, "admin": 404},
            body={"key": id_number(1)}),
        # the platform admins do not read citizens' data (三员分立)
        Row("get", reverse("aggregation:record-detail", args=[d.pk, r.pk]), {"admin": 404}),
        Row("get", reverse("aggregation:basedb-index"), {"admin": 404}),
        Row("get", reverse("aggregation:subject-lookup", args=["population"]), {"admin": 404}),
        Row("get", reverse("aggregation:theme-list"), {"admin": 404}),
        Row("get", reverse("aggregation:quality-report"), {"admin": 404}),
        Row("get", reverse("aggregation:verification-detail", args=[c.pk]), {"admin": 404}),
    ])


def test_page_transitions(world):
    c, t = world["case"], world["theme"]
    extension = reverse("aggregation:verification-extension", args=[c.pk])
    decide = reverse("aggregation:verification-decide", args=[c.pk])
    correct = reverse("aggregation:verification-correct", args=[c.pk])
    # the cells run in order: the provider's extension request comes before its head's decision
    check_matrix(world["users"], [
        # extension request: only the provider; others in scope 403, outside 404
        Row("post", extension, {"anon": LOGIN, "other": 403, "third": 404, "bureau": 403, "county": 404},
            body={"working_days": 3, "reason": "理由"}),
        Row("post", extension, {"own": 302}, body={"working_days": 3, "reason": "理由"}),
        Row("post", decide, {"anon": LOGIN, "own": 403, "other": 403, "third": 404, "bureau": 403},
            body={"approve": "1", "comment": ""}),
        Row("post", decide, {"head": 302}, body={"approve": "1", "comment": ""}),
        Row("post", reverse("aggregation:verification-confirm", args=[c.pk]),
            {"anon": LOGIN, "other": 403, "third": 404, "bureau": 403}, body={"explanation": "无误"}),
        Row("post", correct, {"anon": LOGIN, "other": 403, "third": 404, "bureau": 403}, body={"item_0": "张叁"}),
        Row("post", correct, {"own": 302}, body={"item_0": "张叁"}),
        Row("post", reverse("aggregation:theme-rebuild", args=[t.pk]),
            {"anon": LOGIN, "other": 404, "third": 404, "bureau": 403, "county": 404}),
        # GET on a transition is not allowed
        Row("get", reverse("aggregation:verification-confirm", args=[c.pk]), {"own": 405}),
    ])


def test_api(world):
    d, r, c, t = world["dataset"], world["record"], world["case"], world["theme"]
    everyone = {"anon": API_ANON, "own": 200, "other": 200, "third": 200, "bureau": 200, "county": 200}
    check_matrix(world["users"], [
        Row("get", reverse("aggregation-verification-list"), everyone),
        Row("get", reverse("aggregation-verification-detail", args=[c.pk]),
            {"anon": API_ANON, "own": 200, "head": 200, "other": 200, "third": 404, "bureau": 200, "county": 404}),
        Row("get", reverse("aggregation-record", args=[d.pk, r.pk]), {**everyone, "admin": 404}),
        Row("get", reverse("aggregation-record", args=[world["conditional"].pk, world["hidden"].id]),
            {"anon": API_ANON, "own": 200, "other": 404, "third": 404, "bureau": 200, "county": 404}),
        Row("get", reverse("aggregation-subject", args=["population", id_number(1)]), {**everyone, "admin": 404}),
        Row("post", reverse("aggregation-subject-lookup", args=["population"]), {**everyone, "admin": 404},
            body={"key": id_number(1)}),
        Row("get", reverse("aggregation-theme-list"), everyone),
        Row("get", reverse("aggregation-theme-detail", args=[t.pk]),
            {"anon": API_ANON, "own": 200, "other": 404, "third": 404, "bureau": 200, "county": 404}),
        Row("get", reverse("aggregation-theme-rows", args=[t.pk]),
            {"anon": API_ANON, "own": 200, "other": 404, "bureau": 200}),
        Row("get", reverse("aggregation-quality-list"), everyone),
        # transitions (in order: the head decides the extension the head requested)
        Row("post", reverse("aggregation-verification-list"),
            {"anon": API_ANON, "own": 403, "bureau": 403, "county": 403},
            body={"dataset": d.pk, "record": r.pk, "fields": ["姓名"], "description": "x"}),
        Row("post", reverse("aggregation-verification-confirm", args=[c.pk]),
            {"anon": API_ANON, "other": 403, "third": 404, "bureau": 403, "county": 404}, body={"explanation": "无误"}),
        Row("post", reverse("aggregation-verification-request-extension", args=[c.pk]),
            {"anon": API_ANON, "other": 403, "third": 404, "head": 200}, body={"working_days": 2, "reason": "理由"}),
        Row("post", reverse("aggregation-verification-decide-extension", args=[c.pk]),
            {"anon": API_ANON, "own": 403, "other": 403, "third": 404, "head": 200},
            body={"approve": False, "comment": "不同意"}),
        Row("post", reverse("aggregation-verification-correct", args=[c.pk]),
            {"anon": API_ANON, "other": 403, "third": 404, "bureau": 403, "county": 404},
            body={"values": {"姓名": "张叁"}}),
        Row("post", reverse("aggregation-theme-rebuild", args=[t.pk]),
            {"anon": API_ANON, "other": 404, "third": 404, "bureau": 403, "county": 404}),
        Row("post", reverse("aggregation-theme-rebuild", args=[t.pk]), {"own": 202}),
    ], api=True)


def test_list_query_counts_are_flat(world, api_as, staff, django_assert_max_num_queries):
    from aggregation.services.quality import quality_compute_all

    for n in range(3):  # more rows must not mean more queries
        theme.theme_save(actor=staff, name=f"主题{n}", key_kind="id_number",
                         sources=[{"dataset": world["dataset"].pk, "items": ["姓名"]}])
    quality_compute_all()
    client = api_as(world["users"]["bureau"])
    for name in ("aggregation-verification-list", "aggregation-theme-list", "aggregation-quality-list"):
        with django_assert_max_num_queries(12):
            assert client.get(reverse(name)).status_code == 200
