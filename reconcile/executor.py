"""The executor: carries out a checked plan against MTurk exactly once, even across crashes.

For every assignment the plan turns into a short chain of actions - approve then (optionally)
bonus, or reject - run by a thread pool whose calls are paced by an adaptive token bucket
(reconcile.pacing). Each action is journaled in the ledger as intent before its call and as an
outcome after it (reconcile.ledger), so a re-run of the same command skips what is finished and
finds out what happened to anything that was in flight:

- approve / reject: the service refuses a second call ("can be called with a status of:
  Submitted"); we then read the assignment's status, and the wanted status counts as done.
- bonus: every SendBonus carries a UniqueRequestToken derived from what MTurk keys on (assignment,
  worker, amount, purpose: never the HIT column or the endpoint's spelling), so no retry and no second
  run can pay twice; and because MTurk forgets tokens after 24 hours, every bonus not finished in the
  ledger is first looked up with ListBonusPayments for its own assignment: the plan's own payment
  (same worker and amount, and our reference in the reason) counts as already done, any other
  payment on that assignment is a conflict left to a person.
- rows whose HIT and worker no batch file vouched for (listed through the API) are checked with
  GetAssignment before anything is paid; a mismatch refuses the whole run.
- grant qualification: after the approvals, once per approved worker (associating twice is harmless).

One payout per account runs at a time (reconcile.locks). One failing action never stops the others;
the summary lists every failure with its reason, and says which outcomes happened in this run.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence

from .endpoints import MTurkEndpoint, resolve_mturk_endpoint
from .errors import ReconcileError, RefusedError
from .ledger import FINISHED, Ledger, action_key, default_ledger_path, request_token
from .locks import hold_account_lock
from .models import CheckedPlan, PlanRow
from .urls import endpoint_identity
from .money import AmountError, format_amount, format_usd, parse_amount
from .pacing import AdaptivePacer, backoff_delay

BONUS_PURPOSE = "plan bonus"
# The worker reads the reason; the short reference at its end is how a later look-up (ListBonusPayments
# returns the reason, not the token) tells the plan's own payment from any other bonus of the same amount.
BONUS_REASON = "A bonus for your work on our study. Thank you!"
LEGACY_BONUS_REASON = BONUS_REASON  # what schema-v1 runs sent, without a reference
REF_LENGTH = 12
QUALIFY_PURPOSE = "qualification"
KIND_ORDER = ("approve", "reject", "bonus", "qualify")


class ExecutionIncomplete(ReconcileError):
    """Some actions failed; the others were done. Re-running the same command retries only those."""

    exit_code = 1


class ExecutionInterrupted(ReconcileError):
    """Ctrl-C: what was done is journaled and was printed; re-running the same command finishes."""

    exit_code = 130


class Platform(Protocol):  # what the executor needs from platforms/mturk.MTurkPlatform
    def account_identity(self) -> str: ...
    def account_balance(self) -> Decimal: ...
    def assignment_status(self, assignment_id: str) -> str: ...
    def assignment_info(self, assignment_id: str) -> tuple[str, str, str]: ...  # (status, hit, worker)
    def bonus_payments_for_assignment(self, assignment_id: str) -> list: ...
    def approve(self, assignment_id: str, feedback: str = "") -> None: ...
    def reject(self, assignment_id: str, feedback: str) -> None: ...
    def send_bonus(self, *, worker_id: str, assignment_id: str, amount: str, reason: str, token: str) -> None: ...
    def grant_qualification(self, qualification_id: str, worker_id: str, value: int = 1) -> None: ...
    def qualification_type_name(self, qualification_id: str) -> str: ...


# ---------------------------------------------------------------- actions (pure)


@dataclass(frozen=True)
class Action:
    kind: str  # approve | reject | bonus | qualify
    endpoint: str
    hit_id: str
    assignment_id: str  # "" for qualify
    worker_id: str
    amount: str  # bonus "1.50"; qualify "1" (the integer value); "" otherwise
    purpose: str
    feedback: str = field(default="", compare=False)  # RequesterFeedback; not part of the key
    qualification_id: str = ""

    @property
    def key(self) -> str:
        # What MTurk itself keys on, on this endpoint: never the HIT (a column a person can edit that
        # no call uses) nor the endpoint's spelling.
        return action_key(endpoint=self.endpoint, kind=self.kind, submission_id=self.assignment_id,
                          participant_id=self.worker_id, amount=self.amount, purpose=self.purpose)

    @property
    def token(self) -> str:
        """The UniqueRequestToken: the same for every run of this action, whatever its ledger or endpoint spelling."""
        return request_token(kind=self.kind, submission_id=self.assignment_id, participant_id=self.worker_id,
                             amount=self.amount, purpose=self.purpose)

    @property
    def reference(self) -> str:
        return f"(ref {self.token[:REF_LENGTH]})"

    @property
    def bonus_reason(self) -> str:
        return f"{BONUS_REASON} {self.reference}"

    def is_own_payment(self, payment) -> bool:
        """A listed bonus payment is this action's: same worker and amount, and our reference in the
        reason (or the reason schema-v1 runs sent, which carried none). Amount alone is not enough: a
        manual $0.50 thank-you is not the plan's $0.50."""
        if payment.worker_id != self.worker_id or payment.amount != self.amount:
            return False
        return self.reference in payment.reason or payment.reason.strip() == LEGACY_BONUS_REASON

    def describe(self) -> str:
        if self.kind == "bonus":
            return f"bonus ${self.amount} to {self.worker_id} for {self.assignment_id}"
        if self.kind == "qualify":
            return f"qualification {self.qualification_id} for {self.worker_id}"
        return f"{self.kind} {self.assignment_id} ({self.worker_id})"

    def ledger_fields(self) -> dict[str, str]:
        return dict(
            endpoint=self.endpoint,
            kind=self.kind,
            group_id=self.hit_id,
            submission_id=self.assignment_id,
            participant_id=self.worker_id,
            amount=self.amount,
            purpose=self.purpose,
        )


