"""The PI's workbook is the plan: edited with openpyxl (as Excel would save it), `reconcile pay report.xlsx`
does exactly what the edits say, names problems by sheet and cell, identifies rows by their IDs, and
pays through the emulator like the plan CSV. Every feature of the sheet is read back with openpyxl."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from conftest import SAMPLE_DATA, run_cli
from emulator_helpers import start_emulator
from test_executor_support import FAKE_ENV, emulator_snapshot_by_assignment

SAMPLE_NOW = "2036-03-06T16:00:00Z"  # sample_data/make_sample.py REFERENCE_NOW
ENV = {"RECONCILE_NOW": SAMPLE_NOW}
SHEET = "Assignments"


@pytest.fixture
def study(tmp_path):
    for name in ("qualtrics_export.csv", "mturk_batch_results.csv"):
        shutil.copy(SAMPLE_DATA / name, tmp_path / name)
    m = run_cli("match", "--qualtrics", "qualtrics_export.csv", "--mturk", "mturk_batch_results.csv", cwd=tmp_path, env=ENV)
    assert m.returncode == 0, m.stderr
    return tmp_path


def pay(d: Path, *args: str, env=None):
    return run_cli("pay", *args, cwd=d, env={**ENV, **(env or {})})


class Sheet:
    """The sheet of submissions opened for editing, columns by their titles."""

    def __init__(self, path: Path):
        self.wb = openpyxl.load_workbook(path)
        self.ws = self.wb[SHEET]
        self.col = {c.value: c.column for c in self.ws[1]}

    def rows_where(self, title: str, value) -> list[int]:
        return [r for r in range(2, self.ws.max_row + 1) if self.ws.cell(r, self.col[title]).value == value]

    def get(self, r: int, title: str):
        return self.ws.cell(r, self.col[title]).value

    def set(self, r: int, title: str, value) -> None:
        self.ws.cell(r, self.col[title]).value = value

    def ref(self, r: int, title: str) -> str:
        return f"{SHEET}!{self.ws.cell(r, self.col[title]).column_letter}{r}"


def upload_decisions(path: Path) -> dict[str, tuple[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {r["AssignmentId"]: (r["Approve"], r["Reject"]) for r in csv.DictReader(fh)}


def test_edited_workbook_pays_exactly_the_edits(study):
    """The done-when of issue 12: one review row approved, one approve row rejected with feedback, one bonus changed."""
    d = study
    r = pay(d, "reconcile-report.xlsx", "--upload-csv", "before.csv", "--json")
    assert r.returncode == 0, r.stderr
    before = json.loads(r.stdout)
    s = Sheet(d / "reconcile-report.xlsx")
    review, approve_a, approve_b = s.rows_where("Decision", "review")[0], *s.rows_where("Decision", "approve")[:2]
    ids = {k: s.get(row, "Assignment ID") for k, row in (("review", review), ("reject", approve_a), ("bonus", approve_b))}
    feedback = "Your completion code does not match any survey response."
    s.set(review, "Decision", "approve")
    s.set(approve_a, "Decision", "reject")
    s.set(approve_a, "Feedback", feedback)
    s.set(approve_b, "Bonus", 1.25)  # a number cell, as Excel stores a typed amount
    s.wb.save(d / "reconcile-report.xlsx")

    r = pay(d, "reconcile-report.xlsx", "--upload-csv", "up.csv", "--json")
    assert r.returncode == 0, r.stderr
    after = json.loads(r.stdout)
    old, new = upload_decisions(d / "before.csv"), upload_decisions(d / "up.csv")
    changed = {aid for aid in old if old[aid] != new[aid]}
    assert changed == {ids["review"], ids["reject"]}
    assert new[ids["review"]] == ("x", "") and new[ids["reject"]] == ("", feedback)
    assert old[ids["review"]] == ("", "") and old[ids["reject"]] == ("x", "")
    assert after["bonus_count"] == before["bonus_count"] + 1
    assert after["bonuses"] == "1.25" and before["bonuses"] == "0.00"
    assert after["digest"] != before["digest"]
    # The dry run lists what was edited, row by row.
    edits = next(w for w in after["warnings"] if w.startswith("edited since reconcile wrote this workbook"))
    assert "3 row(s)" in edits and f"{ids['bonus']}): bonus (none) -> 1.25" in edits
    assert f"{ids['review']}): decision review -> approve" in edits


def test_unedited_workbook_is_the_plan_csv(study):
    d = study
    csv_run, xlsx_run = pay(d, "reconcile-plan.csv", "--json"), pay(d, "reconcile-report.xlsx", "--json")
    assert csv_run.returncode == 0 and xlsx_run.returncode == 0, xlsx_run.stderr
    a, b = json.loads(csv_run.stdout), json.loads(xlsx_run.stdout)
    for k in ("digest", "decisions", "total", "bonuses", "fees", "rewards", "approvals_owed"):
        assert a[k] == b[k], k
    assert not any(w.startswith("edited since") for w in b["warnings"])


def test_every_problem_at_once_named_by_sheet_and_cell(study):
    d = study
    s = Sheet(d / "reconcile-report.xlsx")
    approve = s.rows_where("Decision", "approve")
    s.set(approve[0], "Decision", "maybe")
    s.set(approve[1], "Bonus", "lots")
    s.set(approve[2], "Bonus", 0.975)  # three decimals: refused, never rounded
    s.set(approve[3], "Decision", "reject")  # no feedback
    s.wb.save(d / "reconcile-report.xlsx")
    r = pay(d, "reconcile-report.xlsx", "--upload-csv", "up.csv")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"{s.ref(approve[0], 'Decision')}: 'maybe' is not one of approve, reject, review, skip" in r.stderr
    assert f"{s.ref(approve[1], 'Bonus')}: 'lots' is not an amount" in r.stderr
    assert f"{s.ref(approve[2], 'Bonus')}: '0.975' is not an amount with at most two decimals" in r.stderr
    assert f"{s.ref(approve[3], 'Feedback')}:" in r.stderr
    assert "line " not in r.stderr
    assert not (d / "up.csv").exists()


def test_rows_are_found_by_their_ids_not_their_position(study):
    """Sorted the other way round, filtered, and with the columns moved: the same plan."""
    d = study
    want = json.loads(pay(d, "reconcile-plan.csv", "--json").stdout)["digest"]
    s = Sheet(d / "reconcile-report.xlsx")
    ws = s.ws
    data = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    data.reverse()
    header = [c.value for c in ws[1]]
    order = [header.index(h) for h in reversed(header)]  # every column moved
    for j, h in enumerate(reversed(header), start=1):
        ws.cell(1, j).value = h
    for i, row in enumerate(data, start=2):
        for j, src in enumerate(order, start=1):
            ws.cell(i, j).value = row[src]
    ws.auto_filter.ref = ws.dimensions
    for r in range(2, 40):
        ws.row_dimensions[r].hidden = True  # a filter in Excel hides rows; they are still the plan's
    s.wb.save(d / "reconcile-report.xlsx")
    r = pay(d, "reconcile-report.xlsx", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["digest"] == want


def test_a_deleted_row_and_an_added_row_are_errors(study):
    d = study
    s = Sheet(d / "reconcile-report.xlsx")
    gone = s.rows_where("Decision", "approve")[5]
    gone_id = s.get(gone, "Assignment ID")
    s.ws.delete_rows(gone)
    last = s.ws.max_row + 1
    s.set(last, "Assignment ID", "3NEWROWNOTINTHEPLAN00000000000")
    s.set(last, "Decision", "approve")
    s.wb.save(d / "reconcile-report.xlsx")
    r = pay(d, "reconcile-report.xlsx")
    assert r.returncode == 2
    assert f"the row of assignment {gone_id}" in r.stderr and "was deleted" in r.stderr
    assert f"{s.ref(last, 'Assignment ID')}: assignment 3NEWROWNOTINTHEPLAN00000000000 is not one this workbook was written with" in r.stderr


def test_a_workbook_that_is_no_plan_is_one_sentence(study, tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "hello"
    wb.save(tmp_path / "other.xlsx")
    r = pay(tmp_path, "other.xlsx")
    assert r.returncode == 2 and "holds no reconcile plan" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    r = pay(tmp_path, "broken.xlsx")
    assert r.returncode == 2 and "cannot be read as an Excel workbook" in r.stderr and "Traceback" not in r.stderr


def test_bonus_cells_as_text_and_numbers(study):
    d = study
    s = Sheet(d / "reconcile-report.xlsx")
    approve = s.rows_where("Decision", "approve")
    s.set(approve[0], "Bonus", "0.50")  # typed as text
    s.set(approve[1], "Bonus", 2)  # an integer cell
    s.set(approve[2], "Bonus", 0.1 + 0.2)  # a computed float; a spreadsheet stores it with 15 digits: 0.3
    s.wb.save(d / "reconcile-report.xlsx")
    r = pay(d, "reconcile-report.xlsx", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["bonuses"] == "2.80"


def test_the_editable_sheet_read_back(study):
    wb = openpyxl.load_workbook(study / "reconcile-report.xlsx")
    ws = wb[SHEET]
    col = {c.value: c.column_letter for c in ws[1]}
    n = ws.max_row
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:O{n}"
    rules = {str(v.sqref): v for v in ws.data_validations.dataValidation}
    decision = rules[f"{col['Decision']}2:{col['Decision']}{n}"]
    assert decision.type == "list" and decision.formula1 == '"approve,reject,review,skip"' and decision.showErrorMessage
    assert rules[f"{col['Bonus']}2:{col['Bonus']}{n}"].type == "decimal"
    for r in (2, n):
        assert "0.00" in ws[f"{col['Bonus']}{r}"].number_format  # money with 2 decimals, even when empty
        for title in ("Reason", "Code", "Worker ID", "Assignment ID", "Status", "Source"):
            assert ws[f"{col[title]}{r}"].fill.fgColor.rgb == "FFF2F2F2", title  # read-only: grey
        for title in ("Bonus", "Feedback"):
            assert ws[f"{col[title]}{r}"].fill.fill_type is None, title
    # The decision colour follows edits: one rule per decision on the decision cells.
    rules = {str(cf.sqref): [(x.type, x.operator, x.formula) for x in cf.rules] for cf in ws.conditional_formatting}
    assert rules == {f"{col['Decision']}2:{col['Decision']}{n}": [("cellIs", "equal", [f'"{d}"']) for d in ("approve", "reject", "review", "skip")]}
    identity = wb["reconcile plan"]
    assert identity.sheet_state == "hidden"
    assert [wb.sheetnames.index(ws.title) for ws in wb.worksheets if ws.sheet_state == "visible"] == [0, 1, 2, 3]


@pytest.mark.slow
def test_execute_from_the_workbook(study):
    """--execute from an edited workbook: the emulator sees the edited decisions and the typed bonus."""
    d = study
    s = Sheet(d / "reconcile-report.xlsx")
    review = s.rows_where("Decision", "review")[0]
    approve = s.rows_where("Decision", "approve")[0]
    rid, aid = s.get(review, "Assignment ID"), s.get(approve, "Assignment ID")
    s.set(review, "Decision", "approve")
    s.set(approve, "Bonus", 0.75)
    s.wb.save(d / "reconcile-report.xlsx")
    assert pay(d, "reconcile-report.xlsx").returncode == 0  # the dry run the PI saw
    env = {**FAKE_ENV, "XDG_CACHE_HOME": str(d / "cache")}
    with start_emulator([str(d / "mturk_batch_results.csv")], as_of=SAMPLE_NOW) as emu:
        r = pay(d, "reconcile-report.xlsx", "--execute", "--endpoint-url", emu.url, "--rate", "200", "--json", env=env)
        assert r.returncode in (0, 1), r.stderr  # some sample rows are meant to fail (already decided on MTurk)
        state = emu.state()
    statuses, bonuses = emulator_snapshot_by_assignment(state)
    assert statuses[rid] == "Approved"
    assert [b["amount"] for b in bonuses.get(aid, [])] == ["0.75"]
    assert (d / "reconcile-report.ledger.sqlite").is_file()


def test_match_keeps_an_edited_workbook(study):
    """Re-running `match` would replace the PI's edits in the workbook: refused unless --force."""
    d = study
    s = Sheet(d / "reconcile-report.xlsx")
    s.set(s.rows_where("Decision", "review")[0], "Decision", "approve")
    s.wb.save(d / "reconcile-report.xlsx")
    again = ("match", "--qualtrics", "qualtrics_export.csv", "--mturk", "mturk_batch_results.csv")
    r = run_cli(*again, cwd=d, env=ENV)
    assert r.returncode == 2 and "reconcile-report.xlsx holds edits" in r.stderr
    assert len(Sheet(d / "reconcile-report.xlsx").rows_where("Decision", "review")) == len(s.rows_where("Decision", "review"))
    assert run_cli(*again, "--force", cwd=d, env=ENV).returncode == 0


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed here: the workbook's round trip through "
                    "another spreadsheet program (soffice --headless --convert-to xlsx) is not tested on this machine")
def test_a_workbook_rewritten_by_libreoffice_is_still_the_plan(study):
    """The sample report opened headless in LibreOffice and saved again (after edits made with openpyxl)."""
    import subprocess

    d = study
    s = Sheet(d / "reconcile-report.xlsx")
    review = s.rows_where("Decision", "review")[0]
    rid = s.get(review, "Assignment ID")
    s.set(review, "Decision", "approve")
    s.wb.save(d / "edited.xlsx")
    out = d / "converted"
    out.mkdir()
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{d / 'lo-profile'}", "--convert-to", "xlsx",
                    "--outdir", str(out), str(d / "edited.xlsx")], check=True, capture_output=True, timeout=300)
    converted = out / "edited.xlsx"
    assert converted.is_file()
    assert openpyxl.load_workbook(converted)["reconcile plan"].sheet_state == "hidden"
    r = pay(d, str(converted), "--upload-csv", "up.csv", "--json")
    assert r.returncode == 0, r.stderr
    assert upload_decisions(d / "up.csv")[rid] == ("x", "")
    edits = [w for w in json.loads(r.stdout)["warnings"] if w.startswith("edited since")]
    assert len(edits) == 1 and "1 row(s)" in edits[0] and f"{rid}): decision review -> approve" in edits[0]
