"""Cleaning and validation of a batch of rows as polars column expressions (issue 18).

`Checker(plan, columns, mapping).check(first_row_no, rows_or_frame)` gives the canonical text of every item of the
accepted rows (a polars frame: `row_no` + one String column per item, null where the row has no value) and the
rejected-rows report (row, column, value, reason) — exactly what `validation.converter` gives value by value.

How the two stay the same: the column expressions only ever ACCEPT (the common shapes: ASCII ISO dates, plain
numbers, 18-character ID numbers with a good check digit …) and then produce the same canonical text as the
converter would. Every non-empty value they do not accept — invalid, or merely unusual (a date with Arabic-Indic
digits, "¥1,000", a midnight datetime where a date is expected) — goes to the item's Python converter, which gives
the verdict, the canonical text and the reason. So the reasons live in one place (validation.py and
portal.validators); a vector rule that accepted something the converter refuses would be a bug, and
tests/aggregation/test_ingest_columnar.py compares both over many generated values of every data type.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from portal.validators import _PROVINCES, _USCC_CHARSET, _USCC_WEIGHTS

from ..choices import KeyKind
from .errors import IngestError
from .planning import Plan
from .validation import _HALF, converter, memoised

ROW_NO = "row_no"

# What str.strip() removes (str.isspace: Unicode White_Space plus the C0 separators \x1c-\x1f); polars'
# strip_chars() without an argument would keep \x1c-\x1f.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_HALF_FROM = [chr(c) for c in _HALF]
_HALF_TO = [v if isinstance(v, str) else chr(v) for v in _HALF.values()]
_CONVERTED_TYPES = frozenset("DTNYBFIL")
NUMERIC_KEY_REASON = "主体标识是数字而不是文本，可能已丢失精度或末位 X；请将该列设为文本后重新导出"
EMPTY_KEY_REASON = "主体标识不能为空"

# The converters' formats with ASCII digits only ([0-9]: Rust's \d is Unicode, like Python's; values with other
# digits go to the converter).
_DATE_RE = (r"^([0-9]{4})(?:[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})|年([0-9]{1,2})月([0-9]{1,2})日?"
            r"|([0-9]{2})([0-9]{2}))$")
_DATETIME_RE = (r"^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?"
                r"(?:[ T]+([0-9]{1,2})[:时]([0-9]{1,2})(?:[:分]([0-9]{1,2})(?:\.[0-9]+)?秒?)?)?$")
# Decimal(text).normalize() rounds to the context's 28 digits: longer numbers are left to the converter.
_MAX_DIGITS = 28
_ID_RE = r"^[1-9][0-9]{5}(?:18|19|20)[0-9]{9}[0-9X]$"
_USCC_RE = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
_USCC_INDEX = {c: i for i, c in enumerate(_USCC_CHARSET)}
_TRUE = ["是", "true", "t", "y", "yes", "1", "√"]
_FALSE = ["否", "false", "f", "n", "no", "0", "×"]


def cell_text(value) -> str:
    """An XLSX/JSON cell as text: dates ISO, whole floats without ".0", booleans 是/否."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# ---------------------------------------------------------------------------------------------------------------
# The vector rules. Each data type has a `prep` (an intermediate column computed once: polars does not share a
# sub-expression used several times within one expression) and a rule: from the cleaned text `c` and its prep `p`,
# the canonical text where the rule accepts the value, null elsewhere.