@dataclass(frozen=True)
class Chain:
    """The actions for one assignment, in order: a bonus only after its approve is finished."""

    row: PlanRow
    actions: tuple[Action, ...]
    bonus_needs_approved_check: bool = False  # a bonus on a row that is not approved here


def plan_actions(rows: Iterable[PlanRow], endpoint: str) -> list[Chain]:
    """The actions a plan asks for, one chain per assignment (review/skip rows without a bonus: none)."""
    ep = endpoint_identity(endpoint)
    chains: list[Chain] = []
    for row in rows:
        acts: list[Action] = []
        decision = row.decision.strip().lower()
        if decision == "approve":
            acts.append(Action("approve", ep, row.hit_id, row.assignment_id, row.worker_id, "", "plan decision", row.feedback.strip()))
        elif decision == "reject":
            acts.append(Action("reject", ep, row.hit_id, row.assignment_id, row.worker_id, "", "plan decision", row.feedback.strip()))
        if row.bonus is not None and row.bonus > 0 and decision in ("approve", "skip"):
            acts.append(Action("bonus", ep, row.hit_id, row.assignment_id, row.worker_id, format_amount(row.bonus), BONUS_PURPOSE))
        if acts:
            chains.append(Chain(row, tuple(acts), bonus_needs_approved_check=decision != "approve"))
    return chains


def qualification_action(endpoint: str, qualification_id: str, worker_id: str) -> Action:
    return Action(
        "qualify", endpoint_identity(endpoint), "", "", worker_id, "1", f"{QUALIFY_PURPOSE} {qualification_id}",
        qualification_id=qualification_id,
    )


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ActionResult:
    action: Action
    outcome: str  # done | already_done | failed
    detail: str = ""


@dataclass(frozen=True)
class ExecutionSummary:
    endpoint: str
    ledger_path: str
    results: tuple[ActionResult, ...]
    calls: int  # API calls made (reads included)
    throttled: int
    elapsed: float
    interrupted: bool = False  # Ctrl-C stopped the run; what is not done is listed as not attempted

    def count(self, outcome: str, kind: str | None = None) -> int:
        return sum(1 for r in self.results if r.outcome == outcome and (kind is None or r.action.kind == kind))

    @property
    def failures(self) -> list[ActionResult]:
        return [r for r in self.results if r.outcome == "failed"]

    @property
    def complete(self) -> bool:
        return not self.failures

    def to_json(self) -> dict:
        kinds = sorted({r.action.kind for r in self.results}, key=KIND_ORDER.index)
        return {
            "endpoint": self.endpoint,
            "ledger": self.ledger_path,
            "complete": self.complete,
            "done": self.count("done"),
            "already_done": self.count("already_done"),
            "failed": self.count("failed"),
            "by_kind": {
                k: {o: self.count(o, k) for o in ("done", "already_done", "failed")} for k in kinds
            },
            "bonuses_paid": format_amount(
                sum((Decimal(r.action.amount) for r in self.results if r.action.kind == "bonus" and r.outcome == "done"), Decimal("0.00"))
            ),
            "failures": [
                {"kind": r.action.kind, "assignment_id": r.action.assignment_id, "worker_id": r.action.worker_id,
                 "amount": r.action.amount, "reason": r.detail}
                for r in self.failures
            ],
            "calls": self.calls,
            "throttled": self.throttled,
            "seconds": round(self.elapsed, 3),
            "interrupted": self.interrupted,
        }


# ---------------------------------------------------------------- progress


