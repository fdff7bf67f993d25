"""The plain dry run of a large plan, as column operations: `summarize_plan`.

`reconcile pay PLAN` without --execute, --upload-csv, --report or --bonus-csv shows counts, money
and warnings and keeps no row. For a plain plan (plaincsv) whose platform can check its files as
columns (a verifier with `verify_columns`), this reads only the fields the check and the summary
read, and runs plan_check's checks over whole columns. It decides nothing on its own: whenever
anything would be a problem, or a file is not plain, it returns None and the caller runs
`check_plan`, which finds and words every problem. So a plan passes here exactly when it passes
there, and what is shown of it (counts, money, digest, warnings) is the same; tests/test_plan_summary.py
holds the two to that.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import chain, repeat
from typing import Sequence

import numpy as np

from . import clock
from .feedback import reason_problem
from .models import DECISIONS, CheckedPlan, PlanRow
from .money import AmountError, format_money, parse_amount
from .plan_check import FINAL_STATES, PlanCheck
from .planfile import PlanColumns, read_plan_columns
from .plaincsv import Coded
from .platform import CostSummary, Platform, State, Verification
from .times import parse_timestamp

# What the check and the summary read of a plan (not reason, detail, code, response_id).
# The plan's own status, reward, size and deadline count only where the files state none (rows
# listed through an API, a blank cell): read again then, for those rows.
FIELDS = ("submission_id", "participant_id", "group_id", "decision", "bonus", "feedback", "category", "source", "flags")
OWN_FIELDS = ("status", "reward", "group_size", "review_deadline")


@dataclass(frozen=True)
class ColumnTruths:
    """A verifier's `Verification` of a plan with no problem, as columns (row i: the plan's row i)."""

    files: tuple[object, ...]  # the files as read (each with .path)
    verified: np.ndarray  # a file states this row's fields (Verification.truths has the row)
    vouched: np.ndarray  # ... and vouches for its participant and group
    status: np.ndarray  # the file's status (where has_status)
    has_status: np.ndarray
    reward: np.ndarray  # "" where the file says nothing: the plan's own cell counts
    group_size: np.ndarray
    review_deadline: np.ndarray


@dataclass(frozen=True)
class RowCounts:
    """What the summary counts of the rows a summarized PlanCheck does not keep."""

    rows: int
    decisions: Counter
    flags: Counter


def stripped(col, n: int) -> np.ndarray:
    """Every row's cell of a plan column, stripped ("" for a column the plan lacks)."""
    if col is None:
        return np.full(n, "", dtype=object)
    if isinstance(col, Coded):
        return col.map(str.strip)
    return np.asarray([v.strip() for v in col], dtype=object)


def summarize_plan(
    plan_path: str | os.PathLike,
    platform: Platform,
    *,
    batch_paths: Sequence[str] = (),
    max_bonus: Decimal | None = None,
    budget: Decimal | None = None,
    now: datetime | None = None,
    currency: str | None = None,
    flags: bool = True,
) -> tuple[PlanCheck, RowCounts] | None:
    """check_plan's PlanCheck (without rows) and the rows' counts, or None: run check_plan.
    `flags` False: the flags are not counted (RowCounts.flags empty: the --json summary has none)."""
    verify_columns = getattr(platform.verifier, "verify_columns", None)
    if verify_columns is None:
        return None
    fields = FIELDS if flags else tuple(f for f in FIELDS if f != "flags")
    plan = read_plan_columns(plan_path, fields, platform.capabilities.name)
    if plan is None or plan.rows == 0:
        return None
    n = plan.rows
    sid = stripped(plan.column("submission_id"), n)
    participant = stripped(plan.column("participant_id"), n)
    # An empty ID (a blank row too) or a repeated one is a problem.
    if not all(sid) or not all(participant) or len(set(sid.tolist())) != n:
        return None
    decision_col = plan.column("decision")
    decision = _lower(decision_col, n)
    if not set(decision.tolist()) <= set(DECISIONS):
        return None
    # A batch's AutoApprovalTime (a distinct time a row) matters only to a reject.
    truths: ColumnTruths | None = verify_columns(plan, list(batch_paths), deadlines="reject" in decision)
    if truths is None:
        return None
    return _check(plan, platform, truths, sid, participant, decision, max_bonus=max_bonus, budget=budget,
                  now=now or clock.now(), currency=currency or platform.capabilities.currency)


