"""Decisions + bonus policy -> models.Plan. Pure: no I/O.

Bonuses go only to approved submissions, computed from the matched response, rounded to cents
half-up and capped at --max-bonus.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Sequence

from .bonus import BonusExpr, BonusResult, compute_bonus
from .notices import once_each
from .records import one_field_copier, paused_gc, replaced
from .match import MatchResult
from .models import Plan, PlanRow, Response
from .platform import Platform, Words


def _replace(row: PlanRow, **changes) -> PlanRow:
    # dataclasses.replace re-reads every field through getattr and runs the frozen __init__;
    # on 100k rows this is several times faster.
    return replaced(row, **changes)


def build_plan(
    result: MatchResult,
    responses: Sequence[Response],
    *,
    bonus: BonusExpr | None = None,
    max_bonus: Decimal | None = None,
    inputs: Sequence[str] = (),
    warnings: Sequence[str] = (),
    platform: Platform,
    rows: list[PlanRow] | None = None,
) -> Plan:
    """Attach bonuses to approved rows and assemble the Plan (rows in source order), its reasons in
    the platform's words (the reason codes its plans have always shown).

    `responses` are the ones given to match (the result already links each row to its response).
    `rows`: the result's rows as a list the caller gives away (result.rows is then not read). Each
    row given a bonus replaces its old row in that list, so when nothing else holds the old rows
    (run_match drops its MatchResult's first), each is freed as it goes instead of the whole plan
    being held twice (a few hundred MB at a million rows).
    """
    with paused_gc():
        return _build_plan(result, responses, bonus=bonus, max_bonus=max_bonus, inputs=inputs, warnings=warnings,
                           platform=platform, rows=rows)


def _reworded(rows, platform: Platform):
    """Rows (or response outcomes) with their neutral reason codes as the platform writes them."""
    codes = {r.reason for r in rows}
    mapped = {c: platform.reason_code(c) for c in codes}
    if all(k == v for k, v in mapped.items()):
        return rows
    return [x if mapped[x.reason] == x.reason else _replace_any(x, reason=mapped[x.reason]) for x in rows]


def _replace_any(record, **changes):
    return replaced(record, **changes)


def _build_plan(result, responses, *, bonus, max_bonus, inputs, warnings, platform, rows) -> Plan:
    if rows is None:
        rows = list(result.rows)
    extra_warnings: list[str] = []
    if bonus is not None:
        assert len(result.matched) == len(rows), "a MatchResult from match() links every row"
        # A bonus depends only on the cells the expression reads: 100k responses have a few
        # hundred distinct scores, so each is computed once. (Errors are never cached: the first
        # bad row still raises with its own file and row.)
        columns = bonus.columns
        done: dict[tuple[str, ...], BonusResult] = {}
        capped = blank = 0
        with_bonus = one_field_copier(PlanRow, "bonus") if "__slots__" in PlanRow.__dict__ else None
        for i, (row, resp) in enumerate(zip(rows, result.matched)):
            if row.decision != "approve":
                continue
            if resp is None:  # an approved row always has its matched response; be safe anyway
                continue
            cells = tuple([resp.fields.get(c, "") for c in columns])
            res = done.get(cells)
            if res is None:
                res = done[cells] = compute_bonus(
                    bonus, resp.fields, max_bonus=max_bonus, where=f"{resp.source.path} row {resp.source.row}"
                )
            if not res.flags and not res.note and with_bonus is not None and type(row) is PlanRow:
                # Most bonuses: nothing to add to the row's flags and detail.
                rows[i] = with_bonus(row, res.amount)
                continue
            capped += "bonus_capped" in res.flags
            blank += "bonus_blank" in res.flags
            rows[i] = _replace(
                row,
                bonus=res.amount,
                flags=tuple(dict.fromkeys(row.flags + res.flags)),
                detail=f"{row.detail} {res.note}".strip() if res.note else row.detail,
            )
        if capped:
            extra_warnings.append(f"{capped} bonus(es) were cut to the --max-bonus of {max_bonus}.")
        if blank:
            extra_warnings.append(f"{blank} approved {platform.words.submission}(s) get no bonus because a --bonus column is empty.")
    return Plan(
        rows=tuple(_reworded(rows, platform)),
        responses=tuple(_reworded(result.responses, platform)),
        inputs=tuple(inputs),
        # Each fact once: a reader and the matcher may both report the same damaged codes.
        warnings=once_each((*warnings, *result.warnings, *extra_warnings)),
        platform=platform.capabilities.name,
        currency=platform.capabilities.currency,
    )


def summarize(plan: Plan, words: Words) -> dict:
    """The counts `reconcile match --json` prints (one JSON object; the platform names what it counts)."""
    decisions = {d: 0 for d in ("approve", "reject", "review", "skip")}
    reasons: dict[str, int] = {}
    for row in plan.rows:
        decisions[row.decision] = decisions.get(row.decision, 0) + 1
        reasons[row.reason] = reasons.get(row.reason, 0) + 1
    outcomes = {"matched": 0, "unmatched": 0, "excluded": 0}
    for r in plan.responses:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    return {
        words.submissions: len(plan.rows),
        "decisions": decisions,
        "reasons": dict(sorted(reasons.items())),
        "responses": outcomes,
    }
