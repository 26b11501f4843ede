"""Bad query-parameter values, and the one check of their refusal: 400 `invalid`, a Chinese `detail` naming the
parameter, the value not echoed (portal.api.params)."""

from __future__ import annotations

import re
from urllib.parse import quote

NUL = "1\x00"
SUPERSCRIPT = "²"
FULL_WIDTH = "１"
LONG = "9" * 10_000

# Where an id or another integer is expected.
BAD_INTEGERS = [NUL, SUPERSCRIPT, FULL_WIDTH, "1２", LONG, "1.0", "1_0", "x"]
# Where one of fixed values is expected.
BAD_CHOICES = [NUL, SUPERSCRIPT, FULL_WIDTH, LONG, "unknown"]
# Free text.
BAD_TEXTS = ["营业\x00执照", "执" * 10_000]
# A free-text segment of a URL path (percent-encode it: `path_segment`): NUL, other C0 controls, DEL, a C1 control,
# one character too many.
BAD_PATH_TEXTS = ["\x00", "303-\x00", "\x01", "\x1f", "\x7f", "\x85", "9" * 201]

_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def assert_invalid(response, name: str) -> dict:
    """The refusal of parameter `name`; returns the body."""
    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert body["code"] == "invalid" and list(body["errors"]) == [name], body
    assert body["detail"].startswith(f"{name}：") and _CHINESE.search(body["detail"]), body
    assert len(response.content) < 1000  # the value sent is not echoed back
    return body


def path_segment(value: str) -> str:
    """`value` percent-encoded for a URL path (the test client would drop a raw tab or newline)."""
    return quote(value, safe="")