def _valid_date(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Whether the zero-padded parts name a day that exists (Python's dates start at year 1; chrono's at 0)."""
    iso = pl.concat_str([year, month, day], separator="-")
    return iso.str.strptime(pl.Date, "%Y-%m-%d", strict=False).is_not_null() & (year != "0000")


def _date_prep(c: pl.Expr) -> pl.Expr:
    """The text as "YYYY-M-D" where it has one of the converter's date shapes (no midnight datetimes: those go to
    the converter), null elsewhere."""
    compact = c.str.contains(r"^[0-9]{8}$")
    dashed = pl.when(compact).then(pl.concat_str([c.str.slice(0, 4), c.str.slice(4, 2), c.str.slice(6, 2)],
                                                 separator="-"))
    return pl.when(c.str.contains(_DATE_RE)).then(
        dashed.otherwise(c.str.replace_all("[/.年月]", "-").str.strip_suffix("日")))


def _date(c: pl.Expr, p: pl.Expr) -> pl.Expr:
    parsed = p.str.strptime(pl.Date, "%Y-%m-%d", strict=False)  # (the shape was checked: 4-digit year, 1–2 digits)
    return pl.when(parsed.is_not_null() & (c.str.slice(0, 4) != "0000")).then(parsed.dt.to_string("%Y-%m-%d"))


def _datetime(c: pl.Expr, g: pl.Expr) -> pl.Expr:
    year = g.struct.field("1")
    month, day = g.struct.field("2").str.zfill(2), g.struct.field("3").str.zfill(2)
    hms = [g.struct.field(n).fill_null("0").str.zfill(2) for n in ("4", "5", "6")]
    ok = (_valid_date(year, month, day) & (hms[0].cast(pl.Int32, strict=False) <= 23)
          & (hms[1].cast(pl.Int32, strict=False) <= 59) & (hms[2].cast(pl.Int32, strict=False) <= 59))
    return pl.when(ok).then(pl.concat_str([pl.concat_str([year, month, day], separator="-"),
                                           pl.concat_str(hms, separator=":")], separator=" "))


def _number_prep(c: pl.Expr, *, integer: bool) -> pl.Expr:
    text = c.str.replace_all(",", "", literal=True)
    return text.str.extract_groups(r"^(-?)([0-9]+)(?:\.(0*))?$" if integer else r"^(-?)([0-9]+)(?:\.([0-9]*))?$")


def _number(c: pl.Expr, g: pl.Expr, length: int | None, *, integer: bool) -> pl.Expr:
    """validation._number for plain decimals ("-0012.50", "1,234.5"): Decimal(...).normalize() in 'f' format, or
    str(int(...)) for integers; at most `length` digits."""
    sign, whole = g.struct.field("1"), g.struct.field("2").str.strip_chars_start("0")
    whole = pl.when(whole == "").then(pl.lit("0")).otherwise(whole)
    written = g.struct.field("2").str.len_chars() + g.struct.field("3").fill_null("").str.len_chars()
    ok = written <= _MAX_DIGITS  # (null where the text is not a plain decimal)
    if integer:
        canonical = pl.when((sign == "-") & (whole != "0")).then("-" + whole).otherwise(whole)
        digits = whole.str.len_chars()
    else:
        fraction = g.struct.field("3").fill_null("").str.strip_chars_end("0")
        sign = pl.when((whole == "0") & (fraction == "")).then(pl.lit("")).otherwise(sign)  # zero has no sign
        canonical = pl.concat_str([sign, whole, pl.when(fraction != "").then("." + fraction).otherwise(pl.lit(""))])
        digits = whole.str.len_chars() + fraction.str.len_chars()
    if length:
        ok = ok & (digits <= length)
    return pl.when(ok).then(canonical)


def _logical(c: pl.Expr) -> pl.Expr:
    low = c.str.to_lowercase()
    plain = c.str.contains(r"^(?:[A-Za-z01]+|是|否|√|×)$")  # (no case mapping of other scripts to compare)
    return pl.when(plain & low.is_in(_TRUE)).then(pl.lit("true")).when(plain & low.is_in(_FALSE)).then(
        pl.lit("false"))


def _char(c: pl.Expr, length: int | None) -> pl.Expr:
    return pl.when(c.str.len_chars() <= length).then(c) if length else c


def _id_number(up: pl.Expr, today: str) -> pl.Expr:
    """portal.validators.id_number_problem's rules over the upper-cased text (format, province, existing birth date
    not after today, GB 11643 check digit: (1 - 2·int(first17, 13)) mod 11, as the converter's fast path has it)."""
    remainder = up.str.slice(0, 17).str.to_integer(base=13, strict=False) % 11
    check = (23 - 2 * remainder) % 11  # = (1 - 2·r) mod 11, never negative
    expected = pl.when(check == 10).then(pl.lit("X")).otherwise(check.cast(pl.String))
    ok = (up.str.contains(_ID_RE) & up.str.slice(0, 2).is_in(sorted(_PROVINCES))
          & _valid_date(up.str.slice(6, 4), up.str.slice(10, 2), up.str.slice(12, 2))
          & (up.str.slice(6, 8) <= today) & (up.str.slice(17, 1) == expected))
    return pl.when(ok).then(up)


def _credit_code(up: pl.Expr) -> pl.Expr:
    """portal.validators.credit_code_problem's rules over the upper-cased text (charset, GB 32100 check character:
    weighted sum mod 31)."""

    def index(i: int) -> pl.Expr:
        return up.str.slice(i, 1).replace_strict(_USCC_INDEX, default=None, return_dtype=pl.Int64)

    total = pl.sum_horizontal([index(i) * w for i, w in enumerate(_USCC_WEIGHTS)])
    ok = up.str.contains(_USCC_RE) & (index(17) == (31 - total % 31) % 31)
    return pl.when(ok).then(up)


# ---------------------------------------------------------------------------------------------------------------


