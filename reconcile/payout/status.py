"""`reconcile ledger`: what a ledger says was done, when, what is pending or in doubt; and a person
settling an action the tool could not. Reads (and, to settle, writes) the ledger only: never calls
a platform. Returns JSON-ready dicts; the command line words them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from ..errors import InputError, ReconcileError
from ..models import PlanRow
from ..money import AmountError, format_amount, parse_amount
from ..planfile import read_plan
from .actions import KIND_ORDER, plan_actions
from .ledger import Ledger, LedgerEntry, default_ledger_path

STATE_NAMES = ("done", "already_done", "failed", "intent", "prepared", "in_doubt", "unpaid")


def _ledger_path(ledger_path: str | Path | None, plan_path: str | Path | None) -> tuple[Path, Path | None]:
    if ledger_path is None and plan_path is None and Path("reconcile-plan.csv").is_file():
        plan_path = Path("reconcile-plan.csv")  # `reconcile match`'s default plan name
    if ledger_path is None:
        if plan_path is None:
            raise ReconcileError("name a plan or a ledger.", hint="Run `reconcile ledger PLAN.csv` or `reconcile ledger --ledger FILE`.")
        ledger_path = default_ledger_path(plan_path)
    return Path(ledger_path), (Path(plan_path) if plan_path is not None else None)


def _plan_rows_loosely(plan_path: Path) -> tuple[list[PlanRow], list[str]]:
    """The plan's rows for comparing with the ledger (not a validation: `reconcile pay` does that)."""
    rows: list[PlanRow] = []
    problems: list[str] = []
    for raw in read_plan(plan_path).rows:
        c = raw.cells
        bonus = None
        if c.get("bonus", "").strip():
            try:
                bonus = parse_amount(c["bonus"])
            except AmountError:
                problems.append(f"{plan_path}:{raw.line}: bonus {c['bonus']!r} is not an amount (ignored here)")
        rows.append(PlanRow(
            submission_id=c.get("submission_id", "").strip(), participant_id=c.get("participant_id", "").strip(),
            group_id=c.get("group_id", "").strip(), decision=c.get("decision", "").strip().lower(), reason="", detail="",
            code="", response_id="", bonus=bonus, feedback=c.get("feedback", ""), source=c.get("source", ""),
        ))
    return rows, problems


def entry_json(e: LedgerEntry) -> dict:
    return {"key": e.key, "kind": e.kind, "submission_id": e.submission_id, "participant_id": e.participant_id,
            "group_id": e.group_id, "amount": e.amount, "purpose": e.purpose, "endpoint": e.endpoint, "state": e.state,
            "reference": e.reference, "detail": e.detail, "attempts": e.attempts, "first": e.first_at, "last": e.updated_at}


def _one_currency(runs) -> str | None:
    """The currency every summarised run of the ledger paid in; None when none says or they differ."""
    said = set()
    for r in runs:
        try:
            summary = json.loads(r.summary) if r.summary else {}
        except ValueError:
            continue
        if isinstance(summary, dict) and isinstance(summary.get("currency"), str):
            said.add(summary["currency"])
    return said.pop() if len(said) == 1 else None


def ledger_status(ledger_path: str | Path | None = None, plan_path: str | Path | None = None) -> dict:
    """What a ledger says was done, when, and what is pending - as a JSON-ready dict.

    With a plan: also which of its actions have no finished entry yet, per endpoint the ledger
    has run against (an endpoint is part of every key: a rehearsal is not a payment).
    """
    path, plan = _ledger_path(ledger_path, plan_path)
    with Ledger.open(path, create=False) as led:
        entries = led.entries()
        runs = led.runs()
    by_kind: dict[str, dict[str, int]] = {}
    for e in entries:
        counts = by_kind.setdefault(e.kind, dict.fromkeys(STATE_NAMES, 0))
        counts[e.state] = counts.get(e.state, 0) + 1
    paid = sum((Decimal(e.amount) for e in entries if e.kind == "bonus" and e.state == "done"), Decimal("0.00"))
    found_paid = sum((Decimal(e.amount) for e in entries if e.kind == "bonus" and e.state == "already_done"), Decimal("0.00"))
    out: dict = {
        "ledger": str(path),
        "runs": [
            {"started": r.started_at, "finished": r.finished_at or "(interrupted)", "plan": r.plan_path, "endpoint": r.endpoint,
             "summary": json.loads(r.summary) if r.summary else None}
            for r in runs
        ],
        "by_kind": dict(sorted(by_kind.items(), key=lambda kv: KIND_ORDER.index(kv[0]) if kv[0] in KIND_ORDER else 99)),
        "bonuses_paid": format_amount(paid),
        "bonuses_found_paid": format_amount(found_paid),
        # The ledger keeps amounts without a currency; each run's summary says the one it paid in.
        "currency": _one_currency(runs),
        "in_flight": [entry_json(e) for e in entries if e.state in ("intent", "prepared")],
        "in_doubt": [entry_json(e) for e in entries if e.state == "in_doubt"],
        "failed": [entry_json(e) for e in entries if e.state == "failed"],
        "actions": [entry_json(e) for e in entries],
    }
    if plan is not None:
        rows, problems = _plan_rows_loosely(plan)
        endpoints = sorted({r.endpoint for r in runs} | {e.endpoint for e in entries})
        finished = {e.key for e in entries if e.finished}
        not_done = {}
        for ep in endpoints:
            acts = [a for c in plan_actions(rows, ep) for a in c.actions]
            not_done[ep] = [
                {"kind": a.kind, "submission_id": a.submission_id, "participant_id": a.participant_id, "amount": a.amount}
                for a in acts if a.key not in finished
            ]
        out["plan"] = str(plan)
        out["plan_not_done"] = not_done
        out["plan_problems"] = problems
    return out


def resolve(ledger_path: str | Path | None, plan_path: str | Path | None, key: str, verdict: str, note: str = "") -> dict:
    """A person settles one action: `paid` (it happened; never attempt it again) or `unpaid` (it did not;
    the next run may attempt it, even past other payments the platform shows for that submission)."""
    if verdict not in ("paid", "unpaid"):
        raise InputError(f"--resolve takes KEY paid|unpaid, not {verdict!r}.")
    path, _plan = _ledger_path(ledger_path, plan_path)
    with Ledger.open(path, create=False) as led:
        led.lock_for_run()  # never while a payout is using this ledger
        matches = [e for e in led.entries() if e.key == key or (len(key) >= 8 and e.key.endswith(key))]
        if len(matches) != 1:
            raise InputError(
                f"{path}: {'no' if not matches else str(len(matches))} action(s) match {key!r}; give the whole key.",
                hint="`reconcile ledger --all --json` lists every key.",
            )
        entry = led.resolve(matches[0].key, verdict == "paid", note)
    return entry_json(entry)
