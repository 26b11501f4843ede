"""The column-batch cleaning and validation (aggregation.ingest.columnar) gives the answers of the per-value
converters (aggregation.ingest.validation, portal.validators): same accepted values in the same canonical text,
same rejections with the same reasons, for every data type, on valid, invalid and edge-case values."""

import datetime as dt
import random

import polars as pl
import pytest

from aggregation.choices import KeyKind
from aggregation.ingest.columnar import ROW_NO, Checker, cell_text, clean_validate
from aggregation.ingest.planning import ItemSpec, Plan
from aggregation.ingest.validation import HALF_WIDTH, converter
from tests.aggregation.builders import codes, ids
from tests.aggregation.test_ingest_fast import _variants

KEYS = {KeyKind.ID_NUMBER: ("公民身份号码", 18), KeyKind.CREDIT_CODE: ("统一社会信用代码", 18),
        KeyKind.OTHER: ("编号", 20)}
TODAY = dt.date.today()


def _plan(items, key_kind=KeyKind.ID_NUMBER) -> Plan:
    key, length = KEYS[key_kind]
    specs = [ItemSpec(key, "C", length, True, True, None)]
    specs += [ItemSpec(name, data_type, length, False, False) for name, data_type, length in items]
    return Plan(1, key, key_kind, specs)


def _reference(plan: Plan, columns, first_row_no, rows, *, translated=False):
    """The pipeline's rules value by value, as RowProcessor applied them before the column batches: blank rows
    (no truthy cell) skipped; cells trimmed and made half-width; the key empty, a number (XLSX/JSON cell) or through
    its checker; other non-empty values through their item's converter."""
    by_name = plan.by_name
    width = len(columns)
    accepted, rejections, counted = [], [], 0
    for i, row in enumerate(rows):
        row = (list(row) + [None] * width)[:width]
        if not any(row):
            continue
        counted += 1
        values, bad = {}, False
        for column, raw in zip(columns, row, strict=True):
            spec = by_name.get(column)
            if spec is None:
                continue
            text = raw if raw.__class__ is str else "" if raw is None else cell_text(raw)
            text = (text if translated else text.translate(HALF_WIDTH)).strip()
            if not text:
                values[spec.name] = None
                if spec.is_key:
                    rejections.append((first_row_no + i, column, "", "主体标识不能为空"))
                    bad = True
                continue
            if spec.is_key and plan.key_kind != KeyKind.OTHER and raw.__class__ in (float, int):
                rejections.append((first_row_no + i, column, text,
                                   "主体标识是数字而不是文本，可能已丢失精度或末位 X；请将该列设为文本后重新导出"))
                bad = True
                continue
            value, problem = converter(spec.data_type, spec.length,
                                       key_kind=plan.key_kind if spec.is_key else None)(text)
            if problem:
                rejections.append((first_row_no + i, column, value, problem))
                bad = True
            values[spec.name] = value
        if not bad:
            accepted.append({ROW_NO: first_row_no + i, **values})
    return accepted, rejections, counted


def _same_as_reference(plan, columns, rows, *, translated=False, first_row_no=2):
    frame, rejections, counted = Checker(plan, columns, {c: c for c in columns}).check(
        first_row_no, rows, translated=translated)
    accepted, expected_rejections, expected_counted = _reference(plan, columns, first_row_no, rows,
                                                                 translated=translated)
    assert rejections == expected_rejections
    assert frame.to_dicts() == accepted
    assert counted == expected_counted
    return frame, rejections


def _rule_agrees(plan: Plan, item: str, texts: list[str]) -> int:
    """Every value the item's vector rule accepts, the converter accepts too, with the same canonical text.
    Returns how many the rule accepted."""
    checker = Checker(plan, [i.name for i in plan.items], {i.name: i.name for i in plan.items})
    slot = next(s for s in checker.slots if s.name == item)
    frame = pl.DataFrame({"c": texts}, schema={"c": pl.String})
    prep = slot.prep(pl.col("c"), plan.key_kind)
    if prep is not None:
        frame = frame.with_columns(prep.alias("p"))
    fast = frame.select(slot.rule(pl.col("c"), None if prep is None else pl.col("p"), plan.key_kind,
                                  TODAY.strftime("%Y%m%d"))).to_series().to_list()
    accepted = 0
    for text, value in zip(texts, fast, strict=True):
        if value is not None:
            assert slot.check(text) == (value, None), text
            accepted += 1
    return accepted


# ---------------------------------------------------------------------------------------------------------------
# Generated values of every data type


def _pick(rng: random.Random, usual, *odd):
    """Mostly `usual`, sometimes one of the odd ones."""
    return usual if not odd or rng.random() < 0.8 else rng.choice(odd)


