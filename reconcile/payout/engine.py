"""The payout engine: carries out a plan's actions on a platform exactly once, even across crashes.

It knows no platform: it reads the payer's Capabilities. Every call is paced by an adaptive token
bucket (payout.pacing), retried when that is safe, and journaled in the ledger as intent before and
outcome after (payout.ledger), so a re-run skips what is finished and finds out what happened to
anything that was in flight.

In three phases, each over the actions not finished in the ledger:

1. Decisions. Approvals in calls of `approve_batch` IDs (re-read until they settle where approving
   is asynchronous); rejections one by one. A platform refusing because the submission is no longer
   pending (a `conflict`) is asked what it is now: the wanted state counts as done.
2. Bonuses, only for submissions whose approval is finished (or, on a skip row, that the platform
   shows approved). Each is first looked up among the payments the platform shows for its
   submission: the plan's own payment counts as already done, any other payment is a conflict for a
   person. Then two phases per group of `bonus_batch`: prepare (the reference to pay under: a derived
   token, or a set-up call that moves no money) journaled as `prepared`, then pay with the intent
   committed first. When a pay call's outcome is unknown and the platform says paying is not safe to
   retry, it is never sent again: the bonuses become `in_doubt`, settled later by what the platform
   shows as paid, or by a person (`reconcile ledger --resolve`).
3. Qualifications for the approved participants.

One failing action never stops the others. Ctrl-C stops new calls, lets calls in flight finish and
be journaled, and returns what was done.
"""

from __future__ import annotations

import random
import threading
import time
from functools import partial
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable, Iterable, Sequence, TypeVar

from ..errors import ReconcileError, RefusedError
from ..platform import BonusItem, CallFailed, Payer, State, SubmissionStatus
from .actions import Action, ActionResult, Chain, qualification_action
from .ledger import FINISHED, RESOLVED_UNPAID, Ledger, LedgerEntry
from .pacing import DEFAULT_CEILING, START_RATE, AdaptivePacer, backoff_delay

T = TypeVar("T")
W = TypeVar("W")

# How long to wait for asynchronous approvals to show (re-reading states with backoff).
SETTLE_SECONDS = 60.0


