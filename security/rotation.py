"""Key rotation registry: each app that stores values under the field keys registers its rotator here.

The security chapter owns the keys but not the tables that hold ciphertext; an app above it registers, in its
AppConfig.ready(), a function `rotate(*, cipher, batch, recompute_blind_index, dry_run) -> dict[str, int]`
(counts such as {"records": n, "history": m}), and `manage.py rotate_field_keys` walks the registry.
"""

from __future__ import annotations

from collections.abc import Callable

_rotators: dict[str, Callable[..., dict[str, int]]] = {}


def register(name: str, rotate: Callable[..., dict[str, int]]) -> None:
    """Register (or replace) the rotator called `name`."""
    _rotators[name] = rotate


def registered() -> dict[str, Callable[..., dict[str, int]]]:
    """The registered rotators by name, in registration order."""
    return dict(_rotators)
