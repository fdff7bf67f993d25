"""A Qualtrics export read as a stream, each response kept narrowed as it goes past (issue 14).

`read_table` holds every cell of every row (a million-row export: about 2 GB) although `match`
reads a few columns. Here the layout comes from the first three records, the columns from the
header alone, and each record is reduced to the Response's cells (plus the columns `keep` names for
`Response.fields`) while the records stream past.

Exactness: the QualtricsExport `read_table(load_table(path))` gives, or None, and then the caller
reads the file whole (so every refusal and warning stays the whole reading's own). None for: what
`load_table` reads whole (RecordStream's NotStreamable), a file another kind claims, a header
ending in an unnamed column (the used width would depend on every row), a row longer than the
header, a column choice that reads values (ties, loose names, IDs found by content: Prolific's
rules), an option naming no column, no responses, a cut last row, fewer than three records.

The responses themselves are read by pandas' C reader when they can be (`_read_columns`, through
csvcolumns.ColumnReading: the needed columns only, the cells of every record counted from the
bytes); anything it cannot vouch for is read by the stream (`_read_streamed`), as before.

The one difference from the whole reading: every Response's `start_date` and `end_date` are "".
Nothing `match` does after reading looks at them (the matcher, the plan, the workbook), and at a
million responses they were about 140 MB held to the end (issue 14). StartDate is still read for
the Excel re-save check, which only needs its first rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from itertools import repeat
from operator import itemgetter

from ..errors import InputError
from ..models import QualtricsExport, Response, SourceRef
from ..platform import ParticipantIds
from . import columns as cols
from .csvcolumns import ColumnReading, HandOver, share_column
from ..records import record_maker
from .csvtext import NotStreamable, RecordStream, RowFields, Table, is_blank, repeats_shared, share_repeats, unique_names


# Where the dates are in a Response's cells (after its source): left "" (see the module).
_START, _END = 5, 6


class _NeedsValues(Exception):
    """Column detection asked for a column's values: read the file whole."""


def _no_values(column: str):
    raise _NeedsValues(column)


