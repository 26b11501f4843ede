"""What every launcher module shares: where the checkout and its ./var are, the errors, the output."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Where embedded databases, logs, the generated secret and portal.env live. Only ./var/portal.env is read
# by the settings; the setup smoke test points this elsewhere so it never clobbers a developer's var/.
VAR = Path(os.environ.get("PORTAL_DEVSTACK_DIR") or ROOT / "var").resolve()


class DevstackError(Exception):
    """A step failed; the message says which and what to look at."""


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: unwind through the finally blocks that stop everything we started."""


def say(message: str = "") -> None:
    print(message, flush=True)


def header(message: str) -> None:
    say(f"\n==> {message}")
