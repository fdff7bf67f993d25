"""The workbook read as a plan without the command line: any platform's words (Prolific's Submissions sheet),
the digest shared with the plan CSV, money cells, and the messages' cell references."""

from __future__ import annotations

from decimal import Decimal

import openpyxl
import pytest

from reconcile.models import Plan, PlanRow
from reconcile.planfile import plan_digest, read_plan, write_plan, written_digest
from reconcile.platforms.prolific import PLATFORM as PROLIFIC
from reconcile.report import write_workbook
from reconcile.workbook_plan import cell_text


def _rows():
    return tuple(
        PlanRow(submission_id=f"{i:024x}", participant_id=f"{i + 100:024x}", group_id="6" * 24, decision=d, reason="code_match",
                detail="-1 point", code=c, response_id=f"R_{i}", bonus=b, feedback=f, source=f"export.csv:{i + 2}")
        for i, (d, c, b, f) in enumerate([
            ("approve", "C1A2B3", Decimal("1.50"), ""),
            ("review", '=HYPERLINK("http://example.org/x","click")', None, ""),
            ("reject", "0123", None, "No code was entered."),
        ])
    )


def test_prolific_workbook_is_a_plan_with_its_own_words(tmp_path):
    plan = Plan(rows=_rows(), platform="prolific", currency="GBP")
    write_workbook(tmp_path / "r.xlsx", plan, platform=PROLIFIC)
    write_plan(plan, tmp_path / "p.csv")
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert "Submissions" in wb.sheetnames and wb["reconcile plan"].sheet_state == "hidden"
    text = read_plan(tmp_path / "r.xlsx")
    assert text.platform == "prolific"
    assert [r.cells["code"] for r in text.rows] == [r.code for r in plan.rows]  # '=...' and '0123' as they were
    assert [r.cells["bonus"] for r in text.rows] == ["1.50", "", ""]
    assert plan_digest(r.cells for r in text.rows) == written_digest(plan) == plan_digest(r.cells for r in read_plan(tmp_path / "p.csv").rows)
    assert text.column("decision") == "Decision" and text.column("bonus") == "Bonus"
    assert text.where("line 3, column Decision: bad") == "Submissions!A3: bad"
    assert text.where("1 bonus far above the others: line 4: £50.00") == "1 bonus far above the others: Submissions row 4: £50.00"
    assert not text.notes and not text.problems


@pytest.mark.parametrize("value, money, text", [
    (1.5, True, "1.50"), (2, True, "2.00"), (0.975, True, "0.975"), ("1.5", True, "1.5"), (None, True, ""),
    (1e-05, True, "0.00001"), (12345.0, False, "12345"), (True, False, "TRUE"),
])
def test_cell_text(value, money, text):
    assert cell_text(value, money=money) == text
