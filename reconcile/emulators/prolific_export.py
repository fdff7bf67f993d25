"""Prolific submissions exports for the Prolific emulator: read one (every era), write one (2024 era).

Written for the emulator alone and independently of the project's own Prolific importer, so the
two can check each other (a fake that shared the client's parser could not catch its mistakes).

Eras recognised by their header names, not by position (PROLIFIC.md §2.1):
  old snake_case (<= mid-2022)  session_id, participant_id, status, started_datetime, completed_date_time,
                                time_taken, ..., entered_code
  Title case (2022-23, 2024)    Submission id, Participant id, Status, [Custom study tncs accepted at,]
                                Started at, Completed at, Reviewed at, Archived at, Time taken, Completion code
  2026 snake_case               submission_id, participant_id, submission_status, started_at, completed_at,
                                time_taken_seconds, ...
and any of them with the participant column renamed PROLIFIC_PID. Columns that play no role
(demographics, custom prescreeners) are kept as text, sentinels such as CONSENT_REVOKED included,
so the demographic export can hand them back.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from ..errors import InputError

# Export cells can hold long free text (custom prescreeners); csv's default limit is 128 KiB.
csv.field_size_limit(64 * 1024 * 1024)

STATUSES = (
    "RESERVED",
    "ACTIVE",
    "AWAITING REVIEW",
    "APPROVED",
    "PARTIALLY APPROVED",
    "REJECTED",
    "RETURNED",
    "TIMED-OUT",
    "SCREENED OUT",
)
# Rows whose participant reached the end and typed a code: where the study's own code is found.
SUBMITTED_STATUSES = frozenset({"AWAITING REVIEW", "APPROVED", "PARTIALLY APPROVED", "REJECTED"})
NO_CODE = "NOCODE"  # what Prolific records when a participant finished without a code
# Prolific's stand-ins for withheld values (both spellings seen); in a time column they mean "none".
SENTINELS = frozenset({"CONSENT_REVOKED", "CONSENT REVOKED", "DATA_EXPIRED", "DATA EXPIRED", "NOT APPLICABLE"})

# Normalised header name -> role. Normalising folds case, spaces and underscores, so
# "Participant id", "participant_id" and "PARTICIPANT ID" are one name.
_ROLE_NAMES = {
    "submission": ("submission_id", "session_id"),
    "participant": ("participant_id", "prolific_pid"),
    "status": ("status", "submission_status"),
    "started": ("started_at", "started_datetime"),
    "completed": ("completed_at", "completed_date_time", "completed_datetime"),
    "reviewed": ("reviewed_at", "reviewed_at_datetime"),
    "archived": ("archived_at",),
    "time_taken": ("time_taken", "time_taken_seconds"),
    "code": ("completion_code", "entered_code", "study_code"),
    "tncs": ("custom_study_tncs_accepted_at",),
    "approvals": ("total_approvals", "num_approvals"),
}
_NAME_TO_ROLE = {name: role for role, names in _ROLE_NAMES.items() for name in names}
_TIME_TAKEN_RE = re.compile(r"^\d+(?:\.\d+)?$")

# The 2024 header, as `POST /api/v1/studies/{id}/demographic-export/` returns it; prescreener and
# demographic columns follow these.
EXPORT_2024_COLUMNS = (
    "Submission id",
    "Participant id",
    "Status",
    "Custom study tncs accepted at",
    "Started at",
    "Completed at",
    "Reviewed at",
    "Archived at",
    "Time taken",
    "Completion code",
    "Total approvals",
)


def normalise_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def normalise_status(text: str) -> str | None:
    """A status as exported or as a filter ("awaiting_review", "Timed out") -> its canonical
    spelling ("AWAITING REVIEW", "TIMED-OUT"); None when it is no Prolific submission status."""
    s = re.sub(r"[\s_]+", " ", text.strip().upper())
    if s in ("TIMED OUT", "TIME-OUT", "TIME OUT"):  # the 2025 spec itself spells it TIME-OUT once
        s = "TIMED-OUT"
    return s if s in STATUSES else None


def parse_export_time(text: str) -> datetime | None:
    """Export timestamps ("2024-07-15T20:16:52.266000Z", "2023-07-02T21:07:09.608000" without a
    zone, "2022-06-06 19:19:49.179000") -> aware UTC datetimes; blank or a sentinel such as
    DATA_EXPIRED -> None; anything else -> ValueError."""
    t = text.strip()
    if not t or t.upper() in SENTINELS:
        return None
    parsed = datetime.fromisoformat(t)
    if parsed.tzinfo is None:  # Prolific writes UTC, sometimes without saying so
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def format_api_time(value: datetime | None) -> str | None:
    """The API's (and the 2024 export's) spelling: 2024-07-15T20:16:52.266000Z."""
    return None if value is None else value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class ExportedSubmission:
    row: int  # record number in the file (the header is 1)
    submission_id: str
    participant_id: str
    status: str  # canonical spelling
    started_at: datetime | None
    completed_at: datetime | None
    reviewed_at: datetime | None
    time_taken: Decimal | None  # seconds, as exported (integer in new files, fractional in old ones)
    entered_code: str  # as typed; "" when none
    tncs_accepted_at: str = ""  # the rest as exported text (they are only handed back in exports)
    archived_at: str = ""
    total_approvals: str = ""
    cells: dict[str, str] = field(default_factory=dict)  # every non-role column, by its header name


@dataclass(frozen=True)
class ProlificExport:
    path: str
    digest: str  # sha256 of the file's bytes: the default study ID is derived from content
    era: str
    columns: dict[str, str]  # role -> header name as written in the file
    other_columns: tuple[str, ...]  # non-role columns, in file order (demographics, prescreeners)
    submissions: tuple[ExportedSubmission, ...]

    @property
    def name(self) -> str:
        return Path(self.path).name


def read_export(path: str) -> ProlificExport:
    """Read and check a Prolific submissions export; raise InputError (one sentence) if it is not one."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such export file; check the path.") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a Prolific export file.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text, so it is not a Prolific submissions export (those are UTF-8 CSV).") from None
    records = list(csv.reader(io.StringIO(text, newline="")))
    while records and not any(cell.strip() for cell in records[0]):
        records.pop(0)
    if not records:
        raise InputError(f"{path} is empty; expected a Prolific submissions export with a header row.")
    header = [cell.strip() for cell in records[0]]
    columns, others = _assign_roles(path, header)
    index = {name: i for i, name in reversed(list(enumerate(header)))}
    submissions: list[ExportedSubmission] = []
    seen: dict[str, int] = {}
    for n, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(header) and any(cell.strip() for cell in record[len(header):]):
            raise InputError(f"{path}: row {n} has {len(record)} cells but the header has {len(header)}; the file is damaged.")
        cells = {name: (record[i] if i < len(record) else "") for name, i in index.items()}
        sub = _submission(path, n, cells, columns, others)
        if sub.submission_id in seen:
            raise InputError(
                f"{path}: row {n}, column {columns['submission']}: submission {sub.submission_id} "
                f"already appears in row {seen[sub.submission_id]}."
            )
        seen[sub.submission_id] = n
        submissions.append(sub)
    return ProlificExport(
        path=str(path),
        digest=hashlib.sha256(data).hexdigest(),
        era=_era(columns),
        columns=columns,
        other_columns=tuple(others),
        submissions=tuple(submissions),
    )


