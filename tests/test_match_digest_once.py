"""`match` sorts the plan's keys once: the digest write_plan remembers is handed to the workbook's
identity sheet. It must be the digest of the rows as written, the one `pay` recomputes."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl

from reconcile.planfile import plan_digest, read_plan_rows, rows_digest, shown_path
from reconcile.report import IDENTITY_SHEET
from reconcile.study import run_match

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def test_the_workbook_carries_the_digest_of_the_plan_as_written(tmp_path):
    summary = run_match(str(SAMPLE / "qualtrics_export.csv"), [str(SAMPLE / "mturk_batch_results.csv")],
                        plan_path=tmp_path / "plan.csv", report_path=tmp_path / "report.xlsx", bonus="0.25",
                        show_progress=False)
    read_back = plan_digest(r.cells for r in read_plan_rows(tmp_path / "plan.csv"))
    assert json.loads(shown_path(tmp_path / "plan.csv").read_text())["written_by_match"] == [read_back]
    assert rows_digest(summary.plan.rows) == read_back
    book = openpyxl.load_workbook(tmp_path / "report.xlsx", read_only=True)
    identity = {row[0]: row[1] for row in book[IDENTITY_SHEET].iter_rows(max_row=8, values_only=True) if row and row[0]}
    assert identity["digest"] == read_back
