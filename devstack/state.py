"""The launcher's own files under ./var: the lock of a running launcher, the generated secret, portal.env."""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from .core import VAR, DevstackError


@contextlib.contextmanager
def exclusive(lock_name: str, what: str) -> Iterator[None]:
    """Hold var/<lock_name> so two launchers never drive the same embedded data directory at once."""
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / lock_name
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise DevstackError(f"another {what} is already running (pid {holder}); stop it first") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        handle.close()  # closing releases the flock


def secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/ (sessions survive)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR / "secret_key"
    if not path.exists():
        VAR.mkdir(parents=True, exist_ok=True)
        # token_urlsafe: no '$' or '#', which django-environ's env file reader would interpret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def write_portal_env(values: dict[str, str]) -> Path:
    """var/portal.env: lets a bare `manage.py …` find the services `up` resolved (real env vars win)."""
    path = VAR / "portal.env"
    lines = [
        "# Written by ./portal.sh up on every run; edit the environment, not this file.",
        "# config/settings/dev.py reads it without overriding variables already set.",
    ]
    lines += [f"{key}={value}" for key, value in values.items()]
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the SECRET_KEY
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    tmp.replace(path)
    return path
