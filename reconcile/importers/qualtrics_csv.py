"""Qualtrics exports (CSV or UTF-16 TSV; modern, legacy V1..Vn, 2016-17 Insights, Excel-resaved).

The variant is chosen from content: a V1,V2,... first row means legacy (names on row 2); a row of
ImportIds on row 2 or 3 ends the header; otherwise rows 2-3 are headers only if they read like
labels ("Response ID", "Start Date") rather than data (R_..., dates, True/False).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from operator import itemgetter

from ..errors import InputError
from ..models import QualtricsExport, Response, SourceRef
from ..platform import ParticipantIds
from . import columns as cols
from ..records import paused_gc
from .csvtext import RowFields, Table, is_blank, load_table, shape_rows, unique_names, used_width
from .sniff import _V_NAME, is_importid_row, is_legacy_header, is_survey_export, kind_of

# ImportId (modern exports) -> Response attribute.
_ROLE_BY_IMPORTID = {
    "startdate": "start_date", "enddate": "end_date", "status": "status", "ipaddress": "ip_address",
    "progress": "progress", "duration": "duration_seconds", "finished": "finished",
    "_recordid": "response_id", "responseid": "response_id",
}
# Normalized column name (any variant) -> Response attribute.
_ROLE_BY_NAME = {
    "startdate": "start_date", "enddate": "end_date", "status": "status", "ipaddress": "ip_address",
    "progress": "progress", "durationinseconds": "duration_seconds", "duration": "duration_seconds",
    "finished": "finished", "responseid": "response_id",
}
# The Response fields read by name, in Response's order (the getter below returns exactly these eight).
_ROLES = ("response_id", "status", "finished", "progress", "ip_address", "start_date", "end_date", "duration_seconds")

_BOOLS = {"true", "false", "1", "0", ""}
_RESPONSE_ID = re.compile(r"^R_[A-Za-z0-9]+$")
_EXCEL_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}( \d{1,2}:\d{2}(:\d{2})?( [AP]M)?)?$")
_IMPORTID_VALUE = re.compile(r"""['"]ImportId['"]\s*:\s*['"]([^'"]*)['"]""")


def _looks_like_label_row(record: list[str], names: list[str]) -> bool:
    """True when a row under the names reads like question texts/labels rather than a response."""
    data = label = 0
    for i, name in enumerate(names):
        if i >= len(record):
            break
        v = record[i].strip()
        if not v:
            continue
        role = _ROLE_BY_NAME.get(cols.norm(name))
        if role == "response_id":
            ok = bool(_RESPONSE_ID.match(v))
        elif role in ("start_date", "end_date") or cols.norm(name) == "recordeddate":
            ok = v[:1].isdigit()
        elif role == "finished":
            ok = v.casefold() in _BOOLS
        elif role in ("progress", "duration_seconds"):
            ok = v.replace(".", "", 1).isdigit()
        else:
            continue
        data += ok
        label += not ok
    if data or label:
        return label > data
    same = sum(1 for a, b in zip(record, names) if a.strip() and a.strip() == b.strip())
    filled = sum(1 for a in record if a.strip())
    return filled > 0 and same * 2 >= filled


def _layout(table: Table) -> tuple[list[str], int, str, list[str] | None]:
    """(column names, number of header rows, variant words, ImportIds or None)."""
    recs = table.records
    if is_legacy_header(recs[0]) and len(recs) > 1:
        row1, row2 = recs[0], recs[1]
        names = [
            (row2[i] if i < len(row2) and _V_NAME.match(n.strip()) else n) for i, n in enumerate(row1)
        ]
        return names, 2, "legacy export (V1..Vn, 2 header rows)", None
    names = list(recs[0])
    for idx in (2, 1):
        if len(recs) > idx:
            style = is_importid_row(recs[idx])
            if style:
                ids = []
                for c in recs[idx]:
                    m = _IMPORTID_VALUE.search(c)
                    ids.append(m.group(1) if m else "")
                if style == "dict":
                    variant = f"2016-17 Insights export ({idx + 1} header rows, Python-dict ImportIds)"
                else:
                    variant = f"export ({idx + 1} header rows, JSON ImportIds)"
                return names, idx + 1, variant, ids
    n = 1
    while n < 3 and len(recs) > n and _looks_like_label_row(recs[n], names):
        n += 1
    return names, n, f"export ({n} header row{'s' if n != 1 else ''}, no ImportId row)", None


def read_table(table: Table, *, code_column: str | None = None, participant_column: str | None = None,
               typed_column: str | None = None, ids: ParticipantIds | None = None,
               participant_option: str = "--id-column") -> QualtricsExport:
    """Read a survey export. `ids` are the platform's participant-ID rules (without them no
    participant column is looked for); `participant_column` / `typed_column` name the ID columns
    instead (given with `participant_option`)."""
    path = table.path
    if not is_survey_export(table):
        kind_of(table)  # the sentence saying what it is instead
        raise InputError(f"{path} is not a Qualtrics export.")  # pragma: no cover - kind_of raised
    raw_names, header_rows, variant, import_ids = _layout(table)
    recs = table.records
    data_idx = [i for i in range(header_rows, len(recs)) if not is_blank(recs[i])]
    if not data_idx:
        raise InputError(f"{path} has header rows but no responses; export the survey again once responses exist.")

    # Trailing unnamed columns with nothing in them come from a comma at the end of every line.
    ncols = used_width(raw_names, recs, data_idx)
    trailing_comma = ncols < len(raw_names)
    names, notes = unique_names(raw_names[:ncols])
    warnings = list(notes)

    rows, _ = shape_rows(path, recs, data_idx, ncols)

    # Which column plays which role: ImportIds first (they never change with the language), then names.
    role_idx: dict[str, int] = {}
    if import_ids:
        for j, iid in enumerate(import_ids[:ncols]):
            role = _ROLE_BY_IMPORTID.get(iid.casefold())
            if role and role not in role_idx:
                role_idx[role] = j
    for j, name in enumerate(names):
        role = _ROLE_BY_NAME.get(cols.norm(name))
        if role and role not in role_idx:
            role_idx[role] = j

    index = {n: j for j, n in enumerate(names)}

    values = cols.column_values(rows, index)
    extra_code_names = ids.survey_code_names if ids is not None else frozenset()
    code_det = cols.override_or_detect(
        path, names, code_column, "--code-column", lambda: cols.qualtrics_code(names, values, extra_names=extra_code_names)
    )
    id_det, typed_det = _participant_columns(path, names, values, code_det.column, ids, participant_column, typed_column,
                                             participant_option)
    for det in (code_det, id_det, typed_det):
        if det.note:
            warnings.append(det.note)

    code_j = index[code_det.column] if code_det.column else None
    id_j = index[id_det.column] if id_det.column else None
    typed_j = index[typed_det.column] if typed_det.column else None
    # Absent columns read the sentinel "" every shaped row ends with; itemgetter keeps the loop in C.
    get_named: Callable[[Sequence[str]], tuple[str, str, str, str, str, str, str, str]] = itemgetter(*[role_idx.get(r, ncols) for r in _ROLES])
    code_at = ncols if code_j is None else code_j
    id_at = ncols if id_j is None else id_j
    if typed_j is None:
        responses = [
            Response(SourceRef(path, i + 1), *get_named(rec), rec[code_at], rec[id_at], RowFields(index, rec))
            for i, rec in zip(data_idx, rows)
        ]
    else:
        responses = [
            Response(SourceRef(path, i + 1), *get_named(rec), rec[code_at], rec[id_at], RowFields(index, rec), rec[typed_j])
            for i, rec in zip(data_idx, rows)
        ]

    if code_j is not None:
        w = cols.damaged_codes(((i + 1, r[code_j]) for i, r in zip(data_idx, rows)), code_det.column, path)
        if w:
            warnings.append(w)
        if table.numeric:
            from .xlsx import numeric_codes

            w = numeric_codes(table, data_idx, code_j, code_det.column)
            if w:
                warnings.append(w)

    excel = False
    fin = role_idx.get("finished")
    if fin is not None and any(r[fin] in ("TRUE", "FALSE") for r in rows):
        excel = True
    sd = role_idx.get("start_date")
    if sd is not None and any(_EXCEL_DATE.match(r[sd]) for r in rows[:50]):
        excel = True

    fmt = describe(table, variant, trailing_comma=trailing_comma, excel=excel)

    return QualtricsExport(
        path=path,
        format=fmt,
        columns=tuple(names),
        code_column=code_det.column,
        participant_column=id_det.column,
        code_candidates=code_det.candidates,
        participant_candidates=id_det.candidates,
        responses=tuple(responses),
        warnings=tuple(warnings),
        typed_id_column=typed_det.column,
    )


def describe(table: Table, variant: str, *, trailing_comma: bool, excel: bool) -> str:
    """The export's `format` line: what kind of file, which layout, and what was odd about it."""
    kind_word = "workbook" if table.is_workbook else "TSV" if table.delimiter == "\t" else "CSV"
    qualifiers = [f"{table.encoding}{' with BOM' if table.bom else ''}"]
    if table.delimiter not in (",", "\t"):
        qualifiers.append(f"{table.delimiter_name}-separated")
    if trailing_comma:
        qualifiers.append("trailing comma on every line")
    if excel:
        qualifiers.append("re-saved by Excel")
    return f"Qualtrics {kind_word} {variant}; {', '.join(qualifiers)}"


def _participant_columns(path, names, values, code_column, ids, participant_column, typed_column, option):
    """(participant-ID column, typed-ID column): the ones named, else found by the platform's rules."""
    others = [n for n in names if n != code_column]
    if participant_column is not None:
        id_det = cols.Detected(cols.resolve_override(path, names, participant_column, option), ())
    elif ids is not None:
        id_det, typed_det = cols.participant_columns(others, values, ids)
        if typed_column is None:
            return id_det, typed_det
    else:
        id_det = cols.NOT_FOUND
    if typed_column is not None:
        typed_det = cols.Detected(cols.resolve_override(path, names, typed_column, "--typed-id-column"), ())
    elif ids is not None and id_det.column is not None:
        typed_det = cols.typed_column(others, values, ids, id_det.column)
    else:
        typed_det = cols.NOT_FOUND
    if typed_det.column is not None and typed_det.column == id_det.column:
        typed_det = cols.NOT_FOUND
    return id_det, typed_det


def read_qualtrics_csv(path: str | os.PathLike, *, code_column: str | None = None, participant_column: str | None = None,
                       **columns) -> QualtricsExport:
    """`columns`: read_table's typed_column, ids and participant_option."""
    with paused_gc():
        return read_table(load_table(path), code_column=code_column, participant_column=participant_column, **columns)
