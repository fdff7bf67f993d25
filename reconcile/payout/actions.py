"""What a plan asks the platform to do, as actions with stable identities; and what came of them.

Pure: no I/O. An action's key (the ledger's) and token (the platform's idempotency key) are derived
from what the platform itself keys on - the submission, the participant, the amount, the purpose -
never from a column a person can edit that no call uses (the group), nor from how an endpoint URL is
spelled; so every run of one plan, whatever its ledger, derives the same keys and tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable

from ..models import PlanRow
from ..money import format_amount
from ..urls import endpoint_identity
from .ledger import action_key, request_token

BONUS_PURPOSE = "plan bonus"
DECISION_PURPOSE = "plan decision"
QUALIFY_PURPOSE = "qualification"
# The participant reads the reason; the short reference at its end is how a later look-up (which
# returns the reason, not the token) tells the plan's own payment from any other bonus of one amount.
BONUS_REASON = "A bonus for your work on our study. Thank you!"
LEGACY_BONUS_REASON = BONUS_REASON  # what schema-v1 runs sent, without a reference
REF_LENGTH = 12
KIND_ORDER = ("approve", "reject", "bonus", "qualify")


@dataclass(frozen=True)
class Action:
    kind: str  # approve | reject | bonus | qualify
    endpoint: str  # canonical (urls.endpoint_identity)
    group_id: str  # for people and verification; never part of the key
    submission_id: str  # "" for qualify
    participant_id: str
    amount: str  # bonus "1.50"; qualify "1" (the integer value); "" otherwise
    purpose: str
    feedback: str = field(default="", compare=False)  # what a rejected participant reads; not part of the key
    category: str = field(default="", compare=False)  # a reject's category where the platform takes one; not part of the key
    qualification_id: str = ""

    @property
    def key(self) -> str:
        return action_key(endpoint=self.endpoint, kind=self.kind, submission_id=self.submission_id,
                          participant_id=self.participant_id, amount=self.amount, purpose=self.purpose)

    @property
    def token(self) -> str:
        """The idempotency token: the same for every run of this action, whatever its ledger or endpoint spelling."""
        return request_token(kind=self.kind, submission_id=self.submission_id, participant_id=self.participant_id,
                             amount=self.amount, purpose=self.purpose)

    @property
    def reference(self) -> str:
        return f"(ref {self.token[:REF_LENGTH]})"

    @property
    def bonus_reason(self) -> str:
        return f"{BONUS_REASON} {self.reference}"

    @property
    def decimal_amount(self) -> Decimal:
        return Decimal(self.amount)

    def describe(self, words=None) -> str:
        participant = words.participant if words is not None else "participant"
        if self.kind == "bonus":
            return f"bonus {self.amount} to {self.participant_id} for {self.submission_id}"
        if self.kind == "qualify":
            return f"qualification {self.qualification_id} for {participant} {self.participant_id}"
        return f"{self.kind} {self.submission_id} ({self.participant_id})"

    def ledger_fields(self) -> dict[str, str]:
        return dict(endpoint=self.endpoint, kind=self.kind, group_id=self.group_id, submission_id=self.submission_id,
                    participant_id=self.participant_id, amount=self.amount, purpose=self.purpose)


@dataclass(frozen=True)
class Chain:
    """The actions for one submission, in order: a bonus only after its approval is finished."""

    row: PlanRow
    actions: tuple[Action, ...]
    bonus_needs_approved_check: bool = False  # a bonus on a row that is not approved here (skip + bonus)

    @property
    def decision(self) -> Action | None:
        return next((a for a in self.actions if a.kind in ("approve", "reject")), None)

    @property
    def bonus(self) -> Action | None:
        return next((a for a in self.actions if a.kind == "bonus"), None)


def plan_actions(rows: Iterable[PlanRow], endpoint: str) -> list[Chain]:
    """The actions a plan asks for, one chain per submission (review/skip rows without a bonus: none)."""
    ep = endpoint_identity(endpoint)
    chains: list[Chain] = []
    for row in rows:
        acts: list[Action] = []
        decision = row.decision.strip().lower()
        if decision in ("approve", "reject"):
            acts.append(Action(decision, ep, row.group_id, row.submission_id, row.participant_id, "", DECISION_PURPOSE,
                               row.feedback.strip(), row.category.strip() if decision == "reject" else ""))
        if row.bonus is not None and row.bonus > 0 and decision in ("approve", "skip"):
            acts.append(Action("bonus", ep, row.group_id, row.submission_id, row.participant_id, format_amount(row.bonus),
                               BONUS_PURPOSE))
        if acts:
            chains.append(Chain(row, tuple(acts), bonus_needs_approved_check=decision != "approve"))
    return chains


def qualification_action(endpoint: str, qualification_id: str, participant_id: str) -> Action:
    return Action("qualify", endpoint_identity(endpoint), "", "", participant_id, "1", f"{QUALIFY_PURPOSE} {qualification_id}",
                  qualification_id=qualification_id)


# ---------------------------------------------------------------- results


OUTCOMES = ("done", "already_done", "failed", "in_doubt")


@dataclass(frozen=True)
class ActionResult:
    action: Action
    outcome: str  # done (by this run) | already_done (found done) | failed | in_doubt (never retried on its own)
    detail: str = ""


@dataclass(frozen=True)
class ExecutionSummary:
    endpoint: str
    ledger_path: str
    results: tuple[ActionResult, ...]
    calls: int  # API calls made (reads included)
    throttled: int
    elapsed: float
    currency: str = "USD"
    interrupted: bool = False  # Ctrl-C stopped the run; what is not done is listed as not attempted

    def count(self, outcome: str, kind: str | None = None) -> int:
        return sum(1 for r in self.results if r.outcome == outcome and (kind is None or r.action.kind == kind))

    @property
    def failures(self) -> list[ActionResult]:
        return [r for r in self.results if r.outcome == "failed"]

    @property
    def in_doubt(self) -> list[ActionResult]:
        return [r for r in self.results if r.outcome == "in_doubt"]

    @property
    def complete(self) -> bool:
        return not self.failures and not self.in_doubt

    @property
    def bonuses_paid(self) -> Decimal:
        return sum((r.action.decimal_amount for r in self.results if r.action.kind == "bonus" and r.outcome == "done"),
                   Decimal("0.00"))

    def to_json(self) -> dict:
        kinds = sorted({r.action.kind for r in self.results}, key=KIND_ORDER.index)
        return {
            "endpoint": self.endpoint,
            "ledger": self.ledger_path,
            "complete": self.complete,
            "done": self.count("done"),
            "already_done": self.count("already_done"),
            "failed": self.count("failed"),
            "in_doubt": self.count("in_doubt"),
            "by_kind": {k: {o: self.count(o, k) for o in OUTCOMES} for k in kinds},
            "currency": self.currency,
            "bonuses_paid": format_amount(self.bonuses_paid),
            "failures": [self._item(r) for r in self.failures],
            "in_doubt_items": [self._item(r) for r in self.in_doubt],
            "calls": self.calls,
            "throttled": self.throttled,
            "seconds": round(self.elapsed, 3),
            "interrupted": self.interrupted,
        }

    @staticmethod
    def _item(r: ActionResult) -> dict:
        return {"kind": r.action.kind, "submission_id": r.action.submission_id, "participant_id": r.action.participant_id,
                "amount": r.action.amount, "reason": r.detail, "key": r.action.key}