class Progress:
    """A one-line progress display on stderr (redrawn in place on a terminal, a few lines otherwise)."""

    def __init__(self, total: int, *, enabled: bool = True, stream=None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.requested = enabled
        self.enabled = enabled and total > 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = total
        self.finished = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._next_pct = 25

    def add_total(self, n: int) -> None:
        with self._lock:
            self.total += n
            self.enabled = self.requested and self.total > 0

    def step(self, failed: bool) -> None:
        with self._lock:
            self.finished += 1
            self.failed += int(failed)
            if not self.enabled:
                return
            now = time.monotonic()
            if self.tty:
                if now - self._last_draw >= 0.1 or self.finished == self.total:
                    self._last_draw = now
                    self.stream.write("\r" + self._line(now).ljust(60))
                    self.stream.flush()
            else:
                pct = 100 * self.finished // max(1, self.total)
                # Quick runs (everything already done) need no progress lines in a log.
                if pct >= self._next_pct and now - self._start >= 1.0:
                    while self._next_pct <= pct:
                        self._next_pct += 25
                    self.stream.write(self._line(now) + "\n")
                    self.stream.flush()

    def _line(self, now: float) -> str:
        rate = self.finished / max(1e-6, now - self._start)
        failed = f", {self.failed} failed" if self.failed else ""
        return f"paying: {self.finished}/{self.total} actions{failed} ({rate:.1f}/s)"

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------- the engine


class Executor:
    """Runs chains of actions against a platform, journaling each in the ledger."""

    def __init__(
        self,
        platform: Platform,
        ledger: Ledger,
        *,
        rate: float,
        concurrency: int,
        max_attempts: int = 8,
        max_throttled: int = 40,
        backoff_base: float = 0.2,
        backoff_cap: float = 10.0,
        progress: Progress | None = None,
        seed: int | None = None,
    ) -> None:
        self.platform = platform
        self.ledger = ledger
        self.pacer = AdaptivePacer(rate)
        self.concurrency = max(1, concurrency)
        self.max_attempts = max_attempts
        self.max_throttled = max_throttled
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.progress = progress
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self.calls = 0
        self.stop = threading.Event()
        self.interrupted = False  # set when Ctrl-C stopped the run

    # -------------------------------------------------------- calling with pacing and retries

    def _sleep(self, attempt: int, base: float) -> None:
        from .platforms.mturk import CallFailed

        with self._rng_lock:
            delay = backoff_delay(attempt, base=base, cap=self.backoff_cap, rng=self._rng)
        # Interruptible, so Ctrl-C does not wait out every thread's backoff.
        if self.stop.wait(delay):
            raise CallFailed("interrupted", "not finished: the run was interrupted")

    def _call(self, fn: Callable[[], object], *, before: Callable[[], None] | None = None):
        """Call `fn` paced, retrying throttling and transient failures. `before` runs once, before
        the first attempt (the ledger intent: it stays on record until the outcome replaces it).
        Raises CallFailed for a refusal or when retries are exhausted; the exception's `sent`
        attribute tells whether an attempt may have reached the service."""
        from .platforms.mturk import CallFailed

        transient = throttled = 0
        sent = False
        if before is not None:
            before()
        while True:
            self.pacer.acquire()
            with self._stats_lock:
                self.calls += 1
            try:
                result = fn()
            except CallFailed as err:
                if err.kind == "throttled":
                    self.pacer.on_throttle()
                    throttled += 1
                    if throttled >= self.max_throttled:
                        err.sent = sent  # type: ignore[attr-defined]
                        raise
                    self._sleep(min(throttled, 6), max(0.02, 1.0 / self.pacer.rate))
                    continue
                if err.kind == "transient":
                    sent = True
                    transient += 1
                    if transient >= self.max_attempts:
                        err.sent = sent  # type: ignore[attr-defined]
                        raise
                    self._sleep(transient - 1, self.backoff_base)
                    continue
                err.sent = sent  # type: ignore[attr-defined]
                raise
            self.pacer.on_success()
            return result

    # -------------------------------------------------------- one action

    def _finish(self, action: Action, outcome: str, detail: str = "") -> ActionResult:
        self.ledger.record_outcome(action.key, outcome, detail, **action.ledger_fields())
        if self.progress is not None:
            self.progress.step(outcome == "failed")
        return ActionResult(action, outcome, detail)

    def perform(self, action: Action, *, needs_approved: bool = False) -> ActionResult:
        from .platforms.mturk import CallFailed

        entry = self.ledger.get(action.key)
        if entry is not None and entry.state in FINISHED:
            if self.progress is not None:
                self.progress.step(False)
            return ActionResult(action, "already_done", f"finished earlier ({entry.state.replace('_', ' ')}, {entry.updated_at})")
        # An intent (or a failure) on record means an earlier run's call may have taken effect.
        attempted_before = entry is not None
        intent = lambda: self.ledger.record_intent(action.key, **action.ledger_fields())  # noqa: E731

        try:
            if action.kind in ("approve", "reject"):
                return self._approve_or_reject(action, intent, attempted_before)
            if action.kind == "bonus":
                return self._bonus(action, intent, attempted_before, needs_approved)
            if action.kind == "qualify":
                self._call(lambda: self.platform.grant_qualification(action.qualification_id, action.worker_id), before=intent)
                return self._finish(action, "done")
            raise ValueError(f"unknown action kind {action.kind!r}")
        except CallFailed as err:
            if err.kind in ("throttled", "transient"):
                return self._finish(action, "failed", f"gave up after repeated errors ({err.message}); re-run to retry")
            return self._finish(action, "failed", err.message)  # a refusal, or "interrupted"

    def _bonus(self, action: Action, intent: Callable[[], None], attempted_before: bool, needs_approved: bool) -> ActionResult:
        from .platforms.mturk import CallFailed

        if needs_approved:
            status = self._call(lambda: self.platform.assignment_status(action.assignment_id))
            if status != "Approved":
                return self._finish(action, "failed", f"not paid: the assignment is {status or 'of unknown status'}, not Approved")
        # MTurk forgets tokens after 24 hours, and another ledger may have paid this: ask MTurk what this
        # assignment has already received (by AssignmentId: never by the plan's HIT column).
        paid = self._call(lambda: self.platform.bonus_payments_for_assignment(action.assignment_id))
        if any(action.is_own_payment(p) for p in paid):
            how = "an earlier run that stopped before recording it" if attempted_before else "an earlier run"
            return self._finish(action, "already_done", f"paid by {how} (found in ListBonusPayments)")
        if paid:
            other = ", ".join(f"${p.amount}" for p in paid)
            return self._finish(
                action,
                "failed",
                f"conflict: this assignment already received a bonus of {other}, not the plan's ${action.amount}; "
                "not paid - pay the difference by hand or remove the bonus from the plan",
            )
        try:
            self._call(
                lambda: self.platform.send_bonus(
                    worker_id=action.worker_id,
                    assignment_id=action.assignment_id,
                    amount=action.amount,
                    reason=action.bonus_reason,
                    token=action.token,
                ),
                before=intent,
            )
        except CallFailed as err:
            if err.kind == "token_used":
                if getattr(err, "sent", False):  # this run's own earlier attempt went through
                    return self._finish(action, "done", "paid by this run's earlier attempt (token already processed)")
                return self._finish(action, "already_done", "already paid by another run (token already processed)")
            raise
        return self._finish(action, "done")

    def _approve_or_reject(self, action: Action, intent: Callable[[], None], attempted_before: bool) -> ActionResult:
        from .platforms.mturk import CallFailed

        target = "Approved" if action.kind == "approve" else "Rejected"
        try:
            if action.kind == "approve":
                self._call(lambda: self.platform.approve(action.assignment_id, action.feedback), before=intent)
            else:
                self._call(lambda: self.platform.reject(action.assignment_id, action.feedback), before=intent)
            return self._finish(action, "done")
        except CallFailed as err:
            if err.kind != "request" or not err.wrong_status:
                raise
            sent_now = getattr(err, "sent", False)
        # The service refused because the assignment is no longer Submitted: find out what it is.
        status = self._call(lambda: self.platform.assignment_status(action.assignment_id))
        if status == target:
            if sent_now:
                return self._finish(action, "done", f"{target.lower()} by this run's earlier attempt")
            if attempted_before:
                return self._finish(action, "already_done", f"{target.lower()} by an earlier run")
            return self._finish(action, "already_done", f"was already {target}")
        return self._finish(action, "failed", f"the assignment is {status or 'in an unknown state'}, so it cannot be {target.lower()}")

    # -------------------------------------------------------- rows no batch file vouched for

    def verify_unchecked(self, chains: Sequence[Chain], file_checked: frozenset[str]) -> None:
        """GetAssignment for every row with unfinished work whose HIT and worker no batch file checked
        (rows listed through the API). A plan row that names another HIT or worker than MTurk does is
        refused before anything is paid: sorting one column in a spreadsheet must never redirect money."""
        from .platforms.mturk import CallFailed

        keys = [a.key for c in chains for a in c.actions]
        entries = self.ledger.get_many(keys)
        todo = [
            c for c in chains
            if c.row.assignment_id not in file_checked
            and any(not (a.key in entries and entries[a.key].finished) for a in c.actions)
        ]
        wrong: list[str] = []
        for c in todo:
            row = c.row
            try:
                status, hit, worker = self._call(lambda aid=row.assignment_id: self.platform.assignment_info(aid))
            except CallFailed as err:
                raise ReconcileError(
                    f"could not check assignment {row.assignment_id} with MTurk ({err.message}); nothing was paid.",
                    hint="Check the endpoint (sandbox and production are separate) and re-run the same command.",
                ) from None
            if (hit and row.hit_id and hit != row.hit_id) or (worker and worker != row.worker_id):
                wrong.append(f"{row.source or row.assignment_id}: the plan says HIT {row.hit_id or '?'} / worker "
                             f"{row.worker_id or '?'}, MTurk says HIT {hit} / worker {worker}")
        if wrong:
            shown = "; ".join(wrong[:5]) + (f"; and {len(wrong) - 5} more" if len(wrong) > 5 else "")
            raise RefusedError(
                f"{len(wrong)} plan row(s) do not match their assignment on MTurk ({shown}); nothing was paid.",
                hint="Re-run `reconcile match` to write a fresh plan (were columns sorted separately in a spreadsheet?).",
            )

    # -------------------------------------------------------- the run

    def _run_chain(self, chain: Chain) -> list[ActionResult]:
        results: list[ActionResult] = []
        blocked: str | None = None
        for action in chain.actions:
            if self.stop.is_set():
                results.append(ActionResult(action, "failed", "not attempted: the run was interrupted"))
                continue
            if blocked is not None:
                # Bonuses wait for their approval (an unapproved assignment must not be bonused).
                r = ActionResult(action, "failed", f"not attempted: {blocked}")
                if self.progress is not None:
                    self.progress.step(True)
                results.append(r)
                continue
            r = self.perform(action, needs_approved=(action.kind == "bonus" and chain.bonus_needs_approved_check))
            results.append(r)
            if action.kind in ("approve", "reject") and r.outcome == "failed":
                blocked = f"the {action.kind} failed ({r.detail})"
        return results

    def _run_pool(self, work: Sequence, fn: Callable, actions_of: Callable[[object], Sequence[Action]]) -> list[ActionResult]:
        """Run `fn` over `work` on the pool. Ctrl-C stops new calls, lets calls in flight finish and be
        journaled, and returns what was done plus "not attempted" results for the rest."""
        out: list[ActionResult] = []
        if not work:
            return out
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(work)), thread_name_prefix="reconcile-pay")
        futures = {pool.submit(fn, w): w for w in work}
        collected: set = set()
        try:
            for fut in as_completed(futures):
                collected.add(fut)
                res = fut.result()
                out.extend(res if isinstance(res, list) else [res])
        except KeyboardInterrupt:
            self.stop.set()
            self.interrupted = True
            pool.shutdown(wait=True, cancel_futures=True)
            for fut, w in futures.items():
                if fut in collected:
                    continue
                if fut.cancelled() or fut.exception() is not None:
                    out.extend(ActionResult(a, "failed", "not attempted: the run was interrupted") for a in actions_of(w))
                else:
                    res = fut.result()
                    out.extend(res if isinstance(res, list) else [res])
            return out
        except BaseException:
            self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return out

    def run(self, chains: Sequence[Chain], *, grant_qualification: str | None = None, endpoint: str = "") -> list[ActionResult]:
        results = self._run_pool(chains, self._run_chain, lambda c: c.actions)
        if grant_qualification and not self.stop.is_set():
            approved_workers = sorted(
                {r.action.worker_id for r in results if r.action.kind == "approve" and r.outcome in FINISHED}
            )
            quals = [qualification_action(endpoint, grant_qualification, w) for w in approved_workers]
            if self.progress is not None:
                self.progress.add_total(len(quals))
            results += self._run_pool(quals, self.perform, lambda a: [a])
        return results


