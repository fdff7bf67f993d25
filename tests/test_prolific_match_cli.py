"""`reconcile match --prolific` through the real command on the real Prolific + Qualtrics pairs
(../shared/realdata; SOURCES.md's join counts), the plan in Prolific's words, the workbook, --json,
and completion codes given, or not given (then the summary lists the codes seen)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter

import pytest

from conftest import run_cli

LAOLS = "laols574__ec_sd_survey"
CHEUNG = "Alex-J-Cheung__Qualtrics-Survey"
STUDY = "5e0d0f1a2b3c4d5e6f708192"
PLAN_HEADER = ["submission_id", "participant_id", "study_id", "decision", "reason", "detail", "code", "response_id", "bonus",
               "feedback", "rejection_category", "source", "flags", "status", "reward"]  # a reject's category: Prolific asks for one


def read_plan(path):
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return reader.fieldnames, list(reader)


def match(tmp_path, *args):
    proc = run_cli("match", *map(str, args), "--plan", tmp_path / "plan.csv", "--report", tmp_path / "report.xlsx")
    assert proc.returncode == 0, proc.stderr
    return proc


def test_laols_joins_as_sources_md_says(realdata, tmp_path):
    proc = match(tmp_path, "--qualtrics", realdata / LAOLS / "qualtrics_export_redacted.csv",
                 "--prolific", realdata / LAOLS / "prolific_export.csv", "--prolific-study", STUDY, "--json")
    counts = json.loads(proc.stdout)
    assert counts["submissions"] == 253
    assert counts["decisions"] == {"approve": 0, "reject": 0, "review": 0, "skip": 253}
    assert counts["responses"] == {"matched": 175, "unmatched": 5, "excluded": 19}
    header, rows = read_plan(tmp_path / "plan.csv")
    assert header == PLAN_HEADER
    assert {r["study_id"] for r in rows} == {STUDY}
    joined = [r for r in rows if r["response_id"]]
    assert len(joined) == 175
    assert Counter(r["status"] for r in joined) == {"APPROVED": 153, "REJECTED": 18, "RETURNED": 3, "SCREENED OUT": 1}
    assert Counter(r["status"] for r in rows if not r["response_id"]) == {"RETURNED": 73, "TIMED-OUT": 4, "REJECTED": 1}
    # every skip says the status Prolific shows
    assert all(r["status"] in r["detail"] for r in rows)
    assert all(r["source"].startswith(str(realdata / LAOLS / "prolific_export.csv") + ":") for r in rows)
    # 24 responses without a submission (the responses sidecar)
    _, responses = read_plan(tmp_path / "plan.responses.csv")
    assert Counter(r["outcome"] for r in responses) == {"matched": 175, "unmatched": 5, "excluded": 19}
    with zipfile.ZipFile(tmp_path / "report.xlsx") as book:
        assert "xl/workbook.xml" in book.namelist()


def test_cheung_typed_id_joins_all_25(realdata, tmp_path):
    proc = match(tmp_path, "--qualtrics", realdata / CHEUNG / "Artificial_Intelligence_Raw_redacted.csv",
                 "--prolific", realdata / CHEUNG / "prolific_export_demographic.csv", "--json")
    counts = json.loads(proc.stdout)
    assert counts["submissions"] == 25 and counts["decisions"]["skip"] == 25
    assert counts["responses"] == {"matched": 25, "unmatched": 0, "excluded": 7}
    _, rows = read_plan(tmp_path / "plan.csv")
    assert all(r["response_id"] and r["reason"] == "already_approved" for r in rows)


def awaiting_review_copy(src, dst):
    """The study as it was before review: APPROVED and REJECTED rows back to AWAITING REVIEW."""
    with open(src, encoding="utf-8", newline="") as fh:
        recs = list(csv.reader(fh))
    status = recs[0].index("Status")
    for r in recs[1:]:
        if r[status] in ("APPROVED", "REJECTED"):
            r[status] = "AWAITING REVIEW"
    with open(dst, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(recs)
    return dst


@pytest.fixture
def laols_pending(realdata, tmp_path):
    return awaiting_review_copy(realdata / LAOLS / "prolific_export.csv", tmp_path / f"prolific_export_{STUDY}.csv")


def test_without_codes_the_summary_lists_the_codes_seen(realdata, tmp_path, laols_pending):
    proc = match(tmp_path, "--qualtrics", realdata / LAOLS / "qualtrics_export_redacted.csv", "--prolific", laols_pending)
    assert "253 submissions: 171 approve, 0 reject, 1 review, 81 skip." in proc.stdout
    (line,) = [x for x in proc.stdout.splitlines() if "completion codes were not given" in x]
    assert "'NOCODE' 166" in line and "--completion-code CODE" in line
    _, rows = read_plan(tmp_path / "plan.csv")
    approved = [r for r in rows if r["decision"] == "approve"]
    assert sum("no_code" in r["flags"] for r in approved) > 100  # flagged, not sent to review
    assert {r["study_id"] for r in rows} == {STUDY}  # from the file name
    assert Counter(r["reason"] for r in rows if r["decision"] == "skip") == {"returned": 76, "timed_out": 4, "screened_out": 1}


def test_with_codes_code_problems_go_to_review(realdata, tmp_path, laols_pending):
    proc = match(tmp_path, "--qualtrics", realdata / LAOLS / "qualtrics_export_redacted.csv", "--prolific", laols_pending,
                 "--completion-code", "CBHB8QEX", "--completion-code", "C15ROWVV", "--json")
    counts = json.loads(proc.stdout)
    assert counts["decisions"]["approve"] == 2
    assert counts["decisions"]["approve"] + counts["decisions"]["review"] == 172
    _, rows = read_plan(tmp_path / "plan.csv")
    assert sorted(r["code"] for r in rows if r["decision"] == "approve") == ["C15ROWVV", "CBHB8QEX"]
    reasons = Counter(r["reason"] for r in rows if r["decision"] == "review")
    assert reasons["no_response"] == 1 and reasons["participant_id_as_code"] >= 5 and reasons["code_not_of_study"] >= 1


def test_id_column_override(realdata, tmp_path):
    proc = match(tmp_path, "--qualtrics", realdata / CHEUNG / "Artificial_Intelligence_Raw_redacted.csv",
                 "--prolific", realdata / CHEUNG / "prolific_export_demographic.csv", "--id-column", "Q34", "--json")
    assert json.loads(proc.stdout)["responses"]["matched"] == 25


def test_mturk_and_prolific_together_is_refused(realdata, tmp_path):
    proc = run_cli("match", "--qualtrics", realdata / LAOLS / "qualtrics_export_redacted.csv",
                   "--prolific", realdata / LAOLS / "prolific_export.csv",
                   "--mturk", realdata / "Chucooleg__Field_Experiment_Human_Image_Classification" / "20171112_mturk_results_order1_0.40.csv",
                   "--plan", tmp_path / "plan.csv", "--report", tmp_path / "r.xlsx")
    assert proc.returncode == 2 and "one platform" in proc.stderr and "Traceback" not in proc.stderr


def test_a_survey_given_as_prolific_export_is_refused(realdata, tmp_path):
    proc = run_cli("match", "--qualtrics", realdata / LAOLS / "qualtrics_export_redacted.csv",
                   "--prolific", realdata / CHEUNG / "Artificial_Intelligence_Raw_redacted.csv",
                   "--plan", tmp_path / "plan.csv", "--report", tmp_path / "r.xlsx")
    assert proc.returncode == 2 and "not a Prolific submissions export" in proc.stderr


def test_nothing_to_review_says_check_the_decisions(realdata, tmp_path):
    proc = match(tmp_path, "--qualtrics", realdata / CHEUNG / "Artificial_Intelligence_Raw_redacted.csv",
                 "--prolific", realdata / CHEUNG / "prolific_export_demographic.csv")
    assert "25 submissions: 0 approve, 0 reject, 0 review, 25 skip." in proc.stdout
    assert "check the decisions" in proc.stdout and "0 review row(s)" not in proc.stdout
