"""Check a plan file, as possibly edited by the PI, before anything is done with it.

Every problem is collected and reported together (errors.PlanError), each naming the plan file's
line and column, so one run shows the PI everything to fix. Only a plan that passes becomes a
models.CheckedPlan, the one thing the payout and the file writers accept.

The platform's own files (its PlanVerifier: e.g. the batch files a plan came from) are the
authority on which submissions exist, whose they are, their state, reward and deadline: the plan's
copies of those are for people and may be stale or edited.
"""

from __future__ import annotations

import difflib
import os
import statistics
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Mapping, Sequence

from . import clock
from .errors import InputError, PlanError
from .feedback import reason_problem
from .models import DECISIONS, CheckedPlan, PlanRow
from .money import AmountError, format_money, parse_amount
from .planfile import RawPlanRow, plan_digest, read_plan
from .platform import CostSummary, Platform, State, Verification
from .times import parse_timestamp

MAX_PROBLEMS_SHOWN = 100
FINAL_STATES = (State.APPROVED, State.REJECTED, State.CLOSED)


@dataclass(frozen=True)
class PlanCheck:
    """A plan that passed, with what the dry run needs to show it and write files from it."""

    checked: CheckedPlan
    verification: Verification
    cost: CostSummary
    api_listed: int = 0  # rows no file vouched for (listed through an API): checked with the platform when paying
    warnings: tuple[str, ...] = ()  # things to look at that are not errors (e.g. a bonus far above the others)
    bonus_only: int = 0  # skip rows with a bonus: paid only if the platform shows the submission approved then

    @property
    def files(self) -> tuple[object, ...]:
        return self.verification.files

    @property
    def file_of(self) -> Mapping[str, str]:
        return self.verification.file_of


def parse_limit(text: str | None, option: str) -> Decimal | None:
    """A --max-bonus / --budget value from the command line; InputError naming the option."""
    if text is None or not str(text).strip():
        return None
    try:
        return parse_amount(str(text))
    except AmountError as exc:
        raise InputError(f"{option}: {exc}.") from None


def _line_of(problem: str) -> int:
    """Problems name their line first ("line 12, column ..."); the rest (options, totals) go first."""
    if problem.startswith("line "):
        head = problem[5:].split(",", 1)[0]
        if head.isdigit():
            return int(head)
    return 0


