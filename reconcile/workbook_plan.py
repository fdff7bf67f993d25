"""The PI's workbook read as the plan: `reconcile pay reconcile-report.xlsx` works wherever the plan CSV does.

The workbook report.write_workbook wrote holds, on a hidden sheet (report.IDENTITY_SHEET), the plan
as written: its platform, its digest and each submission's decision, bonus and feedback (and, where the
platform's rejects take one, its rejection category: a "Rejection category" column). Here the
sheet of submissions is read back (openpyxl, read-only) into the same PlanText the CSV reader
gives, so plan_check checks both the same way, and its messages name sheet and cell
("Submissions!A12: ...") instead of line and column.

Rows are identified by their submission-ID cell, never by position: sorting, filtering (hidden rows
are still read) and moving columns change nothing. A row deleted in Excel is an error (its
submission would silently get no decision); a row that was not written is an error too.

Money from cells: a number cell becomes text through its shortest repr (1.5 -> "1.50"), then
Decimal; never float arithmetic. A value with more than two decimals stays as it is, so the check
refuses it instead of rounding it quietly.
"""

from __future__ import annotations

import os
import re
import zipfile
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .errors import InputError
from .planfile import FIELDS, PLAN_HEADERS, REQUIRED, PlanText, RawPlanRow, plan_columns, plan_digest
from .report import IDENTITY_FIELDS, IDENTITY_FORMAT, IDENTITY_FORMAT_FIELDS, IDENTITY_SHEET, SUBMISSION_FIELDS

MAX_CHANGES_LISTED = 10
_CENT = Decimal("0.01")


