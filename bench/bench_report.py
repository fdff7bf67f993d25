"""Benchmark: the PI's workbook for 100k plan rows, against pandas DataFrame.to_excel (openpyxl).

Both write the same rows (the Assignments sheet's columns) in the same run; prints both times and
the ratio. Target: write_workbook at least 1.5x faster than the baseline.

    /work/venv/bin/python bench/bench_report.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from reconcile.models import Plan, PlanRow, ResponseOutcome
from reconcile.platforms.mturk import PLATFORM as MTURK
from reconcile.report import _submission_texts, submission_columns, write_workbook

ASSIGNMENT_COLUMNS = submission_columns(MTURK.words)


def make_plan(n: int, seed: int = 7) -> Plan:
    rnd = random.Random(seed)
    reasons = {"approve": "code_match", "review": "near_miss", "reject": "no_code", "skip": "already_approved"}
    rows = []
    for i in range(n):
        d = rnd.choices(list(reasons), [90, 6, 2, 2])[0]
        rows.append(PlanRow(
            submission_id=f"3{rnd.getrandbits(120):029X}"[:30], participant_id=f"A{rnd.getrandbits(60):013X}"[:14],
            group_id=f"3{i // 100:029d}", decision=d, reason=reasons[d],
            detail="The code matches the response exactly." if d == "approve" else "Closest response R_1x (one edit away).",
            code=str(rnd.randrange(10**6, 10**9)), response_id=f"R_{rnd.getrandbits(64):015X}",
            bonus=Decimal(rnd.randrange(0, 300)) / 100 if d == "approve" and i % 3 == 0 else None,
            feedback="The code you entered does not match any survey response." if d == "reject" else "",
            source=f"batch.csv:{i + 2}", flags=("duplicate_ip",) if i % 50 == 0 else (),
            status="Approved" if d == "skip" else "Submitted", reward="$0.40", group_size="100",
            review_deadline="Wed Nov 15 08:28:41 PST 2017",
        ))
    responses = tuple(
        ResponseOutcome(f"R_u{i}", "unmatched", "no_assignment", "No assignment carries this code.", str(i), "", "", f"q.csv:{i + 4}")
        for i in range(n // 20)
    )
    return Plan(platform="mturk", rows=tuple(rows), responses=responses, inputs=(f"batch.csv ({n} rows)",))


def baseline(plan: Plan, path: Path) -> None:
    """What a script would do: a DataFrame of the same rows, written with pandas' openpyxl engine."""
    import pandas as pd

    df = pd.DataFrame([_submission_texts(r) for r in plan.rows], columns=list(ASSIGNMENT_COLUMNS))
    df["Bonus"] = [float(r.bonus) if r.bonus is not None else None for r in plan.rows]
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        df.to_excel(xw, sheet_name="Assignments", index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    plan = make_plan(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_workbook(Path(tmp) / "ours.xlsx", plan, platform=MTURK)
        ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        baseline(plan, Path(tmp) / "pandas.xlsx")
        base = time.perf_counter() - t0
        size_ours = (Path(tmp) / "ours.xlsx").stat().st_size
        size_base = (Path(tmp) / "pandas.xlsx").stat().st_size
    print(f"rows: {args.rows}")
    print(f"write_workbook (4 sheets):          {ours:8.2f} s  {size_ours / 1e6:6.1f} MB")
    print(f"pandas to_excel (openpyxl, 1 sheet): {base:8.2f} s  {size_base / 1e6:6.1f} MB")
    print(f"ratio (baseline / ours): {base / ours:.1f}x (target >= 1.5x)")


if __name__ == "__main__":
    main()