def _dates(rng: random.Random) -> list[str]:
    out = []
    for _ in range(1500):
        y = _pick(rng, rng.randint(1900, 2030), 0, 1, 9999, 1900, 2000, 2023, 2024)
        m = _pick(rng, rng.randint(1, 12), 0, 2, 13)
        d = _pick(rng, rng.randint(1, 28), 29, 30, 31, 0, 32)
        shape = rng.randrange(9)
        if shape == 0:
            out.append(f"{y:04d}-{m:02d}-{d:02d}")
        elif shape == 1:
            out.append(f"{y:04d}/{m}/{d}")
        elif shape == 2:
            out.append(f"{y:04d}.{m}.{d:02d}")
        elif shape == 3:
            out.append(f"{y:04d}年{m}月{d}日")
        elif shape == 4:
            out.append(f"{y:04d}年{m:02d}月{d:02d}")
        elif shape == 5:
            out.append(f"{y:04d}{m:02d}{d:02d}")
        elif shape == 6:
            out.append(f"{y:04d}-{m:02d}-{d:02d} {rng.choice(['00:00:00', '00:00', '0:0', '08:30', '00:00:01'])}")
        elif shape == 7:
            out.append(f"{y:04d}-{m}-{d}T00:00:00.000")
        else:
            out.append(f"{y}-{m}-{d}-{rng.randint(0, 9)}")
    return [*out, "2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29", "0000-01-01", "00000101", "2024-1-031",
            "٢٠٢٤-٠١-٣١", "２０２４－０１－３１", "２０２４-０１-３１",
            " 2024-01-31 ", "2024-01-31\x1c", "2024 -01-31", "2024--01-31",
            "+2024-01-31", "2024-01", "x", "2024年1月31", "2024年1月31日日", "10000-01-01", "2024/01/31 00:00:00",
            "2024-01-31  00:00", "2024-01-31 24:00"]


def _datetimes(rng: random.Random) -> list[str]:
    out = []
    for _ in range(1500):
        y = _pick(rng, rng.randint(1900, 2030), 0, 2024, 2023)
        m, d = _pick(rng, rng.randint(1, 12), 13, 0), _pick(rng, rng.randint(1, 28), 29, 31, 32)
        h, mi, s = _pick(rng, rng.randint(0, 23), 24, 99), _pick(rng, rng.randint(0, 59), 60), _pick(
            rng, rng.randint(0, 59), 60)
        sep = rng.choice("-/.年")
        sep2 = {"年": "月"}.get(sep, sep) if rng.random() < 0.9 else rng.choice("-/.月")
        day = f"{y:04d}{sep}{m if rng.random() < 0.5 else f'{m:02d}'}{sep2}{d}{'日' if rng.random() < 0.2 else ''}"
        time = rng.choice([f" {h}:{mi}", f" {h:02d}:{mi:02d}:{s:02d}", f"T{h}:{mi}:{s}.123", f"  {h}时{mi}分{s}秒",
                           f" {h}:{mi}:{s}秒", "", f" {h}:{mi}:{s}.", f" {h}"])
        out.append(day + time)
    return [*out, "2024-02-29 00:00:00", "2023-02-29 12:00", "0000-01-01 00:00:00", "2024-01-31 08:30:00.5",
            "٢٠٢٤-01-31 08:30", "2024-01-31 ０８:３０", "2024-01-31T08:30", "2024-01-31 8:5:9", "x", "20240131"]


def _numbers(rng: random.Random) -> list[str]:
    out = []
    for _ in range(2500):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.choice([1, 2, 3, 5, 8, 14, 20, 27, 28, 30])))
        frac = "".join(rng.choice("0123456789") for _ in range(rng.choice([0, 0, 1, 2, 3, 6])))
        text = rng.choice(["", "-", "+"]) + rng.choice(["", "0", "00"]) + digits
        if frac or rng.random() < 0.1:
            text += "." + frac + rng.choice(["", "0", "000"])
        if rng.random() < 0.1:
            text = f"{int(digits):,}" + (f".{frac}" if frac else "")
        if rng.random() < 0.05:
            text = rng.choice(["¥", "￥", " "]) + text
        out.append(text)
    return [*out, "-0", "-0.0", "0.000", "0", "00", ".5", "5.", "-.5", "1e5", "1E-3", "NaN", "Infinity", "-inf",
            "1_000", "1,2,3", ",5", "5,", "1 000", "１２３．５", "－１２", "٣",
            "12.5.1", "--1", "-", ".", "0x10", "1" * 28,
            "1" * 29, "0" * 40 + "1", "1." + "0" * 40]


def _logicals() -> list[str]:
    base = ["是", "否", "true", "false", "t", "f", "y", "n", "yes", "no", "1", "0", "√", "×"]
    return base + [v.upper() for v in base] + [v.title() for v in base] + [
        "ｙｅｓ", "ＴＲＵＥ", "maybe", "2", "是的", "İ", "YES ", "Yes\u3000", "ok", "10", "01", "√√"]


