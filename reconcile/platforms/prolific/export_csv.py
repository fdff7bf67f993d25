"""Prolific submissions exports (the study's "Download summary" / demographic export), one or several.

Read by content, every header era of PROLIFIC.md §2.1, by column names rather than positions:
  old snake_case (<= mid-2022)  session_id, participant_id, status, started_datetime,
                                completed_date_time, time_taken (float), ..., entered_code
  Title case (2022-23, 2024)    Submission id, Participant id, Status, [Custom study tncs accepted at,]
                                Started at, Completed at, Reviewed at, Archived at, Time taken, Completion code
  2026 snake_case               submission_id, participant_id, submission_status, started_at, completed_at,
                                time_taken_seconds, ...
The participant column may have been renamed PROLIFIC_PID by the researcher. Withheld values
(CONSENT_REVOKED, DATA_EXPIRED, and the old spellings with a space) read as empty where a role
column holds them; demographic columns stay as exported. Timestamps stay text as written (three
styles: ...266000Z, no zone, a space and no zone); only the auto-approval date is computed.

Prolific exports carry no study ID column: it is taken from the file name (Prolific names downloads
after the study, `prolific_export_<24 hex>.csv`), else from --prolific-study.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from datetime import timedelta

from ...errors import InputError
from ...importers import columns as cols
from ...importers.csvtext import RowFields, Table, is_blank, load_table, shape_rows, unique_names, used_width
from ...importers.sniff import kind_of
from ...models import DuplicateRow, SourceRef, Submission, SubmissionFile, SubmissionInput
from ...records import paused_gc
from ...times import parse_timestamp
from .states import state_of

PLATFORM = "prolific"

# "Any submissions Awaiting Review 21 days after completion will be auto-approved" (PROLIFIC.md §1.3).
AUTO_APPROVAL = timedelta(days=21)

# Role -> header names (in importers.columns.norm form: case, spaces, "_", "-", "." ignored).
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "submission": ("submissionid", "sessionid"),
    "participant": ("participantid", "prolificpid"),
    "status": ("status", "submissionstatus"),
    "started": ("startedat", "starteddatetime"),
    "completed": ("completedat", "completeddatetime"),
    "time_taken": ("timetaken", "timetakenseconds"),
    "code": ("completioncode", "enteredcode", "studycode"),
    "reward": ("reward",),
}
# Columns only a Prolific export has (a survey capturing SESSION_ID or PROLIFIC_PID has neither these
# nor a "Submission id"); with a submission column, one of these makes the file Prolific's.
_PROLIFIC_ONLY = frozenset({
    "submissionstatus", "completioncode", "enteredcode", "startedat", "starteddatetime", "completedat",
    "completeddatetime", "timetaken", "timetakenseconds", "reviewedat", "reviewedatdatetime", "archivedat",
    "customstudytncsacceptedat", "totalapprovals", "numapprovals", "ethnicitysimplified",
})
# Prolific's stand-ins for withheld values, both spellings (PROLIFIC.md §2.1).
SENTINELS = frozenset({"CONSENT_REVOKED", "CONSENT REVOKED", "DATA_EXPIRED", "DATA EXPIRED", "NOT APPLICABLE"})
# A study ID (24 hex digits) in a file name such as prolific_export_5e0d0f1a2b3c4d5e6f708192.csv.
_STUDY_IN_NAME = re.compile(r"(?<![0-9a-fA-F])([0-9a-fA-F]{24})(?![0-9a-fA-F])")
TIME_ROLES = ("started", "completed")

FULL_EXPORT_HINT = ("download the full submissions export instead (the study's Submissions page > Download "
                    "summary, or `reconcile fetch prolific --study ID -o FILE`)")


def _roles(names: list[str]) -> dict[str, int]:
    """Role -> column index; the first column of a role wins (a later copy is an ordinary column)."""
    found: dict[str, int] = {}
    by_name = {n: role for role, ns in ROLE_NAMES.items() for n in ns}
    for j, name in enumerate(names):
        role = by_name.get(cols.norm(name))
        if role is not None:
            found.setdefault(role, j)
    return found


def claims_table(table: Table) -> bool:
    """A Prolific submissions export: a submission ID column (Submission id / submission_id / session_id)
    plus a column only Prolific's export has. A Qualtrics export (ResponseId) is never claimed, nor
    another platform's file that happens to share a column name (one with an assignment ID column)."""
    names = {cols.norm(c) for c in table.records[0]}
    if "responseid" in names or "assignmentid" in names:
        return False
    return bool(names & {"submissionid", "sessionid"}) and bool(names & _PROLIFIC_ONLY)


