"""sample_data/prolific: the synthetic Prolific study. The generator reproduces the committed files,
every case of the Prolific policy is in them, and `reconcile match` reaches exactly the decisions
expected.json lists (and, without the completion codes, flags instead of sending code problems to review)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections import Counter

from conftest import SAMPLE_DATA, run_cli

FOLDER = SAMPLE_DATA / "prolific"
EXPECTED = json.loads((FOLDER / "expected.json").read_text(encoding="utf-8"))
SURVEY = FOLDER / EXPECTED["qualtrics"]
EXPORT = FOLDER / EXPECTED["prolific"]
CODE_CASES = {"nocode", "empty_code", "code_not_of_study", "own_id_as_code"}


def read_csv(path):
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def test_generator_reproduces_committed_files(tmp_path):
    proc = subprocess.run([sys.executable, str(SAMPLE_DATA / "make_prolific_sample.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in ("qualtrics_export.csv", EXPORT.name, "expected.json", "README.md"):
        assert (tmp_path / name).read_bytes() == (FOLDER / name).read_bytes(), f"{name} differs: re-run the generator and commit"


def test_every_policy_case_is_in_the_files():
    rows = {r["Submission id"]: r for r in read_csv(EXPORT)}
    seen = Counter(s["case"] for s in EXPECTED["submissions"])
    assert set(seen) == set(EXPECTED["cases"])
    assert {c["status"] for c in EXPECTED["cases"].values()} >= {
        "AWAITING REVIEW", "APPROVED", "REJECTED", "RETURNED", "TIMED-OUT", "SCREENED OUT", "PARTIALLY APPROVED"}
    for s in EXPECTED["submissions"]:
        row = rows[s["submission_id"]]
        assert row["Status"] == EXPECTED["cases"][s["case"]]["status"]
    by_case = {s["case"]: rows[s["submission_id"]] for s in EXPECTED["submissions"]}
    assert by_case["nocode"]["Completion code"] == "NOCODE" and by_case["empty_code"]["Completion code"] == ""
    assert by_case["own_id_as_code"]["Completion code"] == by_case["own_id_as_code"]["Participant id"]
    assert by_case["returned"]["Time taken"] == ""
    survey = read_csv(SURVEY)[2:]  # below the question-text and ImportId rows
    assert {r["Status"] for r in survey} == {"IP Address", "Survey Preview"}
    typed = [r for r in survey if r["Q1"] and r["PROLIFIC_PID"] and r["Q1"] != r["PROLIFIC_PID"]]
    assert len(typed) >= 3  # upper case, inside a sentence, and someone else's ID


def test_inspect_kinds():
    out = json.loads(run_cli("inspect", "--json", SURVEY, EXPORT).stdout)
    assert [o["kind"] for o in out] == ["qualtrics", "prolific"]
    assert out[0]["participant_column"] == "PROLIFIC_PID"
    assert out[1]["study_id"] == EXPECTED["study_id"]


def run_match(tmp_path, *extra):
    proc = run_cli("match", "--qualtrics", SURVEY, "--prolific", EXPORT, *extra,
                   "--plan", tmp_path / "plan.csv", "--report", tmp_path / "report.xlsx")
    assert proc.returncode == 0, proc.stderr
    return proc, {r["submission_id"]: r for r in read_csv(tmp_path / "plan.csv")}, \
        {r["response_id"]: r for r in read_csv(tmp_path / "plan.responses.csv")}


def test_match_reaches_the_expected_decisions(tmp_path):
    codes = [a for c in EXPECTED["completion_codes"] for a in ("--completion-code", c)]
    _, plan, responses = run_match(tmp_path, *codes)
    assert len(plan) == len(EXPECTED["submissions"])
    wrong = [(s["case"], s["decision"], s["reason"], plan[s["submission_id"]]["decision"], plan[s["submission_id"]]["reason"])
             for s in EXPECTED["submissions"]
             if (plan[s["submission_id"]]["decision"], plan[s["submission_id"]]["reason"]) != (s["decision"], s["reason"])]
    assert wrong == []
    assert {r["study_id"] for r in plan.values()} == {EXPECTED["study_id"]}
    assert all(r["status"] in r["detail"] for r in plan.values() if r["decision"] == "skip")
    wrong_resp = [(r["case"], r["outcome"], responses[r["response_id"]]["outcome"]) for r in EXPECTED["responses"]
                  if responses[r["response_id"]]["outcome"] != r["outcome"]]
    assert wrong_resp == []


def test_match_without_codes_flags_instead_of_review(tmp_path):
    proc, plan, _ = run_match(tmp_path)
    for s in EXPECTED["submissions"]:
        row = plan[s["submission_id"]]
        if s["case"] in CODE_CASES:
            assert row["decision"] == "approve", s["case"]
            assert ("no_code" in row["flags"]) == (s["case"] in ("nocode", "empty_code"))
            assert ("participant_id_as_code" in row["flags"]) == (s["case"] == "own_id_as_code")
        elif s["case"] != "code_in_text":
            assert (row["decision"], row["reason"]) == (s["decision"], s["reason"]), s["case"]
    (line,) = [x for x in proc.stdout.splitlines() if "completion codes were not given" in x]
    assert f"'{EXPECTED['completion_codes'][0]}'" in line and "'NOCODE' 1" in line and "--completion-code" in line


def test_json_counts(tmp_path):
    codes = [a for c in EXPECTED["completion_codes"] for a in ("--completion-code", c)]
    proc, _, _ = run_match(tmp_path, *codes, "--json")
    expected = {"approve": 0, "reject": 0, "review": 0, "skip": 0}
    expected.update(Counter(s["decision"] for s in EXPECTED["submissions"]))
    assert json.loads(proc.stdout)["decisions"] == expected
