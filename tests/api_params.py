"""Bad query-parameter values, and the one check of their refusal: 400 `invalid`, a Chinese `detail` naming the
parameter, the value not echoed (portal.api.params)."""

from __future__ import annotations

import re

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

_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def assert_invalid(response, name: str) -> dict:
    """The refusal of parameter `name`; returns the body."""
    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert body["code"] == "invalid" and list(body["errors"]) == [name], body
    assert body["detail"].startswith(f"{name}：") and _CHINESE.search(body["detail"]), body
    assert len(response.content) < 1000  # the value sent is not echoed back
    return body
