"""Entry validation (catalog.validation.entry_problems): the catalog's filing rules, pure."""

import pytest

from catalog.choices import ShareType
from catalog.models import Classification
from catalog.validation import entry_problems
from tests.catalog.helpers import entry_items, entry_values

pytestmark = pytest.mark.django_db


def test_valid_values_have_no_problems(db):
    assert entry_problems(entry_values(), entry_items()) == {}


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"share_type": ShareType.CONDITIONAL}, "share_condition"),
        ({"share_type": ShareType.NONE, "exchange_methods": []}, "no_share_basis"),
        ({"is_secret": True}, "is_secret"),
        ({"name": ""}, "name"),
        ({"classification": None}, "classification"),
        ({"classification": "3"}, "classification"),  # a 类 alone is not enough
        ({"format_class": "xls"}, "format_class"),
        ({"exchange_methods": []}, "exchange_methods"),
        ({"open_type": "conditional"}, "open_condition"),
        ({"related_codes": ["not a code"]}, "related_codes"),
        ({"related_codes": ["303/11410800MA0000000X9999"]}, "related_codes"),
    ],
)
def test_entry_rules(overrides, key):
    assert key in entry_problems(entry_values(**overrides), entry_items())


def test_item_rules():
    items = entry_items("企业名称", "企业名称")
    items.append({"name": "", "data_type": "Q", "length": -1, "is_subject_key": True})
    problems = entry_problems(entry_values(), items)
    assert set(problems) == {
        "items.2.name",
        "items.3.name",
        "items.3.data_type",
        "items.3.length",
        "items.3.is_subject_key",
    }
    assert "items" in entry_problems(entry_values(format_class="db"), [])
    assert entry_problems(entry_values(format_class="doc", format_type="pdf"), []) == {}


def test_classification_by_code_or_pk():
    cls = Classification.objects.get(code="101")
    assert entry_problems(entry_values(classification="101"), entry_items()) == {}
    assert entry_problems(entry_values(classification=cls.pk), entry_items()) == {}
