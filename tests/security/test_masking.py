"""Display masking (cn-standards §4.2) and which items count as personal."""

import pytest

from security.masking import mask, sensitivity_of


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("410802199003071239", "id_number", "410802********1239"),
        ("13812345678", "phone", "138****5678"),
        ("张三", "name", "张*"),
        ("李小明", "name", "李*明"),
        ("欧阳娜娜", "name", "欧**娜"),
        ("91410800MA44111107", "credit_code", "91410800MA44111107"),
        ("河南省焦作市解放区民主路12号", "address", "河南省焦作市解放区******"),
        ("", "id_number", ""),
    ],
)
def test_mask(value, kind, expected):
    assert mask(value, kind) == expected


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("公民身份号码", "id_number"), ("法定代表人身份证号", "id_number"), ("姓名", "name"),
        ("法定代表人", "name"), ("联系电话", "phone"), ("户籍地址", "address"), ("住所", "address"),
        ("统一社会信用代码", None), ("企业名称", None), ("性别", None), ("注册资本", None), ("单位名称", None),
    ],
)
def test_sensitivity_of(name, kind):
    assert sensitivity_of(name, "C") == kind


VALUES = ["410802199003071239", "41080219900307123X", "4108021990", "13812345678", "0391-3568888", "张三", "李小明",
          "欧阳娜娜", "王", "河南省焦作市解放区民主路12号", "民主路12号", "焦作市", "北京路", "ab", "a", '"王\\',
          "6222 0000 1234"]


@pytest.mark.parametrize("kind", ["id_number", "phone", "name", "address", "generic", "credit_code"])
def test_masks_are_idempotent_and_mask_many_agrees(kind):
    """Readers mask whatever they read, stored masked forms included: masking a masked value changes nothing."""
    from security.masking import mask_many

    masked = [mask(v, kind) for v in VALUES]
    assert [mask(m, kind) for m in masked] == masked
    assert mask_many(VALUES, kind) == masked


def test_item_mask_kind():
    from security.masking import item_mask_kind

    assert item_mask_kind("公民身份号码", key_kind="id_number") == "id_number"
    assert item_mask_kind("统一社会信用代码", key_kind="credit_code") == "credit_code"
    assert item_mask_kind("档案编号", key_kind="other") == "generic"
    assert item_mask_kind("联系电话", "C") == "phone"
    assert item_mask_kind("出生日期", "D", encrypted=True) == "generic"  # encrypted, not personal by name
    assert item_mask_kind("出生日期", "D") is None
    assert item_mask_kind("性别", "C") is None


_ADDRESSISH = "省市区县镇乡街道自治号路0123456789٣ab *\n"


@pytest.mark.parametrize("kind", ["id_number", "phone", "name", "address", "generic", "credit_code"])
def test_mask_column_gives_mask_of_every_value(kind):
    """The writer masks whole columns with polars expressions (mask_column): the same strings as mask(), value for
    value — lengths around every threshold, address-like text (the head pattern, Unicode digits), empty and null."""
    import polars as pl
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from security.masking import mask_column

    values = st.lists(st.one_of(st.none(), st.text(max_size=25), st.text(alphabet=_ADDRESSISH, max_size=25)),
                      max_size=30)

    @settings(max_examples=300, deadline=None, database=None)
    @given(values)
    def check(batch):
        got = mask_column(pl.Series("v", [*VALUES, *batch], dtype=pl.Utf8), kind).to_list()
        assert got == [mask(v, kind) for v in [*VALUES, *batch]]

    check()
