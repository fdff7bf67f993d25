"""The platform seam: what the core needs from a crowd-work platform, in no platform's words.

The core (matching, the plan, the dry run, the payout engine, the ledger) receives one object that
satisfies `Platform` and reads its `Capabilities` instead of asking which platform it is. Each
platform is a folder under `reconcile/platforms/` implementing these protocols; only the command
line and the use-case modules choose one, through the registry in `reconcile.platforms`.

Vocabulary (neutral on purpose): a *submission* is one person's piece of work that gets a decision;
a *participant* is the person; a *group* is what submissions were published under (a study, a task).
What people read is worded by each platform's `Words` (its own names for these three).

Imports nothing of ours but the base modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Iterable, Mapping, Protocol, Sequence

if TYPE_CHECKING:  # pragma: no cover - types only
    from .models import PlanRow, SubmissionInput
    from .planfile import PlanText

# ---------------------------------------------------------------- states


class State:
    """A submission's state in the platform's life cycle, as the core reasons about it."""

    PENDING = "pending"  # submitted, awaiting the researcher's decision (Prolific: AWAITING REVIEW)
    APPROVED = "approved"  # approved and paid its reward
    REJECTED = "rejected"
    CLOSED = "closed"  # nothing to decide and no reward to pay (returned, timed out, screened out, ...)
    UNKNOWN = "unknown"  # a status the platform did not explain; never decided automatically

    ALL = (PENDING, APPROVED, REJECTED, CLOSED, UNKNOWN)


# ---------------------------------------------------------------- what a platform can do


@dataclass(frozen=True)
class Words:
    """How people are told about this platform's things (plan sentences, workbook, summaries)."""

    platform: str  # its name for people, e.g. "Prolific"
    submission: str  # e.g. "submission"
    submissions: str  # e.g. "submissions"
    participant: str  # e.g. "participant"
    participant_id: str  # what the platform calls the participant's ID, e.g. "participant ID"
    group: str  # e.g. "study"
    review_deadline: str = ""  # "AutoApprovalTime"; "" when the platform has none
    fees: str = "fees"  # e.g. "Prolific fees"
    a_submission: str = ""  # e.g. "a submission" (the article goes with the platform's word)
    pending_status: str = "pending"  # the platform's word for a submission awaiting a decision ("Submitted")
    deadline_column: str = "Review deadline"  # a workbook header ("Auto-approval time")
    fees_explained: str = ""  # one line for the workbook: how the fees are computed
    account: str = "account"  # what pays ("requester account")
    # The matcher's sentences and warnings:
    records_file: str = "export"  # the platform's file of submissions ("download the export again")
    records_files: str = "exports"  # several of them ("the right survey export for these exports")
    record_rows: str = "rows"
    checked_file: str = "file"  # what the dry run checks a plan against ("batch file")
    checked_files: str = "files"  # rows of those files ("appear in several rows")
    code_column_option: str = ""  # the option naming the code column of the platform's files ("" when none)
    id_column_option: str = "--id-column"  # the option naming the survey's participant-ID column
    completion_codes_hint: str = ""  # how to give the study's completion codes, when the join checks them

    @property
    def participant_id_phrase(self) -> str:
        """The participant's ID in running text ("participant ID")."""
        return f"{self.participant} ID"

    @property
    def submission_label(self) -> str:
        return self.submission[:1].upper() + self.submission[1:]

    @property
    def participant_label(self) -> str:
        return self.participant[:1].upper() + self.participant[1:]


@dataclass(frozen=True)
class Capabilities:
    """What the core may rely on. Read these; never branch on a platform's name."""

    name: str  # registry key, e.g. "prolific"
    currency: str  # default currency of amounts (a study may override: see CheckedPlan.currency)
    join: str  # "code": join responses on completion codes; "participant": on participant IDs
    approve_batch: int  # submission IDs per approve call
    approve_settles: bool  # an accepted approve call takes effect later: re-read states until they settle
    bonus_batch: int  # bonuses per pay call
    bonus_pay_retry_safe: bool  # False: a pay call whose outcome is unknown is never sent again
    bonus_prepare_calls: bool  # prepare_bonuses calls the service (a set-up) instead of deriving a reference
    bonus_reason_shown: bool  # listed payments carry our reason (so our reference tells the plan's own payment)
    upload_file: bool  # has an approve/reject upload file for its website
    qualifications: bool  # can grant a qualification to participants
    review_deadline: bool  # submissions carry a deadline after which the platform decides on its own
    reject_categories: tuple[str, ...] = ()  # non-empty: a reject needs one of these
    reject_min_chars: int = 10  # the shortest reject feedback the platform (and we) accept
    reject_max_chars: int = 1024


# ---------------------------------------------------------------- participant IDs


