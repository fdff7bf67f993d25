"""`reconcile inspect` through the real command."""

from __future__ import annotations

import json

from conftest import run_cli
from test_import_realdata import CHEUNG, EXPECTED, LAOLS

# Surveys of Prolific studies: inspect finds their Prolific ID column (by Prolific's rules, as no
# MTurk worker-ID column is there); EXPECTED lists what MTurk's rules find in them (nothing).
PROLIFIC_SURVEY_ID_COLUMN = {
    f"{LAOLS}/qualtrics_export_redacted.csv": "PROLIFIC_PID",
    f"{CHEUNG}/Artificial_Intelligence_Raw_redacted.csv": "Q34",
    f"{CHEUNG}/dataforR_redacted.csv": "Q34",
}


def test_inspect_json_on_all_realdata(realdata):
    paths = [realdata / e[0] for e in EXPECTED]
    proc = run_cli("inspect", "--json", *paths)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [o["path"] for o in out] == [str(p) for p in paths]
    for o, (name, kind, rows, code_col, worker_col, fmt) in zip(out, EXPECTED):
        worker_col = PROLIFIC_SURVEY_ID_COLUMN.get(name, worker_col)
        assert (o["kind"], o["rows"], o["code_column"], o["participant_column"]) == (kind, rows, code_col, worker_col), name
        assert fmt in o["format"]
        assert isinstance(o["warnings"], list) and isinstance(o["code_candidates"], list)
        assert isinstance(o["participant_candidates"], list)
    chuc_q = out[0]
    assert chuc_q["finished_counts"] == {"False": 15, "True": 102}
    clef = out[3]
    assert clef["status_counts"] == {"Approved": 500, "Rejected": 60}


def test_inspect_text_output(realdata):
    q = realdata / EXPECTED[0][0]
    m = realdata / EXPECTED[6][0]  # no code column in that batch
    proc = run_cli("inspect", q, m)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert str(q) in out and "117 responses" in out and "completion code: mTurkCode" in out and "participant ID:  worker_id" in out
    assert str(m) in out and "115 assignments" in out and "none found (name it with --mturk-code-column" in out
    assert proc.stderr == ""


def test_inspect_shows_ambiguity_and_warnings(tmp_path):
    p = tmp_path / "batch.csv"
    p.write_text(
        "HITId,AssignmentId,WorkerId,AssignmentStatus,Answer.surveycode,Answer.completionCode\n"
        "3H,3A1,AW1,Submitted,1.23457E+11,5\n3H,3A2,AW2,Submitted,77,6\n"
    )
    proc = run_cli("inspect", p)
    assert proc.returncode == 0, proc.stderr
    assert "not decided between Answer.surveycode, Answer.completionCode (choose with --mturk-code-column)" in proc.stdout
    assert "warning: standard columns" in proc.stdout
    proc = run_cli("inspect", "--json", p)
    (o,) = json.loads(proc.stdout)
    assert o["code_column"] is None and o["code_candidates"] == ["Answer.surveycode", "Answer.completionCode"]


def test_inspect_help():
    proc = run_cli("inspect", "--help")
    assert proc.returncode == 0
    assert "--json" in proc.stdout and "completion-code" in proc.stdout


def test_inspect_text_speaks_of_a_prolific_export_in_its_own_words(tmp_path):
    """A Prolific export's columns are known by name (no `match` option chooses them), and its
    repeated rows repeat a submission ID, not an AssignmentId."""
    import csv
    from pathlib import Path

    name = "prolific_export_6a1f00c0ffee5eed0b57d1e5.csv"
    src = Path(__file__).resolve().parent.parent / "sample_data" / "prolific" / name
    with open(src, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    code = rows[0].index("Completion code")
    rows = [r[:code] + r[code + 1:] for r in rows + [rows[1]]]  # no code column; the first submission twice
    with open(tmp_path / name, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    proc = run_cli("inspect", name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "completion code: none in this file" in proc.stdout
    assert "1 row repeats a submission ID seen earlier" in proc.stdout
    assert "--code-column" not in proc.stdout and "AssignmentId" not in proc.stdout
