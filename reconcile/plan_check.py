"""Check a plan file, as possibly edited by the PI, before anything is done with it.

Every problem is collected and reported together (errors.PlanError), each naming the plan file's
line and column, so one run shows the PI everything to fix. Only a plan that passes becomes a
models.CheckedPlan, the one thing the executor and the upload writer accept.

The batch files the plan came from (its `source` column, or --batch) are the authority on which
assignments exist, whose they are, their status, reward and HIT size: the plan's copies of those
are for people and may be stale or edited.
"""

from __future__ import annotations

import difflib
import os
import statistics
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Sequence

from . import clock
from .errors import InputError, PlanError
from .fees import CostSummary, cost_summary
from .models import DECISIONS, CheckedPlan, PlanRow, SourceRef
from .money import AmountError, format_usd, parse_amount
from .normalize import parse_mturk_time
from .planfile import RawPlanRow, plan_digest, read_plan_rows
from .upload import RawBatch, read_batch, reason_problem

MAX_PROBLEMS_SHOWN = 100
FINAL_STATUSES = ("Approved", "Rejected")


@dataclass(frozen=True)
class PlanCheck:
    """A plan that passed, with what the dry run needs to show it and write uploads from it."""

    checked: CheckedPlan
    batches: tuple[RawBatch, ...]
    row_batch: Mapping[str, str]  # AssignmentId -> path of the batch file it is in
    cost: CostSummary
    api_listed: int = 0  # rows listed through the MTurk API (no batch file): checked with MTurk when paying
    warnings: tuple[str, ...] = ()  # things to look at that are not errors (e.g. a bonus far above the others)
    bonus_only: int = 0  # skip rows with a bonus: paid only if MTurk shows the assignment Approved then


def parse_limit(text: str | None, option: str) -> Decimal | None:
    """A --max-bonus / --budget value from the command line; InputError naming the option."""
    if text is None or not str(text).strip():
        return None
    try:
        return parse_amount(str(text))
    except AmountError as exc:
        raise InputError(f"{option}: {exc}.") from None


def _where(line: int, column: str) -> str:
    return f"line {line}, column {column}"


def _resolve(path_text: str, plan_dir: Path) -> Path | None:
    """A batch path as recorded by `match` (relative to where it ran, or absolute); also tried
    beside the plan, since plans travel in one folder with their batch files."""
    p = Path(path_text)
    for cand in (p, plan_dir / p, plan_dir / p.name):
        if cand.is_file():
            return cand
    return None


API_SOURCE_PREFIX = "mturk-api:"  # importers.mturk_api.pseudo_path: assignments listed through the API


def _load_batches(
    plan_path: Path, rows: Sequence[RawPlanRow], batch_paths: Sequence[str], problems: list[str]
) -> tuple[list[RawBatch], dict[int, RawBatch | None]]:
    """The batches, and for each plan line the batch its assignment must be in (None: not checkable).

    Rows listed through the MTurk API have no batch file; the dry run calls no service, so they are
    checked against the plan's own columns only (unless --batch names a `reconcile fetch mturk` file).
    """
    batches: list[RawBatch] = []
    by_line: dict[int, RawBatch | None] = {}
    if batch_paths:
        for bp in batch_paths:
            try:
                batches.append(read_batch(bp))
            except InputError as exc:
                problems.append(f"--batch {exc}")
        for r in rows:
            aid = r.cells.get("assignment_id", "").strip()
            by_line[r.line] = next((b for b in batches if aid in b.index), None)
            if aid and by_line[r.line] is None and len(batches) == len(batch_paths):
                problems.append(f"{_where(r.line, 'assignment_id')}: assignment {aid} is not in any --batch file")
        return batches, by_line

    plan_dir = plan_path.parent
    loaded: dict[str, RawBatch | None] = {}
    missing: dict[str, list[int]] = {}
    for r in rows:
        text = r.cells.get("source", "").strip()
        if text.startswith(API_SOURCE_PREFIX):
            by_line[r.line] = None
            continue
        try:
            ref = SourceRef.parse(text)
        except ValueError:
            problems.append(
                f"{_where(r.line, 'source')}: {text!r} does not name a batch file and row (like batch.csv:12); "
                "restore it or pass --batch FILE"
            )
            by_line[r.line] = None
            continue
        if ref.path not in loaded:
            found = _resolve(ref.path, plan_dir)
            batch = None
            if found is not None:
                try:
                    batch = read_batch(found)
                    batches.append(batch)
                except InputError as exc:
                    problems.append(f"{_where(r.line, 'source')}: {exc}")
            else:
                missing[ref.path] = []
            loaded[ref.path] = batch
        if ref.path in missing:
            missing[ref.path].append(r.line)
        by_line[r.line] = loaded[ref.path]
    for path_text, lines in missing.items():
        problems.append(
            f"{_where(lines[0], 'source')}: batch file {path_text!r} (named on {len(lines)} line"
            f"{'s' if len(lines) != 1 else ''}) was not found; pass --batch FILE with its current location"
        )
    return batches, by_line


