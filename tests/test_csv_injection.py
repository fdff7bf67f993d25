"""Data never becomes a formula: a worker's `=HYPERLINK(...)` code and a respondent's `@SUM(...)` code appear as
text in every file we write for people (plan CSV, responses CSV, workbooks), and the plan still round-trips
losslessly (same digest, same cells). MTurk's upload file is the one exception: it keeps the batch's bytes."""

from __future__ import annotations

import csv
import json
import zipfile

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import SAMPLE_DATA, run_cli
from reconcile.csvsafe import TRIGGERS, escape, is_formula_like, unescape
from reconcile.planfile import read_plan

HYPERLINK = '=HYPERLINK("http://example.org/x","click")'
DDE = "@SUM(1+1)*cmd|' /C calc'!A0"
ENV = {"RECONCILE_NOW": "2036-03-06T16:00:00Z"}


@pytest.mark.parametrize("value, written", [
    (HYPERLINK, "'" + HYPERLINK),
    (DDE, "'" + DDE),
    ("-1.00", "'-1.00"),
    ("+1", "'+1"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("'=x", "''=x"),  # someone typed the apostrophe already: kept, so reading gives it back
    ("plain", "plain"),
    ("it's", "it's"),
    ("'quoted'", "'quoted'"),
    ("", ""),
    ("1.50", "1.50"),
])
def test_escape_examples(value, written):
    assert escape(value) == written
    assert unescape(written) == value


@given(st.text(alphabet=st.sampled_from(list("'=+-@\t\rab1 ")), max_size=8) | st.text(max_size=20))
def test_escape_round_trips_and_never_leaves_a_formula(value):
    written = escape(value)
    assert unescape(written) == value
    assert not is_formula_like(written)
    assert written == value or written == "'" + value


def _poison(d):
    """The sample study with a worker's code and a respondent's code that would be formulas in a spreadsheet."""
    batch = d / "mturk_batch_results.csv"
    with open(SAMPLE_DATA / batch.name, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    code = rows[0].index("Answer.surveycode")
    rows[1][code] = HYPERLINK
    with open(batch, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    survey = d / "qualtrics_export.csv"
    with open(SAMPLE_DATA / survey.name, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    code = rows[0].index("mTurkCode")
    rows[5][code] = DDE
    with open(survey, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)


def _cells(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [c for row in csv.reader(fh) for c in row]


def _workbook_texts(path):
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            assert b"<f>" not in zf.read(name) and b"<f " not in zf.read(name), name
    wb = openpyxl.load_workbook(path)
    found = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value in (HYPERLINK, DDE)]
    assert all(c.data_type == "s" for c in found)
    return {c.value for c in found}


def test_hostile_codes_are_text_in_every_file_we_write(tmp_path):
    d = tmp_path
    _poison(d)
    m = run_cli("match", "--qualtrics", "qualtrics_export.csv", "--mturk", "mturk_batch_results.csv", cwd=d, env=ENV)
    assert m.returncode == 0, m.stderr
    plan_cells = _cells(d / "reconcile-plan.csv")
    response_cells = _cells(d / "reconcile-plan.responses.csv")
    for cells in (plan_cells, response_cells):
        assert not [c for c in cells if c[:1] in TRIGGERS], "a cell a spreadsheet would run as a formula"
    assert "'" + HYPERLINK in plan_cells
    assert "'" + DDE in response_cells
    assert _workbook_texts(d / "reconcile-report.xlsx") == {HYPERLINK, DDE}

    # The reader removes exactly the added apostrophe: the plan is the one match wrote (no unseen edits).
    assert HYPERLINK in [r.cells["code"] for r in read_plan(d / "reconcile-plan.csv").rows]
    again = run_cli("match", "--qualtrics", "qualtrics_export.csv", "--mturk", "mturk_batch_results.csv", cwd=d, env=ENV)
    assert again.returncode == 0, again.stderr

    r = run_cli("pay", "reconcile-plan.csv", "--report", "dry.xlsx", "--upload-csv", "up.csv", "--json", cwd=d, env=ENV)
    assert r.returncode == 0, r.stderr
    digest = json.loads(r.stdout)["digest"]
    assert HYPERLINK in _workbook_texts(d / "dry.xlsx")  # the dry-run workbook (the responses file read back unescaped)
    assert DDE in _workbook_texts(d / "dry.xlsx")
    # The workbook as the plan: same digest as the CSV, the code still text.
    r = run_cli("pay", "reconcile-report.xlsx", "--json", cwd=d, env=ENV)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["digest"] == digest
    # MTurk's upload file gives the batch back byte for byte (MTurk needs them): the one file that keeps the code as it came.
    assert HYPERLINK in _cells(d / "up.csv")