# ---------------------------------------------------------------- the library call


def remaining_cost(checked: CheckedPlan, chains: Sequence[Chain], ledger: Ledger) -> Decimal:
    """What the unfinished part of the plan still costs (rewards, bonuses, fees), per fees.cost_summary."""
    from .fees import cost_summary

    keys = [a.key for c in chains for a in c.actions]
    entries = ledger.get_many(keys)

    def finished(a: Action) -> bool:
        return a.key in entries and entries[a.key].state in FINISHED

    all_actions = [a for c in chains for a in c.actions]
    if not any(finished(a) for a in all_actions):
        return checked.total
    rows: list[PlanRow] = []
    for c in chains:
        row = c.row
        for a in c.actions:
            if a.kind == "approve" and finished(a):
                row = replace(row, decision="skip")
            if a.kind == "bonus" and finished(a):
                row = replace(row, bonus=None)
        rows.append(row)
    return cost_summary(rows).total


def execute_plan(
    checked: CheckedPlan,
    *,
    platform: Platform,
    endpoint_url: str,
    ledger_path: str | Path | None = None,
    concurrency: int = 4,
    rate: float = 3.0,
    grant_qualification: str | None = None,
    progress: bool = True,
    confirm: Callable[[Decimal, Decimal], None] | None = None,
    seed: int | None = None,
) -> ExecutionSummary:
    """Carry out a checked plan: one payout per account at a time, rows no batch file vouched for
    checked with MTurk, the balance checked (refuse when short, before any mutating call), an optional
    confirmation callback (given remaining cost and balance), then the run."""
    path = Path(ledger_path) if ledger_path else default_ledger_path(checked.path)
    chains = plan_actions(checked.rows, endpoint_url)
    start = time.monotonic()
    account_lock = hold_account_lock(endpoint_identity(endpoint_url), platform.account_identity(), what="this MTurk account")
    try:
        with Ledger.open(path) as ledger:
            return _execute(checked, chains, ledger, platform, endpoint_url, path, start,
                            concurrency=concurrency, rate=rate, grant_qualification=grant_qualification,
                            progress=progress, confirm=confirm, seed=seed)
    finally:
        account_lock.release()


