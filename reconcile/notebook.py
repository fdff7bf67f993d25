"""A small API for notebooks: `import reconcile; r = reconcile.match(qualtrics=..., mturk=[...])`.

The same pipeline as `reconcile match` (study.run_match: the same reading, joining, rules and
bonuses), without touching the working folder: the plan is kept in memory. `r.plan_frame()` and
`r.responses_frame()` give pandas DataFrames for looking around; IDs and codes are strings (never
numbers: a code "0123" stays "0123") and money is Decimal (never float). Paying stays a deliberate
step: `r.write_plan("plan.csv")` / `r.write_workbook("report.xlsx")`, then `reconcile pay`.

pandas is imported here only, and only when a frame is asked for.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .errors import InputError
from .models import Plan, PlanRow

_MONEY_FIELDS = ("bonus",)


@dataclass(frozen=True)
class MatchResult:
    """What `reconcile.match(...)` returns: the plan (one decision per submission) and its counts."""

    plan: Plan
    counts: dict  # as `reconcile match --json` prints them

    @property
    def rows(self) -> tuple[PlanRow, ...]:
        return self.plan.rows

    @property
    def decisions(self) -> dict[str, str]:
        """submission ID -> decision (approve, reject, review, skip)."""
        return {r.submission_id: r.decision for r in self.plan.rows}

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.plan.warnings

    def plan_frame(self):
        """One row per submission, columns named as in the plan CSV. Text columns are pandas strings;
        `bonus` holds Decimal objects (None for no bonus); `flags` is a list of flag names."""
        from .planfile import FIELDS, plan_columns, plan_row_to_text

        columns = plan_columns(self.plan.platform)
        data: dict[str, list] = {columns[f]: [] for f in FIELDS if f in columns}
        for r in self.plan.rows:
            text = plan_row_to_text(r)
            for f in FIELDS:
                if f not in columns:
                    continue
                value: object = text[f]
                if f == "bonus":
                    value = r.bonus
                elif f == "flags":
                    value = list(r.flags)
                data[columns[f]].append(value)
        return _frame(data, objects=(columns["bonus"], columns["flags"]))

    def responses_frame(self):
        """One row per survey response (matched, unmatched or excluded, with the reason), all text."""
        from .planfile import RESPONSE_FIELDS, response_columns

        columns = response_columns(self.plan.platform)
        data = {columns[f]: [getattr(r, f) for r in self.plan.responses] for f in RESPONSE_FIELDS}
        return _frame(data)

    def write_plan(self, path: str | os.PathLike) -> Path:
        """The plan CSV (and its responses file), as `reconcile match` writes it; then `reconcile pay PATH`."""
        from .planfile import refuse_unseen_edits, write_plan

        refuse_unseen_edits(path)
        write_plan(self.plan, path)
        return Path(path)

    def write_workbook(self, path: str | os.PathLike) -> Path:
        """The PI's workbook (also a plan `reconcile pay` reads)."""
        from . import platforms
        from .outputs import require_xlsx
        from .report import write_workbook
        from .workbook_plan import refuse_unseen_workbook_edits

        require_xlsx("write_workbook", path)
        refuse_unseen_workbook_edits(path)
        write_workbook(Path(path), self.plan, platform=platforms.get(self.plan.platform))
        return Path(path)


def _frame(data: dict[str, list], objects: Sequence[str] = ()):
    import pandas as pd

    frame = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in data.items()})
    for name in data:
        if name not in objects:
            frame[name] = frame[name].astype("string")
    return frame


def match(
    *,
    qualtrics: str | os.PathLike,
    mturk: Sequence[str | os.PathLike] | str | os.PathLike = (),
    prolific: Sequence[str | os.PathLike] | str | os.PathLike = (),
    rules: str | os.PathLike | None = None,
    bonus: str | None = None,
    max_bonus: str | None = None,
    code_column: str | None = None,
    participant_column: str | None = None,
    completion_codes: Sequence[str] = (),
    confirm_rejections: bool = False,
) -> MatchResult:
    """Match a Qualtrics export (a file, or a survey ID fetched through the API) against the platform's
    files: `mturk=[batch CSVs]` or `prolific=[exports]`. Raises ReconcileError subclasses with the same
    one-sentence messages as the command line. Writes nothing."""
    from . import platforms
    from .study import run_match

    def paths(value) -> list[str]:
        return [os.fspath(value)] if isinstance(value, (str, os.PathLike)) else [os.fspath(v) for v in value]

    given = {name: paths(v) for name, v in (("mturk", mturk), ("prolific", prolific)) if paths(v)}
    if len(given) != 1:
        raise InputError("give the platform's files as mturk=[...] or prolific=[...] (one of the two).")
    (name, files), = given.items()
    platform = platforms.get(name)
    with tempfile.TemporaryDirectory(prefix="reconcile-notebook-") as tmp:
        summary = run_match(
            os.fspath(qualtrics), files, platform=platform, files_option=f"the {name}= input",
            plan_path=Path(tmp) / "plan.csv", report_path=None, rules_path=rules, bonus=bonus, max_bonus=max_bonus,
            code_column=code_column, participant_column=participant_column, completion_codes=tuple(completion_codes),
            confirm_rejections=confirm_rejections, show_progress=False,
        )
    return MatchResult(summary.plan, summary.counts)