def _chars(rng: random.Random) -> list[str]:
    alphabet = "ab 张三李四\u3000\xa0\x1c\t\u2003ＡＢ１"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(1500)]


def _credit_codes(rng: random.Random) -> list[str]:
    out = []
    for code in codes(300):
        wrong = "0" if code[17] != "0" else "1"
        full_width = code.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
        out += [code, code.lower(), code[:17] + wrong, code[:17], code + "1", "IO" + code[2:],
                code[:2] + "A" + code[3:], code[:10] + "Z" + code[11:], " " + code + " ", full_width]
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXYIOZSV"
    out += ["".join(rng.choice(charset) for _ in range(18)) for _ in range(3000)]
    return out


def _id_numbers(rng: random.Random) -> list[str]:
    numbers = ids(120)
    for n in list(numbers[:40]):
        for day in ("20000229", "19000228", "19000229", TODAY.strftime("%Y%m%d"),
                    (TODAY + dt.timedelta(days=1)).strftime("%Y%m%d")):
            first17 = n[:6] + day + n[14:17]
            checksum = (1 - 2 * int(first17, 13)) % 11
            numbers.append(first17 + ("X" if checksum == 10 else str(checksum)))
    numbers += ["".join(rng.choice("0123456789X") for _ in range(18)) for _ in range(1500)]
    out = [v for n in numbers for v in _variants(n)]
    return [*out, "00" + numbers[0][2:], "110105000002290000", "１１０１０５１９４９１２３１００２Ｘ"]


def _typed_values(data_type: str, rng: random.Random) -> list[str]:
    if data_type == "D":
        return _dates(rng)
    if data_type == "T":
        return _datetimes(rng)
    if data_type == "L":
        return _logicals()
    if data_type in "NYBFI":
        return _numbers(rng)
    return _chars(rng)


@pytest.mark.parametrize(("data_type", "length"), [
    ("D", 8), ("T", None), ("N", 6), ("N", None), ("N", 30), ("Y", 18), ("B", None), ("F", 4), ("I", 4),
    ("I", None), ("L", None), ("C", 5), ("C", None), ("M", 10), ("G", 3)])
def test_vector_rules_accept_only_what_the_converter_accepts(data_type, length):
    rng = random.Random(f"{data_type}{length}")
    texts = [t.translate(HALF_WIDTH).strip() for t in _typed_values(data_type, rng)]
    if data_type == "I":  # (Decimal.quantize raises past 28 digits: validation._number, outside this check)
        texts = [t for t in texts if sum(c.isdigit() for c in t) <= 28]
    texts = [t for t in texts if t]
    accepted = _rule_agrees(_plan([("值", data_type, length)]), "值", texts)
    assert accepted > len(texts) // 10  # the common shapes do take the vector path
    ones = {"D": ["2024-01-31", "2024/1/31", "2024.1.31", "2024年1月31日", "20240131"],
            "T": ["2024-01-31 08:30:00", "2024/1/31 8:30"], "L": ["是", "否", "TRUE", "n"],
            "N": ["12.50", "-3", "1,234.5"], "Y": ["1,000.00"], "B": ["0.5"], "F": ["3.25"], "I": ["0042", "-7"]}
    for text in ones.get(data_type, []):
        assert _rule_agrees(_plan([("值", data_type, length)]), "值", [text]) == 1, text


@pytest.mark.parametrize("key_kind", [KeyKind.ID_NUMBER, KeyKind.CREDIT_CODE])
def test_vector_key_rules_accept_only_what_the_validators_accept(key_kind):
    rng = random.Random(key_kind)
    values = _id_numbers(rng) if key_kind == KeyKind.ID_NUMBER else _credit_codes(rng)
    if key_kind == KeyKind.CREDIT_CODE:  # (credit_code_problem raises on non-ASCII digits: portal.validators)
        values = [v for v in values if v.translate(HALF_WIDTH).isascii()]
    texts = [t for t in (v.translate(HALF_WIDTH).strip() for v in values) if t]
    plan = _plan([], key_kind)
    accepted = _rule_agrees(plan, plan.key_item, texts)
    assert accepted > 300


