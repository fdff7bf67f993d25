"""`reconcile match` end to end: the real command on the real Chucooleg study, outputs and errors."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from conftest import run_cli
from reconcile.planfile import plan_columns, read_plan_rows, response_columns, responses_sidecar_path

PLAN_COLUMNS = tuple(plan_columns("mturk").values())
RESPONSE_COLUMNS = tuple(response_columns("mturk").values())

STUDY = "Chucooleg__Field_Experiment_Human_Image_Classification"
EXPORT = "20171112_qualtric_results_order1_0.40_redacted.csv"
MAIN = "20171112_mturk_results_order1_0.40.csv"
SUPP = "20171112_mturk_results_order1_0.40_supplementary.csv"


@pytest.fixture(scope="module")
def study(realdata) -> Path:
    return realdata / STUDY


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _raw_export(study: Path) -> dict[str, dict[str, str]]:
    """The export read with the csv module only (independent of our importers): ResponseId -> row."""
    with open(study / EXPORT, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    return {r[header.index("ResponseId")]: dict(zip(header, r)) for r in rows[3:]}


def _match(study: Path, cwd: Path, *extra: str):
    return run_cli(
        "match", "--qualtrics", study / EXPORT, "--mturk", study / MAIN, "--mturk", study / SUPP, *extra, cwd=cwd
    )


@pytest.fixture(scope="module")
def real_run(study, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("real")
    proc = _match(study, cwd, "--json")
    return proc, cwd


def test_real_study_counts(real_run):
    proc, cwd = real_run
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout)  # exactly one JSON object and nothing else on stdout
    assert counts["assignments"] == 104
    assert counts["decisions"] == {"approve": 97, "reject": 0, "review": 7, "skip": 0}
    assert counts["reasons"] == {"code_match": 96, "code_in_text": 1, "worker_id_as_code": 2, "no_match": 4, "worker_mismatch": 1}
    assert counts["responses"] == {"matched": 97, "unmatched": 5, "excluded": 15}
    assert "error" not in proc.stderr and "Traceback" not in proc.stderr


def test_real_study_plan_rows(real_run, study):
    proc, cwd = real_run
    plan_path = cwd / "reconcile-plan.csv"
    rows = _read_csv(plan_path)
    assert list(rows[0]) == list(PLAN_COLUMNS)
    assert len(rows) == 104 and len({r["assignment_id"] for r in rows}) == 104
    by_id = {r["assignment_id"]: r for r in rows}
    raw = _raw_export(study)

    # every approval is an exact code (or in-text code) whose response is finished and agrees on the worker
    for r in rows:
        if r["decision"] != "approve":
            continue
        resp = raw[r["response_id"]]
        assert resp["Finished"] == "True" and resp["mTurkCode"] in r["code"]
        typed = resp["worker_id"].strip().upper()
        assert r["worker_id"] in (typed, "A" + typed)
    assert Counter(r["decision"] for r in rows) == {"approve": 97, "review": 7}

    sentence = by_id["386PBUZZXFXHKX2RB9CYZDQWATWLJ5"]
    assert (sentence["decision"], sentence["reason"], sentence["response_id"]) == ("approve", "code_in_text", "R_24oxLnjRN0cEsRk")

    pasted = {aid: by_id[aid] for aid in ("3180JW2OT4C3I8Z6JMWRIOUZO3X5J2", "3C8HJ7UOP7URQUPGT7GZNKTBTWZMZT")}
    assert {(r["reason"], r["response_id"]) for r in pasted.values()} == {
        ("worker_id_as_code", "R_1OML9Waj5W7BtOF"),
        ("worker_id_as_code", "R_2TuXsOYS4bRJ4xk"),
    }
    for r in pasted.values():
        assert r["decision"] == "review" and r["response_id"] in r["detail"] and r["code"] == r["worker_id"]
        assert raw[r["response_id"]]["worker_id"].strip() == r["worker_id"]

    other_survey = [r for r in rows if r["source"].endswith(SUPP + ":" + r["source"].rsplit(":", 1)[1])]
    assert len(other_survey) == 4
    assert {(r["decision"], r["reason"]) for r in other_survey} == {("review", "no_match")}
    assert all(r["code"] not in {x["mTurkCode"] for x in raw.values()} for r in other_survey)

    mismatch = by_id["3N4BPTXIO8SFE7V3284BRFMS29PUK7"]
    assert (mismatch["decision"], mismatch["reason"], mismatch["response_id"]) == ("review", "worker_mismatch", "R_YR2Rd49M3urbVcJ")
    assert raw["R_YR2Rd49M3urbVcJ"]["mTurkCode"] == mismatch["code"]
    assert raw["R_YR2Rd49M3urbVcJ"]["worker_id"] in mismatch["detail"]

    # fields the fee computation and the report need
    assert {r["reward"] for r in rows} == {"$0.40", "$0.25"}
    assert {r["max_assignments"] for r in rows} == {"100", "4"} or all(r["max_assignments"] for r in rows)
    assert all(r["assignment_status"] == "Submitted" and r["auto_approval_time"] for r in rows)
    # the real AutoApprovalTimes (Nov 2017) are long past: every row is flagged and says so
    assert all("auto_approval_passed" in r["flags"].split(";") and "AutoApprovalTime" in r["detail"] for r in rows)
    assert all(r["bonus"] == "" and r["feedback"] == "" for r in rows)
    # the file reads back through the plan reader that `pay` uses
    assert len(read_plan_rows(plan_path)) == 104


def test_real_study_responses_sidecar(real_run, study):
    _, cwd = real_run
    side = _read_csv(responses_sidecar_path(cwd / "reconcile-plan.csv"))
    assert list(side[0]) == list(RESPONSE_COLUMNS)
    assert len(side) == 117 and len({s["response_id"] for s in side}) == 117
    outcome = Counter((s["outcome"], s["reason"]) for s in side)
    assert outcome[("matched", "code_match")] == 97
    assert outcome[("excluded", "unfinished")] == 15
    assert outcome[("unmatched", "in_review")] == 3  # two pasted WorkerIds + the worker mismatch
    assert outcome[("unmatched", "no_assignment")] == 2
    matched = {s["assignment_id"] for s in side if s["outcome"] == "matched"}
    plan = {r["assignment_id"]: r for r in _read_csv(cwd / "reconcile-plan.csv")}
    assert matched == {a for a, r in plan.items() if r["decision"] == "approve"}


def test_human_summary_says_what_to_do_next(study, tmp_path):
    proc = _match(study, tmp_path, "--plan", "out/plan.csv", "--report", "out/report.xlsx")
    assert proc.returncode == 2  # the directory does not exist: one sentence, nothing written
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    (tmp_path / "out").mkdir()
    proc = _match(study, tmp_path, "--plan", "out/plan.csv", "--report", "out/report.xlsx")
    assert proc.returncode == 0, proc.stderr
    assert "97 approve" in proc.stdout and "7 review" in proc.stdout
    assert "reconcile pay out/plan.csv" in proc.stdout
    assert (tmp_path / "out" / "plan.csv").is_file() and (tmp_path / "out" / "plan.responses.csv").is_file()


def test_bonus_and_cap_only_on_approved(study, tmp_path):
    proc = _match(study, tmp_path, "--json", "--bonus", "mTurkCode / 1000000000 + 0.005", "--max-bonus", "0.50")
    assert proc.returncode == 0, proc.stderr
    rows = _read_csv(tmp_path / "reconcile-plan.csv")
    raw = _raw_export(study)
    from decimal import ROUND_HALF_UP, Decimal

    for r in rows:
        if r["decision"] != "approve":
            assert r["bonus"] == ""
            continue
        exact = Decimal(raw[r["response_id"]]["mTurkCode"]) / Decimal(1000000000) + Decimal("0.005")
        expected = min(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), Decimal("0.50"))
        assert r["bonus"] == f"{expected:.2f}"
        assert ("bonus_capped" in r["flags"]) == (exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) > Decimal("0.50"))
    assert any("bonus_capped" in r["flags"] for r in rows) and any(r["bonus"] != "0.50" for r in rows if r["bonus"])


def test_opt_in_reject_rule(study, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[reject.no_match]\nfeedback = "Your code is not from this survey."\n', encoding="utf-8")
    proc = _match(study, tmp_path, "--json", "--rules", rules)
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout)
    assert counts["decisions"] == {"approve": 97, "reject": 4, "review": 3, "skip": 0}
    rejected = [r for r in _read_csv(tmp_path / "reconcile-plan.csv") if r["decision"] == "reject"]
    assert {r["feedback"] for r in rejected} == {"Your code is not from this survey."}
    assert {r["reason"] for r in rejected} == {"reject_no_match"}


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("--bonus", "score +"), "--bonus"),
        (("--bonus", "score / 100"), "no column 'score'"),
        (("--max-bonus", "1.005"), "--max-bonus"),
        (("--rules", "missing.toml"), "no such rules file"),
    ],
)
def test_user_errors_are_one_sentence_and_write_nothing(study, tmp_path, args, fragment):
    proc = _match(study, tmp_path, "--json", *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and fragment in last and "Traceback" not in proc.stderr
    assert not any(tmp_path.glob("reconcile-*"))


def test_rules_without_feedback_refused(study, tmp_path):
    (tmp_path / "r.toml").write_text("[reject.no_code]\n", encoding="utf-8")
    proc = _match(study, tmp_path, "--rules", "r.toml")
    assert proc.returncode == 2 and "needs a feedback text" in proc.stderr
    assert not (tmp_path / "reconcile-plan.csv").exists()


def test_missing_code_column_lists_candidates(study, tmp_path):
    text = (study / EXPORT).read_text(encoding="utf-8-sig")
    header, rest = text.split("\n", 1)
    (tmp_path / "export.csv").write_text(header.replace('"mTurkCode"', '"Q99"').replace("mTurkCode", "Q99") + "\n" + rest, encoding="utf-8")
    proc = run_cli("match", "--qualtrics", "export.csv", "--mturk", study / MAIN, cwd=tmp_path)
    assert proc.returncode == 2
    assert "completion code" in proc.stderr and "--code-column" in proc.stderr
    assert not (tmp_path / "reconcile-plan.csv").exists()
    # naming the column by hand works
    proc = run_cli("match", "--qualtrics", "export.csv", "--mturk", study / MAIN, "--code-column", "Q99", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["decisions"]["approve"] == 97


def test_no_mturk_input_and_api_without_endpoint(study, tmp_path):
    proc = run_cli("match", "--qualtrics", study / EXPORT, cwd=tmp_path)
    assert proc.returncode == 2 and "no MTurk input" in proc.stderr
    proc = run_cli("match", "--qualtrics", study / EXPORT, "--mturk-hit", "3PGQRAZX02KSXFVMRF51W2NSTKZSYT", cwd=tmp_path)
    assert proc.returncode == 2 and "endpoint" in proc.stderr
    assert not any(tmp_path.glob("reconcile-*"))


def test_help_lists_the_options():
    proc = run_cli("match", "--help")
    assert proc.returncode == 0
    for opt in ("--qualtrics", "--mturk", "--mturk-hit", "--mturk-batch", "--plan", "--report", "--json", "--rules",
                "--bonus", "--max-bonus", "--code-column", "--mturk-code-column", "--worker-column", "--datacenter",
                "--confirm-rejections"):
        assert opt in proc.stdout


def test_next_steps_name_the_workbook_and_the_plan_and_what_is_left_to_decide(tmp_path):
    root = Path(__file__).resolve().parents[1] / "sample_data"
    proc = run_cli("match", "--qualtrics", root / "qualtrics_export.csv", "--mturk", root / "mturk_batch_results.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Next: open reconcile-report.xlsx (or send it to the PI); decide the 16 review row(s)" in proc.stdout
    assert "`reconcile pay reconcile-report.xlsx` or `reconcile pay reconcile-plan.csv`" in proc.stdout
