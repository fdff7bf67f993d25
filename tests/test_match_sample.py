"""sample_data: every case listed in sample_data/cases.json reaches its expected decision and reason,
through the real command and through the library call behind it (with the study's fixed `now`)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from conftest import SAMPLE_DATA, run_cli
from reconcile.study import run_match

CASES = json.loads((SAMPLE_DATA / "cases.json").read_text(encoding="utf-8"))
EXPORT = SAMPLE_DATA / CASES["qualtrics"]
BATCH = SAMPLE_DATA / CASES["mturk"]
NOW = datetime.fromisoformat(CASES["reference_now"].replace("Z", "+00:00"))

REASON = {
    "exact": "code_match",
    "attention_failed": "code_match",
    "worker_lowercase": "code_match",
    "worker_spaces": "code_match",
    "worker_missing_a": "code_match",
    "code_in_sentence": "code_in_text",
    "code_nbsp_zero_width": "code_match",
    "duplicate_ip": "code_match",
    "short_duration": "code_match",
    "auto_approval_passed": "code_match",
    "auto_approval_soon": "code_match",
    "shared_code_owner": "code_match",
    "shared_code_other": "shared_code",
    "workerid_as_code": "worker_id_as_code",
    "typo_one_char": "near_miss",
    "typo_transposition": "near_miss",
    "o_for_zero": "near_miss",
    "i_for_one": "near_miss",
    "other_survey": "no_match",
    "no_code": "no_code",
    "unfinished": "unfinished_response",
    "spam_response": "excluded_response",
    "worker_mismatch": "worker_mismatch",
    "excel_damaged_mturk": "excel_damaged_code",
    "excel_damaged_qualtrics": "excel_damaged_code",
    "retake": "repeat_worker",
    "already_approved": "already_approved",
    "already_rejected": "already_rejected",
}
FLAG = {
    "duplicate_ip": "duplicate_ip",
    "short_duration": "short_duration",
    "auto_approval_passed": "auto_approval_passed",
    "auto_approval_soon": "auto_approval_soon",
    "code_in_sentence": "code_in_text",
}
RESPONSE = {
    "survey_preview": ("excluded", "survey_preview"),
    "survey_test": ("excluded", "survey_test"),
    "spam_unclaimed": ("excluded", "spam"),
    "spam_response": ("excluded", "spam"),
    "unclaimed": ("unmatched", "no_assignment"),
    "retake_first": ("unmatched", "no_assignment"),
    "unfinished_no_code": ("excluded", "unfinished"),
    "workerid_as_code_response": ("unmatched", "in_review"),
}
# responses that an assignment pointed at but did not get (the assignment went to review)
IN_REVIEW = {"retake", "unfinished", "worker_mismatch", "typo_one_char", "typo_transposition", "o_for_zero",
             "i_for_one", "excel_damaged_mturk", "excel_damaged_qualtrics"}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    summary = run_match(str(EXPORT), [str(BATCH)], plan_path=out / "plan.csv", report_path=out / "report.xlsx",
                        now=NOW, show_progress=False)
    return summary, {r["assignment_id"]: r for r in _rows(out / "plan.csv")}, _rows(out / "plan.responses.csv")


def test_cases_cover_every_case_in_the_file():
    assert {a["case"] for a in CASES["assignments"]} == set(REASON)


def test_expected_counts(planned):
    summary, rows, _ = planned
    assert summary.counts["decisions"] == {"approve": 110, "reject": 0, "review": 16, "skip": 5}
    assert summary.counts["assignments"] == len(CASES["assignments"]) == len(rows)
    assert summary.report_path is not None and summary.report_path.is_file()


@pytest.mark.parametrize("case", sorted(REASON))
def test_each_assignment_case(planned, case):
    _, rows, _ = planned
    for a in (a for a in CASES["assignments"] if a["case"] == case):
        row = rows[a["assignment_id"]]
        where = f"{case} at batch row {a['row']}"
        assert row["decision"] == a["expected_decision"], where
        assert row["reason"] == REASON[case], where
        assert row["source"].endswith(f"{BATCH.name}:{a['row']}"), where
        if case in FLAG:
            assert FLAG[case] in row["flags"].split(";"), where
        if a.get("response_id") and case not in ("shared_code_other", "already_rejected"):
            assert row["response_id"] == a["response_id"], where
        if row["decision"] == "review":
            assert row["detail"], where


def test_flags_never_on_rows_without_the_case(planned):
    _, rows, _ = planned
    by_case = {a["assignment_id"]: a["case"] for a in CASES["assignments"]}
    for flag in ("auto_approval_passed", "auto_approval_soon", "short_duration"):
        flagged = {by_case[aid] for aid, r in rows.items() if flag in r["flags"].split(";")}
        assert flagged == {next(c for c, f in FLAG.items() if f == flag)}, flag


def test_each_response_case(planned):
    _, rows, responses = planned
    by_row = {int(r["source"].rsplit(":", 1)[1]): r for r in responses}
    assert len(by_row) == len(CASES["responses"]) == len(responses)
    for c in CASES["responses"]:
        got = by_row[c["row"]]
        if c["case"] in RESPONSE:
            expected = RESPONSE[c["case"]]
        elif c["case"] in IN_REVIEW:
            expected = ("unmatched", "in_review")
        else:
            expected = ("matched", "code_match")
        assert (got["outcome"], got["reason"]) == expected, c
        if expected[0] == "matched":
            assert rows[got["assignment_id"]]["response_id"] == got["response_id"]


def test_cli_on_sample_with_attention_rule_and_bonus(tmp_path):
    (tmp_path / "rules.toml").write_text(
        '[reject.attention_check]\ncolumn = "Q1"\nexpected = ["Purple"]\nfeedback = "You did not answer the attention check as instructed."\n',
        encoding="utf-8",
    )
    proc = run_cli("match", "--qualtrics", EXPORT, "--mturk", BATCH, "--rules", "rules.toml", "--bonus", "score / 20",
                   "--max-bonus", "0.90", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout)
    assert counts["decisions"] == {"approve": 108, "reject": 2, "review": 16, "skip": 5}
    rows = {r["assignment_id"]: r for r in _rows(tmp_path / "reconcile-plan.csv")}
    failed = {a["assignment_id"] for a in CASES["assignments"] if a["case"] == "attention_failed"}
    assert {aid for aid, r in rows.items() if r["decision"] == "reject"} == failed
    assert all(rows[aid]["feedback"] and rows[aid]["bonus"] == "" for aid in failed)
    with open(EXPORT, encoding="utf-8-sig", newline="") as fh:
        raw = list(csv.reader(fh))
    score = {r[raw[0].index("ResponseId")]: r[raw[0].index("score")] for r in raw[3:]}
    bonuses = Counter()
    for r in rows.values():
        if r["decision"] != "approve":
            assert r["bonus"] == ""
            continue
        exact = Decimal(score[r["response_id"]]) / 20
        want = min(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), Decimal("0.90"))
        assert r["bonus"] == ("" if want == 0 else f"{want:.2f}"), r["assignment_id"]
        bonuses["capped" if "bonus_capped" in r["flags"] else "paid" if r["bonus"] else "none"] += 1
    assert bonuses["capped"] and bonuses["paid"]