def _assign_roles(path: str, header: list[str]) -> tuple[dict[str, str], list[str]]:
    columns: dict[str, str] = {}
    others: list[str] = []
    for name in header:
        role = _NAME_TO_ROLE.get(normalise_header(name))
        if role is None:
            if name and name not in others:
                others.append(name)
            continue
        if role in columns and columns[role] != name:
            raise InputError(f"{path} has two {role} columns ({columns[role]} and {name}); keep one.")
        columns.setdefault(role, name)
    if "submission" not in columns:
        raise InputError(
            f"{path} is not a Prolific submissions export: it has no submission ID column "
            "(Submission id, submission_id or session_id)."
        )
    if "participant" not in columns:
        raise InputError(
            f"{path} is not a full Prolific submissions export: it has no participant ID column "
            "(Participant id, participant_id or PROLIFIC_PID), so its submissions cannot be served."
        )
    if "status" not in columns:
        raise InputError(f"{path} is not a Prolific submissions export: it has no Status column.")
    return columns, others


def _submission(path: str, n: int, cells: dict[str, str], columns: dict[str, str], others: list[str]) -> ExportedSubmission:
    def cell(role: str) -> str:
        name = columns.get(role)
        return cells.get(name, "") if name else ""

    def where(role: str) -> str:
        return f"{path}: row {n}, column {columns[role]}"

    sid = cell("submission").strip()
    if not sid:
        raise InputError(f"{where('submission')}: the submission ID is empty.")
    pid = cell("participant").strip()
    if not pid:
        raise InputError(f"{where('participant')}: the participant ID of submission {sid} is empty.")
    status = normalise_status(cell("status"))
    if status is None:
        raise InputError(
            f"{where('status')}: {cell('status')!r} is not a Prolific submission status "
            f"(expected one of {', '.join(STATUSES)})."
        )
    times: dict[str, datetime | None] = {}
    for role in ("started", "completed", "reviewed"):
        try:
            times[role] = parse_export_time(cell(role))
        except ValueError:
            raise InputError(f"{where(role)}: {cell(role)!r} is not a date and time.") from None
    taken_text = cell("time_taken").strip()
    if taken_text.upper() in SENTINELS:
        taken_text = ""
    if taken_text and not _TIME_TAKEN_RE.match(taken_text):
        raise InputError(f"{where('time_taken')}: {taken_text!r} is not a number of seconds.")
    return ExportedSubmission(
        row=n,
        submission_id=sid,
        participant_id=pid,
        status=status,
        started_at=times["started"],
        completed_at=times["completed"],
        reviewed_at=times["reviewed"],
        time_taken=Decimal(taken_text) if taken_text else None,
        entered_code=cell("code").strip(),
        tncs_accepted_at=cell("tncs"),
        archived_at=cell("archived"),
        total_approvals=cell("approvals"),
        cells={name: cells.get(name, "") for name in others},
    )