def _ledger_failed(path: Path, exc: sqlite3.Error) -> ReconcileError:
    from .ledger import is_disk_full

    text = str(exc)
    if is_disk_full(exc):
        return ReconcileError(
            f"{path}: the disk is full, so the ledger could not be written; the run stopped.",
            hint="Free some disk space, then re-run the same command: it checks MTurk before repeating anything.",
        )
    return ReconcileError(
        f"{path}: the ledger could not be written ({text}); the run stopped.",
        hint="Fix the cause, then re-run the same command: it checks MTurk before repeating anything.",
    )


def _execute(checked, chains, ledger, platform, endpoint_url, path, start, *, concurrency, rate, grant_qualification,
             progress, confirm, seed) -> ExecutionSummary:
    from .platforms.mturk import CallFailed

    ledger.lock_for_run()
    n_actions = sum(len(c.actions) for c in chains)
    prog = Progress(n_actions, enabled=progress)
    ex = Executor(platform, ledger, rate=rate, concurrency=concurrency, progress=prog, seed=seed)
    if grant_qualification:
        try:
            ex._call(lambda: platform.qualification_type_name(grant_qualification))
        except CallFailed as err:
            raise RefusedError(
                f"--grant-qualification {grant_qualification}: MTurk cannot find that qualification type ({err.message}); nothing was paid.",
                hint="Create it first (MTurk requester website or CreateQualificationType) and pass its ID.",
            ) from None
    ex.verify_unchecked(chains, checked.file_checked)
    cost = remaining_cost(checked, chains, ledger)
    balance = None
    if cost > 0:
        try:
            balance = ex._call(platform.account_balance)
        except CallFailed as err:
            raise ReconcileError(
                f"could not read the MTurk account balance ({err.message}); nothing was paid.",
                hint="Check the endpoint and credentials, then re-run the same command.",
            ) from None
    if balance is not None and balance < cost:
        raise RefusedError(
            f"the MTurk account balance ({format_usd(balance)}) is less than what this plan still costs "
            f"({format_usd(cost)}); nothing was paid.",
            hint="Add funds to the requester account, then re-run the same command.",
        )
    if confirm is not None:
        confirm(cost, balance if balance is not None else Decimal("0.00"))
    try:
        run_id = ledger.start_run(plan_path=str(checked.path), plan_digest=checked.digest, endpoint=endpoint_url)
        try:
            results = ex.run(chains, grant_qualification=grant_qualification, endpoint=endpoint_url)
        finally:
            prog.close()
        summary = ExecutionSummary(
            endpoint=endpoint_identity(endpoint_url),
            ledger_path=str(path),
            results=tuple(sorted(results, key=lambda r: (KIND_ORDER.index(r.action.kind), r.action.assignment_id, r.action.worker_id))),
            calls=ex.calls,
            throttled=ex.pacer.throttled,
            elapsed=time.monotonic() - start,
            interrupted=ex.interrupted,
        )
        ledger.finish_run(run_id, json.dumps({k: v for k, v in summary.to_json().items() if k != "failures"}))
    except sqlite3.Error as exc:
        # Without a journal we must not go on paying: stop, and let the re-run reconcile with MTurk.
        raise _ledger_failed(path, exc) from None
    return summary


