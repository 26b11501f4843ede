"""The registry's types: a period, a figure, an indicator definition, and the scoring rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

from ..choices import IndicatorBlock

RATE = "rate"
DEDUCTION = "deduction"
TWO = Decimal("0.01")
FOUR = Decimal("0.0001")


@dataclass(frozen=True)
class Period:
    """The assessed year: [start, end) as local datetimes, and `as_of` — the last day counted (the year's last day,
    or the day of computation while the year runs)."""

    year: int
    as_of: dt.date

    @classmethod
    def of(cls, year: int, today: dt.date) -> Period:
        return cls(year=year, as_of=min(dt.date(year, 12, 31), today))

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, 1, 1, tzinfo=ZoneInfo(settings.TIME_ZONE))

    @property
    def end(self) -> dt.datetime:
        """The instant after `as_of` (exclusive bound)."""
        day = self.as_of + dt.timedelta(days=1)
        return dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(settings.TIME_ZONE))

    def params(self, department_ids: list[int]) -> dict:
        return {"deps": list(department_ids), "start": self.start, "end": self.end, "first_day": self.first_day,
                "as_of": self.as_of, "tz": settings.TIME_ZONE}


@dataclass
class Figure:
    """One department's figure: numerator / denominator (None for a deduction indicator), the ids of the counted
    cases and of those that counted against it, the deduction in points and the veto."""

    numerator: Decimal = Decimal(0)
    denominator: int | None = 0
    counted: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    deduction: Decimal = Decimal(0)
    veto: bool = False


Compute = Callable[[Period, list[int]], dict[int, Figure]]


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str
    block: str
    weight: int
    evidence_type: str
    rule: str
    compute: Compute
    kind: str = RATE


REGISTRY: dict[str, Indicator] = {}


def register(*, key: str, name, block: str, weight: int, evidence_type: str, rule, kind: str = RATE):
    """Decorator: register `compute(period, department_ids) -> {department id: Figure}` as indicator `key`."""
    def decorator(compute: Compute) -> Compute:
        REGISTRY[key] = Indicator(key=key, name=name, block=block, weight=weight, evidence_type=evidence_type,
                                  rule=rule, compute=compute, kind=kind)
        return compute
    return decorator


def get(key: str) -> Indicator | None:
    return REGISTRY.get(key)


def default_set() -> list[Indicator]:
    """The registered indicators by block (数据归集, 数据共享, 数据应用, 安全管理), then in registration order; their
    default weights total 100 (tested)."""
    order = list(IndicatorBlock.values)
    return sorted(REGISTRY.values(), key=lambda i: order.index(i.block))


def points(indicator: Indicator, weight: int, figure: Figure) -> tuple[Decimal | None, Decimal]:
    """(rate, points) of a figure under `weight` (the rule in indicators/__init__.py)."""
    w = Decimal(weight)
    if indicator.kind == DEDUCTION:
        return None, max(Decimal(0), w - figure.deduction).quantize(TWO, ROUND_HALF_UP)
    if not figure.denominator:
        return None, w.quantize(TWO)
    rate = (Decimal(figure.numerator) / Decimal(figure.denominator)).quantize(FOUR, ROUND_HALF_UP)
    return rate, (w * Decimal(figure.numerator) / Decimal(figure.denominator)).quantize(TWO, ROUND_HALF_UP)


def rows_to_figures(rows, *, deduction: bool = False) -> dict[int, Figure]:
    """Rows (department, counted ids, failed ids[, deduction, veto]) → figures; numerator = counted − failed."""
    out = {}
    for row in rows:
        dep, counted, failed = row[0], sorted(row[1] or []), sorted(row[2] or [])
        if deduction:
            out[dep] = Figure(numerator=Decimal(len(counted)), denominator=None, counted=counted, failed=failed,
                              deduction=Decimal(row[3] or 0), veto=bool(row[4]))
        else:
            out[dep] = Figure(numerator=Decimal(len(counted) - len(failed)), denominator=len(counted),
                              counted=counted, failed=failed)
    return out