class ParticipantIds(Protocol):
    """The platform's participant-ID rules: how a typed or captured ID is normalised and compared,
    and how a survey export's ID columns are found (names are compared in importers.columns.norm form:
    case, spaces, "_", "-", "." and ":" ignored)."""

    described: str  # what these IDs are called in a note ("Prolific participant IDs")
    survey_names: frozenset[str]  # names a survey gives the column holding the ID (captured or typed)
    survey_name_hints: tuple[str, ...]  # fragments of looser names; such a column counts only when a value could be an ID
    captured_names: frozenset[str]  # names of the column filled from the study link (embedded data); with one of
    #   these present, another ID column is the one participants typed, read as Response.typed_id
    not_id_names: frozenset[str]  # columns that hold other IDs of the same shape (the study's, the session's)
    typed_by_content: bool  # a column of any name whose values are mostly IDs holds typed IDs (a question's column)
    survey_code_names: frozenset[str]  # extra names this platform's studies give the survey's completion-code column

    def shaped(self, value: str) -> bool:
        """A cell holds exactly one ID as the platform writes it (scores candidate columns)."""

    def could_be(self, value: str) -> bool:
        """A typed cell may hold an ID (other case, spaces, junk, a sentence or a URL around it)."""

    def key(self, text: str) -> str:
        """The join key of a participant ID as captured or typed ("" for none)."""

    def looks_like(self, text: str) -> bool:
        """Text has the shape of this platform's participant IDs."""

    def agree(self, typed_key: str, actual_key: str) -> bool:
        """A typed ID names the same participant as the platform's, allowing for the usual slips."""

    def lookup_keys(self, actual_key: str) -> tuple[str, ...]:
        """Every key under which `typed_key`s that `agree` with `actual_key` may be indexed."""


# ---------------------------------------------------------------- reading submissions


# ---------------------------------------------------------------- money


@dataclass(frozen=True)
class CostSummary:
    """What a plan costs. `rewards` counts only rewards still owed (approve rows whose submission is
    pending); `drawn` is what the payout itself takes from the balance now (see FeeSchedule)."""

    approvals: int
    approvals_owed: int
    rewards: Decimal
    reward_fees: Decimal
    bonus_count: int
    bonuses: Decimal
    bonus_fees: Decimal
    unknown_rewards: int  # approvals owed whose reward could not be read: not in `rewards`
    tax: Decimal = Decimal("0.00")  # e.g. VAT on fees
    rewards_prefunded: bool = False  # rewards (and their fees) left the balance when the work was published

    @property
    def fees(self) -> Decimal:
        return self.reward_fees + self.bonus_fees

    @property
    def total(self) -> Decimal:
        return self.rewards + self.bonuses + self.fees + self.tax

    @property
    def drawn(self) -> Decimal:
        """What the payout takes from the available balance now."""
        if self.rewards_prefunded:
            return self.bonuses + self.bonus_fees + self.tax
        return self.total


class FeeSchedule(Protocol):
    def cost(self, rows: Iterable["PlanRow"]) -> CostSummary: ...


# ---------------------------------------------------------------- the dry run's file-based authority


@dataclass(frozen=True)
class Verification:
    """What the platform's own files say about a plan's rows (the dry run calls no service)."""

    truths: Mapping[int, Mapping[str, str]]  # plan line -> the fields the files state for its submission
    vouched: frozenset[str]  # submissions whose participant and group a file confirms
    files: tuple[object, ...]  # the files as read (opaque to the core; the platform's upload writer uses them)
    file_of: Mapping[str, str]  # submission_id -> path of the file it is in
    problems: tuple[str, ...] = ()


class PlanVerifier(Protocol):
    def verify(self, plan: "PlanText", files: Sequence[str] = ()) -> Verification: ...


# ---------------------------------------------------------------- paying


class CallFailed(Exception):
    """A call to the platform did not succeed.

    kind:
      "throttled"   slow down and try again (nothing happened)
      "transient"   a server fault, a lost connection, a timeout: it may or may not have taken effect
      "refused"     the platform refused this call; retrying will not help
      "conflict"    the submission is not in a state that allows this (e.g. already approved)
      "duplicate"   the platform says this exact request (its idempotency token) was already processed
      "interrupted" the run is stopping (Ctrl-C)
    `sent`: the request may have reached the platform (so its effect is unknown unless it succeeded).
    """

    KINDS = ("throttled", "transient", "refused", "conflict", "duplicate", "interrupted")

    def __init__(self, kind: str, message: str, *, sent: bool = False, code: str = "") -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown CallFailed kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.sent = sent
        self.code = code


@dataclass(frozen=True)
class SubmissionStatus:
    state: str  # State.*
    raw: str  # the platform's own word
    group_id: str = ""
    participant_id: str = ""


