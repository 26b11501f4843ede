"""Row processing: cleaning, validation, AES-GCM encryption of the subject key and personal items, their masked
forms (Record.masked), blind index and row digest — a batch of rows in, ready-made COPY text and rejections out.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import polars as pl

from security.crypto import FieldCipher
from security.masking import mask_many

from .columnar import ROW_NO, Checker
from .planning import Plan

BATCH_ROWS = 4000


@dataclass
class BatchResult:
    copy_text: str
    accepted: int
    rejections: list[tuple[int, str, str, str]] = field(default_factory=list)  # row, column, value, reason
    rows: int = 0
    # RowProcessor(frames=True): the accepted rows' canonical text (row_no + a String column per mapped item, null =
    # no value) for storage.writing, instead of `copy_text`.
    frame: pl.DataFrame | None = None


_CONVERTED_TYPES = frozenset("DTNYBFIL")


def _plain_json(text: str) -> bool:
    """Whether `text` can go between JSON quotes as it is (no quote, backslash or control character)."""
    return '"' not in text and "\\" not in text and text.isprintable()


class RowProcessor:
    """Cleans, validates and encrypts rows of one file: `mapping` says which column holds which item.

    Cleaning and validation are polars column expressions over the batch (columnar.Checker: the converters of
    validation.py give the verdict and the reason for every value the expressions do not accept); what follows —
    AES-GCM tokens, masked forms, the stored JSON from pre-escaped names, blind index, keyed BLAKE2b row digest —
    runs column by column over the accepted rows' canonical text (nonces from a counter:
    FieldCipher.bulk_encryptor).

    `frames=True` (the resource tables' writer, issue 18): only the clean + validate step — the batch's result is the
    accepted rows' canonical frame; storage.writing does the rest.
    """

    def __init__(self, plan: Plan, columns: list[str], mapping: dict[str, str], *, frames: bool = False):
        self.plan = plan
        self.frames = frames
        self.cipher = FieldCipher(plan.keys_spec, plan.blind_key)
        self.checker = Checker(plan, columns, mapping)  # (refuses a mapping without the key's column)
        by_name = plan.by_name
        slots = {}
        key_slot = None
        for slot in self.checker.slots:  # (an item once: the checker's frame has one column per item)
            spec = by_name[slot.name]
            entry = (spec.name, json.dumps(spec.name, ensure_ascii=False) + ":", spec.encrypt, spec.mask_kind)
            if spec.is_key:
                key_slot = entry
            else:
                slots[spec.name] = entry
        # Digest order = item-name order, so it does not depend on the file's column order.
        self.key_slot = key_slot
        self.slots = sorted(slots.values(), key=lambda s: s[0])
        self.key_position = sum(1 for s in self.slots if s[0] < key_slot[0])
        self._encrypt = None
        self.pretranslated = False

    def process(self, first_row_no: int, rows: list[list]) -> BatchResult:
        """Clean and validate the batch (columnar), then column at a time over the accepted rows, and one pass to
        assemble the COPY lines."""
        if self.frames:
            frame, rejections, counted = self.checker.check(first_row_no, rows, translated=self.pretranslated)
            return BatchResult("", frame.height, rejections, counted, frame=frame)
        if self._encrypt is None:  # created lazily: each worker process draws its own nonce field
            self._encrypt = self.cipher.bulk_encryptor()
        if not rows:
            return BatchResult("", 0, [], 0)
        frame, rejections, counted = self.checker.check(first_row_no, rows, translated=self.pretranslated)
        if not frame.height:
            return BatchResult("", 0, rejections, counted)
        encrypt_many = self._encrypt.many
        blind_key = self.cipher.blind_key
        hmac_digest = hmac.digest
        blake2b = hashlib.blake2b

        piece_cols = []
        part_cols = []
        masked_cols: dict[str, list[tuple]] = {}  # masking kind → (name_json, texts, masked texts) of its items
        for name, name_json, enc, kind in self.slots:
            texts = frame.get_column(name).fill_null("").to_list()
            prefix = name + "\x1f"
            part_cols.append([prefix + t if t else None for t in texts])
            if kind:
                masked_cols.setdefault(kind, []).append((name_json, texts, mask_many(texts, kind)))
            if enc:
                piece_cols.append([name_json + '"' + e + '"' if e else None for e in encrypt_many(texts)])
            else:
                piece_cols.append(_json_pieces(name_json, texts, texts))
        key_name, key_json, _enc, key_mask = self.key_slot
        key_texts = frame.get_column(key_name).to_list()
        key_encs = encrypt_many(key_texts)
        piece_cols.append([key_json + '"' + e + '"' for e in key_encs])
        key_prefix = key_name + "\x1f"
        part_cols.insert(self.key_position, [key_prefix + t for t in key_texts])
        if key_mask:
            masked_cols.setdefault(key_mask, []).append((key_json, key_texts, mask_many(key_texts, key_mask)))
        # (`repeat` never ends: the loop below zips it with strict=False)
        masked = zip(*_masked_columns(masked_cols), strict=True) if masked_cols else itertools.repeat(())

        out: list[str] = []
        append = out.append
        rs = "\x1e"
        for row_no, key_text, key_enc, pieces, parts, masks in zip(
                frame.get_column(ROW_NO).to_list(), key_texts, key_encs, zip(*piece_cols, strict=True),
                zip(*part_cols, strict=True), masked, strict=False):
            data = "{" + ",".join(filter(None, pieces)) + "}"
            if "\\" in data:  # a JSON escape: COPY's text format doubles backslashes
                data = data.replace("\\", "\\\\")
            masks = "{" + ",".join(filter(None, masks)) + "}"
            if "\\" in masks:
                masks = masks.replace("\\", "\\\\")
            digest = blake2b(rs.join(filter(None, parts)).encode(), key=blind_key, digest_size=32).hexdigest()
            key_hash = hmac_digest(blind_key, key_text.upper().encode(), "sha256").hex()
            append(f"{row_no}\t\\\\x{key_hash}\t{key_enc}\t{data}\t{masks}\t\\\\x{digest}\n")
        return BatchResult("".join(out), len(out), rejections, counted)


def _json_pieces(name_json: str, texts: list[str], values: list[str], tail: str = "") -> list[str | None]:
    """`"name":"value"` + tail for each value whose text is not empty (None for the others), JSON-escaped where
    needed."""
    if _plain_json("".join(values)):  # the whole column needs no escaping (checked in one pass)
        if values is texts and not tail:  # a clear item's own values (most columns of a load)
            return [name_json + '"' + t + '"' if t else None for t in texts]
        return [name_json + '"' + v + '"' + tail if t else None for t, v in zip(texts, values, strict=True)]
    # PostgreSQL's jsonb refuses \u0000; other control characters are escaped by dumps.
    return [(name_json + ('"' + v + '"' if _plain_json(v) else json.dumps(v.replace("\x00", ""), ensure_ascii=False))
             + tail) if t else None for t, v in zip(texts, values, strict=True)]


def _masked_columns(columns: dict[str, list[tuple]]) -> list[list[str | None]]:
    """The stored masked forms (Record.masked, {kind: {item: masked}}) as one column of `"kind":{…}` pieces per
    kind (None where a row has no value of that kind), from each kind's (name_json, texts, masked texts)."""
    out = []
    for kind, items in columns.items():
        head = json.dumps(kind) + ":{"
        if len(items) == 1:  # the usual case: one piece per value
            name_json, texts, values = items[0]
            out.append(_json_pieces(head + name_json, texts, values, "}"))
        else:
            pieces = [_json_pieces(*item) for item in items]
            out.append([head + ",".join(filter(None, ps)) + "}" if any(ps) else None
                        for ps in zip(*pieces, strict=True)])
    return out


def batched(rows: Iterator[list], *, first_row_no: int, size: int = BATCH_ROWS) -> Iterator[tuple[int, list[list]]]:
    batch: list[list] = []
    start = first_row_no
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield start, batch
            start += len(batch)
            batch = []
    if batch:
        yield start, batch