def read_survey_narrowed(path: str | os.PathLike, keep: Callable[[tuple[str, ...]], Sequence[str]], *, claims: dict,
                         code_column: str | None = None, participant_column: str | None = None,
                         typed_column: str | None = None, ids: ParticipantIds | None = None,
                         participant_option: str = "--id-column") -> QualtricsExport | None:
    """The export as `read_table` reads it, but each Response's `fields` holding only the columns
    `keep(columns)` names (those the file has; every column when it raises InputError) and no
    start or end dates; None when the file must be read whole (see the module). `claims`: every platform's, as `identify` asks."""
    from .qualtrics_csv import _ROLE_BY_IMPORTID, _ROLE_BY_NAME, _ROLES, _layout, _participant_columns, describe
    from .sniff import kind_of

    p = os.fspath(path)
    try:
        # load_table's progress lines; the first three records alone, as the columns may be read by pandas
        stream = RecordStream(p, chunk=20_000, first=3)
        records = iter(stream)
        first: list[list[str]] = []
        for rec in records:
            first.append(rec)
            if len(first) == 3:
                break
        if len(first) < 3:
            return None
        probe = Table(p, [list(r) for r in first], "UTF-8", stream.bom, stream.delimiter, "LF", True)
        try:
            if kind_of(probe, claims) != "qualtrics":
                return None
        except InputError:
            return None
        raw_names, header_rows, variant, import_ids = _layout(probe)
        ncols = len(raw_names)
        if not ncols or not raw_names[-1].strip():
            return None  # trailing unnamed columns: whether they are used depends on every row
        names, notes = unique_names(list(raw_names))
        warnings = list(notes)
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
        extra_code_names = ids.survey_code_names if ids is not None else frozenset()
        try:
            code_det = cols.override_or_detect(
                p, names, code_column, "--code-column", lambda: cols.qualtrics_code(names, _no_values, extra_names=extra_code_names)
            )
            id_det, typed_det = _participant_columns(p, names, _no_values, code_det.column, ids, participant_column,
                                                     typed_column, participant_option)
        except (_NeedsValues, InputError):
            return None
        for det in (code_det, id_det, typed_det):
            if det.note:
                warnings.append(det.note)
        try:
            wanted = [c for c in dict.fromkeys(keep(tuple(names))) if c in index]
        except InputError:
            wanted = list(names)  # the caller refuses the option later, as after a whole reading
        at = [role_idx.get(r, ncols) for r in _ROLES]
        at.append(index[code_det.column] if code_det.column else ncols)
        at.append(index[id_det.column] if id_det.column else ncols)
        typed = typed_det.column is not None
        if typed_det.column is not None:
            at.append(index[typed_det.column])
        first_kept = len(at)
        at += [index[c] for c in wanted]
        # Cells that repeat from row to row (status, Finished, Progress, duration, kept answers) held once each.
        shared_at = [j for j in [*at[1:4], at[7], *at[first_kept:]] if j < ncols]
        kept_index = {c: k for k, c in enumerate(wanted)}
        empty = RowFields(kept_index, ())  # shared when nothing is kept (RowFields is read-only)
        fin = role_idx.get("finished")
        sd = role_idx.get("start_date")
        shape = (ncols, header_rows, at, first_kept, typed, kept_index, empty, fin, sd)
        fast = _read_columns(p, stream, first, shape, shared_at)
        got: tuple[list[Response], bool, int] | None
        if fast is not None:
            records.close()  # the streamed reading ends here: its file is closed
            got = fast
        else:
            got = _read_streamed(p, first, records, shape, repeats_shared(shared_at))
        if got is None:
            return None
        responses, excel, last_len = got
    except NotStreamable:
        return None
    if not responses or last_len * 2 < len(first[0]):
        return None  # no responses, or a cut last row: the whole reading's sentences
    if code_det.column is not None:
        w = cols.damaged_codes(((r.source.row, r.code) for r in responses), code_det.column, p)
        if w:
            warnings.append(w)
    fmt = describe(probe, variant, trailing_comma=False, excel=excel)
    return QualtricsExport(
        path=p,
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


_Shape = tuple  # (ncols, header rows, positions, first kept, typed, kept index, empty fields, Finished, StartDate)


def _read_streamed(p: str, first: list, records, shape: _Shape, shared) -> tuple[list[Response], bool, int] | None:
    """The responses, whether Excel re-saved the file, and the cells of the last row, from the
    records as the csv module streams them (the rest after `first`); None: read the file whole."""
    from .qualtrics_csv import _EXCEL_DATE

    ncols, header_rows, at, first_kept, typed, kept_index, empty, fin, sd = shape
    get = itemgetter(*at)
    width = ncols + 1
    excel = False
    responses: list[Response] = []
    last_len = 0
    for i, rec in enumerate(_chained(first, records)):
        if i < header_rows or is_blank(rec):
            continue
        cells_in = len(rec)
        last_len = cells_in
        if cells_in == ncols:
            rec.append("")  # the sentinel absent columns read
        elif cells_in < ncols:
            rec.extend([""] * (width - cells_in))
        else:
            return None  # extra cells: the whole reading drops or refuses them
        share_repeats(rec, shared)
        cells = get(rec)
        fields = RowFields(kept_index, cells[first_kept:]) if kept_index else empty
        rid, status, finished, progress, ip, _start, _end, duration, code, participant = cells[:10]
        responses.append(Response(SourceRef(p, i + 1), rid, status, finished, progress, ip, "", "", duration, code,
                                  participant, fields, cells[10] if typed else ""))  # no dates: see the module
        if not excel and ((fin is not None and rec[fin] in ("TRUE", "FALSE"))
                          or (sd is not None and len(responses) <= 50 and _EXCEL_DATE.match(rec[sd]))):
            excel = True
    return responses, excel, last_len


def _read_columns(p: str, stream: RecordStream, first: list, shape: _Shape, shared_at: list[int]
                  ) -> tuple[list[Response], bool, int] | None:
    """What `_read_streamed` gives, from the needed columns parsed by pandas (csvcolumns.ColumnReading);
    None when the streamed reading must say (anything ColumnReading hands over)."""
    from .qualtrics_csv import _EXCEL_DATE

    ncols, header_rows, at, first_kept, typed, kept_index, empty, fin, sd = shape
    reading = ColumnReading(p, stream.bom, stream.delimiter, first, ncols, at, header_rows)
    shared: dict[int, dict] = {j: {} for j in shared_at}
    excel = False
    responses: list[Response] = []
    make = record_maker(Response)  # Response(...) without the frozen __init__'s cost
    same_fields = shared_fields(kept_index)
    try:
        for rows, got in reading:
            for j, seen in shared.items():
                got[j] = share_column(got[j], seen)
            n = len(rows)
            column = [got[j] if j < ncols else repeat("", n) for j in at]
            column[_START], column[_END] = repeat("", n), repeat("", n)  # no dates (see the module); two iterators
            if not excel and fin is not None and not {"TRUE", "FALSE"}.isdisjoint(got[fin]):
                excel = True
            if not excel and sd is not None and len(responses) < 50:
                excel = any(_EXCEL_DATE.match(v) for v in got[sd][:50 - len(responses)])
            fields = map(same_fields, zip(*column[first_kept:])) if kept_index else repeat(empty)
            responses.extend(map(make, map(record_maker(SourceRef), repeat(p), rows), *column[:10], fields,
                                 column[10] if typed else repeat("", n)))
    except HandOver:
        return None
    return responses, excel, reading.last_cells


def shared_fields(index: dict, limit: int = 4096) -> Callable[[tuple], RowFields]:
    """RowFields(index, cells), one object for every row of the same kept cells (at most `limit`
    distinct ones held): a RowFields and its tuple are ~100 bytes, a million of them for the one
    --bonus column (a score of a hundred values) was 100 MB. RowFields is read-only; keep_only
    narrows one in place, which is the same whether it is shared or not (it is idempotent)."""
    seen: dict[tuple, RowFields] = {}

    def fields(cells: tuple) -> RowFields:
        got = seen.get(cells)
        if got is None:
            got = RowFields(index, cells)
            if len(seen) < limit:
                seen[cells] = got
        return got

    return fields


def _chained(first: list, rest):
    yield from first
    yield from rest