def check_plan(
    plan_path: str | os.PathLike,
    *,
    batch_paths: Sequence[str] = (),
    max_bonus: Decimal | None = None,
    budget: Decimal | None = None,
    now: datetime | None = None,
) -> PlanCheck:
    """Read and check a plan file. Raises PlanError listing every problem, InputError for a file
    that is not a plan at all."""
    plan_path = Path(plan_path)
    raw_rows = read_plan_rows(plan_path)
    problems: list[str] = []
    batches, by_line = _load_batches(plan_path, raw_rows, batch_paths, problems)

    rows: list[PlanRow] = []
    row_batch: dict[str, str] = {}
    first_line: dict[str, int] = {}
    vouched: set[str] = set()  # worker and HIT both checked against a batch file
    now = now or clock.now()
    for raw in raw_rows:
        c = {k: (v or "") for k, v in raw.cells.items()}
        line = raw.line
        aid = c.get("assignment_id", "").strip()
        worker = c.get("worker_id", "").strip()
        decision = c.get("decision", "").strip().lower()
        feedback = c.get("feedback", "").strip()
        batch = by_line.get(line)
        pos = batch.index.get(aid) if batch is not None else None
        if batch is None and aid and c.get("source", "").strip().startswith(API_SOURCE_PREFIX):
            # `match` reads files before the API listing, so a real API row is never in a batch file:
            # one that is has had its source edited to dodge the file check.
            holder = next((b for b in batches if aid in b.index), None)
            if holder is not None:
                problems.append(
                    f"{_where(line, 'source')}: assignment {aid} is in batch file {holder.path}, so it was not "
                    f"listed through the API; restore the source {holder.path}:{holder.lines[holder.index[aid]]}"
                )

        if not aid:
            problems.append(f"{_where(line, 'assignment_id')}: empty; every row needs its assignment")
        elif aid in first_line:
            problems.append(f"{_where(line, 'assignment_id')}: assignment {aid} appears again (first on line {first_line[aid]})")
        else:
            first_line[aid] = line
            if batch is not None and pos is None:
                problems.append(f"{_where(line, 'assignment_id')}: assignment {aid} is not in batch file {batch.path}")

        status = c.get("assignment_status", "").strip()
        auto_approval = c.get("auto_approval_time", "").strip()
        reward, max_assignments, hit_id = c.get("reward", ""), c.get("max_assignments", ""), c.get("hit_id", "").strip()
        if pos is not None:
            row_batch[aid] = batch.path
            true_worker = batch.cell(pos, "WorkerId").strip()
            if true_worker and worker != true_worker:
                problems.append(
                    f"{_where(line, 'worker_id')}: {worker!r} is not the worker of assignment {aid} "
                    f"({batch.path} says {true_worker})"
                )
            true_hit = batch.cell(pos, "HITId").strip()
            if true_worker and true_hit:
                vouched.add(aid)
            if true_hit and hit_id and hit_id != true_hit:
                problems.append(f"{_where(line, 'hit_id')}: {hit_id!r} is not the HIT of assignment {aid} ({batch.path} says {true_hit})")
            hit_id = hit_id or true_hit
            if batch.column("AssignmentStatus") is not None:
                status = batch.cell(pos, "AssignmentStatus").strip()
            reward = batch.cell(pos, "Reward") or reward
            max_assignments = batch.cell(pos, "MaxAssignments") or max_assignments
            auto_approval = batch.cell(pos, "AutoApprovalTime").strip() or auto_approval
        if not worker:
            problems.append(f"{_where(line, 'worker_id')}: empty; bonuses and records need the worker")

        if decision not in DECISIONS:
            close = difflib.get_close_matches(decision, DECISIONS, n=1, cutoff=0.6)
            problems.append(
                f"{_where(line, 'decision')}: {c.get('decision', '').strip()!r} is not one of {', '.join(DECISIONS)}"
                + (f" (did you mean {close[0]}?)" if close else "")
            )
        elif status in FINAL_STATUSES and decision != "skip":
            problems.append(
                f"{_where(line, 'decision')}: assignment {aid} is already {status}; only skip is possible, not {decision}"
            )
        elif decision == "reject" and status in ("", "Submitted"):
            deadline = parse_mturk_time(auto_approval) if auto_approval else None
            if deadline is not None and deadline <= now:
                problems.append(
                    f"{_where(line, 'decision')}: assignment {aid} passed its AutoApprovalTime ({auto_approval}), so MTurk "
                    "has approved it and will refuse a reject; set it to skip (or download fresh batch results)"
                )

        bonus: Decimal | None = None
        bonus_text = c.get("bonus", "").strip()
        if bonus_text:
            try:
                bonus = parse_amount(bonus_text)
            except AmountError as exc:
                problems.append(f"{_where(line, 'bonus')}: {exc}")
            if bonus is not None and bonus == 0:
                bonus = None  # "0" means no bonus; MTurk would refuse a $0.00 bonus anyway
            if bonus is not None:
                if max_bonus is not None and bonus > max_bonus:
                    problems.append(f"{_where(line, 'bonus')}: {format_usd(bonus)} is above --max-bonus {format_usd(max_bonus)}")
                if decision in ("reject", "review"):
                    problems.append(
                        f"{_where(line, 'bonus')}: a bonus on a {decision} row; bonuses go only with approve, or with "
                        "skip for an assignment already approved (clear the bonus or change the decision)"
                    )
                elif decision == "skip" and status == "Rejected":
                    problems.append(
                        f"{_where(line, 'bonus')}: a bonus on assignment {aid}, which is Rejected; bonuses go only to "
                        "approved work (clear the bonus)"
                    )

        if decision == "reject":
            why = reason_problem(feedback)
            if why:
                problems.append(f"{_where(line, 'feedback')}: {why}")

        flags = tuple(f.strip() for f in c.get("flags", "").split(";") if f.strip())
        rows.append(PlanRow(
            assignment_id=aid, worker_id=worker, hit_id=hit_id, decision=decision, reason=c.get("reason", "").strip(),
            detail=c.get("detail", ""), code=c.get("code", ""), response_id=c.get("response_id", "").strip(),
            bonus=bonus, feedback=feedback, source=c.get("source", "").strip(), flags=flags,
            assignment_status=status, reward=reward.strip(), max_assignments=max_assignments.strip(),
            auto_approval_time=auto_approval,
        ))

    cost = cost_summary(rows)
    if budget is not None:
        if cost.total > budget:
            problems.append(
                f"total cost {format_usd(cost.total)} (rewards, bonuses and MTurk fees) is above --budget {format_usd(budget)}"
            )
        elif cost.unknown_rewards:
            problems.append(
                f"{cost.unknown_rewards} approve row(s) have no readable reward, so the total cannot be held "
                "against --budget; pass --batch with the batch files"
            )

    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        if len(problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more problems of the same kinds")
        raise PlanError(shown, path=str(plan_path))

    checked = CheckedPlan(
        path=str(plan_path),
        rows=tuple(rows),
        digest=plan_digest(r.cells for r in raw_rows),
        batch_paths=tuple(b.path for b in batches),
        rewards=cost.rewards,
        bonuses=cost.bonuses,
        fees=cost.fees,
        total=cost.total,
        file_checked=frozenset(vouched),
    )
    api_listed = sum(1 for r in rows if r.assignment_id not in vouched)
    bonus_only = sum(1 for r in rows if r.decision == "skip" and r.bonus is not None)
    return PlanCheck(checked, tuple(batches), MappingProxyType(row_batch), cost, api_listed,
                     tuple(_bonus_warnings(raw_rows, rows)), bonus_only)


def _bonus_warnings(raw_rows: Sequence[RawPlanRow], rows: Sequence[PlanRow]) -> list[str]:
    """Bonuses far above the others (ten times the median and at least $10 more): a typo such as
    50.00 for 0.50, or an edited cell, that no limit was given to catch."""
    paid = [(raw.line, r.bonus) for raw, r in zip(raw_rows, rows) if r.bonus is not None]
    if len(paid) < 3:
        return []
    median = statistics.median(b for _, b in paid)
    far = [(line, b) for line, b in paid if b > median * 10 and b - median >= 10]
    if not far:
        return []
    shown = ", ".join(f"line {line}: {format_usd(b)}" for line, b in far[:5]) + (f" and {len(far) - 5} more" if len(far) > 5 else "")
    return [f"{len(far)} bonus(es) far above the others (median {format_usd(median)}): {shown}; check them, or pass --max-bonus"]