def _lower(col, n: int) -> np.ndarray:
    if isinstance(col, Coded):
        return col.map(lambda v: v.strip().lower())
    return np.asarray([v.lower() for v in stripped(col, n)], dtype=object)


def _check(plan: PlanColumns, platform: Platform, truths: ColumnTruths, sid, participant, decision, *, max_bonus, budget,
           now, currency) -> tuple[PlanCheck, RowCounts] | None:
    n = plan.rows
    money = lambda v: format_money(v, currency)  # noqa: E731
    own: dict[str, np.ndarray] = {}

    def plan_own(field: str, where: np.ndarray) -> np.ndarray:
        """The plan's own cells of a field (raw), read when first asked for ("" where not needed)."""
        if not where.any():
            return np.full(n, "", dtype=object)
        if not own:
            again = read_plan_columns(plan.path, OWN_FIELDS, platform.capabilities.name)
            if again is None or again.rows != n:  # pragma: no cover - the file changed under us
                raise _Changed
            for f in OWN_FIELDS:
                col = again.column(f)
                own[f] = np.full(n, "", dtype=object) if col is None else col.cells() if isinstance(col, Coded) else col
        return own[field]

    try:
        return _checked(plan, platform, truths, sid, participant, decision, plan_own, max_bonus=max_bonus, budget=budget,
                        now=now, currency=currency, money=money)
    except _Changed:  # pragma: no cover
        return None


class _Changed(Exception):
    pass


def _checked(plan: PlanColumns, platform: Platform, truths: ColumnTruths, sid, participant, decision, plan_own, *,
             max_bonus, budget, now, currency, money) -> tuple[PlanCheck, RowCounts] | None:
    n = plan.rows
    caps, words = platform.capabilities, platform.words
    status = np.where(truths.has_status, truths.status, _per_value(plan_own("status", ~truths.has_status), str.strip))
    state = _states(status, platform.state_of)
    if (state(FINAL_STATES) & (decision != "skip")).any():
        return None
    reject = decision == "reject"
    pending_rejects = np.flatnonzero(reject & state((State.PENDING,)))
    if len(pending_rejects):
        deadline = truths.review_deadline[pending_rejects]
        if (deadline == "").any():
            mine = plan_own("review_deadline", np.ones(1, dtype=bool))[pending_rejects]
            deadline = np.where(deadline != "", deadline, _per_value(mine, str.strip))
        for text in set(deadline.tolist()) - {""}:
            when = parse_timestamp(text)
            if when is not None and when <= now:
                return None

    bonus_col = plan.column("bonus")
    bonus = np.full(n, None, dtype=object)
    if bonus_col is not None:
        try:
            bonus = _amounts(bonus_col, n)
        except AmountError:
            return None
    has_bonus = np.fromiter((b is not None for b in bonus.tolist()), dtype=bool, count=n)
    if has_bonus.any():
        paid = bonus[has_bonus]
        if max_bonus is not None and any(b > max_bonus for b in set(paid.tolist())):
            return None
        if (has_bonus & ((decision == "reject") | (decision == "review"))).any():
            return None
        if (has_bonus & (decision == "skip") & state((State.REJECTED, State.CLOSED))).any():
            return None

    if reject.any():
        feedback = stripped(plan.column("feedback"), n)
        for text in set(feedback[reject].tolist()):
            if reason_problem(text, min_chars=caps.reject_min_chars, max_chars=caps.reject_max_chars, where=words.platform):
                return None
        if caps.reject_categories:
            category = stripped(plan.column("category"), n)
            if any(c.upper() not in caps.reject_categories for c in set(category[reject].tolist())):
                return None

    reward = _fallback(truths.reward, plan_own("reward", truths.reward == ""))
    group_size = _fallback(truths.group_size, plan_own("group_size", truths.group_size == ""))
    cost = _cost(platform, decision, status, reward, group_size, bonus)
    if budget is not None and (cost.total > budget or cost.unknown_rewards):
        return None

    counts = RowCounts(n, Counter(decision.tolist()), _flag_counts(plan.column("flags")))
    warnings = tuple(_bonus_warnings(bonus, has_bonus, money))
    api_listed = int(n - np.count_nonzero(truths.vouched))
    bonus_only = int(np.count_nonzero(has_bonus & (decision == "skip")))
    checked = CheckedPlan(
        path=plan.path,
        rows=(),
        digest=_digest(plan, sid, participant, n),
        batch_paths=tuple(f.path for f in truths.files),  # type: ignore[attr-defined]
        rewards=cost.rewards,
        bonuses=cost.bonuses,
        fees=cost.fees,
        total=cost.total,
        platform=caps.name,
        currency=currency,
        drawn=cost.drawn,
    )
    verification = Verification({}, frozenset(), truths.files, {}, ())
    return PlanCheck(checked, verification, cost, api_listed, warnings, bonus_only), counts


