"""Prolific payout tests: a study seeded into the emulator, a plan for it, the command run as a
person runs it, and the emulator's audit read back as "what was paid to whom, how many times"."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

from prolific_helpers import participant_id, submission_id, synthetic_rows, write_prolific_export
from reconcile.models import Plan, PlanRow
from reconcile.planfile import write_plan

STUDY = "5f0000000000000000000001"
TOKEN = "test-token-not-a-secret"
REJECT_MESSAGE = (
    "We could not find a survey response that carries your Prolific ID, and the completion code you entered "
    "does not match the one shown at the end of our survey, so we cannot approve this submission."
)
assert len(REJECT_MESSAGE) >= 100
API_SOURCE = "prolific-api:"  # rows listed through the API: checked with Prolific before paying


def study_id(j: int) -> str:
    return STUDY if j == 0 else f"5e{j:022x}"


def seed_study(tmp_path: Path, n: int, *, approved: int = 0, screened: int = 0, studies: int = 1) -> list[Path]:
    """Exports of `n` submissions AWAITING REVIEW, then `approved` APPROVED, then `screened` SCREENED
    OUT; submission i is in study i % studies (one export per study, in study order)."""
    statuses = ["AWAITING REVIEW"] * n + ["APPROVED"] * approved + ["SCREENED OUT"] * screened
    rows = synthetic_rows(statuses)
    return [write_prolific_export(tmp_path / f"export-{j}.csv", rows[j::studies]) for j in range(studies)]


def emulator_args(exports: list[Path]) -> list[str]:
    out: list[str] = []
    for j, path in enumerate(exports):
        out += ["--export", str(path), "--study-id", study_id(j)]
    return out


def bonus_of(i: int) -> Decimal:
    return Decimal("0.25") + Decimal(i % 7) * Decimal("0.35")


def plan_for(tmp_path: Path, n: int, *, reject: set[int] = frozenset(), approved: int = 0, screened: int = 0,
             study: str | None = None, studies: int = 1, bonus=bonus_of, name: str = "plan.csv",
             from_export: bool = False) -> tuple[Path, list[PlanRow]]:
    """A plan (as `match` writes it) approving and bonusing every pending submission but `reject`,
    bonusing the already approved ones (skip + bonus), skipping the screened-out ones."""
    rows = []
    for i in range(n + approved + screened):
        sid, pid = submission_id(i), participant_id(i)
        group = study or study_id(i % studies)
        if i < n:
            decision = "reject" if i in reject else "approve"
            status = "AWAITING REVIEW"
        else:
            decision = "skip"
            status = "APPROVED" if i < n + approved else "SCREENED OUT"
        b = bonus(i) if decision == "approve" or status == "APPROVED" else None
        rows.append(PlanRow(
            submission_id=sid, participant_id=pid, group_id=group, decision=decision, reason="participant_match",
            detail="", code="C0DE1234", response_id=f"R_{i}", bonus=b,
            feedback=REJECT_MESSAGE if decision == "reject" else "",
            # The export's file and row (as `match` writes them: the dry run checks the row against the
            # file), or the API listing (checked with Prolific before paying).
            source=f"export-{i % studies}.csv:{i // studies + 2}" if from_export else f"{API_SOURCE}{group}",
            status=status, category="BAD_CODE" if decision == "reject" else "",
        ))
    path = tmp_path / name
    write_plan(Plan(rows=tuple(rows), platform="prolific", currency="GBP"), path)
    return path, rows


def cli(*args: str, cwd: Path, token: str | None = TOKEN, timeout: float = 180, input: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PROLIFIC_API_TOKEN", None)
    if token is not None:
        env["PROLIFIC_API_TOKEN"] = token
    env.setdefault("COLUMNS", "200")
    return subprocess.run([sys.executable, "-m", "reconcile", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, input=input if input is not None else "")


def popen_pay(plan: Path, url: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PROLIFIC_API_TOKEN": TOKEN}
    return subprocess.Popen([sys.executable, "-m", "reconcile", "pay", str(plan), "--execute", "--yes", "--endpoint-url", url, *extra],
                            cwd=plan.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def payouts(audit: list[dict]) -> Counter:
    """(submission, cents) -> how many times the emulator paid it (settled payouts)."""
    return Counter((e["submission_id"], Decimal(e["cents"])) for e in audit if e["kind"] == "bonus_payout")


def pay_calls_per_bulk(audit: list[dict]) -> Counter:
    """Bulk ID -> pay calls the emulator RECEIVED for it (whatever became of them: faulted, dropped, accepted)."""
    return Counter(e["bulk_id"] for e in audit if e["kind"] == "pay_call")


def expected_payouts(rows: list[PlanRow]) -> Counter:
    return Counter({(r.submission_id, r.bonus * 100): 1 for r in rows if r.bonus is not None})


def assert_exactly_once(audit: list[dict], state: dict, rows: list[PlanRow]) -> None:
    """Every planned bonus paid exactly once, nothing else paid, no bulk ID paid twice, decisions applied."""
    assert payouts(audit) == expected_payouts(rows)
    assert all(n == 1 for n in pay_calls_per_bulk(audit).values()), pay_calls_per_bulk(audit)
    subs = state["submissions"]
    for r in rows:
        want = {"approve": "APPROVED", "reject": "REJECTED"}.get(r.decision, r.status)
        assert subs[r.submission_id]["status"] == want, (r.submission_id, subs[r.submission_id]["status"])
