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
