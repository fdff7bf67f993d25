"""`reconcile inspect` of a survey export in one pass over its records, holding none of them.

What `inspect_survey(load_table(path), ids)` says, computed from a stream of the records: counts
(responses, statuses, Finished values) as they go past, the layout from the first three records,
and the columns by the same detectors (`qualtrics_code`, `participant_columns`), which read values
only to rank candidate columns: those values are read from the file again, one column per pass
(no sample, so no detection can differ from the whole reading).

A platform whose rules find a participant-ID column by its content (`typed_by_content`: Prolific,
where a question of any name holding IDs counts) asks of every column whether its values are mostly
IDs: those answers are running counts per column (`columns.IdTally`), fed in the same pass, block
by block, so no column is read again for them (and they are exact, as the whole reading's).
`inspect_survey_streamed_first_found` reads the file once for every platform's rules, as
`inspection.inspect_whole` asks them in turn.

Anything this cannot say exactly the same of gives None and is read whole: what `load_table`
reads whole (see csvtext.RecordStream), what the whole reading refuses (cells past the header, no
responses, a cut last row), and a file whose roles (ImportIds) would differ once trailing empty
columns are dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from operator import itemgetter

from ..errors import ReconcileError
from . import columns as cols
from .csvtext import NotStreamable, RecordStream, Table, is_blank, unique_names
from .qualtrics_csv import _EXCEL_DATE, _ROLE_BY_IMPORTID, _ROLE_BY_NAME, _layout, _participant_columns
from .sniff import is_survey_export

_HEAD_RECORDS = 3  # what the layout and identification read
_BLOCK = 2048  # rows held at a time for the ID tallies (each column's values are added a block at a time)


def inspect_survey_streamed(path: str, ids, claims) -> dict | None:
    """inspect_survey's answer for the export at `path` with the participant rules `ids`, or None
    when the file must be read whole (see the module docstring)."""
    return inspect_survey_streamed_first_found(path, [ids], claims)


def inspect_survey_streamed_first_found(path: str, rules, claims) -> dict | None:
    """inspection.inspect_whole's answer for a survey export: inspect_survey's with the first of
    `rules` (each platform's participant-ID rules, in order) that finds a participant column, else
    with the first; the file read once for all of them. None when it must be read whole."""
    def content_rules(names: list[str]) -> list:
        # The rules that judge columns by their content and will be asked: those before the first rule
        # that finds a participant column by the header alone (MTurk's, on an MTurk study's export).
        # Their tallies look at every cell, so sparing them when they cannot matter is most of a pass.
        asked = []
        for ids in rules:
            if ids is None:
                continue
            if ids.typed_by_content:
                asked.append(ids)
            elif _found_by_header(names, ids):
                break
        return asked

    try:
        scan = _scan(path, claims, content_rules)
    except NotStreamable:
        return None
    if scan is None:
        return None
    first = None
    for ids in rules:
        found = _describe(scan, ids)
        if found["participant_column"]:
            return found
        first = first or found
    return first


class _NeedsValues(Exception):
    """Column detection asked for a column's values."""


def _no_values(column: str):
    raise _NeedsValues(column)


def _found_by_header(names: list[str], ids) -> bool:
    """Whether the rules `ids` find a participant column from these names alone, reading no values
    (any rule that would read some is not counted on)."""
    try:
        code = cols.qualtrics_code(names, _no_values, extra_names=ids.survey_code_names).column
        id_det, _ = cols.participant_columns([n for n in names if n != code], _no_values, ids)
    except _NeedsValues:
        return False
    return id_det.column is not None


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


@dataclass
class _Scan:
    """What one pass over a survey export found: everything inspect_survey says but the columns."""

    path: str
    stream: RecordStream
    table: Table  # the first records (for the delimiter's name)
    header_rows: int
    variant: str
    width: int
    names: list[str]  # the used columns' unique names
    rows: int
    statuses: Counter
    finished: Counter
    excel: bool
    notes: list[str]
    tallies: list  # (ParticipantIds, [IdTally per column]) for each rule that reads content


def _scan(path: str, claims, tally_rules) -> _Scan | None:
    from .sniff import kind_of

    stream = RecordStream(path)
    head, records, table = stream.head(_HEAD_RECORDS)
    if not head:
        return None
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
    # A column the rules never ask about by content (its name says what it is: captured, a known
    # name, another ID such as STUDY_ID) gets no tally; dropping trailing columns renames none.
    if callable(tally_rules):  # decided from the named columns (a trailing unnamed one matches no rule)
        tally_rules = tally_rules(full_names[:unnamed_from])
    tallies = [(ids, [None if cols.norm(n) in ids.not_id_names | ids.captured_names | ids.survey_names
                      else cols.IdTally(ids) for n in full_names]) for ids in tally_rules]
    block: list[list[str]] = []

    def tally(block):
        # Each column of the block (zip(*block): the padded rows transposed) to every rule's tally.
        for column, *counts in zip(zip(*block), *(per_column for _, per_column in tallies)):
            for t in counts:
                if t is not None:
                    t.add(column)

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
        if tallies:
            block.append(rec)
            if len(block) == _BLOCK:
                tally(block)
                block = []
    if rows == 0 or (last_index >= 1 and last_len * 2 < header_width):
        return None  # no responses, or a cut last row: refused whole
    if block:
        tally(block)

    ncols = used
    names, notes = unique_names(list(raw_names[:ncols]))
    if _roles(import_ids, names, ncols) != role_idx:
        return None  # a role in a dropped trailing column: the whole reading says what that means
    return _Scan(path, stream, table, header_rows, variant, width, names, rows, statuses, finished, excel, list(notes),
                 tallies)


def _describe(scan: _Scan, ids) -> dict:
    """inspect_survey's answer from a scan, the columns found by the rules `ids`."""
    path, names, header_rows, stream = scan.path, scan.names, scan.header_rows, scan.stream
    warnings = list(scan.notes)
    index = {n: j for j, n in enumerate(names)}

    def values(col: str):
        return (value for _, value in _column(path, header_rows, index[col]))

    extra_code_names = ids.survey_code_names if ids is not None else frozenset()
    code_det = cols.qualtrics_code(names, values, extra_names=extra_code_names)
    by_column = next((per_column for rule, per_column in scan.tallies if rule is ids), None)
    if by_column is None:
        id_det, typed_det = _participant_columns(path, names, values, code_det.column, ids, None, None, "--id-column")
    else:
        # _participant_columns without the options (nothing named), the values' ID tallies at hand.
        tallies = {n: by_column[j] for j, n in enumerate(names)}
        id_det, typed_det = cols.participant_columns([n for n in names if n != code_det.column], values, ids, tallies)
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
        qualifiers.append(f"{scan.table.delimiter_name}-separated")
    if len(names) < scan.width:
        qualifiers.append("trailing comma on every line")
    if scan.excel:
        qualifiers.append("re-saved by Excel")
    return {
        "path": path,
        "kind": "qualtrics",
        "format": f"Qualtrics {kind_word} {scan.variant}; {', '.join(qualifiers)}",
        "rows": scan.rows,
        "columns": len(names),
        "code_column": code_det.column,
        "participant_column": id_det.column,
        "code_candidates": list(code_det.candidates),
        "participant_candidates": list(id_det.candidates),
        "status_counts": dict(sorted(scan.statuses.items())),
        "finished_counts": dict(sorted(scan.finished.items())),
        "warnings": warnings,
    }


def _column(path: str, header_rows: int, j: int):
    """(row number, cell j) of every response row, read again from the file (padded rows read "")."""
    for i, rec in enumerate(RecordStream(path, progress=False), start=1):
        if i > header_rows and not is_blank(rec):
            yield i, rec[j] if j < len(rec) else ""