def cell_text(value, *, money: bool = False) -> str:
    """A cell's value as the plan's text. Numbers through their repr, never through float arithmetic."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"{value}.00" if money else str(value)
    if isinstance(value, float):
        try:
            d = Decimal(repr(value))
        except InvalidOperation:  # inf, nan
            return repr(value)
        if money and d.is_finite() and d == d.quantize(_CENT):
            return format(d.quantize(_CENT), "f")
        if not money and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(d, "f") if d.is_finite() else repr(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _open(path: Path):
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not path.is_file():
        raise InputError(f"{path}: no such plan file.", hint="Run `reconcile match` first to write one.")
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as an Excel workbook ({exc}); pass the workbook `reconcile match` wrote, "
                         "or the plan CSV.") from None


def _identity(path: Path, wb) -> tuple[dict[str, list[str]], list[dict[str, str]], tuple[str, ...]]:
    """The hidden sheet's metadata, its rows (the plan as written) and the fields of the sheet's columns."""
    if IDENTITY_SHEET not in wb.sheetnames:
        raise InputError(
            f"{path}: this workbook holds no reconcile plan (its hidden sheet {IDENTITY_SHEET!r} is missing); "
            "pay from the workbook `reconcile match` wrote, or from the plan CSV."
        )
    meta: dict[str, list[str]] = {}
    originals: list[dict[str, str]] = []
    header: list[str] | None = None
    for row in wb[IDENTITY_SHEET].iter_rows(values_only=True):
        cells = [cell_text(v) for v in row]
        if header is None:
            if cells[:len(IDENTITY_FIELDS)] == list(IDENTITY_FIELDS):
                header = [c for c in cells if c]  # IDENTITY_FIELDS, then "category" in format /2
            elif len(cells) >= 2 and cells[0]:
                meta[cells[0]] = [c for c in cells[1:]]
            continue
        if any(cells):
            originals.append(dict(zip(header, cells + [""] * (len(header) - len(cells)))))
    fmt = (meta.get("format") or [""])[0]
    # Format /1: the columns are SUBMISSION_FIELDS; /2 names its fields (SUBMISSION_FIELDS and "category").
    fields = tuple(f for f in meta.get("fields", ()) if f) if fmt == IDENTITY_FORMAT_FIELDS else SUBMISSION_FIELDS
    readable = (
        fmt in (IDENTITY_FORMAT, IDENTITY_FORMAT_FIELDS) and header is not None
        and len(meta.get("columns", ())) >= len(fields) and set(SUBMISSION_FIELDS) <= set(fields) <= set(FIELDS)
        and len(set(fields)) == len(fields) and set(header) <= set(IDENTITY_FIELDS) | set(fields)
    )
    if not readable:
        raise InputError(f"{path}: its sheet {IDENTITY_SHEET!r} is not one reconcile can read (format {fmt!r}); "
                         "pay from the plan CSV.")
    return meta, originals, fields


class _Words:
    def __init__(self, submission: str, participant: str) -> None:
        self.submission, self.participant = submission or "submission", participant or "participant"


def read_workbook_plan(path: str | os.PathLike, platform: str | None = None) -> PlanText:
    """The workbook's sheet of submissions as a PlanText (see the module's docstring).
    Raises InputError for a file that is no reconcile workbook or has lost a column reconcile needs."""
    p = Path(path)
    wb = _open(p)
    try:
        meta, originals, fields = _identity(p, wb)
        name = (meta.get("platform") or [""])[0]
        if name not in PLAN_HEADERS:
            raise InputError(f"{p}: its plan is for platform {name!r}, which reconcile does not know.")
        if platform is not None and platform != name:
            raise InputError(f"{p}: this workbook is a plan for {name}, not for {platform}.")
        words = _Words(*(meta.get("words", []) + ["", ""])[:2])
        titles = dict(zip(fields, (t.strip() for t in meta["columns"])))
        sheet = (meta.get("sheet") or [""])[0]
        if sheet not in wb.sheetnames:
            raise InputError(f"{p}: the sheet {sheet!r} with the plan's rows is missing (renamed or deleted?); restore it.")
        rows_iter = wb[sheet].iter_rows(values_only=True)
        header = [cell_text(v).strip() for v in next(rows_iter, ())]
        field_of = {t: f for f, t in titles.items()}
        at: dict[str, int] = {}
        for j, h in enumerate(header):
            f = field_of.get(h)
            if f is None:
                continue
            if f in at:
                raise InputError(f"{p}: sheet {sheet} has the column {h!r} twice; which copy counts cannot be told, so remove one.")
            at[f] = j
        missing = [titles[f] for f in REQUIRED if f in titles and f not in at]
        if missing:
            raise InputError(f"{p}: sheet {sheet} lost the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                             "restore it (or write the workbook again with `reconcile match`).")
        rows = _rows(rows_iter, at)
    finally:
        wb.close()

    columns = {f: titles[f] for f in at}
    letter = {titles[f]: _col_letter(j) for f, j in at.items()}
    first_row = {o["submission_id"]: o for o in originals}
    problems: list[str] = []
    seen: set[str] = set()
    for raw in rows:
        sid = raw.cells.get("submission_id", "").strip()
        original = first_row.get(sid)
        if original is not None:
            cells = raw.cells
            assert isinstance(cells, dict)  # a workbook's rows are dicts (_rows); a CSV plan's are read-only
            cells["group_size"] = original.get("group_size", "")  # not on the sheet; as written
            seen.add(sid)
        elif sid:
            problems.append(f"line {raw.line}, column {titles['submission_id']}: {words.submission} {sid} is not one this "
                            "workbook was written with (a row added or an ID edited?); delete the row or restore the ID")
    for o in originals:
        if o["submission_id"] not in seen:
            problems.append(f"sheet {sheet}: the row of {words.submission} {o['submission_id']} ({words.participant} "
                            f"{o['participant_id']}, decision {o['decision']}) was deleted; every {words.submission} needs "
                            "its row: restore it (undo the deletion, or copy the row from a fresh `reconcile match`)")

    notes = _changes(rows, first_row, (meta.get("digest") or [""])[0], words, sheet)
    pattern = re.compile(r"\bline (\d+), column (.+?):")

    def relocate(message: str) -> str:
        def cell(m: re.Match) -> str:
            col = letter.get(m.group(2))
            return f"{sheet}!{col}{m.group(1)}:" if col else f"{sheet} row {m.group(1)}, column {m.group(2)}:"

        message = pattern.sub(cell, message)
        return re.sub(r"\bline (\d+)\b", lambda m: f"{sheet} row {m.group(1)}", message)

    return PlanText(str(p), name, {**plan_columns(name), **columns}, rows, problems=tuple(problems), notes=tuple(notes),
                    relocate=relocate)


def _rows(rows_iter, at: dict[str, int]) -> list[RawPlanRow]:
    out: list[RawPlanRow] = []
    for r, values in enumerate(rows_iter, start=2):
        if not values or all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue  # blank rows (and the rows Excel pads a sheet with) carry nothing
        cells = {f: cell_text(values[j] if j < len(values) else None, money=f in ("bonus", "reward")) for f, j in at.items()}
        cells["flags"] = cells.get("flags", "").replace("; ", ";")
        out.append(RawPlanRow(r, cells))
    return out


def _changes(rows: list[RawPlanRow], original: dict[str, dict[str, str]], digest: str, words, sheet: str) -> list[str]:
    """What was edited since reconcile wrote the workbook, for the dry run to show (nothing when unchanged)."""
    if plan_digest(r.cells for r in rows) == digest:
        return []
    changed: list[str] = []
    for raw in rows:
        c = raw.cells
        o = original.get(c.get("submission_id", "").strip())
        if o is None:
            continue
        parts = []
        now = {"decision": c.get("decision", "").strip().lower(), "bonus": c.get("bonus", "").strip(),
               "feedback": c.get("feedback", "").strip(), "category": c.get("category", "").strip()}
        if now["decision"] != o["decision"].strip().lower():
            parts.append(f"decision {o['decision'] or '(empty)'} -> {now['decision'] or '(empty)'}")
        if now["bonus"] != o["bonus"].strip():
            parts.append(f"bonus {o['bonus'] or '(none)'} -> {now['bonus'] or '(none)'}")
        if now["feedback"] != o["feedback"].strip():
            parts.append(f"feedback {now['feedback'][:60]!r}" if now["feedback"] else "feedback cleared")
        if now["category"] != o.get("category", "").strip():  # (a /1 workbook has no category: "" as written)
            parts.append(f"category {o.get('category') or '(none)'} -> {now['category'] or '(none)'}")
        for f in ("participant_id", "group_id"):
            if c.get(f, "").strip() != o[f].strip():
                parts.append(f"{f.replace('_', ' ')} {o[f]!r} -> {c.get(f, '').strip()!r}")
        if parts:
            changed.append(f"row {raw.line} ({words.submission} {c.get('submission_id', '').strip()}): {', '.join(parts)}")
    if not changed:
        return [f"this workbook was edited since reconcile wrote it (rows deleted or added on sheet {sheet})"]
    shown = "; ".join(changed[:MAX_CHANGES_LISTED]) + (f"; and {len(changed) - MAX_CHANGES_LISTED} more" if len(changed) > MAX_CHANGES_LISTED else "")
    return [f"edited since reconcile wrote this workbook, {len(changed)} row(s) on sheet {sheet}: {shown}"]


def refuse_unseen_workbook_edits(path: str | os.PathLike | None, *, force: bool = False) -> None:
    """Before `match` replaces a workbook: refuse when it holds a person's edits (its plan's digest no
    longer the one it was written with), as planfile.refuse_unseen_edits does for the plan CSV.
    A workbook that is no plan (or cannot be read) is not this check's business: it is an output."""
    from .errors import RefusedError, ReconcileError

    if force or path is None or not Path(path).is_file():
        return
    try:
        plan = read_workbook_plan(path)
    except ReconcileError:
        return
    if plan.notes or plan.problems:
        raise RefusedError(
            f"--report {path} holds edits (decisions, bonuses, feedback or categories) made since reconcile wrote it; rename it to keep "
            "them (or pay from it), or pass --force to overwrite them."
        )
