"""A batch results file read as a stream, each row kept narrowed as it goes past (issue 14).

`read_batch_table` needs the whole file's records (every cell of every row: ~3 GB for a million-row
batch) although `match` reads a dozen cells a row. Here the columns are decided from the header
alone, before any row is read, and each record is reduced to the Submission's cells (plus the
`keep` columns, as `Submission.fields`) while the records stream past. A row's other cells are read
again from the file only if it repeats an AssignmentId (`whole_rows`: `combine` compares repeated
rows cell by cell), so nothing is hashed and no two rows can compare equal by accident.

Exactness: this reader gives the SubmissionFile `read_batch_table(load_table(path))` gives, or None,
and then the caller reads the file whole. None for everything unusual or refused: what `load_table`
reads whole (RecordStream's NotStreamable), a header ending in an unnamed column (the used width
would depend on every row), a row longer than the header, a column choice that needs the values of
candidate columns (a tie), an option naming no column, a row without an AssignmentId, a cut last
row, fewer than three records. So every error sentence and warning stays the whole reading's own.

The rows themselves are read by pandas' C reader when they can be (`_read_columns`, through
importers.csvcolumns.ColumnReading: the needed columns only, the cells of every record counted from
the bytes); anything it cannot vouch for is read by the stream (`_read_streamed`), as before.

The one difference from the whole reading: every Submission's `started_at` and `submitted_at` are "".
Only `match` reads a batch narrowed (read_mturk_csv with `keep`), and nothing there looks at them
(the matcher, the plan, the workbook; `combine` compares repeated rows through `whole_rows`); at a
million rows they were about 160 MB held to the end (issue 14).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter

from ...errors import InputError
from ...importers import columns as cols
from ...importers.csvcolumns import ColumnReading, HandOver, share_column
from ...records import record_maker
from ...importers.csvtext import NotStreamable, RecordStream, RowFields, Table, is_blank, repeats_shared, share_repeats, unique_names
from ...importers.sniff import kind_of
from ...models import SourceRef, Submission, SubmissionFile
from .states import state_of


# Where AcceptTime and SubmitTime are in a row's cells (`at`, in _STANDARD's order): left "" (see the module).
_STARTED, _SUBMITTED = 6, 7


class _NeedsValues(Exception):
    """Column detection asked for a column's values (a tie between candidates): read the file whole."""


def _no_values(column: str):
    raise _NeedsValues(column)


@dataclass(frozen=True)
class NarrowedFile:
    """A batch read narrowed, with what `whole_rows` needs to read any of its rows whole again."""

    file: SubmissionFile
    index: dict  # column name -> position, as in the whole reading's RowFields
    width: int  # the used width (the header's)
    id_at: int  # the AssignmentId's position