def _era(columns: dict[str, str]) -> str:
    names = {normalise_header(v) for v in columns.values()}
    if "session_id" in names or "started_datetime" in names:
        return "old snake_case (<= 2022)"
    if "submission_status" in names or "time_taken_seconds" in names:
        return "2026 snake_case"
    if "custom_study_tncs_accepted_at" in names:
        return "2024 Title case"
    return "2022-23 Title case"


def derived_completion_code(submissions: Iterable[ExportedSubmission]) -> str | None:
    """The study's completion code as the export shows it: the single most common code typed on
    submitted rows, ignoring blanks and NOCODE. None when there is no code or no single winner
    (a tie means the file does not say which code was the study's; pass --completion-code)."""
    counts = Counter(
        s.entered_code for s in submissions if s.status in SUBMITTED_STATUSES and s.entered_code and s.entered_code != NO_CODE
    )
    top = counts.most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]


def write_export_2024(rows: Iterable[dict[str, str]], other_columns: Iterable[str]) -> str:
    """The 2024 Title-case export (CRLF, RFC 4180 quoting) of `rows`, each a mapping from column
    name (EXPORT_2024_COLUMNS plus `other_columns`) to cell text; missing cells are blank."""
    header = list(EXPORT_2024_COLUMNS) + [c for c in other_columns if c not in EXPORT_2024_COLUMNS]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    return out.getvalue()
