"""`reconcile inspect` of a survey export in one pass over its records, holding none of them.

What `inspect_survey(load_table(path), ids)` says, computed from a stream of the records: counts
(responses, statuses, Finished values) as they go past, the layout from the first three records,
and the columns by the same detectors (`qualtrics_code`, `participant_columns`), which read values
only to rank candidate columns: those values are read from the file again, one column per pass
(no sample, so no detection can differ from the whole reading).

Anything this cannot say exactly the same of gives None and is read whole: what `load_table`
reads whole (see csvtext.RecordStream), what the whole reading refuses (cells past the header, no
responses, a cut last row), and a file whose roles (ImportIds) would differ once trailing empty
columns are dropped.
"""

from __future__ import annotations

from collections import Counter
from operator import itemgetter

from ..errors import ReconcileError
from . import columns as cols
from .csvtext import NotStreamable, RecordStream, Table, is_blank, unique_names
from .qualtrics_csv import _EXCEL_DATE, _ROLE_BY_IMPORTID, _ROLE_BY_NAME, _layout, _participant_columns
from .sniff import is_survey_export

_HEAD_RECORDS = 3  # what the layout and identification read


def inspect_survey_streamed(path: str, ids, claims) -> dict | None:
    """inspect_survey's answer for the export at `path` with the participant rules `ids`, or None
    when the file must be read whole (see the module docstring)."""
    try:
        return _inspect(path, ids, claims)
    except NotStreamable:
        return None


def _roles(import_ids, names, width: int) -> dict[str, int]:
    role_idx: dict[str, int] = {}
    if import_ids:
        for j, iid in enumerate(import_ids[:width]):
            role = _ROLE_BY_IMPORTID.get(iid.casefold())
            if role and role not in role_idx:
                role_idx[role] = j
    for j, name in enumerate(names[:width]):
        role = _ROLE_BY_NAME.get(cols.norm(name))
        if role and role not in role_idx:
            role_idx[role] = j
    return role_idx


def _inspect(path: str, ids, claims) -> dict | None:
    from .sniff import kind_of

    stream = RecordStream(path)
    records = iter(stream)
    head: list[list[str]] = []
    for rec in records:
        head.append(rec)
        if len(head) == _HEAD_RECORDS:
            break
    if not head:
        return None
    table = Table(path, head, "UTF-8", stream.bom, stream.delimiter, "none", False)
    try:
        if kind_of(table, claims) != "qualtrics" or not is_survey_export(table):
            return None
        raw_names, header_rows, variant, import_ids = _layout(table)
    except ReconcileError:
        return None
    header_width = len(head[0])
    width = len(raw_names)
    full_names, _ = unique_names(list(raw_names))
    role_idx = _roles(import_ids, full_names, width)
    status_at = role_idx.get("status", width)
    finished_at = role_idx.get("finished", width)
    start_at = role_idx.get("start_date")
    get_status_finished = itemgetter(status_at, finished_at)
    unnamed_from = width
    while unnamed_from and not raw_names[unnamed_from - 1].strip():
        unnamed_from -= 1
    used = unnamed_from

    rows = 0
    statuses: Counter = Counter()
    finished: Counter = Counter()
    excel = False
    last_index, last_len = 0, header_width

    def rest():
        yield from head[1:]
        yield from records

    for i, rec in enumerate(rest(), start=1):
        if is_blank(rec):
            continue
        last_index, last_len = i, len(rec)
        if i < header_rows:
            continue
        n = len(rec)
        if n != width:
            if n > width and any(c.strip() for c in rec[width:]):
                return None  # shape_rows refuses it
            rec = rec[:width] + [""] * (width + 1 - min(n, width))
        else:
            rec.append("")
        for j in range(width - 1, used - 1, -1):
            if rec[j].strip():
                used = j + 1
                break
        status, fin = get_status_finished(rec)
        statuses[status] += 1
        finished[fin] += 1
        if fin in ("TRUE", "FALSE"):
            excel = True
        if start_at is not None and rows < 50 and _EXCEL_DATE.match(rec[start_at]):
            excel = True
        rows += 1
    if rows == 0 or (last_index >= 1 and last_len * 2 < header_width):
        return None  # no responses, or a cut last row: refused whole

    ncols = used
    names, notes = unique_names(list(raw_names[:ncols]))
    if _roles(import_ids, names, ncols) != role_idx:
        return None  # a role in a dropped trailing column: the whole reading says what that means
    warnings = list(notes)
    index = {n: j for j, n in enumerate(names)}

    def values(col: str):
        return (value for _, value in _column(path, header_rows, index[col]))

    extra_code_names = ids.survey_code_names if ids is not None else frozenset()
    code_det = cols.qualtrics_code(names, values, extra_names=extra_code_names)
    id_det, typed_det = _participant_columns(path, names, values, code_det.column, ids, None, None, "--id-column")
    for det in (code_det, id_det, typed_det):
        if det.note:
            warnings.append(det.note)
    if code_det.column is not None:
        w = cols.damaged_codes(_column(path, header_rows, index[code_det.column]), code_det.column, path)
        if w:
            warnings.append(w)

    kind_word = "TSV" if stream.delimiter == "\t" else "CSV"
    qualifiers = [f"{stream.encoding}{' with BOM' if stream.bom else ''}"]
    if stream.delimiter not in (",", "\t"):
        qualifiers.append(f"{table.delimiter_name}-separated")
    if ncols < width:
        qualifiers.append("trailing comma on every line")
    if excel:
        qualifiers.append("re-saved by Excel")
    return {
        "path": path,
        "kind": "qualtrics",
        "format": f"Qualtrics {kind_word} {variant}; {', '.join(qualifiers)}",
        "rows": rows,
        "columns": len(names),
        "code_column": code_det.column,
        "participant_column": id_det.column,
        "code_candidates": list(code_det.candidates),
        "participant_candidates": list(id_det.candidates),
        "status_counts": dict(sorted(statuses.items())),
        "finished_counts": dict(sorted(finished.items())),
        "warnings": warnings,
    }


def _column(path: str, header_rows: int, j: int):
    """(row number, cell j) of every response row, read again from the file (padded rows read "")."""
    for i, rec in enumerate(RecordStream(path, progress=False), start=1):
        if i > header_rows and not is_blank(rec):
            yield i, rec[j] if j < len(rec) else ""