class _Slot:
    """A file column mapped to an item, with its vector rule and its converter (the verdict for the rest)."""

    __slots__ = ("check", "column", "data_type", "index", "is_key", "length", "name")

    def __init__(self, index: int, column: str, spec, key_kind: str | None):
        self.index, self.column, self.name = index, column, spec.name
        self.data_type, self.length, self.is_key = spec.data_type, spec.length, spec.is_key
        self.check = converter(spec.data_type, spec.length, key_kind=key_kind)
        if not spec.is_key and spec.data_type in ("D", "T"):
            self.check = memoised(self.check)  # pure, and the odd dates of a file repeat too

    def prep(self, c: pl.Expr, key_kind: str) -> pl.Expr | None:
        t = self.data_type
        if self.is_key:
            return c.str.to_uppercase() if key_kind in (KeyKind.ID_NUMBER, KeyKind.CREDIT_CODE) else None
        if t == "D":
            return _date_prep(c)
        if t == "T":
            return c.str.extract_groups(_DATETIME_RE)
        if t in ("N", "Y", "B", "F", "I"):
            return _number_prep(c, integer=t == "I")
        return None

    def rule(self, c: pl.Expr, p: pl.Expr | None, key_kind: str, today: str) -> pl.Expr:
        t = self.data_type
        if self.is_key:
            if key_kind == KeyKind.ID_NUMBER:
                return _id_number(p, today)
            if key_kind == KeyKind.CREDIT_CODE:
                return _credit_code(p)
            return _char(c, self.length)
        if t == "D":
            return _date(c, p)
        if t == "T":
            return _datetime(c, p)
        if t in ("N", "Y", "B", "F"):
            return _number(c, p, self.length if t == "N" else None, integer=False)
        if t == "I":
            return _number(c, p, self.length, integer=True)
        if t == "L":
            return _logical(c)
        return _char(c, self.length)