@pytest.mark.parametrize("translated", [False, True])
def test_batches_give_the_converters_rows_and_rejections(translated):
    rng = random.Random(11)
    items = [("出生日期", "D", 8), ("登记时间", "T", None), ("金额", "N", 8), ("人数", "I", 3), ("在册", "L", None),
             ("姓名", "C", 4), ("备注", "M", None)]
    plan = _plan(items)
    columns = ["姓名", "公民身份号码", "备注", "出生日期", "登记时间", "金额", "人数", "在册", "不导入的列"]
    keys = _id_numbers(rng)[:3000]
    pools = {"出生日期": _dates(rng), "登记时间": _datetimes(rng), "金额": _numbers(rng), "在册": _logicals(),
             "姓名": _chars(rng), "备注": _chars(rng)}
    pools["人数"] = [t for t in _numbers(rng) if sum(c.isdigit() for c in t) <= 28]
    rows = []
    for key in keys:
        row = [rng.choice(pools.get(c, ["x"])) if rng.random() < 0.9 else rng.choice(["", " ", None]) for c in columns]
        row[1] = key
        rows.append(row)
    rows += [[""] * len(columns), [None] * 3, [], [" "] + [""] * 8, ["张三", None]]
    if translated:  # what CsvSource hands over: text already half-width
        rows = [[v.translate(HALF_WIDTH) if isinstance(v, str) else v for v in r] for r in rows]
    for at in range(0, len(rows), 700):
        _same_as_reference(plan, columns, rows[at:at + 700], translated=translated, first_row_no=2 + at)


def test_credit_code_and_other_keys():
    rng = random.Random(3)
    for kind in (KeyKind.CREDIT_CODE, KeyKind.OTHER):
        values = [v for v in _credit_codes(rng) if v.translate(HALF_WIDTH).isascii()][:2000]
        values += ["", " ", "甲" * 20, "甲" * 21, "a-1"]
        plan = _plan([("成立日期", "D", 8)], kind)
        _same_as_reference(plan, [plan.key_item, "成立日期"], [[v, "2020-1-1"] for v in values])


def test_xlsx_cells_become_text_and_numeric_keys_are_refused():
    key = ids(1)[0]
    plan = _plan([("出生日期", "D", 8), ("登记时间", "T", None), ("金额", "N", 10), ("在册", "L", None),
                  ("备注", "C", 20)])
    columns = [plan.key_item, "出生日期", "登记时间", "金额", "在册", "备注"]
    rows = [
        [key, dt.datetime(1990, 3, 7), dt.datetime(2024, 1, 31, 8, 30), 12.5, True, {"a": 1}],
        [key, dt.date(1990, 3, 7), dt.datetime(2024, 1, 31), 12.0, False, [1, "二"]],
        [float(key[:17]), "1990-03-07", None, 3, 1, 4.25],  # the key lost its last digit to a float
        [int(key[:17]), None, None, None, None, None],
        [0, None, 0.0, False, None, None],  # falsy cells only: a blank row, as it always was
        [None, dt.datetime(1990, 3, 7, 0, 0, 1), None, None, None, None],
        [key, "２０２４年１月３１日", "2024-13-01 00:00", "１，２００", "Ｙｅｓ", "  "],
    ]
    frame, rejections = _same_as_reference(plan, columns, rows)
    assert [r[3][:9] for r in rejections if r[1] == plan.key_item] == ["主体标识是数字而不", "主体标识是数字而不",
                                                                        "主体标识不能为空"]
    assert frame.row(0, named=True)["出生日期"] == "1990-03-07" and frame.row(0, named=True)["在册"] == "true"
    # A key of another kind may be a number.
    other = _plan([("金额", "N", 10)], KeyKind.OTHER)
    _same_as_reference(other, [other.key_item, "金额"], [[12345, 1], [1.5, 2], ["", 3]])


def test_a_frame_in_gives_what_rows_give():
    rng = random.Random(8)
    plan = _plan([("出生日期", "D", 8), ("人数", "I", 3)])
    columns = [plan.key_item, "出生日期", "人数"]
    dates, numbers = _dates(rng), _numbers(rng)
    rows = [[k, rng.choice(dates), rng.choice(numbers)] for k in _id_numbers(rng)[:500]] + [["", "", ""]]
    rows = [[v if sum(c.isdigit() for c in v) <= 28 else "1" for v in r] for r in rows]
    expected = clean_validate(plan, columns, {c: c for c in columns}, 2, rows)
    frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")
    got = clean_validate(plan, columns, {c: c for c in columns}, 2, frame)
    assert got[1] == expected[1] and got[0].equals(expected[0])


def test_a_repeated_column_is_validated_each_time_and_the_last_one_gives_the_value():
    plan = _plan([("出生日期", "D", 8)])
    columns = [plan.key_item, "出生日期", "出生日期"]
    key = ids(1)[0]
    frame, rejections = _same_as_reference(plan, columns, [[key, "2024-02-30", "2024-01-31"],
                                                           [key, "2024/1/2", "20240103"]])
    assert rejections == [(2, "出生日期", "2024-02-30", "日期不存在")]
    assert frame.rows() == [(3, key, "2024-01-03")]


def test_unmapped_key_is_refused():
    from aggregation.ingest.errors import IngestError

    plan = _plan([("出生日期", "D", 8)])
    with pytest.raises(IngestError, match="未指定主体标识"):
        Checker(plan, ["出生日期"], {"出生日期": "出生日期"})
