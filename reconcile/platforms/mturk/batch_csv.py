"""MTurk batch results CSVs (requester website downloads), one or several at once.

Rows shorter than the header are padded (the website omits empty trailing Approve/Reject cells);
standard columns deleted by Excel read as "". Timestamps stay text in whichever style the file has.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter

from ...errors import InputError
from ...importers import columns as cols
from ...importers.csvtext import RowFields, Table, is_blank, load_table, shape_rows, unique_names, used_width
from ...importers.sniff import kind_of
from ...models import DuplicateRow, SourceRef, Submission, SubmissionFile, SubmissionInput
from ...records import paused_gc
from ...times import parse_timestamp
from .batch_narrow import NarrowedFile, read_batch_narrowed, whole_rows
from .columns import batch_code, batch_worker
from .states import state_of

PLATFORM = "mturk"
# Submission attribute -> batch column, in the order Submission's fields after `state` take them.
_STANDARD = (
    ("submission_id", "AssignmentId"),
    ("participant_id", "WorkerId"),
    ("group_id", "HITId"),
    ("status", "AssignmentStatus"),
    ("reward", "Reward"),
    ("group_size", "MaxAssignments"),
    ("started_at", "AcceptTime"),
    ("submitted_at", "SubmitTime"),
    ("review_deadline", "AutoApprovalTime"),
    ("duration_seconds", "WorkTimeInSeconds"),
)
_MTURK_ONLY = {
    "assignmentstatus", "hittypeid", "accepttime", "submittime", "autoapprovaltime", "worktimeinseconds",
    "requesterannotation", "autoapprovaldelayinseconds", "assignmentdurationinseconds", "lifetimeapprovalrate",
}


def claims_table(table: Table) -> bool:
    """A batch results file: AssignmentId plus a column only the download has (or Answer.*/Input.*).

    A survey that captures assignmentId/workerId/hitId from its link has those names too, so the
    AssignmentId column alone is not enough."""
    head = table.records[0]
    names = {cols.norm(c) for c in head}
    return "assignmentid" in names and (bool(names & _MTURK_ONLY) or any(c.startswith(("Answer.", "Input.")) for c in head))


# Times a download and an API listing write in different styles ("Sun Nov 12 08:19:59 PST 2017" and
# "2017-11-12 16:19:59 UTC"): one moment, compared as a moment.
TIME_COLUMNS = ("CreationTime", "Expiration", "AcceptTime", "SubmitTime", "AutoApprovalTime", "ApprovalTime", "RejectionTime")
# What a download from the requester website always has; missing ones mean the file was edited.
_EXPECTED = (
    "HITId", "HITTypeId", "Title", "Reward", "CreationTime", "MaxAssignments", "RequesterAnnotation",
    "AssignmentId", "WorkerId", "AssignmentStatus", "AcceptTime", "SubmitTime", "AutoApprovalTime",
    "ApprovalTime", "RejectionTime", "RequesterFeedback", "WorkTimeInSeconds",
)


def read_batch_table(table: Table, *, code_column: str | None = None, participant_column: str | None = None) -> SubmissionFile:
    path = table.path
    # Refuses a file that is also a survey export (ambiguous) or not a batch at all, with what it is.
    if kind_of(table, {PLATFORM: claims_table}) != PLATFORM:
        raise InputError(f"{path} looks like a Qualtrics export, not an MTurk batch results file; pass it with --qualtrics.")
    recs = table.records
    raw = list(recs[0])
    data_idx = [i for i in range(1, len(recs)) if not is_blank(recs[i])]
    if not data_idx:
        raise InputError(f"{path} has a header but no assignments; download the batch results again once workers have submitted.")
    ncols = used_width(raw, recs, data_idx)
    names, notes = unique_names(raw[:ncols])
    warnings = list(notes)
    index = {n: j for j, n in enumerate(names)}

    rows, short = shape_rows(path, recs, data_idx, ncols)

    values = cols.column_values(rows, index)
    code_det = cols.override_or_detect(
        path, names, code_column, "--mturk-code-column", lambda: batch_code(names, values), prefixes=("", "Answer.")
    )
    worker_det = cols.override_or_detect(path, names, participant_column, "--worker-column", lambda: batch_worker(names, values))
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

    # Stray spaces or case changes in a header (hand edits) must not hide a standard column.
    loose: dict[str, int] = {}
    for j, n in enumerate(names):
        loose.setdefault(cols.norm(n), j)
    std_j = [index.get(col, loose.get(cols.norm(col))) for _, col in _STANDARD]
    if worker_det.column:
        std_j[1] = index[worker_det.column]
    if std_j[0] is None:  # pragma: no cover - kind_of requires AssignmentId
        raise InputError(f"{path} has no AssignmentId column.")
    # Absent columns read the sentinel "" every shaped row ends with; itemgetter keeps the loop in C.
    code_j = index[code_det.column] if code_det.column else None
    get_named = itemgetter(*[ncols if j is None else j for j in std_j])
    code_at = ncols if code_j is None else code_j
    submissions = []
    for i, rec in zip(data_idx, rows):
        named = get_named(rec)
        if not named[0].strip():
            raise InputError(f"{path}: row {i + 1} has no AssignmentId; every row of a batch file must be an assignment.")
        sid, participant, group, status, reward, size, started, submitted, deadline, duration = named
        submissions.append(Submission(SourceRef(path, i + 1), PLATFORM, sid, participant, group, state_of(status), status,
                                      reward, size, started, submitted, deadline, duration, rec[code_at], RowFields(index, rec)))

    if code_j is not None and code_det.column is not None:
        w = cols.damaged_codes(((i + 1, r[code_j]) for i, r in zip(data_idx, rows)), code_det.column, path)
        if w:
            warnings.append(w)
        if table.numeric:
            from ...importers.xlsx import numeric_codes

            w = numeric_codes(table, data_idx, code_j, code_det.column)
            if w:
                warnings.append(w)

    fmt = describe_format(table.encoding, table.bom, table.line_ending, table.delimiter, short, table.final_newline,
                          table.is_workbook, bool(missing))
    return SubmissionFile(
        path=path,
        format=fmt,
        columns=tuple(names),
        code_column=code_det.column,
        participant_column=worker_det.column,
        code_candidates=code_det.candidates,
        submissions=tuple(submissions),
        warnings=tuple(warnings),
        platform=PLATFORM,
    )


def describe_format(encoding: str, bom: bool, line_ending: str, delimiter: str, short: int, final_newline: bool,
                    workbook: bool, missing: bool) -> str:
    """The file's `format` line: encoding, line endings and what was odd about it."""
    qualifiers = [f"{encoding}{' with BOM' if bom else ''}", f"{line_ending} line endings"]
    if workbook:
        qualifiers = [encoding]
    if delimiter != ",":
        qualifiers.append(f"{_DELIMITER_NAMES.get(delimiter, repr(delimiter))}-separated")
    if short:
        qualifiers.append(f"{short} short row{'s' if short != 1 else ''}")
    if not final_newline and not workbook:
        qualifiers.append("no final newline")
    if missing:
        qualifiers.append("standard columns missing (edited in Excel?)")
    return f"MTurk batch results CSV; {', '.join(qualifiers)}"