def read_batch_narrowed(path: str | os.PathLike, keep: Sequence[str], *, code_column: str | None = None,
                        participant_column: str | None = None) -> NarrowedFile | None:
    """The batch as `read_batch_table` reads it, but each Submission's `fields` holding only the
    `keep` columns (those the file has) and no started or submitted times; None when the file must
    be read whole (see the module)."""
    from .batch_csv import _EXPECTED, _STANDARD, PLATFORM, claims_table, describe_format

    p = os.fspath(path)
    try:
        # load_table's progress lines; the first three records alone, as the columns may be read by pandas
        stream = RecordStream(p, chunk=20_000, first=3)
        records = iter(stream)
        first = []
        for rec in records:
            first.append(rec)
            if len(first) == 3:
                break
        if len(first) < 3:
            return None
        probe = Table(p, first, "UTF-8", stream.bom, stream.delimiter, "LF", True)
        try:
            if kind_of(probe, {PLATFORM: claims_table}) != PLATFORM:
                return None
        except InputError:
            return None
        raw = list(first[0])
        ncols = len(raw)
        if not ncols or not raw[-1].strip():
            return None  # trailing unnamed columns: their use depends on every row
        names, notes = unique_names(raw)
        warnings = list(notes)
        index = {n: j for j, n in enumerate(names)}
        try:
            code_det = cols.override_or_detect(p, names, code_column, "--mturk-code-column",
                                               lambda: _batch_code(names), prefixes=("", "Answer."))
            worker_det = cols.override_or_detect(p, names, participant_column, "--worker-column", lambda: _batch_worker(names))
        except (_NeedsValues, InputError):
            return None
        for det in (code_det, worker_det):
            if det.note:
                warnings.append(det.note)
        present = {cols.norm(n) for n in names}
        missing = [c for c in _EXPECTED if cols.norm(c) not in present]
        if missing:
            warnings.append(
                f"standard column{'s' if len(missing) != 1 else ''} {', '.join(missing)} "
                f"{'are' if len(missing) != 1 else 'is'} missing (file edited or re-saved by Excel?); read as empty"
            )
        loose: dict[str, int] = {}
        for j, n in enumerate(names):
            loose.setdefault(cols.norm(n), j)
        std_j = [index.get(col, loose.get(cols.norm(col))) for _, col in _STANDARD]
        if worker_det.column:
            std_j[1] = index[worker_det.column]
        if std_j[0] is None:  # pragma: no cover - kind_of requires AssignmentId
            return None
        code_j = index[code_det.column] if code_det.column else None
        kept = [c for c in dict.fromkeys(keep) if c in index]
        # The standard cells, the code, then the kept ones; absent columns read the sentinel "" at ncols.
        at = [ncols if j is None else j for j in std_j] + [ncols if code_j is None else code_j] + [index[c] for c in kept]
        # Cells that repeat from row to row (HITId, status, reward, size, duration, kept answers) held once each.
        shared = repeats_shared(j for j in [*std_j[2:6], std_j[9], *at[11:]] if j is not None)
        empty = RowFields({}, ())  # shared: no cell kept (RowFields is read-only)
        kept_index = {c: k for k, c in enumerate(kept)}
        fast = _read_columns(p, stream, first, ncols, at, kept_index, empty)
        submissions: list[Submission] | None
        if fast is not None:
            records.close()  # the streamed reading ends here: its file is closed
            submissions, short, last_len, line_ending, final_newline = fast
        else:
            submissions, short, last_len = _read_streamed(p, first, records, ncols, at, shared, kept, kept_index, empty)
            line_ending, final_newline = stream.line_ending, stream.final_newline
    except NotStreamable:
        return None
    if submissions is None or not submissions or last_len * 2 < ncols:
        return None  # no rows, or a cut last row: the whole reading's sentences
    if code_det.column is not None:
        w = cols.damaged_codes(((s.source.row, s.code) for s in submissions), code_det.column, p)
        if w:
            warnings.append(w)
    fmt = describe_format(stream.encoding, stream.bom, line_ending, stream.delimiter, short,
                          final_newline, False, bool(missing))
    file = SubmissionFile(
        path=p,
        format=fmt,
        columns=tuple(names),
        code_column=code_det.column,
        participant_column=worker_det.column,
        code_candidates=code_det.candidates,
        submissions=tuple(submissions),
        warnings=tuple(warnings),
        platform=PLATFORM,
    )
    return NarrowedFile(file, index, ncols, std_j[0])


def _read_streamed(p: str, first: list, records, ncols: int, at: list[int], shared, kept: list[str], kept_index: dict,
                   empty: RowFields) -> tuple[list[Submission] | None, int, int]:
    """The submissions from the records as the csv module streams them (the rest after `first`);
    None for the submissions when the file must be read whole. Also the short rows and the cells of the last row."""
    from .batch_csv import PLATFORM

    get = itemgetter(*at)
    width = ncols + 1
    submissions: list[Submission] = []
    short = 0
    last_len = 0
    for i, rec in enumerate(_chained(first, records)):
        if i == 0 or is_blank(rec):
            continue
        cells_in = len(rec)
        last_len = cells_in
        if cells_in == ncols:
            rec.append("")  # the sentinel absent columns read
        elif cells_in < ncols:
            short += 1
            rec.extend([""] * (width - cells_in))
        else:
            return None, 0, 0  # extra cells: the whole reading drops or refuses them
        share_repeats(rec, shared)
        cells = get(rec)
        sid = cells[0]
        if not sid.strip():
            return None, 0, 0
        fields = RowFields(kept_index, cells[11:]) if kept else empty
        submissions.append(Submission(SourceRef(p, i + 1), PLATFORM, sid, cells[1], cells[2], state_of(cells[3]), cells[3],
                                      cells[4], cells[5], "", "", cells[8], cells[9], cells[10], fields))  # no times: see the module
    return submissions, short, last_len


