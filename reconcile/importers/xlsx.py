""".xlsx inputs: a Qualtrics "Excel" download, or a platform's CSV re-saved as a workbook.

Read with openpyxl in read-only mode into the same csvtext.Table a CSV gives, so every importer
(and identification by content) works on it unchanged. Cells become the text a spreadsheet shows
for them (what "Save as CSV" would write), with one difference that matters: a number is never
turned into something it was not. An integer is its digits; a number beyond 15 significant digits
(where a spreadsheet has already lost digits) is shown in E-notation as Excel does, so the importers'
damage check reports it instead of trusting it. Numbers in a code column are reported
(numeric_codes): the leading zeros are gone and cannot be told apart. Nothing is repaired.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time

from ..errors import InputError
from .csvtext import Table

FORMAT_NAME = "Excel workbook (.xlsx)"
_EXACT_DIGITS = 15  # a double holds 15 significant decimal digits; beyond, a spreadsheet made them up


def is_xlsx(data: bytes) -> bool:
    """True for a zip archive holding a SpreadsheetML workbook."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except zipfile.BadZipFile:
        return False


def _sci(value: float) -> str:
    """Excel's General format for a big number: 1.23457E+11."""
    mantissa, exponent = f"{value:.5E}".split("E")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}E{'+' if int(exponent) >= 0 else '-'}{abs(int(exponent)):02d}"


def cell_text(value) -> str:
    """A cell as the text a spreadsheet shows for it (and would write to a CSV)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        digits = str(abs(value))
        return str(value) if len(digits) <= _EXACT_DIGITS else _sci(float(value))
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 10**_EXACT_DIGITS:
            return str(int(value))
        if value.is_integer():
            return _sci(value)
        return repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def load_xlsx_table(path: str, data: bytes) -> Table:
    """The first worksheet of an .xlsx as a Table (records of text cells; `numeric` marks number cells)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged archive
        raise InputError(f"{path}: cannot be read as an Excel workbook ({type(exc).__name__}: {exc}); "
                         "use the original download, or save it as \"CSV UTF-8\".") from None
    try:
        if "reconcile plan" in wb.sheetnames:
            raise InputError(f"{path} is a workbook written by reconcile (a plan), not an export; pass the original download "
                             "(or give the workbook to `reconcile pay`).")
        ws = wb.worksheets[0]
        records: list[list[str]] = []
        numeric: set[tuple[int, int]] = set()
        for i, row in enumerate(ws.iter_rows(values_only=True)):
            rec = []
            for j, v in enumerate(row):
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    numeric.add((i, j))
                rec.append(cell_text(v))
            records.append(rec)
    finally:
        wb.close()
    while records and not any(c.strip() for c in records[-1]):
        records.pop()
    if not records:
        raise InputError(f"{path}: its first sheet is empty; download the export again.")
    return Table(path, records, FORMAT_NAME, False, ",", "none", True, frozenset(numeric))


def numeric_codes(table: Table, data_idx, column_index: int, column: str | None) -> str | None:
    """A warning when codes were stored as numbers in a workbook (leading zeros lost, long codes rounded)."""
    rows = [i + 1 for i in data_idx if (i, column_index) in table.numeric]
    if not rows:
        return None
    n = len(rows)
    return (
        f"{n} code{'s' if n != 1 else ''} in column {column!r} of {table.path} {'are' if n != 1 else 'is'} stored as "
        f"number{'s' if n != 1 else ''} (e.g. row {rows[0]}), not text: leading zeros and digits past the 15th are lost "
        "there and cannot be recovered; if codes fail to match, use the original CSV download"
    )
