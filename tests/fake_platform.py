"""A small in-memory platform for the contract tests: the other end of the seam from MTurk.

It joins on participant IDs, pays in GBP, approves in bulk (and asynchronously: states settle after a
few reads), sets bonuses up under a reference and pays them in groups, and says its pay call is NOT
safe to retry, like Prolific. It is not a mock of any library: it implements reconcile.platform's
Payer protocol over a little world whose every money movement is recorded, so tests can count them.
Faults are scripted per call kind: "throttle" (nothing happens), "fail" (a server fault before anything
happens), "lose" (it happens, then the answer is lost).
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Sequence

from reconcile.platform import BonusItem, CallFailed, Capabilities, CostSummary, Endpoint, PaidBonus, State, SubmissionStatus, Verification, Words

CAPABILITIES = Capabilities(
    name="fake", currency="GBP", join="participant", approve_batch=1000, approve_settles=True, bonus_batch=50,
    bonus_pay_retry_safe=False, bonus_prepare_calls=True, bonus_reason_shown=False, upload_file=False,
    qualifications=False, review_deadline=False, reject_min_chars=100, reject_max_chars=2000,
)
WORDS = Words(platform="Fake", submission="submission", submissions="submissions", participant="participant",
              participant_id="participant ID", group="study", fees="Fake fees", a_submission="a submission")


@dataclass
class World:
    """What the fake platform knows. `faults[kind]` is a list of scripted outcomes consumed in order."""

    states: dict[str, str] = field(default_factory=dict)  # submission -> State
    participants: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    balance: Decimal = Decimal("1000.00")
    bulks: dict[str, list[BonusItem]] = field(default_factory=dict)
    pay_calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # reference -> pay calls received
    payments: list[tuple[str, str, str, Decimal]] = field(default_factory=list)  # (reference, submission, participant, amount)
    hidden: set[str] = field(default_factory=set)  # references whose payments do not show yet (the lag)
    pending_approvals: dict[str, int] = field(default_factory=dict)  # submission -> reads until approved
    faults: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def seed(self, n: int, *, group: str = "S1") -> list[tuple[str, str]]:
        out = []
        for i in range(n):
            sid, pid = f"{i:024x}", f"{10**6 + i:024x}"
            self.states[sid], self.participants[sid], self.groups[sid] = State.PENDING, pid, group
            out.append((sid, pid))
        return out

    def paid(self, submission: str) -> list[Decimal]:
        return [a for ref, s, _p, a in self.payments if s == submission]

    def fault(self, kind: str) -> str | None:
        with self.lock:
            self.calls[kind] += 1
            return self.faults[kind].pop(0) if self.faults[kind] else None


class FakePayer:
    capabilities = CAPABILITIES

    def __init__(self, world: World) -> None:
        self.w = world

    def _before(self, kind: str) -> str | None:
        f = self.w.fault(kind)
        if f == "throttle":
            raise CallFailed("throttled", "429 too many requests")
        if f == "fail":
            raise CallFailed("transient", "503 before anything happened", sent=False)
        return f

    def account_identity(self) -> str:
        return "fake-account"

    def balance(self) -> Decimal:
        self._before("balance")
        return self.w.balance

    def status(self, submission_id: str) -> SubmissionStatus:
        self._before("status")
        w = self.w
        with w.lock:
            if submission_id in w.pending_approvals:
                w.pending_approvals[submission_id] -= 1
                if w.pending_approvals[submission_id] <= 0:
                    del w.pending_approvals[submission_id]
                    w.states[submission_id] = State.APPROVED
            state = w.states[submission_id]
        return SubmissionStatus(state, state.upper(), w.groups[submission_id], w.participants[submission_id])

    def approve(self, submission_ids: Sequence[str], feedback: str = "") -> None:
        assert len(submission_ids) <= CAPABILITIES.approve_batch
        f = self._before("approve")
        with self.w.lock:
            for sid in submission_ids:  # accepted now, shows after two reads (asynchronous)
                if self.w.states.get(sid) == State.PENDING:
                    self.w.pending_approvals.setdefault(sid, 2)
        if f == "lose":
            raise CallFailed("transient", "connection dropped after the approval was accepted", sent=True)

    def reject(self, submission_id: str, feedback: str, category: str = "") -> None:
        f = self._before("reject")
        with self.w.lock:
            state = self.w.states[submission_id]
            if state == State.REJECTED:
                return  # the same transition again is ignored
            if state != State.PENDING:
                raise CallFailed("conflict", f"it is {state}")
            self.w.states[submission_id] = State.REJECTED
        if f == "lose":
            raise CallFailed("transient", "connection dropped after the rejection", sent=True)

    def paid_bonuses(self, submission_id: str) -> list[PaidBonus]:
        self._before("paid")
        with self.w.lock:
            return [PaidBonus(p, a, "") for ref, s, p, a in self.w.payments if s == submission_id and ref not in self.w.hidden]

    def is_own_payment(self, paid: PaidBonus, item: BonusItem) -> bool:
        return paid.participant_id == item.participant_id and paid.amount == item.amount

    def prepare_bonuses(self, items: Sequence[BonusItem]) -> str:
        f = self._before("prepare")
        with self.w.lock:
            ref = f"bulk-{next(self.w.ids)}"
            self.w.bulks[ref] = list(items)
        if f == "lose":  # a set-up whose answer is lost: harmless, nothing was paid
            raise CallFailed("transient", "connection dropped after the set-up", sent=True)
        return ref

    def pay_bonuses(self, reference: str, items: Sequence[BonusItem]) -> None:
        f = self._before("pay")
        w = self.w
        with w.lock:
            w.pay_calls[reference] += 1  # NOT idempotent: every accepted call pays every row again
            for item in w.bulks[reference]:
                w.payments.append((reference, item.submission_id, item.participant_id, item.amount))
                w.balance -= item.amount
        if f == "lose":
            raise CallFailed("transient", "connection dropped after the payment was accepted", sent=True)
        if f == "lose-hidden":
            with w.lock:
                w.hidden.add(reference)
            raise CallFailed("transient", "connection dropped; the payment does not show yet", sent=True)

    def qualification_name(self, qualification_id: str) -> str:
        raise CallFailed("refused", "the fake platform has no qualifications")

    def grant(self, qualification_id: str, participant_id: str) -> None:
        raise CallFailed("refused", "the fake platform has no qualifications")


class FakeIds:
    def key(self, text: str) -> str:
        return text.strip().lower()

    def looks_like(self, text: str) -> bool:
        t = text.strip().lower()
        return len(t) == 24 and all(c in "0123456789abcdef" for c in t)

    def agree(self, typed_key: str, actual_key: str) -> bool:
        return bool(typed_key) and typed_key == actual_key

    def lookup_keys(self, actual_key: str) -> tuple[str, ...]:
        return (actual_key,) if actual_key else ()


class FakeFees:
    """A third on bonuses, rewards prepaid (as on Prolific)."""

    def cost(self, rows) -> CostSummary:
        bonuses = [r.bonus for r in rows if r.bonus is not None and r.bonus > 0]
        total = sum(bonuses, Decimal("0.00"))
        fees = (total / 3).quantize(Decimal("0.01"))
        approvals = sum(1 for r in rows if r.decision == "approve")
        return CostSummary(approvals, approvals, Decimal("0.00"), Decimal("0.00"), len(bonuses), total, fees, 0, rewards_prefunded=True)


class NoFiles:
    def verify(self, plan, files=()) -> Verification:
        return Verification({}, frozenset(), (), {}, ())


class FakePlatform:
    capabilities = CAPABILITIES
    words = WORDS
    ids = FakeIds()
    fees = FakeFees()
    verifier = NoFiles()

    def __init__(self, world: World) -> None:
        self.world = world

    def state_of(self, status: str) -> str:
        s = status.strip().lower()
        return s if s in State.ALL else State.UNKNOWN

    def reason_code(self, neutral: str) -> str:
        return neutral

    def resolve_endpoint(self, endpoint_url, sandbox, production) -> Endpoint:
        return Endpoint(endpoint_url or "http://fake.invalid", "local", False)

    def payer(self, endpoint: Endpoint, *, connections: int = 10) -> FakePayer:
        return FakePayer(self.world)