# ---------------------------------------------------------------- the command line's entry


def _ask(question: str) -> bool:
    sys.stderr.write(question)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def format_summary(summary: ExecutionSummary, plan_path: str) -> str:
    head = "Interrupted (Ctrl-C) while executing" if summary.interrupted else "Executed"
    lines = [f"{head} {plan_path} against {summary.endpoint}:"]
    kinds = sorted({r.action.kind for r in summary.results}, key=KIND_ORDER.index)
    for k in kinds:
        lines.append(
            f"  {k:<8} {summary.count('done', k):>5} done, {summary.count('already_done', k):>5} already done, "
            f"{summary.count('failed', k):>5} failed"
        )
    if not summary.results:
        lines.append("  nothing to do: the plan has no approvals, rejections or bonuses.")
    paid = summary.to_json()["bonuses_paid"]
    lines.append(f"  bonuses paid in this run: ${paid}; API calls: {summary.calls} ({summary.throttled} throttled)")
    failures = [r for r in summary.failures if not (summary.interrupted and r.detail.startswith("not attempted: the run was interrupted"))]
    skipped = len(summary.failures) - len(failures)
    if skipped:
        lines.append(f"Not attempted because of the interruption: {skipped} action{'s' if skipped != 1 else ''}.")
    if failures:
        lines.append(f"Failed ({len(failures)}):")
        for r in failures[:50]:
            lines.append(f"  {r.action.describe()}: {r.detail}")
        if len(failures) > 50:
            lines.append(f"  ... and {len(failures) - 50} more (see `reconcile ledger {plan_path}`)")
    elif not skipped:
        lines.append("Everything in the plan is done.")
    lines.append(f"Ledger: {summary.ledger_path}")
    return "\n".join(lines)


def _check_limits(checked: CheckedPlan, max_bonus: str | None, budget: str | None) -> None:
    # The dry run (plan_check) already enforced these on the same plan; refusing again here keeps
    # the money layer safe for any caller of the library, with the same parsing of the limits.
    from .plan_check import parse_limit

    cap = parse_limit(max_bonus, "--max-bonus")
    if cap is not None:
        over = [r for r in checked.rows if r.bonus is not None and r.bonus > cap]
        if over:
            raise RefusedError(
                f"{checked.path}: {len(over)} bonus{'es' if len(over) > 1 else ''} above --max-bonus {format_usd(cap)} "
                f"(e.g. {format_usd(over[0].bonus)} for {over[0].assignment_id}); nothing was paid."
            )
    cap = parse_limit(budget, "--budget")
    if cap is not None and checked.total > cap:
        raise RefusedError(
            f"{checked.path}: the plan costs {format_usd(checked.total)}, above --budget {format_usd(cap)}; nothing was paid."
        )


