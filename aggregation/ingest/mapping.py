"""Header cleaning and the automatic column → data item mapping."""

from __future__ import annotations

import re

from .validation import HALF_WIDTH

_HEADER_NOISE = re.compile(r"[\s\ufeff*＊:：]+")


def clean_header(value) -> str:
    if value is None:
        return ""
    return _HEADER_NOISE.sub("", str(value).translate(HALF_WIDTH)).strip()


def _loose(name: str) -> str:
    return re.sub(r"[\s()（）\[\]【】_\-—·.]", "", name).lower()


def auto_mapping(columns: list[str], item_names: list[str]) -> dict[str, str]:
    """Columns whose header names an item (exactly, or ignoring brackets, spaces and case) → that item."""
    exact = {n: n for n in item_names}
    loose = {_loose(n): n for n in item_names}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        name = exact.get(col) or loose.get(_loose(col))
        if name and name not in used:
            mapping[col] = name
            used.add(name)
    return mapping
