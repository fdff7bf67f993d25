"""Frozen records shared by every layer. Each record remembers the file and row it came from.

Imports nothing of ours (house rule). All cell values are kept as text, exactly as read.

Row numbering: `SourceRef.row` is the 1-based number of the CSV *record* (not the physical line,
since quoted cells may contain newlines) as a spreadsheet would show it, counting header rows.
So the first data row of an MTurk batch is row 2, and of a modern three-row Qualtrics export row 4.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Mapping


def frozen_mapping(d: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only view, so a frozen record cannot be changed through its `fields`."""
    return MappingProxyType(dict(d))


@dataclass(frozen=True, order=True)
class SourceRef:
    path: str
    row: int

    def __str__(self) -> str:
        return f"{self.path}:{self.row}"

    @classmethod
    def parse(cls, text: str) -> "SourceRef":
        """Inverse of str(): "dir/batch.csv:12" -> SourceRef("dir/batch.csv", 12)."""
        path, sep, row = text.rpartition(":")
        if not sep or not row.isdigit():
            raise ValueError(f"{text!r} is not of the form FILE:ROW")
        return cls(path, int(row))


# ---------------------------------------------------------------- Qualtrics


@dataclass(frozen=True)
class Response:
    """One Qualtrics response (one data row of an export)."""

    source: SourceRef
    response_id: str
    status: str  # raw: "IP Address", "Survey Preview", "0", "1", ... ("" when the column is absent)
    finished: str  # raw: "True", "FALSE", "1", ... ("" when absent)
    progress: str
    ip_address: str
    start_date: str
    end_date: str
    duration_seconds: str
    code: str  # raw value of the detected completion-code column ("" when no code column)
    worker_id: str  # raw value of the detected worker-ID column ("" when none)
    fields: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class QualtricsExport:
    path: str
    format: str  # e.g. "qualtrics modern CSV (3 header rows)", our words
    columns: tuple[str, ...]  # the column-name row, in file order
    code_column: str | None
    worker_column: str | None
    code_candidates: tuple[str, ...]  # every column that looked like a code column
    worker_candidates: tuple[str, ...]
    responses: tuple[Response, ...]
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------- MTurk


@dataclass(frozen=True)
class Assignment:
    """One MTurk assignment (one data row of a batch results CSV, or one API listing item)."""

    source: SourceRef
    assignment_id: str
    worker_id: str
    hit_id: str
    status: str  # AssignmentStatus: Submitted / Approved / Rejected ("" when the column was deleted)
    reward: str  # raw, like "$0.40" ("" when unknown)
    max_assignments: str
    requester_annotation: str
    accept_time: str
    submit_time: str
    auto_approval_time: str
    work_time_seconds: str
    code: str  # raw value of the detected code column (e.g. Answer.surveycode)
    fields: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class DuplicateRow:
    """A batch row whose AssignmentId was already read. Kept visible, with a pointer to the first."""

    source: SourceRef
    assignment_id: str
    duplicate_of: SourceRef
    identical: bool  # True: same content, counted once. False: conflicting content, reported.


@dataclass(frozen=True)
class MTurkBatch:
    """One batch results file as read."""

    path: str
    format: str
    columns: tuple[str, ...]
    code_column: str | None
    worker_column: str | None
    code_candidates: tuple[str, ...]
    assignments: tuple[Assignment, ...]  # every row of this file, in file order
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class MTurkInput:
    """Several batch files read together: unique assignments plus the duplicates seen."""

    batches: tuple[MTurkBatch, ...]
    assignments: tuple[Assignment, ...]  # unique by AssignmentId, first occurrence wins
    duplicates: tuple[DuplicateRow, ...]


# ---------------------------------------------------------------- the plan

DECISIONS = ("approve", "reject", "review", "skip")


@dataclass(frozen=True)
class PlanRow:
    """One assignment's decision. The PI may edit decision, bonus and feedback by hand."""

    assignment_id: str
    worker_id: str
    hit_id: str
    decision: str  # one of DECISIONS
    reason: str  # stable snake_case code, e.g. "code_match", "near_miss"
    detail: str  # a sentence for a person
    code: str  # the raw code as the worker submitted it
    response_id: str  # matched (or suggested) Qualtrics ResponseId, "" for none
    bonus: Decimal | None  # None: no bonus
    feedback: str  # what a rejected worker sees (RequesterFeedback)
    source: str  # "batch.csv:12"
    flags: tuple[str, ...] = ()  # informative flags, e.g. ("duplicate_ip", "auto_approval_soon")
    assignment_status: str = ""  # as read from MTurk: Submitted / Approved / Rejected
    reward: str = ""  # the HIT reward as read, e.g. "$0.40"
    max_assignments: str = ""
    auto_approval_time: str = ""


@dataclass(frozen=True)
class ResponseOutcome:
    """What became of one Qualtrics response: matched, unmatched or excluded, and why."""

    response_id: str
    outcome: str  # "matched" | "unmatched" | "excluded"
    reason: str  # e.g. "code_match", "no_assignment", "survey_preview", "unfinished"
    detail: str
    code: str
    worker_id: str
    assignment_id: str  # "" unless matched
    source: str  # "export.csv:5"


@dataclass(frozen=True)
class Plan:
    rows: tuple[PlanRow, ...]
    responses: tuple[ResponseOutcome, ...] = ()
    inputs: tuple[str, ...] = ()  # descriptions of the input files, e.g. "batch.csv (100 rows)"
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckedPlan:
    """A plan file that passed every check: what the dry run showed and the executor carries out.

    Built by plan_check / payment.dry_run; the executor takes only this, so an unchecked plan
    can never be executed.
    """

    path: str
    rows: tuple[PlanRow, ...]
    digest: str  # planfile.plan_digest of the rows as read
    batch_paths: tuple[str, ...]  # the batch files the plan's rows came from
    rewards: Decimal  # rewards of the assignments to approve
    bonuses: Decimal  # bonuses to send
    fees: Decimal  # MTurk fees on both
    total: Decimal  # rewards + bonuses + fees
    # Assignments whose worker and HIT a batch file vouched for; the executor checks the others with
    # the service before paying (rows listed through the API have no file).
    file_checked: frozenset[str] = frozenset()
