"""`pay --execute` as a library call: the checks around a payout, then the engine.

One payout per account at a time (a lock in the user's cache folder), the ledger's own lock, rows no
file vouched for checked with the platform, the balance held against what the run will draw, an
optional confirmation, then the run. Returns what happened; printing and asking are the command
line's job (reconcile.cli).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Callable, Sequence

from ..errors import ReconcileError, RefusedError
from ..locks import hold_account_lock
from ..models import CheckedPlan, PlanRow
from ..money import format_money
from ..plan_check import parse_limit
from ..platform import CallFailed, Payer, Platform
from ..urls import endpoint_identity
from .actions import KIND_ORDER, Action, ActionResult, Chain, ExecutionSummary, plan_actions
from .engine import Engine
from .ledger import FINISHED, Ledger, default_ledger_path, is_disk_full


class ExecutionIncomplete(ReconcileError):
    """Some actions failed (or are in doubt); the others were done. Re-running retries only those."""

    exit_code = 1


class ExecutionInterrupted(ReconcileError):
    """Ctrl-C: what was done is journaled and was printed; re-running the same command finishes."""

    exit_code = 130


def check_limits(checked: CheckedPlan, max_bonus: str | None, budget: str | None) -> None:
    """The dry run (plan_check) already enforced these on the same plan; refusing again here keeps
    the money layer safe for any caller of the library, with the same parsing of the limits."""
    money = lambda v: format_money(v, checked.currency)  # noqa: E731
    cap = parse_limit(max_bonus, "--max-bonus")
    if cap is not None:
        over = [r for r in checked.rows if r.bonus is not None and r.bonus > cap]
        if over:
            raise RefusedError(
                f"{checked.path}: {len(over)} bonus{'es' if len(over) > 1 else ''} above --max-bonus {money(cap)} "
                f"(e.g. {money(over[0].bonus)} for {over[0].submission_id}); nothing was paid."  # type: ignore[arg-type]
            )
    cap = parse_limit(budget, "--budget")
    if cap is not None and checked.total > cap:
        raise RefusedError(f"{checked.path}: the plan costs {money(checked.total)}, above --budget {money(cap)}; nothing was paid.")


def remaining_rows(chains: Sequence[Chain], ledger: Ledger) -> list[PlanRow]:
    """The plan's rows as what is left of them: approvals and bonuses finished in the ledger removed."""
    entries = ledger.get_many(a.key for c in chains for a in c.actions)

    def finished(a: Action) -> bool:
        return a.key in entries and entries[a.key].state in FINISHED

    rows: list[PlanRow] = []
    for c in chains:
        row = c.row
        for a in c.actions:
            if a.kind == "approve" and finished(a):
                row = replace(row, decision="skip")
            if a.kind == "bonus" and finished(a):
                row = replace(row, bonus=None)
        rows.append(row)
    return rows


def remaining_draw(platform: Platform, chains: Sequence[Chain], ledger: Ledger) -> Decimal:
    """What the unfinished part of the plan will take from the account's available balance now."""
    return platform.fees.cost(remaining_rows(chains, ledger)).drawn


def _ledger_failed(path: Path, exc: sqlite3.Error) -> ReconcileError:
    if is_disk_full(exc):
        return ReconcileError(
            f"{path}: the disk is full, so the ledger could not be written; the run stopped.",
            hint="Free some disk space, then re-run the same command: it checks the platform before repeating anything.",
        )
    return ReconcileError(
        f"{path}: the ledger could not be written ({exc}); the run stopped.",
        hint="Fix the cause, then re-run the same command: it checks the platform before repeating anything.",
    )


