"""Frozen records shared by every layer. Each record remembers the file and row it came from.

Imports nothing of ours (house rule). All cell values are kept as text, exactly as read.

Row numbering: `SourceRef.row` is the 1-based number of the CSV *record* (not the physical line,
since quoted cells may contain newlines) as a spreadsheet would show it, counting header rows.
So the first data row of a file with one header row is row 2, and of a modern three-row Qualtrics export row 4.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Mapping


def frozen_mapping(d: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only view, so a frozen record cannot be changed through its `fields`."""
    return MappingProxyType(dict(d))


@dataclass(frozen=True, order=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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
    participant_id: str  # raw value of the detected participant-ID column ("" when none)
    fields: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)
    # Raw value of the question where participants typed their ID, when the survey also captures it
    # from the study link into `participant_id` ("" otherwise); the join cross-checks the two.
    typed_id: str = ""


@dataclass(frozen=True)
class QualtricsExport:
    path: str
    format: str  # e.g. "qualtrics modern CSV (3 header rows)", our words
    columns: tuple[str, ...]  # the column-name row, in file order
    code_column: str | None
    participant_column: str | None
    code_candidates: tuple[str, ...]  # every column that looked like a code column
    participant_candidates: tuple[str, ...]
    responses: tuple[Response, ...]
    warnings: tuple[str, ...] = ()
    typed_id_column: str | None = None  # the typed-ID question next to a captured participant column


# ---------------------------------------------------------------- the platform's side


@dataclass(frozen=True, slots=True)
class Submission:
    """One piece of work that gets a decision, as read from the platform's file or API listing.
    Neutral names (see the vocabulary in platform.py); the platform's raw words are in `status` and
    `fields`."""

    source: SourceRef
    platform: str  # the platform's registry name
    submission_id: str
    participant_id: str  # who did it
    group_id: str  # what it was published under (Prolific: the study)
    state: str  # platform.State: pending / approved / rejected / closed / unknown
    status: str  # the platform's own word, as read ("Submitted", "AWAITING REVIEW", ...; "" when absent)
    reward: str  # raw, like "$0.40" ("" when unknown)
    group_size: str  # raw, where the group's size sets the fee; "" when unknown
    started_at: str
    submitted_at: str
    review_deadline: str  # raw; after it the platform decides on its own ("" when it has none)
    duration_seconds: str
    code: str  # raw value of the detected completion-code column
    fields: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class DuplicateRow:
    """A row whose submission was already read. Kept visible, with a pointer to the first."""

    source: SourceRef
    submission_id: str
    duplicate_of: SourceRef
    identical: bool  # True: same content, counted once. False: conflicting content, reported.


@dataclass(frozen=True)
class SubmissionFile:
    """One file of the platform's records as read (or one API listing, written like one)."""

    path: str
    format: str
    columns: tuple[str, ...]
    code_column: str | None
    participant_column: str | None
    code_candidates: tuple[str, ...]
    submissions: tuple[Submission, ...]  # every row of this file, in file order
    warnings: tuple[str, ...] = ()
    platform: str = ""


@dataclass(frozen=True)
class SubmissionInput:
    """Several files read together: unique submissions plus the duplicates seen."""

    files: tuple[SubmissionFile, ...]
    submissions: tuple[Submission, ...]  # unique by submission ID, first occurrence wins
    duplicates: tuple[DuplicateRow, ...]


# ---------------------------------------------------------------- the plan

DECISIONS = ("approve", "reject", "review", "skip")


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One submission's decision. The PI may edit decision, bonus and feedback by hand."""

    submission_id: str
    participant_id: str
    group_id: str
    decision: str  # one of DECISIONS
    reason: str  # stable snake_case code, e.g. "code_match", "near_miss"
    detail: str  # a sentence for a person
    code: str  # the raw code as the participant submitted it
    response_id: str  # matched (or suggested) Qualtrics ResponseId, "" for none
    bonus: Decimal | None  # None: no bonus
    feedback: str  # what a rejected participant reads
    source: str  # "batch.csv:12"
    flags: tuple[str, ...] = ()  # informative flags, e.g. ("duplicate_ip", "auto_approval_soon")
    status: str = ""  # the platform's own word, as read
    reward: str = ""  # as read, e.g. "$0.40"
    group_size: str = ""
    review_deadline: str = ""
    category: str = ""  # a reject's category where the platform asks for one (Prolific's rejection_category)


@dataclass(frozen=True, slots=True)
class ResponseOutcome:
    """What became of one Qualtrics response: matched, unmatched or excluded, and why."""

    response_id: str
    outcome: str  # "matched" | "unmatched" | "excluded"
    reason: str  # e.g. "code_match", "no_submission", "survey_preview", "unfinished"
    detail: str
    code: str
    participant_id: str
    submission_id: str  # "" unless matched
    source: str  # "export.csv:5"


@dataclass(frozen=True)
class Plan:
    rows: tuple[PlanRow, ...]
    responses: tuple[ResponseOutcome, ...] = ()
    inputs: tuple[str, ...] = ()  # descriptions of the input files, e.g. "batch.csv (100 rows)"
    warnings: tuple[str, ...] = ()
    platform: str = ""  # registry name of the platform whose submissions these are (its words in files)
    currency: str = "USD"


@dataclass(frozen=True)
class CheckedPlan:
    """A plan file that passed every check: what the dry run showed and the executor carries out.

    Built by plan_check / payment.dry_run; the executor takes only this, so an unchecked plan
    can never be executed.
    """

    path: str
    rows: tuple[PlanRow, ...]
    digest: str  # planfile.plan_digest of the rows as read
    batch_paths: tuple[str, ...]  # the platform's files the plan's rows were checked against
    rewards: Decimal  # rewards of the submissions to approve
    bonuses: Decimal  # bonuses to send
    fees: Decimal  # the platform's fees on both
    total: Decimal  # rewards + bonuses + fees (+ tax)
    # Submissions whose participant and group a file vouched for; the payout checks the others with
    # the platform before paying (rows listed through an API have no file).
    file_checked: frozenset[str] = frozenset()
    platform: str = ""  # registry name of the platform the plan pays on
    currency: str = "USD"
    drawn: Decimal | None = None  # what the payout takes from the balance now (None: the total)
