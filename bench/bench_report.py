"""Benchmark: the PI's workbook for 100k plan rows: our streaming writer, openpyxl write-only mode, and
pandas DataFrame.to_excel (openpyxl), one run each, in the same process.

write_workbook writes everything (Summary, the editable Assignments sheet with its fills, dropdown
and conditional colours, Responses, Flags, the hidden plan sheet). The openpyxl write-only writer
writes only the Assignments sheet with the same cells, fills, frozen header, filter and dropdown;
pandas only the Assignments values (no styles). Prints the times and the ratios: the streaming
writer stays while it is the fastest (issue 12, point 6). Target: at least 1.5x faster than each.

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


def openpyxl_write_only(plan: Plan, path: Path) -> None:
    """The Assignments sheet as openpyxl's write-only (streaming) mode writes it, with the same styles."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    from reconcile.report import DECISION_COLOURS, READ_ONLY_COLOUR, _submission_cells

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Assignments")
    n = len(plan.rows) + 1
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:O{n}"
    dv = DataValidation(type="list", formula1='"approve,reject,review,skip"', allow_blank=False)
    dv.add(f"A2:A{n}")
    ws.data_validations.append(dv)
    grey = PatternFill("solid", fgColor=READ_ONLY_COLOUR)
    fills = {d: PatternFill("solid", fgColor=c) for d, c in DECISION_COLOURS.items()}
    bold = Font(bold=True)
    header = []
    for title in ASSIGNMENT_COLUMNS:
        c = WriteOnlyCell(ws, value=title)
        c.font = bold
        header.append(c)
    ws.append(header)
    money = '"$"#,##0.00'
    for r in plan.rows:
        out = []
        for j, v in enumerate(_submission_cells(r)):
            value = v[0] if type(v) is tuple else v
            c = WriteOnlyCell(ws, value=value if value != "" else None)
            if j == 0:
                c.fill = fills.get(r.decision, grey)
            elif j in (8, 11):
                c.number_format = money
                if j == 11:
                    c.fill = grey
            elif j != 9:
                c.fill = grey
            out.append(c)
        ws.append(out)
    wb.save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    plan = make_plan(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        timed = {}
        for name, write in (("ours", lambda p: write_workbook(p, plan, platform=MTURK)),
                            ("openpyxl", lambda p: openpyxl_write_only(plan, p)),
                            ("pandas", lambda p: baseline(plan, p))):
            path = Path(tmp) / f"{name}.xlsx"
            t0 = time.perf_counter()
            write(path)
            timed[name] = (time.perf_counter() - t0, path.stat().st_size)
    ours = timed["ours"][0]
    print(f"rows: {args.rows}")
    print(f"write_workbook (all sheets, styled, hidden plan sheet): {ours:8.2f} s  {timed['ours'][1] / 1e6:6.1f} MB")
    print(f"openpyxl write-only (Assignments, styled):              {timed['openpyxl'][0]:8.2f} s  {timed['openpyxl'][1] / 1e6:6.1f} MB")
    print(f"pandas to_excel (openpyxl, Assignments values only):    {timed['pandas'][0]:8.2f} s  {timed['pandas'][1] / 1e6:6.1f} MB")
    print(f"ratio openpyxl write-only / ours: {timed['openpyxl'][0] / ours:.1f}x; pandas / ours: {timed['pandas'][0] / ours:.1f}x "
          "(target >= 1.5x each)")


if __name__ == "__main__":
    main()