def execute_from_cli(
    checked: CheckedPlan,
    *,
    endpoint_url: str | None,
    sandbox: bool,
    production: bool,
    yes: bool,
    ledger_path: Path | None,
    concurrency: int,
    rate: float,
    grant_qualification: str | None,
    max_bonus: str | None,
    budget: str | None,
    json_output: bool,
) -> None:
    """`reconcile pay PLAN --execute ...`: checks, confirmations, the run, the summary, the exit code."""
    endpoint: MTurkEndpoint = resolve_mturk_endpoint(endpoint_url, sandbox, production)
    _check_limits(checked, max_bonus, budget)
    # Asked before anything is sent anywhere (not even a read): production is not touched unconfirmed.
    reasons = []
    if endpoint.is_production:
        reasons.append("this pays REAL money on production MTurk")
    if not _was_shown(checked):
        reasons.append("the plan changed since its last dry run (or was never shown)")
    if reasons and not yes:
        n_approve = sum(1 for r in checked.rows if r.decision == "approve")
        n_reject = sum(1 for r in checked.rows if r.decision == "reject")
        n_bonus = sum(1 for r in checked.rows if r.bonus is not None and r.bonus > 0)
        sys.stderr.write(
            f"About to execute {checked.path} on {endpoint.name} MTurk ({endpoint.shown}):\n"
            f"  {n_approve} approvals, {n_reject} rejections, {n_bonus} bonuses\n"
            f"  rewards {format_usd(checked.rewards)}, bonuses {format_usd(checked.bonuses)}, fees {format_usd(checked.fees)}, "
            f"total {format_usd(checked.total)} (anything already done is skipped)\n"
            f"  Note: {'; '.join(reasons)}.\n"
        )
        if not _ask("Proceed? Type 'yes' to continue: "):
            raise RefusedError(
                "not confirmed; nothing was sent to MTurk.",
                hint=f"Review the plan with `reconcile pay {checked.path}`, then run the same --execute command again (or add --yes).",
            )

    from .platforms.mturk import MTurkPlatform

    platform = MTurkPlatform(endpoint.url, max_pool_connections=concurrency + 2)
    try:
        summary = execute_plan(
            checked,
            platform=platform,
            endpoint_url=endpoint.url,
            ledger_path=ledger_path,
            concurrency=concurrency,
            rate=rate,
            grant_qualification=grant_qualification,
            progress=True,
        )
    except KeyboardInterrupt:
        # Before the payout proper (checks, balance): no approval, rejection or bonus was sent.
        # (Once it runs, Ctrl-C is handled inside and a summary of what was done is printed.)
        raise ExecutionInterrupted(
            "interrupted before the payout started; nothing was approved, rejected or paid.",
            hint="Run the same command again when ready.",
        ) from None
    if json_output:
        sys.stdout.write(json.dumps(summary.to_json(), indent=1) + "\n")
    else:
        sys.stdout.write(format_summary(summary, str(checked.path)) + "\n")
    sys.stdout.flush()
    if summary.interrupted:
        done = summary.count("done")
        raise ExecutionInterrupted(
            f"interrupted: {done} action{'s' if done != 1 else ''} done in this run (listed above), the rest not attempted.",
            hint="Re-run the same command to finish: finished actions are never repeated.",
        )
    if not summary.complete:
        n = len(summary.failures)
        raise ExecutionIncomplete(
            f"{n} action{'s' if n != 1 else ''} failed (listed above); everything else is done.",
            hint="Fix what the reasons name if needed, then re-run the same command: finished actions are never repeated.",
        )


def _was_shown(checked: CheckedPlan) -> bool:
    from .planfile import was_shown

    return was_shown(checked.path, checked.digest)


# ---------------------------------------------------------------- `reconcile ledger`


def _plan_rows_loosely(plan_path: Path) -> tuple[list[PlanRow], list[str]]:
    """The plan's rows for comparing with the ledger (not a validation: `reconcile pay` does that)."""
    from .planfile import read_plan_rows

    rows: list[PlanRow] = []
    problems: list[str] = []
    for raw in read_plan_rows(plan_path):
        c = raw.cells
        bonus = None
        if c.get("bonus", "").strip():
            try:
                bonus = parse_amount(c["bonus"])
            except AmountError:
                problems.append(f"{plan_path}:{raw.line}: bonus {c['bonus']!r} is not an amount (ignored here)")
        rows.append(PlanRow(
            assignment_id=c.get("assignment_id", "").strip(), worker_id=c.get("worker_id", "").strip(),
            hit_id=c.get("hit_id", "").strip(), decision=c.get("decision", "").strip().lower(), reason="", detail="",
            code="", response_id="", bonus=bonus, feedback=c.get("feedback", ""), source=c.get("source", ""),
        ))
    return rows, problems