def _states(status: np.ndarray, state_of):
    """in_states(states) -> whether each row's state (state_of its status) is one of them."""
    import pandas as pd

    codes, uniques = pd.factorize(status)
    state = [state_of(v) for v in uniques.tolist()]

    def in_states(states) -> np.ndarray:
        return np.isin(codes, [k for k, s in enumerate(state) if s in states])

    return in_states


def _per_value(values: np.ndarray, fn) -> np.ndarray:
    """fn of every cell (str or None), computed once per distinct cell."""
    import pandas as pd

    codes, uniques = pd.factorize(values)  # None: code -1
    out = np.empty(len(uniques) + 1, dtype=object)
    for k, v in enumerate(uniques.tolist()):  # one by one: a tuple result stays one cell
        out[k] = fn(v)
    out[-1] = fn(None) if (codes < 0).any() else None
    return out[codes]


def _amounts(col, n: int) -> np.ndarray:
    """plan_check's bonus of every row: None for a blank cell or "0", else the amount (AmountError
    for a cell that is not one)."""
    def amount(text: str) -> Decimal | None:
        text = text.strip()
        if not text:
            return None
        value = parse_amount(text)
        return None if value == 0 else value

    if isinstance(col, Coded):
        return col.map(amount)
    return _per_value(np.asarray(col, dtype=object), amount)


def _fallback(truth: np.ndarray, own: np.ndarray) -> np.ndarray:
    """plan_check's `(truth.get(field, "") or plan cell).strip()`."""
    return _per_value(np.where(truth != "", truth, own), str.strip)


def _cost(platform: Platform, decision, status, reward, group_size, bonus) -> CostSummary:
    """platform.fees.cost of the rows, through one PlanRow per distinct (decision, status, reward,
    size, bonus): the only fields a fee schedule reads."""
    groups = _groups((decision, status, reward, group_size, bonus))
    rows = [(PlanRow(submission_id="", participant_id="", group_id="", decision=d, reason="", detail="", code="",
                     response_id="", bonus=b, feedback="", source="", status=s, reward=r, group_size=g), k)
            for (d, s, r, g, b), k in groups.items()]
    fees = platform.fees
    if not getattr(fees, "additive", False) or not rows:
        return fees.cost(chain.from_iterable(repeat(row, k) for row, k in rows))
    total: dict[str, object] = {}
    for row, k in rows:  # a sum over rows: k rows alike cost k times one of them
        one = fees.cost([row])
        for name in ("approvals", "approvals_owed", "rewards", "reward_fees", "bonus_count", "bonuses", "bonus_fees",
                     "unknown_rewards", "tax"):
            add = getattr(one, name) * k
            total[name] = total[name] + add if name in total else add  # type: ignore[operator]
        total["rewards_prefunded"] = one.rewards_prefunded
    return CostSummary(**total)  # type: ignore[arg-type]


def _groups(columns: tuple[np.ndarray, ...]) -> Counter:
    """Counter(zip(*columns)) (the distinct rows and how many of each), by codes rather than tuples."""
    import pandas as pd

    key = np.zeros(len(columns[0]), dtype=np.int64)
    room = 1
    for col in columns:
        codes = pd.factorize(col)[0] + 1  # None (no bonus): 0
        width = int(codes.max(initial=0)) + 1
        room *= width
        if room >= 1 << 62:  # pragma: no cover - thousands of distinct values in every column
            return Counter(zip(*(c.tolist() for c in columns)))
        key = key * width + codes
    _, first, count = np.unique(key, return_index=True, return_counts=True)
    return Counter({tuple(col[i] for col in columns): int(k) for i, k in zip(first.tolist(), count.tolist())})