def era_of(names: list[str]) -> str:
    """Which header era a file is (PROLIFIC.md §2.1), for people reading `inspect`."""
    n = {cols.norm(c) for c in names}
    if "sessionid" in n or "starteddatetime" in n:
        return "old snake_case export (<= 2022)"
    if "submissionstatus" in n or "timetakenseconds" in n:
        return "2026 snake_case export"
    if "customstudytncsacceptedat" in n:
        return "2024 Title-case export"
    return "2022-23 Title-case export"


def study_id_of(path: str, fallback: str | None = None) -> str:
    """The study ID in the file's name, else `fallback` (--prolific-study), else ""."""
    m = _STUDY_IN_NAME.search(os.path.basename(path))
    if m:
        return m.group(1).lower()
    return (fallback or "").strip()


def _bare(value: str) -> str:
    """A role cell with Prolific's withheld-value stand-ins read as empty."""
    return "" if value.strip().upper() in SENTINELS else value


def review_deadline(completed: str) -> str:
    """When Prolific approves an AWAITING REVIEW submission on its own: completion + 21 days ("" if unknown)."""
    when = parse_timestamp(completed)
    if when is None:
        return ""
    try:
        return (when + AUTO_APPROVAL).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:  # a completion time typed near the year 9999: no deadline to show
        return ""


def read_export_table(table: Table, participant_column: str | None = None, *, study_id: str | None = None,
                      lenient: bool = False) -> SubmissionFile:
    """One export as a SubmissionFile. `lenient` (for `inspect`): a trimmed export without participant
    IDs is described instead of refused."""
    path = table.path
    if kind_of(table, {PLATFORM: claims_table}) != PLATFORM:
        raise InputError(f"{path} looks like a Qualtrics export, not a Prolific submissions export; pass it with --qualtrics.")
    recs = table.records
    raw = list(recs[0])
    data_idx = [i for i in range(1, len(recs)) if not is_blank(recs[i])]
    if not data_idx:
        raise InputError(f"{path} has a header but no submissions; download the export again once participants have taken part.")
    ncols = used_width(raw, recs, data_idx)
    names, notes = unique_names(raw[:ncols])
    warnings = list(notes)
    index = {n: j for j, n in enumerate(names)}
    rows, short = shape_rows(path, recs, data_idx, ncols)

    roles = _roles(names)
    if participant_column is not None:
        roles["participant"] = index[cols.resolve_override(path, names, participant_column, "participant_column")]
    if "participant" not in roles and not lenient:
        raise InputError(
            f"{path} is a trimmed Prolific export with no participant ID column, so it cannot be reconciled; "
            f"{FULL_EXPORT_HINT}."
        )
    if "status" not in roles and not lenient:
        raise InputError(f"{path} has no Status column, so no submission can be decided; {FULL_EXPORT_HINT}.")
    for role, said in (("code", "completion code"), ("completed", "completion time")):
        if role not in roles and "participant" in roles:
            warnings.append(f"no {said} column; read as empty")

    study = study_id_of(path, study_id)
    if study_id and study != study_id.strip().lower() and study_id.strip():
        warnings.append(f"the file name names study {study}, not {study_id.strip()} (--prolific-study); read as study {study}")
    if not study:
        warnings.append("no study ID: the file name holds none (Prolific names it prolific_export_<study ID>.csv); "
                        "pass --prolific-study ID")

    def at(role: str) -> int:
        return roles.get(role, ncols)  # absent: the "" every shaped row ends with

    sub_j, pid_j, status_j, started_j, completed_j, taken_j, code_j, reward_j = (
        at(r) for r in ("submission", "participant", "status", "started", "completed", "time_taken", "code", "reward"))
    submissions = []
    for i, rec in zip(data_idx, rows):
        sid = rec[sub_j]
        if not sid.strip():
            raise InputError(f"{path}: row {i + 1} has no submission ID; every row of a Prolific export must be a submission.")
        participant = rec[pid_j]
        if not participant.strip() and "participant" in roles:
            raise InputError(f"{path}: row {i + 1}, column {names[pid_j]}: submission {sid.strip()} has no participant ID; "
                             f"{FULL_EXPORT_HINT}.")
        status = rec[status_j]
        completed = _bare(rec[completed_j])
        submissions.append(Submission(
            SourceRef(path, i + 1), PLATFORM, sid.strip(), participant.strip(), study, state_of(status), status.strip(),
            rec[reward_j].strip(), "", _bare(rec[started_j]).strip(), completed.strip(), review_deadline(completed),
            _bare(rec[taken_j]).strip(), rec[code_j], RowFields(index, rec),
        ))

    qualifiers = [era_of(names), f"{table.encoding}{' with BOM' if table.bom else ''}", f"{table.line_ending} line endings"]
    if table.delimiter != ",":
        qualifiers.append(f"{table.delimiter_name}-separated")
    if short:
        qualifiers.append(f"{short} short row{'s' if short != 1 else ''}")
    if "participant" not in roles:
        qualifiers.append("trimmed: no participant IDs")
    code_name = names[roles["code"]] if "code" in roles else None
    return SubmissionFile(
        path=path,
        format=f"Prolific submissions export; {', '.join(qualifiers)}",
        columns=tuple(names),
        code_column=code_name,
        participant_column=names[roles["participant"]] if "participant" in roles else None,
        code_candidates=(code_name,) if code_name else (),
        submissions=tuple(submissions),
        warnings=tuple(warnings),
        platform=PLATFORM,
    )


