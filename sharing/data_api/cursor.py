"""The cursor of a paged data call (keyset pagination: sharing.data_api.records).

The cursor is opaque: base64url of a small JSON object bound to the dataset; anything else is `invalid`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json


def encode_cursor(dataset_id: int, last_id: int, updated_at: dt.datetime | None = None) -> str:
    payload = {"d": dataset_id, "i": last_id}
    if updated_at is not None:
        payload["t"] = updated_at.astimezone(dt.UTC).isoformat()
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(value: str, *, dataset_id: int | None, incremental: bool) -> tuple | None:
    """(id,) or (updated_at, id) from an opaque cursor of this dataset and mode; None when malformed."""
    if not value or len(value) > 200:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or payload.get("d") != dataset_id or dataset_id is None:
        return None
    last_id = payload.get("i")
    if not isinstance(last_id, int) or isinstance(last_id, bool) or not 0 < last_id < 2**63:
        return None
    if not incremental:
        return None if "t" in payload else (last_id,)
    stamp = payload.get("t")
    if not isinstance(stamp, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return (moment, last_id)