def _flag_counts(col) -> Counter:
    """Counter(f for r in rows for f in r.flags), in the same first-seen order (ties print in it)."""
    flags: Counter = Counter()
    if col is None:
        return flags
    if not isinstance(col, Coded):  # read coded (planfile._FEW_VALUES); counted row by row otherwise
        for text in col:
            flags.update(f.strip() for f in text.split(";") if f.strip())
        return flags
    seen = np.bincount(col.codes, minlength=len(col.values) + 1)
    first = np.full(len(col.values) + 1, len(col.codes), dtype=np.int64)
    np.minimum.at(first, col.codes, np.arange(len(col.codes)))
    for code in sorted(range(len(col.values) + 1), key=lambda c: first[c]):
        if not seen[code]:
            continue
        text = col.values[code] if code < len(col.values) else ""
        for f in (f.strip() for f in text.split(";") if f.strip()):
            flags[f] += int(seen[code])
    return flags


def _bonus_warnings(bonus: np.ndarray, has_bonus: np.ndarray, money) -> list[str]:
    """plan_check._bonus_warnings of the rows (row i is line i + 2)."""
    import statistics

    where = np.flatnonzero(has_bonus)
    if len(where) < 3:
        return []
    amounts = Counter(bonus[where].tolist())
    ordered = sorted(amounts)
    # statistics.median of every row's bonus, from the distinct amounts and how often each comes.
    middle = [_nth(ordered, amounts, len(where) // 2)]
    if len(where) % 2 == 0:
        middle.insert(0, _nth(ordered, amounts, len(where) // 2 - 1))
    median = statistics.median(middle)
    far_values = {b for b in ordered if b > median * 10 and b - median >= 10}
    if not far_values:
        return []
    far = [(int(i) + 2, bonus[i]) for i in where if bonus[i] in far_values]
    shown = ", ".join(f"line {line}: {money(b)}" for line, b in far[:5]) + (f" and {len(far) - 5} more" if len(far) > 5 else "")
    return [f"{len(far)} bonus(es) far above the others (median {money(median)}): {shown}; check them, or pass --max-bonus"]


def _nth(ordered: list, counts: Counter, k: int):
    for value in ordered:
        if k < counts[value]:
            return value
        k -= counts[value]
    raise IndexError(k)  # pragma: no cover


_CONTROL = re.compile("[\x00-\x1f]")


def _has_control(texts) -> bool:
    """Some text holds a character at or below the separator (isprintable first: a fast C loop that
    is True for none of them)."""
    texts = list(texts)
    for k in range(0, len(texts), 100_000):
        joined = "".join(texts[k:k + 100_000])
        if not joined.isprintable() and _CONTROL.search(joined):
            return True
    return False


def _digest(plan: PlanColumns, sid: np.ndarray, participant: np.ndarray, n: int) -> str:
    """planfile.plan_digest of the rows, the same value: each row's key joined with the separator
    it is hashed with, and the joined keys sorted, which is the tuples' order whenever no field holds
    a character at or below that separator (else the tuples are sorted, as plan_digest does)."""
    parts = [sid.tolist(), _lower(plan.column("decision"), n).tolist(), stripped(plan.column("bonus"), n).tolist(),
             stripped(plan.column("feedback"), n).tolist(), participant.tolist(), stripped(plan.column("group_id"), n).tolist()]
    category = stripped(plan.column("category"), n).tolist()
    if any(category):
        parts.append(category)
    if any(_has_control(set(part)) for part in parts[1:4] + parts[5:]) or _has_control(parts[0]) or _has_control(parts[4]):
        from .planfile import plan_digest

        fields = ("submission_id", "decision", "bonus", "feedback", "participant_id", "group_id", "category")
        return plan_digest(dict(zip(fields, k)) for k in zip(*parts))
    # (a category joins only where there is one, as plan_digest's tuples end there)
    ordered = ["\x1f".join(k) if k[-1] else "\x1f".join(k[:-1]) for k in zip(*parts)] if len(parts) == 7 else (
        ["\x1f".join(k) for k in zip(*parts)])
    del parts
    ordered.sort()
    h = hashlib.sha256()
    for start in range(0, len(ordered), 20_000):
        h.update(("\x1e".join(ordered[start:start + 20_000]) + "\x1e").encode("utf-8"))
    return h.hexdigest()
