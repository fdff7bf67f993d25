"""`reconcile inspect` of a Prolific submissions export in one pass over its records, holding none of them.

The whole reading (`load_table` + `read_export_table`) holds every cell of every row and a
Submission per row. Inspect needs only counts (rows, statuses, repeated submission IDs, short rows),
the columns (found by name alone: `_roles`) and the study ID (from the file name), so this reads
the records one at a time and keeps per row only the set of submission IDs (for the duplicate
count; exact, so no hash collision can change it). The shape of the MTurk stream
(platforms/mturk/inspect_stream.py).

Every file this cannot say the same thing of gives None, and the caller reads it whole: a file
`load_table` would read whole (not plain UTF-8, a NUL, an odd number of quotes, a workbook), one
the whole reading refuses (cells past the header, a row without a submission ID or, when the
file has a participant column, without a participant ID; no submissions), and one with a completion
time the whole reading's auto-approval date may fail on - so every sentence stays its own.
"""

from __future__ import annotations

import re
from collections import Counter
from operator import itemgetter

from ...errors import ReconcileError
from ...importers.csvtext import NotStreamable, RecordStream, is_blank, unique_names
from ...importers.sniff import kind_of
from .export_csv import FULL_EXPORT_HINT, PLATFORM, _bare, _roles, era_of, review_deadline, study_id_of

_HEAD_RECORDS = 3  # what identification by content reads (importers.sniff.kind_of: the header and two rows)
# A completion time `review_deadline` reads without any chance of an exception (plain ASCII digits, no
# offset, a year short of 9999): every other filled cell is given to review_deadline itself, and a
# file where it fails goes to the whole reading, which fails the same way.
# A submission ID as Prolific writes it (24 lower-case hex digits) is kept in the set of IDs seen as
# the number it spells: 40 bytes instead of 73, and exact (one number per such text; any other ID
# is kept as its text, and a number never equals a text).
_HEX_ID = re.compile(r"[0-9a-f]{24}")
_PLAIN_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z?")


def inspect_streamed(path: str, claims) -> dict | None:
    """What `export_csv.inspect_table` says of the file at `path`, or None when it must be read whole
    (it is not a Prolific export, or not one this can read; see the module docstring)."""
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
    # Roles are named columns, so dropping trailing unnamed ones (below) never moves one.
    roles = _roles(full_names)
    if "submission" not in roles:
        return None  # every row "has no submission ID": refused whole
    has_participant = "participant" in roles
    # Absent roles read the sentinel "" every padded row ends with (at `width`).
    get_cells = itemgetter(*(roles.get(r, width) for r in ("submission", "participant", "status", "completed")))
    unnamed_from = width
    while unnamed_from and not raw[unnamed_from - 1].strip():
        unnamed_from -= 1
    used = unnamed_from

    rows = 0
    statuses: Counter = Counter()
    shorter: Counter = Counter()  # row length -> rows that long, for rows shorter than the header
    seen: set[int | str] = set()
    duplicates = 0
    plain_time = _PLAIN_TIME.fullmatch
    hex_id = _HEX_ID.fullmatch

    def rest():
        yield from head[1:]
        yield from records

    for rec in rest():
        if is_blank(rec):
            continue
        n = len(rec)
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
        sid, participant, status, completed = get_cells(rec)
        key = sid.strip()
        if not key:
            return None  # "row N has no submission ID"
        if has_participant and not participant.strip():
            return None  # "submission S has no participant ID"
        completed = _bare(completed)
        if completed and not (plain_time(completed) and not completed.startswith("9999")):
            try:
                review_deadline(completed)
            except Exception:  # whatever it is, the whole reading meets it too
                return None
        rows += 1
        statuses[status.strip()] += 1
        kept = int(key, 16) if hex_id(key) else key
        if kept in seen:
            duplicates += 1
        else:
            seen.add(kept)
    if rows == 0:
        return None  # "has a header but no submissions"
    del seen

    ncols = used
    names, notes = unique_names(raw[:ncols])
    warnings = list(notes)
    for role, said in (("code", "completion code"), ("completed", "completion time")):
        if role not in roles and has_participant:
            warnings.append(f"no {said} column; read as empty")
    study = study_id_of(path)
    if not study:
        warnings.append("no study ID: the file name holds none (Prolific names it prolific_export_<study ID>.csv); "
                        "pass --prolific-study ID")
    if not has_participant:
        warnings.append(f"this trimmed export has no participant IDs, so it cannot be reconciled; {FULL_EXPORT_HINT}")

    short = sum(k for length, k in shorter.items() if length < ncols)
    qualifiers = [era_of(names), f"{stream.encoding}{' with BOM' if stream.bom else ''}", f"{stream.line_ending} line endings"]
    if stream.delimiter != ",":
        qualifiers.append(f"{table.delimiter_name}-separated")
    if short:
        qualifiers.append(f"{short} short row{'s' if short != 1 else ''}")
    if not has_participant:
        qualifiers.append("trimmed: no participant IDs")
    code_name = names[roles["code"]] if "code" in roles else None
    participant_name = names[roles["participant"]] if has_participant else None
    return {
        "path": path, "kind": PLATFORM, "format": f"Prolific submissions export; {', '.join(qualifiers)}", "rows": rows,
        "columns": len(names), "code_column": code_name, "participant_column": participant_name,
        "code_candidates": [code_name] if code_name else [],
        "participant_candidates": [participant_name] if participant_name else [],
        "status_counts": dict(sorted(statuses.items())) if has_participant else {},
        "duplicate_rows": duplicates, "study_id": study, "warnings": warnings,
    }