def execute_plan(
    checked: CheckedPlan,
    *,
    platform: Platform,
    payer: Payer,
    endpoint_url: str,
    ledger_path: str | Path | None = None,
    concurrency: int = 4,
    rate: float | None = None,
    grant_qualification: str | None = None,
    on_result: Callable[[ActionResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    confirm: Callable[[Decimal, Decimal], None] | None = None,
    seed: int | None = None,
) -> ExecutionSummary:
    """Carry out a checked plan exactly once. `on_start(n)` is told how many actions there are,
    `on_result` each outcome (progress); `confirm(draw, balance)` may refuse before any change."""
    path = Path(ledger_path) if ledger_path else default_ledger_path(checked.path)
    chains = plan_actions(checked.rows, endpoint_url)
    start = time.monotonic()
    words = platform.words
    account_lock = hold_account_lock(endpoint_identity(endpoint_url), payer.account_identity(), what=f"this {words.platform} account")
    try:
        with Ledger.open(path) as ledger:
            try:
                ledger.lock_for_run()
                engine = Engine(payer, ledger, rate=rate, concurrency=concurrency, progress=on_result, seed=seed)
                _before_paying(engine, checked, chains, platform, grant_qualification, confirm)
                if on_start is not None:
                    on_start(sum(len(c.actions) for c in chains))
                run_id = ledger.start_run(plan_path=str(checked.path), plan_digest=checked.digest, endpoint=endpoint_url)
                results = engine.run(chains, grant_qualification=grant_qualification, endpoint=endpoint_url)
                summary = ExecutionSummary(
                    endpoint=endpoint_identity(endpoint_url),
                    ledger_path=str(path),
                    results=tuple(sorted(results, key=lambda r: (KIND_ORDER.index(r.action.kind), r.action.submission_id,
                                                                 r.action.participant_id))),
                    calls=engine.calls,
                    throttled=engine.pacer.throttled,
                    elapsed=time.monotonic() - start,
                    currency=checked.currency,
                    interrupted=engine.interrupted,
                )
                ledger.finish_run(run_id, json.dumps({k: v for k, v in summary.to_json().items()
                                                      if k not in ("failures", "in_doubt_items")}))
            except sqlite3.Error as exc:
                # Without a journal we must not go on paying: stop, and let the re-run reconcile with the platform.
                raise _ledger_failed(path, exc) from None
    finally:
        account_lock.release()
    return summary


def _before_paying(engine: Engine, checked: CheckedPlan, chains: Sequence[Chain], platform: Platform,
                   grant_qualification: str | None, confirm: Callable[[Decimal, Decimal], None] | None) -> None:
    """Everything that may refuse the run, before its first change: reads only."""
    words = platform.words
    payer = engine.payer
    if grant_qualification:
        try:
            engine.call(lambda: payer.qualification_name(grant_qualification))
        except CallFailed as err:
            raise RefusedError(
                f"--grant-qualification {grant_qualification}: {words.platform} cannot find that qualification type "
                f"({err.message}); nothing was paid.",
                hint="Create it first and pass its ID.",
            ) from None
    preflight = getattr(payer, "preflight", None)  # optional (platform.Payer): reads that must succeed first
    if preflight is not None:
        groups = sorted({c.row.group_id for c in chains if c.row.group_id})
        try:
            # One step at a time, each retried on its own: retried as one, six reads against a service
            # failing one call in five gave up one run in ten (tests/test_prolific_pay.py, under faults).
            for step in preflight(groups):
                engine.call(step)
        except CallFailed as err:
            if err.kind == "refused":
                raise RefusedError(f"{err.message}; nothing was sent to {words.platform} and nothing was paid.") from None
            raise ReconcileError(f"could not reach {words.platform} ({err.message}); nothing was paid.",
                                 hint="Check the endpoint, then re-run the same command.") from None
    engine.verify_unchecked(chains, checked.file_checked, words)
    draw = remaining_draw(platform, chains, engine.ledger)
    balance = None
    if draw > 0:
        try:
            balance = engine.call(payer.balance)
        except CallFailed as err:
            raise ReconcileError(
                f"could not read the {words.platform} account balance ({err.message}); nothing was paid.",
                hint="Check the endpoint and credentials, then re-run the same command.",
            ) from None
    money = lambda v: format_money(v, checked.currency)  # noqa: E731
    if balance is not None and balance < draw:
        raise RefusedError(
            f"the {words.platform} account balance ({money(balance)}) is less than what this run will draw "
            f"({money(draw)}: bonuses and their fees); nothing was paid.",
            hint="Add funds to the account, then re-run the same command.",
        )
    if confirm is not None:
        confirm(draw, balance if balance is not None else Decimal("0.00"))
