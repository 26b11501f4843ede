"""Catalog demo data (`manage.py seed_demo`): realistic, covers every state and sharing type, idempotent."""

import io
from collections import Counter

import pytest

from catalog import demo
from catalog.choices import EntryState, ShareType
from catalog.models import CatalogEntry, CatalogEntryVersion, CatalogUpdateCase, DataItem, DemandItem
from portal.demo import seed_organisations
from portal.models import AuditEvent, User

pytestmark = pytest.mark.django_db


def counts():
    return {
        "entries": CatalogEntry.objects.count(),
        "items": DataItem.objects.count(),
        "versions": CatalogEntryVersion.objects.count(),
        "demands": DemandItem.objects.count(),
        "update_cases": CatalogUpdateCase.objects.count(),
        "users": User.objects.count(),
        "created_events": AuditEvent.objects.filter(action="catalog.entry.created").count(),
    }


def test_seed_twice_does_not_double():
    seed_organisations()
    out = io.StringIO()
    demo.seed(out)
    first = counts()
    assert "数据目录演示数据" in out.getvalue()
    assert first["entries"] == len(demo.parse_resources()) >= 190
    assert first["items"] >= 5 * first["entries"]
    assert first["created_events"] == first["entries"]  # filed through the service, audited

    states = Counter(CatalogEntry.objects.values_list("state", flat=True))
    assert set(states) == set(EntryState.values)
    assert states[EntryState.COUNTY_REVIEW] >= 3
    assert set(CatalogEntry.objects.values_list("share_type", flat=True)) == set(ShareType.values)
    assert not CatalogEntry.objects.filter(share_type=ShareType.NONE, no_share_basis="").exists()
    approved = CatalogEntry.objects.filter(state=EntryState.APPROVED)
    assert first["versions"] == approved.count() and not approved.filter(publish_date__isnull=True).exists()
    assert not CatalogEntry.objects.filter(provider__region__code="410800", state=EntryState.COUNTY_REVIEW).exists()
    assert CatalogEntry.objects.filter(provider__name="焦作市公安局", name="户籍人口信息",
                                       items__name="公民身份号码", items__is_subject_key=True).exists()
    assert CatalogEntry.objects.exclude(search_vector=None).count() == first["entries"]
    assert first["demands"] >= 3 and first["update_cases"] == 2

    demo.seed(io.StringIO())
    assert counts() == first


def test_resource_table_is_well_formed(db):
    resources = demo.parse_resources()
    assert len({(r.department, r.name) for r in resources}) == len(resources)
    assert {r.department for r in resources} <= set(demo.ACCOUNT_PREFIX)
    for res in resources:
        assert res.summary and res.items, res.name
        assert sum(1 for _n, key, _b in res.items if key) == 1, res.name
        assert len({n for n, _k, _b in res.items}) == len(res.items), res.name