_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon"}  # as Table.delimiter_name


# What the website's download shows about the worker and the API has no call for: a fetched file
# leaves these blank, so a blank one against a filled one is no conflict.
API_CANNOT_FILL = frozenset({"LifetimeApprovalRate", "Last30DaysApprovalRate", "Last7DaysApprovalRate"})


def _content(fields: Mapping[str, str]) -> dict:
    # Padding and deleted empty columns must not make two downloads of the same row look different,
    # nor a time written in the other style (a fetched file against a downloaded one), nor the
    # worker's approval rates only the website's download carries.
    out = {}
    for k, v in fields.items():
        if v == "" or k in API_CANNOT_FILL:
            continue
        if k in TIME_COLUMNS:
            when = parse_timestamp(v)
            out[k] = when if when is not None else v
        else:
            out[k] = v
    return out


def combine(batches: list[SubmissionFile], whole: Callable[[list[Submission]], dict[int, Mapping[str, str]]] | None = None
            ) -> SubmissionInput:
    """Unique assignments across files (first occurrence wins) plus every repeat, identical or not.

    `whole(submissions)`, when given, returns id(submission) -> every cell of its row for rows read
    narrowed (batch_narrow): only repeated rows are compared cell by cell, so only they are read again."""
    first: dict[str, Submission] = {}
    unique: list[Submission] = []
    repeats: list[tuple[Submission, Submission]] = []
    for b in batches:
        for a in b.submissions:
            key = a.submission_id.strip()
            prev = first.get(key)
            if prev is None:
                first[key] = a
                unique.append(a)
                continue
            repeats.append((a, prev))
    cells: dict[int, Mapping[str, str]] = {}
    if repeats and whole is not None:
        cells = whole([s for pair in repeats for s in pair])
    content: dict[str, dict] = {}
    dups: list[DuplicateRow] = []
    for a, prev in repeats:
        key = a.submission_id.strip()
        if key not in content:
            content[key] = _content(cells.get(id(prev), prev.fields))
        dups.append(DuplicateRow(a.source, a.submission_id, prev.source, _content(cells.get(id(a), a.fields)) == content[key]))
    return SubmissionInput(tuple(batches), tuple(unique), tuple(dups))


def read_mturk_csv(paths, *, code_column: str | None = None, participant_column: str | None = None,
                   keep: Sequence[str] | None = None) -> SubmissionInput:
    """The batches, combined. `keep`: the only columns anyone will look up in `Submission.fields`;
    a file is then read narrowed as it streams (batch_narrow), when it can be, and its other cells
    are read again only for rows that repeat an AssignmentId."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths:
        raise InputError("no MTurk batch results file given; pass one or more with --mturk.")
    narrowed: dict[int, NarrowedFile] = {}  # id(SubmissionFile) -> how to read its rows whole again
    batches = []
    with paused_gc():
        for p in paths:
            got = None if keep is None else read_batch_narrowed(p, keep, code_column=code_column,
                                                                participant_column=participant_column)
            if got is not None:
                narrowed[id(got.file)] = got
                batches.append(got.file)
            else:
                batches.append(read_batch_table(load_table(p), code_column=code_column, participant_column=participant_column))
    if not narrowed:
        return combine(batches)

    # A file named twice is read alike both times: either reading serves its rows.
    by_path = {n.file.path: n for n in narrowed.values()}

    def whole(subs: list[Submission]) -> dict[int, Mapping[str, str]]:
        ours = [s for s in subs if s.source.path in by_path]
        wanted: dict[str, set[int]] = {}  # file -> rows
        for s in ours:
            wanted.setdefault(s.source.path, set()).add(s.source.row)
        rows = {path: whole_rows(by_path[path], want) for path, want in wanted.items()}
        return {id(s): rows[s.source.path][s.source.row] for s in ours}

    return combine(batches, whole)