def ledger_status(ledger_path: str | Path | None = None, plan_path: str | Path | None = None) -> dict:
    """What a ledger says was done, when, and what is pending - as a JSON-ready dict.

    With a plan: also which of its actions have no finished entry yet, per endpoint the ledger
    has run against (an endpoint is part of every key: a rehearsal is not a payment).
    """
    if ledger_path is None and plan_path is None and Path("reconcile-plan.csv").is_file():
        plan_path = Path("reconcile-plan.csv")  # `reconcile match`'s default plan name
    if ledger_path is None:
        if plan_path is None:
            raise ReconcileError("name a plan or a ledger.", hint="Run `reconcile ledger PLAN.csv` or `reconcile ledger --ledger FILE`.")
        ledger_path = default_ledger_path(plan_path)
    with Ledger.open(ledger_path, create=False) as led:
        entries = led.entries()
        runs = led.runs()
    by_kind: dict[str, dict[str, int]] = {}
    for e in entries:
        by_kind.setdefault(e.kind, {s: 0 for s in ("done", "already_done", "failed", "intent")})[e.state] += 1
    paid = sum((Decimal(e.amount) for e in entries if e.kind == "bonus" and e.state == "done"), Decimal("0.00"))
    found_paid = sum((Decimal(e.amount) for e in entries if e.kind == "bonus" and e.state == "already_done"), Decimal("0.00"))
    out: dict = {
        "ledger": str(ledger_path),
        "runs": [
            {"started": r.started_at, "finished": r.finished_at or "(interrupted)", "plan": r.plan_path, "endpoint": r.endpoint,
             "summary": json.loads(r.summary) if r.summary else None}
            for r in runs
        ],
        "by_kind": dict(sorted(by_kind.items(), key=lambda kv: KIND_ORDER.index(kv[0]) if kv[0] in KIND_ORDER else 99)),
        "bonuses_paid": format_amount(paid),
        "bonuses_found_paid": format_amount(found_paid),
        "in_flight": [_entry_json(e) for e in entries if e.state == "intent"],
        "failed": [_entry_json(e) for e in entries if e.state == "failed"],
        "actions": [_entry_json(e) for e in entries],
    }
    if plan_path is not None:
        rows, problems = _plan_rows_loosely(Path(plan_path))
        endpoints = sorted({r.endpoint for r in runs} | {e.endpoint for e in entries})
        finished = {e.key for e in entries if e.finished}
        not_done = {}
        for ep in endpoints:
            acts = [a for c in plan_actions(rows, ep) for a in c.actions]
            not_done[ep] = [
                {"kind": a.kind, "assignment_id": a.assignment_id, "worker_id": a.worker_id, "amount": a.amount}
                for a in acts if a.key not in finished
            ]
        out["plan"] = str(plan_path)
        out["plan_not_done"] = not_done
        out["plan_problems"] = problems
    return out


def _entry_json(e) -> dict:
    return {"kind": e.kind, "assignment_id": e.submission_id, "worker_id": e.participant_id, "hit_id": e.group_id,
            "amount": e.amount, "purpose": e.purpose, "endpoint": e.endpoint, "state": e.state,
            "detail": e.detail, "attempts": e.attempts, "first": e.first_at, "last": e.updated_at}


def format_ledger_status(status: dict, *, show_all: bool = False) -> str:
    lines = [f"Ledger {status['ledger']}"]
    if not status["runs"]:
        lines.append("  no runs recorded yet.")
    for r in status["runs"][-10:]:
        s = r["summary"] or {}
        result = (f"{s.get('done', 0)} done, {s.get('already_done', 0)} already done, {s.get('failed', 0)} failed"
                  if s else "interrupted before its summary")
        lines.append(f"  run {r['started']} -> {r['finished']} on {r['endpoint']}: {result}")
    if len(status["runs"]) > 10:
        lines.append(f"  ({len(status['runs']) - 10} earlier runs not shown)")
    lines.append("Actions:")
    if not status["by_kind"]:
        lines.append("  none recorded.")
    for kind, c in status["by_kind"].items():
        lines.append(f"  {kind:<8} {c['done']:>5} done, {c['already_done']:>5} already done, {c['failed']:>5} failed, {c['intent']:>5} in flight")
    lines.append(f"  bonuses paid by runs of this ledger: ${status['bonuses_paid']}"
                 + (f"; found already paid (earlier runs, other ledgers): ${status['bonuses_found_paid']}"
                    if status.get("bonuses_found_paid", "0.00") != "0.00" else ""))
    if status["in_flight"]:
        lines.append(f"In flight when a run stopped ({len(status['in_flight'])}; the next run checks MTurk before retrying):")
        lines += [f"  {e['kind']} {e['assignment_id'] or e['worker_id']} {('$' + e['amount']) if e['kind'] == 'bonus' else ''} since {e['last']}".rstrip() for e in status["in_flight"][:50]]
    if status["failed"]:
        lines.append(f"Failed ({len(status['failed'])}):")
        lines += [f"  {e['kind']} {e['assignment_id'] or e['worker_id']}: {e['detail']} ({e['last']})" for e in status["failed"][:50]]
    if "plan" in status:
        for ep, items in status["plan_not_done"].items():
            if items:
                lines.append(f"Not done yet from {status['plan']} on {ep}: {len(items)} actions")
                lines += [f"  {i['kind']} {i['assignment_id']} {('$' + i['amount']) if i['kind'] == 'bonus' else ''}".rstrip() for i in items[:20]]
                if len(items) > 20:
                    lines.append(f"  ... and {len(items) - 20} more")
            else:
                lines.append(f"Everything in {status['plan']} is done on {ep}.")
        if not status["plan_not_done"]:
            lines.append(f"Nothing from {status['plan']} has been executed yet.")
        lines += [f"  note: {p}" for p in status["plan_problems"]]
    if show_all and status["actions"]:
        lines.append("All actions (first attempt, last change):")
        for e in status["actions"]:
            amount = f" ${e['amount']}" if e["kind"] == "bonus" else ""
            lines.append(f"  {e['first']}  {e['last']}  {e['state']:<12} {e['kind']:<8} {e['assignment_id'] or '-'} {e['worker_id']}{amount}")
    if status["in_flight"] or status["failed"] or any(status.get("plan_not_done", {}).values()):
        lines.append("To finish: re-run the same `reconcile pay ... --execute` command; finished actions are never repeated.")
    return "\n".join(lines)