class Engine:
    """Runs chains of actions against a payer, journaling each in the ledger."""

    def __init__(
        self,
        payer: Payer,
        ledger: Ledger,
        *,
        rate: float | None,
        concurrency: int,
        max_attempts: int = 8,
        max_throttled: int = 40,
        backoff_base: float = 0.2,
        backoff_cap: float = 10.0,
        progress: Callable[[ActionResult], None] | None = None,
        seed: int | None = None,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self.payer = payer
        self.caps = payer.capabilities
        self.ledger = ledger
        # No --rate: find the service's limit from a low start (slow start, then AIMD). A --rate is the
        # user's knowledge of the limit: start there, never go above it, back off when throttled.
        if rate is None:
            self.pacer = AdaptivePacer(DEFAULT_CEILING, start_rate=START_RATE)
        else:
            self.pacer = AdaptivePacer(rate)
        self.concurrency = max(1, concurrency)
        self.max_attempts = max_attempts
        self.max_throttled = max_throttled
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.progress = progress
        self.settle_seconds = settle_seconds
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self.calls = 0
        self.stop = threading.Event()
        self.interrupted = False  # set when Ctrl-C stopped the run

    # -------------------------------------------------------- calling with pacing and retries

    def _sleep(self, attempt: int, base: float) -> None:
        with self._rng_lock:
            delay = backoff_delay(attempt, base=base, cap=self.backoff_cap, rng=self._rng)
        # Interruptible, so Ctrl-C does not wait out every thread's backoff.
        if self.stop.wait(delay):
            raise CallFailed("interrupted", "not finished: the run was interrupted")

    def call(self, fn: Callable[[], T], *, before: Callable[[], object] | None = None, retry_sent: bool = True) -> T:
        """Call `fn` paced, retrying throttling, and transient failures when `retry_sent` (a request
        that may have been sent is repeated only when the caller says repeating it is safe). `before`
        runs once, before the first attempt (the ledger intent). Raises CallFailed when retries are
        exhausted or not allowed; its `sent` tells whether an attempt may have reached the platform."""
        transient = throttled = 0
        sent = False
        if before is not None:
            before()
        while True:
            if self.stop.is_set():
                raise CallFailed("interrupted", "not finished: the run was interrupted", sent=sent)
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
                        err.sent = sent or err.sent
                        raise
                    self._sleep(min(throttled, 6), max(0.02, 1.0 / self.pacer.rate))
                    continue
                if err.kind == "transient":
                    sent = True
                    transient += 1
                    if not retry_sent or transient >= self.max_attempts:
                        err.sent = True
                        raise
                    self._sleep(transient - 1, self.backoff_base)
                    continue
                err.sent = sent or err.sent
                raise
            self.pacer.on_success()
            return result

    # -------------------------------------------------------- journaling

    def _finish(self, action: Action, outcome: str, detail: str = "", reference: str | None = None) -> ActionResult:
        self.ledger.record_outcome(action.key, outcome, detail, reference=reference, **action.ledger_fields())
        result = ActionResult(action, outcome, detail)
        if self.progress is not None:
            self.progress(result)
        return result

    def _skip(self, action: Action, detail: str) -> ActionResult:
        """A result that changes nothing in the ledger (not attempted, or finished earlier)."""
        result = ActionResult(action, "failed" if detail.startswith("not attempted") else "already_done", detail)
        if self.progress is not None:
            self.progress(result)
        return result

    @staticmethod
    def _failure(action: Action, err: CallFailed) -> str:
        if err.kind in ("throttled", "transient"):
            return f"gave up after repeated errors ({err.message}); re-run to retry"
        return err.message

    # -------------------------------------------------------- phase 1: decisions

    def _decide_one(self, action: Action, entry: LedgerEntry | None) -> ActionResult:
        target = State.APPROVED if action.kind == "approve" else State.REJECTED
        attempted_before = entry is not None
        intent = lambda: self.ledger.record_intent(action.key, **action.ledger_fields())  # noqa: E731
        try:
            try:
                if action.kind == "approve":
                    self.call(lambda: self.payer.approve([action.submission_id], action.feedback), before=intent)
                else:
                    self.call(lambda: self.payer.reject(action.submission_id, action.feedback, action.category), before=intent)
                return self._finish(action, "done")
            except CallFailed as err:
                if err.kind != "conflict":
                    raise
                sent_now = err.sent
            # The platform refused because the submission is no longer pending: find out what it is.
            status = self.call(lambda: self.payer.status(action.submission_id))
            verb = "approved" if action.kind == "approve" else "rejected"
            if status.state == target:
                if sent_now:
                    return self._finish(action, "done", f"{verb} by this run's earlier attempt")
                if attempted_before:
                    return self._finish(action, "already_done", f"{verb} by an earlier run")
                return self._finish(action, "already_done", f"was already {status.raw}")
            return self._finish(action, "failed", f"it is {status.raw or 'in an unknown state'}, so it cannot be {verb}")
        except CallFailed as err:
            return self._finish(action, "failed", self._failure(action, err))

    def _approve_batch(self, actions: Sequence[Action]) -> list[ActionResult]:
        """Several approvals in one call, then their states re-read until they settle."""
        try:
            self.call(lambda: self.payer.approve([a.submission_id for a in actions]),
                      before=lambda: self.ledger.record_intents([(a.key, a.ledger_fields()) for a in actions]))
        except CallFailed as err:
            return [self._finish(a, "failed", self._failure(a, err)) for a in actions]
        pending = {a.submission_id: a for a in actions}
        results: list[ActionResult] = []
        deadline = time.monotonic() + self.settle_seconds
        attempt = 0
        while pending:
            for sid, status in self._read_states(list(pending)):
                a = pending[sid]
                if isinstance(status, CallFailed):
                    results.append(self._finish(a, "failed", f"could not read its state after approving ({status.message}); re-run to check"))
                    del pending[sid]
                    continue
                if status.state == State.APPROVED:
                    results.append(self._finish(a, "done"))
                    del pending[sid]
                elif status.state != State.PENDING:
                    results.append(self._finish(a, "failed", f"it is {status.raw}, so it cannot be approved"))
                    del pending[sid]
            if not pending:
                break
            if time.monotonic() >= deadline or self.stop.is_set():
                for a in pending.values():
                    results.append(self._finish(a, "failed", "the approval was accepted but has not shown yet; re-run to check"))
                break
            self._sleep(min(attempt, 4), 0.5)
            attempt += 1
        return results

    def _read_states(self, submission_ids: Sequence[str]) -> list[tuple[str, SubmissionStatus | CallFailed]]:
        """Each submission's state, read on as many threads as the payout may use (reads only, paced
        like every call). One after another, re-reading 1,000 approvals until they settled took most
        of a 1,000-submission Prolific run (bench/bench_prolific_pay.py)."""
        def read(sid: str) -> tuple[str, SubmissionStatus | CallFailed]:
            try:
                return sid, self.call(partial(self.payer.status, sid))
            except CallFailed as err:
                return sid, err

        if len(submission_ids) <= 1 or self.concurrency <= 1:
            return [read(sid) for sid in submission_ids]
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(submission_ids)), thread_name_prefix="reconcile-read")
        try:
            answers = list(pool.map(read, submission_ids))
        except BaseException:  # Ctrl-C: no more reads; what was read is not used
            self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return answers

    def _decisions(self, chains: Sequence[Chain], entries: dict[str, LedgerEntry]) -> dict[str, ActionResult]:
        todo: list[Action] = []
        done: dict[str, ActionResult] = {}
        for c in chains:
            a = c.decision
            if a is None:
                continue
            e = entries.get(a.key)
            if e is not None and e.finished:
                done[a.key] = self._skip(a, f"finished earlier ({e.state.replace('_', ' ')}, {e.updated_at})")
            else:
                todo.append(a)
        rejects = [a for a in todo if a.kind == "reject"]
        approvals = [a for a in todo if a.kind == "approve"]
        singles = rejects + (approvals if self.caps.approve_batch <= 1 else [])
        for r in self._pool(singles, lambda a: [self._decide_one(a, entries.get(a.key))], lambda a: [a]):
            done[r.action.key] = r
        if self.caps.approve_batch > 1:
            # Sequential batches: bulk calls contend for the account's wallet (Prolific's advice).
            for i in range(0, len(approvals), self.caps.approve_batch):
                if self.stop.is_set():
                    for a in approvals[i:]:
                        done[a.key] = self._skip(a, "not attempted: the run was interrupted")
                    break
                for r in self._approve_batch(approvals[i : i + self.caps.approve_batch]):
                    done[r.action.key] = r
        return done

    # -------------------------------------------------------- phase 2: bonuses

    def _bonus_item(self, action: Action) -> BonusItem:
        return BonusItem(action.submission_id, action.participant_id, action.group_id, action.decimal_amount,
                         action.token, action.bonus_reason)

    def _look_up(self, action: Action, entry: LedgerEntry | None) -> ActionResult | None:
        """What the platform shows as paid on this submission decides whether to pay: a result when the
        bonus must not be paid now (already paid, a conflict, still in doubt), None to go ahead."""
        item = self._bonus_item(action)
        try:
            paid = self.call(lambda: self.payer.paid_bonuses(action.submission_id))
        except CallFailed as err:
            return self._finish(action, "failed", f"could not read the bonuses already paid ({err.message}); not paid")
        attempted = entry is not None and entry.state in ("intent", "in_doubt")
        own = [p for p in paid if self.payer.is_own_payment(p, item)]
        if own and (self.caps.bonus_reason_shown or attempted):
            how = "an earlier run that stopped before recording it" if attempted else "an earlier run"
            return self._finish(action, "already_done", f"paid by {how} (found among the bonuses paid)")
        if attempted and not self.caps.bonus_pay_retry_safe:
            # Sent once with an unknown outcome, and not shown as paid (yet): never sent again on our own.
            return self._finish(action, "in_doubt", "a pay call was sent and its outcome is unknown; it does not show "
                                "as paid yet. Check again later (re-run) or settle it with `reconcile ledger --resolve`",
                                reference=entry.reference if entry is not None else None)
        if paid and not (entry is not None and entry.state == RESOLVED_UNPAID):
            # (A person who settled this as unpaid has looked at these payments: they are not the plan's.)
            other = ", ".join(f"{p.amount:.2f}" for p in paid)
            return self._finish(action, "failed",
                                f"conflict: this submission already shows a bonus of {other}, which is not known to be "
                                f"the plan's {action.amount}; not paid - pay the difference by hand, remove the bonus "
                                "from the plan, or settle it with `reconcile ledger --resolve`")
        return None

    def _prepared_reference(self, actions: Sequence[Action], entries: dict[str, LedgerEntry]) -> str | None:
        """A set-up an earlier run made for exactly these bonuses and never paid, to pay now; else None.

        Paying a reference pays every row set up under it, so one is reused only when it covers these
        actions and nothing else (a plan edited since, or grouped otherwise, gets a new set-up: set-ups
        move no money, and an abandoned one is never paid)."""
        refs = {entries[a.key].reference for a in actions if a.key in entries}
        if len(refs) != 1 or not all(a.key in entries and entries[a.key].state == "prepared" for a in actions):
            return None
        (ref,) = refs
        if not ref or self.ledger.keys_with_reference(ref) != {a.key for a in actions}:
            return None
        return ref

    def _pay_group(self, actions: Sequence[Action], entries: dict[str, LedgerEntry]) -> list[ActionResult]:
        """Prepare (journaled), then one pay call for the group (intent committed before it)."""
        items = [self._bonus_item(a) for a in actions]
        reference = self._prepared_reference(actions, entries)
        if reference is None:
            try:
                # A set-up the platform makes is a paced call; a reference derived here (an idempotency
                # token) calls nothing, so it takes no token: it cost MTurk runs a fifth of their rate.
                reference = (self.call(lambda: self.payer.prepare_bonuses(items)) if self.caps.bonus_prepare_calls
                             else self.payer.prepare_bonuses(items))
            except CallFailed as err:
                return [self._finish(a, "failed", f"could not set the bonus up ({err.message}); nothing was paid") for a in actions]
            if self.caps.bonus_prepare_calls:
                # The set-up's totals as the platform stated them, where the payer says (for a person reading the ledger).
                described = getattr(self.payer, "prepared_detail", None)
                self.ledger.record_prepared([(a.key, a.ledger_fields()) for a in actions], reference,
                                            described(reference) if described is not None else "")
        assert reference is not None
        # Journal a reference only where it is the platform's (a set-up's ID): a derived token is
        # derived again from the action whenever it is needed.
        kept = reference if self.caps.bonus_prepare_calls else None
        try:
            self.call(
                lambda: self.payer.pay_bonuses(reference, items),
                before=lambda: self.ledger.record_intents([(a.key, a.ledger_fields()) for a in actions], reference=kept),
                retry_sent=self.caps.bonus_pay_retry_safe,
            )
        except CallFailed as err:
            if err.kind == "duplicate":
                if err.sent:  # this run's own earlier attempt went through
                    return [self._finish(a, "done", "paid by this run's earlier attempt (token already processed)") for a in actions]
                return [self._finish(a, "already_done", "already paid by another run (token already processed)") for a in actions]
            if err.sent and not self.caps.bonus_pay_retry_safe:
                return [self._finish(a, "in_doubt", f"the pay call's outcome is unknown ({err.message}); it is never sent "
                                     "again on its own: re-run later to see whether it shows as paid, or settle it with "
                                     "`reconcile ledger --resolve`") for a in actions]
            # Refused before anything was paid: the set-up is abandoned; the next run sets up anew.
            return [self._finish(a, "failed", self._failure(a, err), "" if kept else None) for a in actions]
        return [self._finish(a, "done") for a in actions]

    def _bonuses(self, chains: Sequence[Chain], decided: dict[str, ActionResult], entries: dict[str, LedgerEntry]) -> list[ActionResult]:
        results: list[ActionResult] = []
        ready: list[tuple[Action, bool]] = []  # (bonus, needs the platform to show it approved)
        for c in chains:
            b = c.bonus
            if b is None:
                continue
            e = entries.get(b.key)
            if e is not None and e.finished:
                results.append(self._skip(b, f"finished earlier ({e.state.replace('_', ' ')}, {e.updated_at})"))
                continue
            d = c.decision
            if self.stop.is_set():
                results.append(self._skip(b, "not attempted: the run was interrupted"))
            elif d is not None and decided.get(d.key) is not None and decided[d.key].outcome not in FINISHED:
                # A bonus waits for its approval: an unapproved submission is never bonused.
                results.append(self._skip(b, f"not attempted: the {d.kind} failed ({decided[d.key].detail})"))
            else:
                ready.append((b, c.bonus_needs_approved_check))

        def look(pair: tuple[Action, bool]) -> list:
            action, needs_approved = pair
            if needs_approved:
                try:
                    status = self.call(lambda: self.payer.status(action.submission_id))
                except CallFailed as err:
                    return [self._finish(action, "failed", self._failure(action, err))]
                if status.state != State.APPROVED:
                    return [self._finish(action, "failed", f"not paid: it is {status.raw or 'of unknown state'}, not approved")]
            settled = self._look_up(action, entries.get(action.key))
            if settled is not None:
                return [settled]
            if self.caps.bonus_batch <= 1:
                return self._pay_group([action], entries)
            return [action]  # paid below, in groups

        to_group: list[Action] = []
        for r in self._pool(ready, look, lambda pair: [pair[0]]):
            if isinstance(r, Action):
                to_group.append(r)
            else:
                results.append(r)
        if to_group:
            by_group: dict[str, list[Action]] = {}
            for a in to_group:
                by_group.setdefault(a.group_id, []).append(a)
            for group in by_group.values():
                for i in range(0, len(group), self.caps.bonus_batch):
                    chunk = group[i : i + self.caps.bonus_batch]
                    if self.stop.is_set():
                        results += [self._skip(a, "not attempted: the run was interrupted") for a in chunk]
                        continue
                    results += self._pay_group(chunk, entries)
        return results

    # -------------------------------------------------------- phase 3: qualifications

    def _qualify(self, action: Action) -> list[ActionResult]:
        e = self.ledger.get(action.key)
        if e is not None and e.finished:
            return [self._skip(action, f"finished earlier ({e.state.replace('_', ' ')}, {e.updated_at})")]
        try:
            self.call(lambda: self.payer.grant(action.qualification_id, action.participant_id),
                      before=lambda: self.ledger.record_intent(action.key, **action.ledger_fields()))
        except CallFailed as err:
            return [self._finish(action, "failed", self._failure(action, err))]
        return [self._finish(action, "done")]

    # -------------------------------------------------------- the pool

    def _pool(self, work: Sequence[W], fn: Callable[[W], list], actions_of: Callable[[W], Iterable[Action]]) -> list:
        """Run `fn` over `work` on the thread pool. Ctrl-C stops new calls, lets calls in flight
        finish and be journaled, and returns what was done plus "not attempted" for the rest."""
        out: list = []
        if not work:
            return out
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(work)), thread_name_prefix="reconcile-pay")
        futures = {pool.submit(fn, w): w for w in work}
        collected: set = set()
        try:
            for fut in as_completed(futures):
                collected.add(fut)
                out.extend(fut.result())
        except KeyboardInterrupt:
            self.stop.set()
            self.interrupted = True
            pool.shutdown(wait=True, cancel_futures=True)
            for fut, w in futures.items():
                if fut in collected:
                    continue
                if fut.cancelled() or fut.exception() is not None:
                    out.extend(self._skip(a, "not attempted: the run was interrupted") for a in actions_of(w))
                else:
                    out.extend(fut.result())
            return out
        except BaseException:
            self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return out

    # -------------------------------------------------------- rows no file vouched for

    def verify_unchecked(self, chains: Sequence[Chain], vouched: frozenset[str], words) -> None:
        """Read the platform's own record of every row with unfinished work whose group and participant
        no file vouched for. A plan row naming another group or participant than the platform does is
        refused before anything is paid: sorting one column in a spreadsheet must never redirect money."""
        entries = self.ledger.get_many(a.key for c in chains for a in c.actions)
        todo = [c for c in chains if c.row.submission_id not in vouched
                and any(not (a.key in entries and entries[a.key].finished) for a in c.actions)]
        wrong: list[str] = []

        failed = threading.Event()  # after one read failed, the others are not sent (the run stops anyway)

        def read(c: Chain) -> tuple[Chain, SubmissionStatus | CallFailed | None]:
            if failed.is_set():
                return c, None
            try:
                return c, self.call(partial(self.payer.status, c.row.submission_id))
            except CallFailed as err:
                failed.set()
                return c, err

        # Reads only, paced like every call: as many at once as the payout itself may have in flight
        # (one at a time, 1,000 reads took half of a 1,000-row run; bench/bench_pay.py).
        if len(todo) > 1 and self.concurrency > 1:
            pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(todo)), thread_name_prefix="reconcile-check")
            try:
                answers = list(pool.map(read, todo))
            except BaseException:  # Ctrl-C: no more reads; the caller says nothing was paid
                self.stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
        else:
            answers = [read(c) for c in todo]
        for c, status in answers:
            row = c.row
            if isinstance(status, CallFailed):
                raise ReconcileError(
                    f"could not check {words.submission} {row.submission_id} with {words.platform} ({status.message}); nothing was paid.",
                    hint="Check the endpoint and re-run the same command.",
                )
        for c, status in answers:
            row = c.row
            if status is None or isinstance(status, CallFailed):
                continue
            if (status.group_id and row.group_id and status.group_id != row.group_id) or (
                    status.participant_id and status.participant_id != row.participant_id):
                wrong.append(f"{row.source or row.submission_id}: the plan says {words.group} {row.group_id or '?'} / "
                             f"{words.participant} {row.participant_id or '?'}, {words.platform} says {words.group} "
                             f"{status.group_id} / {words.participant} {status.participant_id}")
        if wrong:
            shown = "; ".join(wrong[:5]) + (f"; and {len(wrong) - 5} more" if len(wrong) > 5 else "")
            raise RefusedError(
                f"{len(wrong)} plan row(s) do not match their {words.submission} on {words.platform} ({shown}); nothing was paid.",
                hint="Re-run `reconcile match` to write a fresh plan (were columns sorted separately in a spreadsheet?).",
            )

    # -------------------------------------------------------- the run

    def run(self, chains: Sequence[Chain], *, grant_qualification: str | None = None, endpoint: str = "") -> list[ActionResult]:
        entries = self.ledger.get_many(a.key for c in chains for a in c.actions)
        decided = self._decisions(chains, entries)
        results = list(decided.values())
        results += self._bonuses(chains, decided, entries)
        if grant_qualification and not self.stop.is_set():
            approved = sorted({r.action.participant_id for r in results if r.action.kind == "approve" and r.outcome in FINISHED})
            quals = [qualification_action(endpoint, grant_qualification, p) for p in approved]
            results += self._pool(quals, self._qualify, lambda a: [a])
        return results