class Checker:
    """The clean + validate step of one file (plan, its columns, the column → item mapping), batch by batch."""

    def __init__(self, plan: Plan, columns: list[str], mapping: dict[str, str]):
        self.plan = plan
        self.width = len(columns)
        by_name = plan.by_name
        # A header that repeats a column name maps each copy to the item: every copy is validated (as RowProcessor
        # always did), the last one gives the value (and the only key column).
        slots, key = [], None
        for index, column in enumerate(columns):
            item_name = mapping.get(column)
            spec = by_name.get(item_name) if item_name else None
            if spec is None:
                continue
            slot = _Slot(index, column, spec, plan.key_kind if spec.is_key else None)
            if spec.is_key:
                key = slot
            else:
                slots.append(slot)
        if key is None:
            raise IngestError(f"未指定主体标识“{plan.key_item}”所在的列")
        if any(s.name == ROW_NO for s in slots):
            raise IngestError(f"信息项名称“{ROW_NO}”与行号列重名")
        self.slots = sorted([*slots, key], key=lambda s: s.index)
        self.key = key
        self.numeric_key = plan.key_kind != KeyKind.OTHER

    def check(self, first_row_no: int, rows_or_frame, *, translated: bool = False
              ) -> tuple[pl.DataFrame, list[tuple[int, str, str, str]], int]:
        """(frame of the accepted rows, rejections sorted by row and column, rows that were not blank).

        `rows_or_frame`: lists of cell values (str, None, or XLSX/JSON values) or a frame of String columns in the
        file's column order. `translated`: the text is half-width already (CsvSource.pretranslated)."""
        series, blank, numeric = self._series(rows_or_frame)
        n = len(blank)
        if not n:
            return pl.DataFrame(schema={ROW_NO: pl.Int64, **{s.name: pl.String for s in self.slots}}), [], 0
        today = dt.date.today().strftime("%Y%m%d")
        cleaned, preps, rules = [], [], []
        for k, slot in enumerate(self.slots):
            c = pl.col(f"s{k}")
            if not translated:
                c = c.str.replace_many(_HALF_FROM, _HALF_TO)
            cleaned.append(c.str.strip_chars(WHITESPACE).fill_null("").alias(f"c{k}"))
            c = pl.col(f"c{k}")
            prep = slot.prep(c, self.plan.key_kind)
            if prep is not None:
                preps.append(prep.alias(f"p{k}"))
            rules.append(slot.rule(c, None if prep is None else pl.col(f"p{k}"), self.plan.key_kind, today)
                         .alias(f"v{k}"))
        frame = pl.DataFrame(series).with_columns(cleaned)
        if preps:
            frame = frame.with_columns(preps)
        frame = frame.with_columns(rules)
        blank_s = pl.Series("blank", blank, dtype=pl.Boolean)
        # A value needs the converter where the rules did not accept it; the key's empty and numeric cells are
        # refused before any check (as RowProcessor always did).
        key_k = self.slots.index(self.key)
        skip = [blank_s] * len(self.slots)
        if numeric is not None:
            skip[key_k] = blank_s | pl.Series(numeric, dtype=pl.Boolean)
        pending = frame.select([((pl.col(f"c{k}") != "") & pl.col(f"v{k}").is_null() & ~skip[k]).alias(f"q{k}")
                                for k in range(len(self.slots))])
        problems: list[tuple[int, int, str, str, str]] = []  # row index, column index, column, value, reason
        counts = pending.sum().row(0)
        values = {}
        for k, slot in enumerate(self.slots):
            v = frame.get_column(f"v{k}")
            if counts[k]:
                where = pending.get_column(f"q{k}").arg_true()
                texts = frame.get_column(f"c{k}").gather(where).to_list()
                fixed_at, fixed = [], []
                for i, text in zip(where.to_list(), texts, strict=True):
                    value, problem = slot.check(text)
                    if problem:
                        problems.append((i, slot.index, slot.column, value, problem))
                    else:
                        fixed_at.append(i)
                        fixed.append(value)
                if fixed:
                    v = v.scatter(fixed_at, fixed)
            values[slot.name] = v
        key_texts = frame.get_column(f"c{key_k}")
        for i in ((key_texts == "") & ~blank_s).arg_true().to_list():
            problems.append((i, self.key.index, self.key.column, "", EMPTY_KEY_REASON))
        if numeric is not None:
            for i in (pl.Series(numeric, dtype=pl.Boolean) & (key_texts != "") & ~blank_s).arg_true().to_list():
                problems.append((i, self.key.index, self.key.column, key_texts[i], NUMERIC_KEY_REASON))
        bad = blank_s
        if problems:
            flags = [False] * n
            for p in problems:
                flags[p[0]] = True
            bad = bad | pl.Series(flags, dtype=pl.Boolean)
        # An empty cell is null whatever the rule made of it.
        out = pl.DataFrame({ROW_NO: pl.int_range(first_row_no, first_row_no + n, eager=True, dtype=pl.Int64),
                            **values, **{f"c{k}": frame.get_column(f"c{k}") for k in range(len(self.slots))}})
        last = {s.name: k for k, s in enumerate(self.slots)}
        out = out.select(ROW_NO, *[pl.when(pl.col(f"c{k}") != "").then(pl.col(name)).alias(name)
                                   for name, k in last.items()])
        if problems or blank_s.any():
            out = out.filter(~bad)
        problems.sort(key=lambda p: (p[0], p[1]))
        rejections = [(first_row_no + i, column, value, reason) for i, _c, column, value, reason in problems]
        return out, rejections, n - int(blank_s.sum())

    def _series(self, rows_or_frame) -> tuple[list[pl.Series], list[bool], list[bool] | None]:
        """One String series per slot, whether each row is blank, and which key cells were numbers (None: none)."""
        numeric = None
        if isinstance(rows_or_frame, pl.DataFrame):
            frame = rows_or_frame
            series = [frame.to_series(s.index).cast(pl.String).alias(f"s{k}") for k, s in enumerate(self.slots)]
            blank = frame.select(pl.all_horizontal(pl.all().cast(pl.String).fill_null("") == "")).to_series()
            return series, blank.to_list() if frame.width else [True] * frame.height, None
        width = self.width
        rows = [r if len(r) == width else [*r[:width], *([None] * (width - len(r)))] for r in rows_or_frame]
        blank = [not any(r) for r in rows]  # (Python truth: an XLSX row of zeros was always blank)
        # (equal lengths now; strict=True would cost 1.5 µs a row)
        columns = list(zip(*rows, strict=False)) if rows else [()] * width
        series = []
        for k, slot in enumerate(self.slots):
            col = columns[slot.index]
            try:
                s = pl.Series(f"s{k}", col, dtype=pl.String, strict=True)
            except TypeError:  # XLSX/JSON cells that are not text
                if slot.is_key and self.numeric_key:
                    numeric = [v.__class__ in (float, int) for v in col]
                s = pl.Series(f"s{k}", [v if v.__class__ is str or v is None else cell_text(v) for v in col],
                              dtype=pl.String)
            series.append(s)
        return series, blank, numeric


def clean_validate(plan: Plan, columns: list[str], mapping: dict[str, str], first_row_no: int, rows_or_frame,
                   *, translated: bool = False) -> tuple[pl.DataFrame, list[tuple[int, str, str, str]]]:
    """The accepted rows' canonical text (`row_no` + a String column per item, null = no value) and the
    rejections (row, column, value, reason) of one batch. A file's batches should share one `Checker`."""
    frame, rejections, _rows = Checker(plan, columns, mapping).check(first_row_no, rows_or_frame,
                                                                    translated=translated)
    return frame, rejections