def _read_columns(p: str, stream: RecordStream, first: list, ncols: int, at: list[int], kept_index: dict,
                  empty: RowFields) -> tuple[list[Submission], int, int, str, bool] | None:
    """The submissions, short rows, cells of the last row, line ending and final newline from the
    needed columns parsed by pandas (csvcolumns.ColumnReading); None when the streamed reading must
    say (anything ColumnReading hands over, a row without an AssignmentId)."""
    from .batch_csv import PLATFORM

    reading = ColumnReading(p, stream.bom, stream.delimiter, first, ncols, at, 1)
    # Cells that repeat from row to row (HITId, status, reward, size, duration, kept answers) held once each.
    shared: dict[int, dict] = {j: {} for j in [at[2], at[3], at[4], at[5], at[9], *at[11:]] if j < ncols}
    states: dict[str, str] = {}
    submissions: list[Submission] = []
    make = record_maker(Submission)  # Submission(...) without the frozen __init__'s cost
    try:
        for rows, got in reading:
            for j, seen in shared.items():
                got[j] = share_column(got[j], seen)
            column = [got[j] if j < ncols else repeat("", len(rows)) for j in at]
            column[_STARTED], column[_SUBMITTED] = repeat("", len(rows)), repeat("", len(rows))  # no times (see the module)
            if any(not v or v.isspace() for v in column[0]):
                return None  # a row without an AssignmentId: the whole reading refuses it
            for v in dict.fromkeys(column[3]):
                if v not in states:
                    states[v] = state_of(v)
            state = map(states.__getitem__, column[3])
            fields = map(RowFields, repeat(kept_index), zip(*column[11:])) if len(at) > 11 else repeat(empty)
            submissions.extend(map(make, map(record_maker(SourceRef), repeat(p), rows), repeat(PLATFORM), column[0], column[1],
                                   column[2], state, *column[3:11], fields))
    except HandOver:
        return None
    return submissions, reading.short, reading.last_cells, reading.line_ending, reading.final_newline


def _batch_code(names):
    from .columns import batch_code

    return batch_code(names, _no_values)


def _batch_worker(names):
    from .columns import batch_worker

    return batch_worker(names, _no_values)


def _chained(first: list, rest):
    yield from first
    yield from rest


def whole_rows(narrowed: NarrowedFile, rows: set[int]) -> dict[int, RowFields]:
    """Row number -> every cell of that row, as the whole reading's `fields`, read again from the file."""
    p = narrowed.file.path
    ncols = narrowed.width
    found: dict[int, RowFields] = {}
    ids = {s.source.row: s.submission_id for s in narrowed.file.submissions if s.source.row in rows}
    try:
        for i, rec in enumerate(RecordStream(p, progress=False)):
            if i + 1 in rows and len(rec) <= ncols:
                rec.extend([""] * (ncols + 1 - len(rec)))  # shaped as the whole reading shapes it
                found[i + 1] = RowFields(narrowed.index, rec)
    except NotStreamable:
        pass
    # The file was read once already: a row that is not there, or not the same assignment, means it changed.
    if set(found) != set(ids) or set(ids) != set(rows) or any(found[r]._values[narrowed.id_at] != ids[r] for r in rows):
        raise InputError(f"{p} changed while it was being read; run the command again.")
    return found