def check_plan(
    plan_path: str | os.PathLike,
    platform: Platform,
    *,
    batch_paths: Sequence[str] = (),
    max_bonus: Decimal | None = None,
    budget: Decimal | None = None,
    now: datetime | None = None,
    currency: str | None = None,
) -> PlanCheck:
    """Read and check a plan file of `platform`. Raises PlanError listing every problem, InputError
    for a file that is not a plan of it at all."""
    plan_path = Path(plan_path)
    plan = read_plan(plan_path, platform.capabilities.name)
    verification = platform.verifier.verify(plan, list(batch_paths))
    words = platform.words
    caps = platform.capabilities
    currency = currency or caps.currency
    money = lambda v: format_money(v, currency)  # noqa: E731
    problems: list[str] = list(plan.problems) + list(verification.problems)
    col = plan.column

    def problem(line: int, field: str, text: str) -> None:
        problems.append(f"line {line}, column {col(field)}: {text}")

    rows: list[PlanRow] = []
    first_line: dict[str, int] = {}
    now = now or clock.now()
    for raw in plan.rows:
        c = {k: (v or "") for k, v in raw.cells.items()}
        line = raw.line
        truth = verification.truths.get(line, {})
        sid = c.get("submission_id", "").strip()
        participant = c.get("participant_id", "").strip()
        decision = c.get("decision", "").strip().lower()
        feedback = c.get("feedback", "").strip()
        group_id = c.get("group_id", "").strip() or truth.get("group_id", "")
        status = truth.get("status", c.get("status", "").strip())
        deadline = truth.get("review_deadline", c.get("review_deadline", "").strip())
        reward = truth.get("reward", "") or c.get("reward", "")
        group_size = truth.get("group_size", "") or c.get("group_size", "")
        state = platform.state_of(status)

        if not sid:
            problem(line, "submission_id", f"empty; every row needs its {words.submission}")
        elif sid in first_line:
            problem(line, "submission_id", f"{words.submission} {sid} appears again (first on line {first_line[sid]})")
        else:
            first_line[sid] = line
        if not participant:
            problem(line, "participant_id", f"empty; bonuses and records need the {words.participant}")

        if decision not in DECISIONS:
            close = difflib.get_close_matches(decision, DECISIONS, n=1, cutoff=0.6)
            problem(line, "decision", f"{c.get('decision', '').strip()!r} is not one of {', '.join(DECISIONS)}"
                    + (f" (did you mean {close[0]}?)" if close else ""))
        elif state in FINAL_STATES and decision != "skip":
            problem(line, "decision", f"{words.submission} {sid} is already {status}; only skip is possible, not {decision}")
        elif decision == "reject" and state == State.PENDING and deadline:
            when = parse_timestamp(deadline)
            if when is not None and when <= now:
                problem(line, "decision",
                        f"{words.submission} {sid} passed its {words.review_deadline or 'review deadline'} ({deadline}), so "
                        f"{words.platform} has approved it and will refuse a reject; set it to skip (or download fresh records)")

        bonus: Decimal | None = None
        bonus_text = c.get("bonus", "").strip()
        if bonus_text:
            try:
                bonus = parse_amount(bonus_text)
            except AmountError as exc:
                problem(line, "bonus", str(exc))
            if bonus is not None and bonus == 0:
                bonus = None  # "0" means no bonus; a platform would refuse a bonus of nothing anyway
            if bonus is not None:
                if max_bonus is not None and bonus > max_bonus:
                    problem(line, "bonus", f"{money(bonus)} is above --max-bonus {money(max_bonus)}")
                if decision in ("reject", "review"):
                    problem(line, "bonus", f"a bonus on a {decision} row; bonuses go only with approve, or with "
                            f"skip for an {words.submission} already approved (clear the bonus or change the decision)")
                elif decision == "skip" and state in (State.REJECTED, State.CLOSED):
                    problem(line, "bonus", f"a bonus on {words.submission} {sid}, which is {status}; bonuses go only to "
                            "approved work (clear the bonus)")

        category = c.get("category", "").strip()
        if decision == "reject":
            why = reason_problem(feedback, min_chars=caps.reject_min_chars, max_chars=caps.reject_max_chars, where=words.platform)
            if why:
                problem(line, "feedback", why)
            if caps.reject_categories and category.upper() not in caps.reject_categories:
                said = f"{category!r} is not" if category else "a reject needs"
                problem(line, "category", f"{said} one of {words.platform}'s rejection categories "
                        f"({', '.join(caps.reject_categories)})")
            elif caps.reject_categories:
                category = category.upper()
        if decision != "reject" or not caps.reject_categories:
            category = ""  # sent only with a reject, where the platform takes one

        flags = tuple(f.strip() for f in c.get("flags", "").split(";") if f.strip())
        rows.append(PlanRow(
            submission_id=sid, participant_id=participant, group_id=group_id, decision=decision,
            reason=c.get("reason", "").strip(), detail=c.get("detail", ""), code=c.get("code", ""),
            response_id=c.get("response_id", "").strip(), bonus=bonus, feedback=feedback, source=c.get("source", "").strip(),
            flags=flags, status=status, reward=reward.strip(), group_size=group_size.strip(), review_deadline=deadline,
            category=category,
        ))

    cost = platform.fees.cost(rows)
    if budget is not None:
        if cost.total > budget:
            problems.append(f"total cost {money(cost.total)} (rewards, bonuses and {words.fees}) is above --budget {money(budget)}")
        elif cost.unknown_rewards:
            problems.append(
                f"{cost.unknown_rewards} approve row(s) have no readable reward, so the total cannot be held "
                f"against --budget; pass --batch with the {words.platform} files"
            )

    if problems:
        problems.sort(key=_line_of)  # stable: per line, the files' problems before the plan's
        problems = [plan.where(p) for p in problems]  # a workbook names sheet and cell instead
        shown = problems[:MAX_PROBLEMS_SHOWN]
        if len(problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more problems of the same kinds")
        raise PlanError(shown, path=str(plan_path))

    checked = CheckedPlan(
        path=str(plan_path),
        rows=tuple(rows),
        digest=plan_digest(r.cells for r in plan.rows),
        # Not getattr(f, "path", str(f)): that makes str(f) of every batch, whose repr is all its rows.
        batch_paths=tuple(f.path if hasattr(f, "path") else str(f) for f in verification.files),
        rewards=cost.rewards,
        bonuses=cost.bonuses,
        fees=cost.fees,
        total=cost.total,
        file_checked=verification.vouched,
        platform=caps.name,
        currency=currency,
        drawn=cost.drawn,
    )
    api_listed = sum(1 for r in rows if r.submission_id not in verification.vouched)
    bonus_only = sum(1 for r in rows if r.decision == "skip" and r.bonus is not None)
    warnings = tuple(plan.notes) + tuple(plan.where(w) for w in _bonus_warnings(plan.rows, rows, money))
    return PlanCheck(checked, verification, cost, api_listed, warnings, bonus_only)


def _bonus_warnings(raw_rows: Sequence[RawPlanRow], rows: Sequence[PlanRow], money) -> list[str]:
    """Bonuses far above the others (ten times the median and at least 10 more): a typo such as
    50.00 for 0.50, or an edited cell, that no limit was given to catch."""
    paid = [(raw.line, r.bonus) for raw, r in zip(raw_rows, rows) if r.bonus is not None]
    if len(paid) < 3:
        return []
    median = statistics.median(b for _, b in paid)
    far = [(line, b) for line, b in paid if b > median * 10 and b - median >= 10]
    if not far:
        return []
    shown = ", ".join(f"line {line}: {money(b)}" for line, b in far[:5]) + (f" and {len(far) - 5} more" if len(far) > 5 else "")
    return [f"{len(far)} bonus(es) far above the others (median {money(median)}): {shown}; check them, or pass --max-bonus"]
