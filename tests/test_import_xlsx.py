""".xlsx inputs: a Qualtrics "Excel" download and a batch re-saved as a workbook are read (openpyxl, read-only)
like their CSVs, with the same damage warnings; codes stored as numbers are reported, never repaired."""

from __future__ import annotations

import csv
import json
import shutil

import openpyxl
import pytest

from conftest import SAMPLE_DATA, run_cli
from reconcile.importers.csvtext import load_table
from reconcile.importers.xlsx import cell_text

ENV = {"RECONCILE_NOW": "2036-03-06T16:00:00Z"}


def _as_spreadsheet_value(text: str):
    """What a spreadsheet makes of a cell: plain integers become numbers (the rest stays text)."""
    if text.isdigit() and not (len(text) > 1 and text[0] == "0") and len(text) <= 15:
        return int(text)
    return text


def csv_to_xlsx(src, dst, header_rows: int) -> None:
    with open(src, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    wb = openpyxl.Workbook()
    ws = wb.active
    for i, row in enumerate(rows):
        ws.append(row if i < header_rows else [_as_spreadsheet_value(c) for c in row])
    wb.save(dst)


@pytest.fixture
def study(tmp_path):
    for name in ("qualtrics_export.csv", "mturk_batch_results.csv"):
        shutil.copy(SAMPLE_DATA / name, tmp_path / name)
    return tmp_path


def match(d, qualtrics, mturk, name, *extra):
    """`match`; returns what it printed (stdout and stderr: the warnings)."""
    r = run_cli("match", "--qualtrics", qualtrics, "--mturk", mturk, "--plan", f"{name}.csv", "--report", f"{name}.xlsx", *extra,
                cwd=d, env=ENV)
    assert r.returncode == 0, r.stderr
    return r.stdout + r.stderr


def test_qualtrics_xlsx_gives_the_same_plan_as_its_csv(study):
    d = study
    csv_to_xlsx(d / "qualtrics_export.csv", d / "survey.xlsx", header_rows=3)
    from_csv = match(d, "qualtrics_export.csv", "mturk_batch_results.csv", "a")
    from_xlsx = match(d, "survey.xlsx", "mturk_batch_results.csv", "b")
    a = json.loads(run_cli("pay", "a.csv", "--json", cwd=d, env=ENV).stdout)
    b = json.loads(run_cli("pay", "b.csv", "--json", cwd=d, env=ENV).stdout)
    assert a["digest"] == b["digest"] and a["decisions"] == b["decisions"]
    same = lambda p: p.read_bytes().replace(b"survey.xlsx", b"qualtrics_export.csv")  # noqa: E731 - sentences name the file
    assert same(d / "b.csv") == (d / "a.csv").read_bytes()
    assert same(d / "b.responses.csv") == (d / "a.responses.csv").read_bytes()
    # Codes Excel stored as numbers are reported; the damage the CSV shows ('84719265.0') is reported just the same.
    assert "codes in column 'mTurkCode' of survey.xlsx are stored as numbers" in from_xlsx
    assert "'84719265.0' at survey.xlsx:96" in from_xlsx and "'84719265.0' at qualtrics_export.csv:96" in from_csv
    assert "stored as number" not in from_csv


def test_batch_resaved_as_xlsx_is_read_and_paid_from(study):
    d = study
    csv_to_xlsx(d / "mturk_batch_results.csv", d / "batch.xlsx", header_rows=1)
    match(d, "qualtrics_export.csv", "mturk_batch_results.csv", "a")
    r = match(d, "qualtrics_export.csv", "batch.xlsx", "b")
    assert "'2.95061E+08' at batch.xlsx:55" in r  # the E-notation code the batch holds, reported as from the CSV
    with open(d / "a.csv", encoding="utf-8-sig") as fa, open(d / "b.csv", encoding="utf-8-sig") as fb:
        a, b = list(csv.DictReader(fa)), list(csv.DictReader(fb))
    key = lambda r: (r["assignment_id"], r["worker_id"], r["decision"], r["reason"], r["bonus"], r["reward"])  # noqa: E731
    assert [key(x) for x in a] == [key(x) for x in b]
    assert all(x["source"].startswith("batch.xlsx:") for x in b)
    # The dry run checks the plan against the workbook it came from and writes the website's upload file.
    p = run_cli("pay", "b.csv", "--upload-csv", "up.csv", cwd=d, env=ENV)
    assert p.returncode == 0, p.stderr
    with open(d / "up.csv", encoding="utf-8-sig", newline="") as fh:
        up = list(csv.DictReader(fh))
    assert sum(1 for x in up if x["Approve"] == "x") == sum(1 for x in b if x["decision"] == "approve")


@pytest.mark.parametrize("value, text", [
    (None, ""), ("0123", "0123"), (597423122, "597423122"), (12345.0, "12345"), (0.5, "0.5"), (True, "TRUE"),
    (1234567890123456789, "1.23457E+18"),  # past 15 digits a spreadsheet has already lost digits: shown as Excel shows it
    (1e17, "1E+17"),
])
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_long_numeric_code_is_reported_as_damaged(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    with open(SAMPLE_DATA / "mturk_batch_results.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    code = rows[0].index("Answer.surveycode")
    rows[1][code] = 12345678901234567890
    for row in rows:
        ws.append(row)
    wb.save(tmp_path / "batch.xlsx")
    table = load_table(tmp_path / "batch.xlsx")
    assert table.records[1][code] == "1.23457E+19" and (1, code) in table.numeric
    r = run_cli("inspect", "batch.xlsx", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "1.23457E+19" in out and "stored as number" in out


def test_reconciles_own_workbook_is_no_export(study):
    d = study
    match(d, "qualtrics_export.csv", "mturk_batch_results.csv", "a")
    r = run_cli("match", "--qualtrics", "a.xlsx", "--mturk", "mturk_batch_results.csv", "--plan", "c.csv", "--report", "c.xlsx",
                cwd=d, env=ENV)
    assert r.returncode == 2 and "is a workbook written by reconcile" in r.stderr and "Traceback" not in r.stderr
