"""Import a checked workbook into a department's catalog list: all rows in one transaction, or none; audited."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import AuditResult
from portal.errors import PortalError

from ..services.entries import catalog_entry_save
from .columns import ENTRY_SHEET, ITEM_SHEET
from .reading import CellError, ParsedEntry, ParsedWorkbook, file_sheet, parse_workbook
from .validation import CREATE, UNCHANGED, UPDATE, entry_values, map_problem, validate_import


@dataclass
class ImportResult:
    errors: list[CellError]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    items: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors



class _Rollback(Exception):
    pass


_IMPORT_LOCK = 0x4A5A0E1  # pg advisory lock namespace (with the department id)


def import_catalog(*, actor, department, data: bytes, filename: str = "") -> ImportResult:
    """Import an uploaded workbook into `department`'s catalog list; nothing is saved if any cell is wrong.

    New rows create entries, rows naming an own draft or returned entry update it (both through core's
    `catalog_entry_save`), rows identical to what an entry holds are left alone. Writes one audit event
    `catalog.excel.imported`, with result failure and the error count when nothing was imported.
    """
    parsed = parse_workbook(data, filename)
    result = ImportResult(errors=parsed.errors)
    if not parsed.errors:
        try:
            with transaction.atomic():
                # One import per department at a time: the same file uploaded twice in parallel would
                # otherwise pass the same-name check twice and file every entry twice.
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_IMPORT_LOCK, department.pk])
                plan = validate_import(parsed, department)
                if parsed.errors:
                    raise _Rollback
                for entry in parsed.entries:
                    action, target = plan[entry.row]
                    if action == UNCHANGED:
                        result.unchanged += 1
                        continue
                    if _save_row(parsed, entry, actor, department, target, catalog_entry_save):
                        result.created += action == CREATE
                        result.updated += action == UPDATE
                        result.items += len(entry.items)
                if parsed.errors:
                    raise _Rollback
                audit.record(
                    actor=actor, action="catalog.excel.imported", department=department,
                    data={"filename": filename, "created": result.created, "updated": result.updated,
                          "unchanged": result.unchanged, "items": result.items},
                )
        except _Rollback:
            result.created = result.updated = result.unchanged = result.items = 0
    result.errors = _sorted(parsed.errors)
    if result.errors:
        audit.record(
            actor=actor, action="catalog.excel.imported", department=department, result=AuditResult.FAILURE,
            data={"filename": filename, "errors": len(result.errors), "entries": len(parsed.entries),
                  "items": parsed.item_count},
        )
    return result


def _save_row(parsed: ParsedWorkbook, entry: ParsedEntry, actor, department, target, save) -> bool:
    """Save one row in a savepoint; a refusal is put on the row's cells (and the file rolled back later)."""
    try:
        with transaction.atomic():
            save(actor=actor, department=department, values=entry_values(entry, department),
                 items=[dict(i.values) for i in entry.items], entry=target)
    except PortalError as exc:
        if exc.errors:
            for key, messages in exc.errors.items():
                map_problem(parsed, entry, key, messages)
        else:
            parsed.add(ENTRY_SHEET, entry.row, "", "", entry.values.get("name", ""), exc.detail)
        return False
    except IntegrityError:
        parsed.add(ENTRY_SHEET, entry.row, "", "", entry.values.get("name", ""),
                   _("保存时与已有数据冲突（可能有人同时修改），请稍后重试"))
        return False
    return True


def _sorted(errors: list[CellError]) -> list[CellError]:
    order = {file_sheet(): 0, ENTRY_SHEET: 1, ITEM_SHEET: 2}

    def key(e: CellError):
        letter = e.column or ""
        return (order.get(e.sheet, 3), e.row or 0, len(letter), letter)

    return sorted(errors, key=key)