def combine(files: list[SubmissionFile]) -> SubmissionInput:
    """Unique submissions across files (first occurrence wins) plus every repeat, identical or not."""
    first: dict[str, Submission] = {}
    content: dict[str, tuple] = {}
    unique: list[Submission] = []
    dups: list[DuplicateRow] = []
    for f in files:
        for s in f.submissions:
            prev = first.get(s.submission_id)
            if prev is None:
                first[s.submission_id] = s
                unique.append(s)
                continue
            if s.submission_id not in content:
                content[s.submission_id] = _comparable(prev)
            dups.append(DuplicateRow(s.source, s.submission_id, prev.source, _comparable(s) == content[s.submission_id]))
    return SubmissionInput(tuple(files), tuple(unique), tuple(dups))


def _comparable(s: Submission) -> tuple:
    """What makes two rows of one submission the same: its roles, times compared as moments (an export
    and a fetched file write them in different styles) and the status in one spelling."""
    def moment(v: str):
        when = parse_timestamp(v)
        return when if when is not None else v.strip()

    return (s.participant_id, s.group_id, state_of(s.status), s.status.strip().upper(), moment(s.started_at),
            moment(s.submitted_at), s.code.strip(), s.duration_seconds.split(".")[0])


def read_prolific_csv(paths, participant_column: str | None = None, *, study_id: str | None = None) -> SubmissionInput:
    """Read one or several exports; `study_id` (--prolific-study) names the study of files whose names do not."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths:
        raise InputError("no Prolific submissions export given; pass one or more with --prolific.")
    with paused_gc():
        files = [read_export_table(load_table(p), participant_column, study_id=study_id) for p in paths]
    return combine(files)


def require_columns(data: SubmissionInput) -> None:
    """Every file has participant IDs (the join needs them)."""
    for f in data.files:
        if f.participant_column is None:
            raise InputError(f"{f.path} is a trimmed Prolific export with no participant ID column, so it cannot be "
                             f"reconciled; {FULL_EXPORT_HINT}.")


def inspect_table(table: Table) -> dict:
    """What `reconcile inspect --json` says of a Prolific export (the keys every platform's gives)."""
    f = read_export_table(table, lenient=True)
    warnings = list(f.warnings)
    if f.participant_column is None:
        warnings.append(f"this trimmed export has no participant IDs, so it cannot be reconciled; {FULL_EXPORT_HINT}")
    statuses = Counter(s.status for s in f.submissions) if f.participant_column else Counter()
    return {
        "path": f.path, "kind": PLATFORM, "format": f.format, "rows": len(f.submissions), "columns": len(f.columns),
        "code_column": f.code_column, "participant_column": f.participant_column,
        "code_candidates": list(f.code_candidates),
        "participant_candidates": [f.participant_column] if f.participant_column else [],
        "status_counts": dict(sorted(statuses.items())), "duplicate_rows": len(combine([f]).duplicates),
        "study_id": f.submissions[0].group_id if f.submissions else "",
        "warnings": warnings,
    }
