"""`reconcile inspect` of a batch results file in one pass over its records, holding none of them.

The whole-file reading (`load_table` + `read_batch_table`) holds every cell of every row: 2.5 GB
for a 1M-row batch. Inspect needs only counts (rows, statuses, repeated AssignmentIds, short rows)
and the columns, so this reads the records one at a time and keeps per row only the set of
AssignmentIds (for the duplicate count; exact, so no hash collision can change it).

Column detection stays exactly `batch_code`/`batch_worker`: they choose by name and look at values
only to break a tie between several candidate columns, and then get the column from a second
streamed pass over the file (so no sampling, and no detection can differ from the whole reading).
The damaged-code check reads the chosen code column the same way.

Every file this cannot say the same thing of gives None, and the caller reads it whole: a file
`load_table` would read whole (not plain UTF-8, a NUL, an odd number of quotes, a workbook), or
one the whole reading refuses (a row with cells past the header, a row without an AssignmentId, a
cut last row, no assignments) - so every error sentence stays the whole reading's own.
"""

from __future__ import annotations

from collections import Counter
from operator import itemgetter

from ...errors import ReconcileError
from ...importers import columns as cols
from ...importers.csvtext import NotStreamable, RecordStream, is_blank, unique_names
from ...importers.sniff import kind_of
from .batch_csv import _EXPECTED, _STANDARD, PLATFORM
from .columns import batch_code, batch_worker

_HEAD_RECORDS = 3  # what identification by content reads (importers.sniff.kind_of: the header and two rows)


def inspect_streamed(path: str, claims) -> dict | None:
    """What `MTurk.inspect_table` says of the file at `path`, or None when it must be read whole
    (it is not an MTurk batch, or not one this can read; see the module docstring)."""
    try:
        return _inspect(path, claims)
    except NotStreamable:
        return None


def _inspect(path: str, claims) -> dict | None:
    stream = RecordStream(path)
    head, records, table = stream.head(_HEAD_RECORDS)
    if not head:
        return None
    try:
        if kind_of(table, claims) != PLATFORM:
            return None
    except ReconcileError:  # the whole reading words every refusal
        return None

    raw = list(head[0])
    width = len(raw)
    full_names, _ = unique_names(raw)
    index = {n: j for j, n in enumerate(full_names)}
    loose: dict[str, int] = {}
    for j, name in enumerate(full_names):
        loose.setdefault(cols.norm(name), j)
    std_j = [index.get(col, loose.get(cols.norm(col))) for _, col in _STANDARD]
    if std_j[0] is None:
        return None
    # The assignment ID and the status; an absent status column reads the sentinel "" at `width`.
    get_id_status = itemgetter(std_j[0], width if std_j[3] is None else std_j[3])
    # Trailing unnamed header columns count only if some row fills them (csvtext.used_width).
    unnamed_from = width
    while unnamed_from and not raw[unnamed_from - 1].strip():
        unnamed_from -= 1
    used = unnamed_from

    rows = 0
    statuses: Counter = Counter()
    shorter: Counter = Counter()  # row length -> rows that long, for rows shorter than the header
    seen: set[str] = set()
    duplicates = 0
    last_index, last_len = 0, width

    def rest():
        yield from head[1:]
        yield from records

    for i, rec in enumerate(rest(), start=1):
        if is_blank(rec):
            continue
        n = len(rec)
        last_index, last_len = i, n
        if n != width:
            if n > width and any(c.strip() for c in rec[width:]):
                return None  # shape_rows refuses it
            if n < width:
                shorter[n] += 1
            rec = rec[:width] + [""] * (width + 1 - min(n, width))
        else:
            rec.append("")
        for j in range(width - 1, used - 1, -1):
            if rec[j].strip():
                used = j + 1
                break
        sid, status = get_id_status(rec)
        if not sid.strip():
            return None  # "row N has no AssignmentId"
        rows += 1
        statuses[status] += 1
        key = sid.strip()
        if key in seen:
            duplicates += 1
        else:
            seen.add(key)
    if rows == 0 or (last_index >= 1 and last_len * 2 < width):
        return None  # no assignments, or a cut last row: refused whole
    del seen

    ncols = used
    names, notes = unique_names(raw[:ncols])
    warnings = list(notes)

    def column(col: str):
        return (value for _, value in _column(path, index[col]))

    code_det = batch_code(names, column)
    worker_det = batch_worker(names, column)
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
    if code_det.column is not None:
        w = cols.damaged_codes(_column(path, index[code_det.column]), code_det.column, path)
        if w:
            warnings.append(w)

    short = sum(k for length, k in shorter.items() if length < ncols)
    qualifiers = [f"{stream.encoding}{' with BOM' if stream.bom else ''}", f"{stream.line_ending} line endings"]
    if stream.delimiter != ",":
        qualifiers.append(f"{table.delimiter_name}-separated")
    if short:
        qualifiers.append(f"{short} short row{'s' if short != 1 else ''}")
    if not stream.final_newline:
        qualifiers.append("no final newline")
    if missing:
        qualifiers.append("standard columns missing (edited in Excel?)")
    return {
        "path": path, "kind": PLATFORM, "format": f"MTurk batch results CSV; {', '.join(qualifiers)}", "rows": rows,
        "columns": len(names), "code_column": code_det.column, "participant_column": worker_det.column,
        "code_candidates": list(code_det.candidates),
        "participant_candidates": [worker_det.column] if worker_det.column else [],
        "status_counts": dict(sorted(statuses.items())), "duplicate_rows": duplicates,
        "warnings": warnings,
    }


def _column(path: str, j: int):
    """(row number, cell j) of every assignment row, read again from the file (padded rows read "")."""
    records = iter(RecordStream(path, progress=False))
    next(records, None)
    for i, rec in enumerate(records, start=2):
        if not is_blank(rec):
            yield i, rec[j] if j < len(rec) else ""