@dataclass(frozen=True)
class PaidBonus:
    """A bonus the platform shows as paid on a submission."""

    participant_id: str
    amount: Decimal
    reason: str = ""  # "" when the platform does not say (Prolific lists amounts only)


@dataclass(frozen=True)
class BonusItem:
    """One bonus to pay: the submission, its participant, the amount, and what identifies it as ours."""

    submission_id: str
    participant_id: str
    group_id: str
    amount: Decimal
    token: str  # derived from the action (payout.actions): the same for every run of one plan
    reason: str  # what the participant reads (carries a short reference to the token where the platform shows reasons)


class Payer(Protocol):
    """The calls a payout makes. Every failure comes out as CallFailed.

    Optional members the engine uses when a payer has them (read with getattr, so payers without
    them need nothing): `preflight(group_ids)`, the reads that must succeed before any change (the
    credentials are accepted, every group exists) as a list of steps, each called (and retried) on
    its own, a `refused` CallFailed stopping the run before anything is sent; and `prepared_detail(reference) -> str`, what a set-up said it will draw, for
    the ledger.
    """

    @property
    def capabilities(self) -> Capabilities: ...

    def account_identity(self) -> str:
        """An opaque, stable identity of the paying account (hashed; never a credential)."""

    def balance(self) -> Decimal: ...

    def status(self, submission_id: str) -> SubmissionStatus: ...

    def approve(self, submission_ids: Sequence[str], feedback: str = "") -> None:
        """Approve up to capabilities.approve_batch submissions in one call."""

    def reject(self, submission_id: str, feedback: str, category: str = "") -> None: ...

    def paid_bonuses(self, submission_id: str) -> list[PaidBonus]:
        """Bonuses the platform shows as paid on this submission (by its own ID, never a group column)."""

    def prepare_bonuses(self, items: Sequence[BonusItem]) -> str:
        """The reference under which these bonuses will be paid: derived with no call where the
        platform deduplicates by token; elsewhere a set-up call that moves no money."""

    def pay_bonuses(self, reference: str, items: Sequence[BonusItem]) -> None: ...

    def is_own_payment(self, paid: PaidBonus, item: BonusItem) -> bool:
        """A listed payment is this item's (same participant and amount, and our reference where shown)."""

    def qualification_name(self, qualification_id: str) -> str: ...

    def grant(self, qualification_id: str, participant_id: str) -> None: ...


# ---------------------------------------------------------------- the platform object


@dataclass(frozen=True)
class Endpoint:
    """Where a platform's API is: a URL, a name for people, and whether real money moves there."""

    url: str = field(repr=False)  # may hold user:password@ as typed: print `shown`
    name: str  # "production" | "sandbox" | "local" | "custom"
    is_production: bool

    @property
    def identity(self) -> str:
        from .urls import endpoint_identity

        return endpoint_identity(self.url)

    @property
    def shown(self) -> str:
        from .urls import redact_url

        return redact_url(self.url)


class Platform(Protocol):
    """Everything the core and the commands need of one platform. (Read-only members: a platform
    object may hold them as class attributes or per instance.)"""

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def words(self) -> Words: ...

    @property
    def ids(self) -> ParticipantIds: ...

    @property
    def fees(self) -> FeeSchedule: ...

    @property
    def verifier(self) -> PlanVerifier: ...

    def state_of(self, status: str) -> str:
        """The platform's own status word as a State."""

    def reason_code(self, neutral: str) -> str:
        """The reason code this platform's plans show for a neutral one (stable in files people keep)."""

    def claims_table(self, table: object) -> bool:
        """A decoded file (importers.csvtext.Table) is one of this platform's, by its content."""

    def inspect_table(self, table: object) -> dict:
        """What `reconcile inspect --json` says of one of this platform's files."""

    def require_columns(self, data: "SubmissionInput") -> None:
        """Every file's needed columns were found (ColumnDetectionError otherwise)."""

    def read_files(self, paths: Sequence[str], *, code_column: str | None = None,
                   participant_column: str | None = None, keep: Sequence[str] | None = None) -> "SubmissionInput":
        """The platform's files, combined. `keep`: the only columns the caller will look up in
        `Submission.fields` (a reader may then keep only those cells; None: every cell)."""

    def resolve_endpoint(self, endpoint_url: str | None, sandbox: bool, production: bool) -> Endpoint: ...

    def payer(self, endpoint: Endpoint, *, connections: int = 10) -> Payer: ...

    # The platform's website file (capabilities.upload_file): where it goes, what it will hold, writing it.
    def upload_paths(self, out: object, files: Sequence[str]) -> list: ...

    def prepare_upload(self, out: object, check: object) -> list: ...

    def write_upload(self, prepared: list) -> list[dict]: ...

    def next_steps(self, plan: str, *, uploaded: bool) -> list[str]:
        """What to do after a clean dry run, in this platform's terms (lines for the summary)."""
