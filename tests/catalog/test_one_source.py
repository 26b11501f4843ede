"""R12.1 一数一源 in the catalog: a second department cannot publish a base data item another already provides."""

import pytest

from catalog.choices import EntryState
from catalog.services.entries import catalog_entry_approve, catalog_entry_submit
from portal.choices import Role
from portal.errors import PortalError
from tests.catalog.helpers import entry_items
from tests.factories import DepartmentFactory, make_user

pytestmark = pytest.mark.django_db


def base_items(*names):
    """The default items with `names` marked as base data items."""
    items = entry_items()
    for item in items:
        item["is_base_item"] = item["is_base_item"] or item["name"] in names
    return items


def test_a_second_claimant_is_refused_at_submission_naming_the_source(bureau_review_entry, reviewer, make_entry):
    first = bureau_review_entry(name="企业登记信息")
    first.items.filter(name="企业名称").update(is_base_item=True)
    catalog_entry_approve(actor=reviewer, entry_id=first.pk)

    other = DepartmentFactory()
    other_staff = make_user(Role.DEPT_STAFF, department=other)
    second = make_entry(user=other_staff, name="企业名录", items=base_items("企业名称"))
    with pytest.raises(PortalError) as err:
        catalog_entry_submit(actor=other_staff, entry_id=second.pk)
    message = next(iter(err.value.errors.values()))[0]
    assert "企业名称" in message and first.provider.name in message and first.code in message
    second.refresh_from_db()
    assert second.state == EntryState.DRAFT


def test_subject_keys_are_shared_references_not_claims(bureau_review_entry, reviewer, make_entry):
    first = bureau_review_entry(name="企业登记信息")  # its subject key 统一社会信用代码 is marked base
    catalog_entry_approve(actor=reviewer, entry_id=first.pk)
    other_staff = make_user(Role.DEPT_STAFF, department=DepartmentFactory())
    second = make_entry(user=other_staff, name="企业纳税信息", items=entry_items("纳税额"))
    assert catalog_entry_submit(actor=other_staff, entry_id=second.pk).state == EntryState.SIGNOFF
