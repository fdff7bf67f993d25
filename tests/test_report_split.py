"""A workbook sheet past Excel's row limit (1,048,576 rows, header included) is split into sheets
"Name", "Name (2)", ... each with the header, and the Summary says so in one sentence; Excel
refuses a file with a longer sheet. The limit is lowered here so the test stays small: the split
is the same code at any limit."""

from __future__ import annotations

import openpyxl

from reconcile import report
from reconcile.models import Plan, PlanRow
from reconcile.platforms.mturk import PLATFORM as MTURK
from reconcile.report import FLAGS_SHEET, SUMMARY_SHEET, responses_sheet, submissions_sheet, write_workbook

SUBMISSIONS = submissions_sheet(MTURK.words)
RESPONSES = responses_sheet(MTURK.words)


def _row(i: int, flags=()) -> PlanRow:
    return PlanRow(
        submission_id=f"A{i:04d}", participant_id=f"W{i}", group_id="H", decision="approve", reason="code_match",
        detail="matches", code=str(100000 + i), response_id=f"R_{i}", bonus=None, feedback="", source=f"batch.csv:{i + 1}",
        flags=tuple(flags), status="Submitted", reward="$0.40", group_size="10", review_deadline="",
    )


def _plan(n: int, flagged: int) -> Plan:
    return Plan(rows=tuple(_row(i, ("duplicate_ip",) if i < flagged else ()) for i in range(n)), responses=(),
                inputs=("q.csv", "batch.csv"), warnings=())


def _sheets(path):
    wb = openpyxl.load_workbook(path)
    return wb, {name: [list(r) for r in wb[name].iter_rows(values_only=True)] for name in wb.sheetnames}


def test_a_long_sheet_continues_on_numbered_sheets(tmp_path, monkeypatch):
    whole = tmp_path / "whole.xlsx"
    write_workbook(whole, _plan(11, 5), platform=MTURK)
    _, unsplit = _sheets(whole)

    monkeypatch.setattr(report, "EXCEL_MAX_ROWS", 5)  # a header and four rows per sheet
    split = tmp_path / "split.xlsx"
    write_workbook(split, _plan(11, 5), platform=MTURK)
    wb, got = _sheets(split)

    assert wb.sheetnames == [SUMMARY_SHEET, SUBMISSIONS, f"{SUBMISSIONS} (2)", f"{SUBMISSIONS} (3)", RESPONSES,
                             FLAGS_SHEET, f"{FLAGS_SHEET} (2)"]
    parts = [got[SUBMISSIONS], got[f"{SUBMISSIONS} (2)"], got[f"{SUBMISSIONS} (3)"]]
    assert [len(p) for p in parts] == [5, 5, 4]
    header = unsplit[SUBMISSIONS][0]
    assert all(p[0] == header for p in parts)
    assert [r for p in parts for r in p[1:]] == unsplit[SUBMISSIONS][1:]  # every row once, in order
    assert got[FLAGS_SHEET][1:] + got[f"{FLAGS_SHEET} (2)"][1:] == unsplit[FLAGS_SHEET][1:]
    for name in wb.sheetnames[1:]:
        ws = wb[name]
        assert ws.max_row <= 5 and ws.freeze_panes == "A2" and ws.auto_filter.ref.endswith(str(ws.max_row))

    summary = [r[0] for r in got[SUMMARY_SHEET] if r and isinstance(r[0], str)]
    said = [s for s in summary if "more than Excel allows" in s]
    assert said == [
        f"The {SUBMISSIONS} sheet has 11 rows, more than Excel allows in one sheet, so it continues on "
        f"{SUBMISSIONS} (2), {SUBMISSIONS} (3).",
        f"The {FLAGS_SHEET} sheet has 5 rows, more than Excel allows in one sheet, so it continues on {FLAGS_SHEET} (2).",
    ]
    assert not any("more than Excel allows" in s for s in (r[0] for r in unsplit[SUMMARY_SHEET] if r and isinstance(r[0], str)))


def test_a_sheet_exactly_at_the_limit_is_not_split(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "EXCEL_MAX_ROWS", 5)
    p = tmp_path / "r.xlsx"
    write_workbook(p, _plan(4, 0), platform=MTURK)
    wb, got = _sheets(p)
    assert wb.sheetnames[:2] == [SUMMARY_SHEET, SUBMISSIONS] and f"{SUBMISSIONS} (2)" not in wb.sheetnames
    assert len(got[SUBMISSIONS]) == 5
