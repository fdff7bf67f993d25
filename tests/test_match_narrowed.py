"""`run_match` narrows the rows it read to the columns a decision still reads (issue 14: a million
rows of every other cell is gigabytes). The plan must be exactly the one the whole rows give:
here the reject rules, the fraud flags and --bonus all read columns, and the plan of `run_match`
is compared with the library pipeline over rows that were never narrowed."""

from __future__ import annotations

import csv
from datetime import datetime, timezone

from conftest import SAMPLE_DATA
from reconcile.bonus import parse_bonus
from reconcile.importers import read_qualtrics
from reconcile.importers.csvtext import RowFields, keep_only
from reconcile.match import match
from reconcile.plan import build_plan
from reconcile.platforms.mturk import PLATFORM as MTURK
from reconcile.platforms.mturk.batch_csv import read_mturk_csv
from reconcile.rules import load_rules
from reconcile.study import run_match

NOW = datetime(2024, 3, 1, tzinfo=timezone.utc)
BONUS = "score / 20 + Q_RecaptchaScore"


def _export_with_fraud_columns(tmp_path):
    """sample_data's export with reCAPTCHA and RelevantID columns, some of them low/flagged."""
    with open(SAMPLE_DATA / "qualtrics_export.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    extra = ["Q_RecaptchaScore", "Q_RelevantIDDuplicate"]
    out = [rows[0] + extra, rows[1] + extra, rows[2] + ['{"ImportId":"Q_RecaptchaScore"}', '{"ImportId":"Q_RelevantIDDuplicate"}']]
    for i, r in enumerate(rows[3:]):
        out.append(r + [("0.1" if i % 7 == 0 else "0.9"), ("true" if i % 11 == 0 else "")])
    path = tmp_path / "export.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(out)
    return path


def test_narrowed_rows_give_the_plan_of_whole_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    export = _export_with_fraud_columns(tmp_path)
    batch = SAMPLE_DATA / "mturk_batch_results.csv"
    rules_path = tmp_path / "rules.toml"
    rules_path.write_text(
        '[reject.attention_check]\nfeedback = "You did not pass the attention check."\n'
        'column = "Q1"\nexpected = ["Purple"]\n', encoding="utf-8")

    got = run_match(str(export), [str(batch)], platform=MTURK, plan_path=tmp_path / "plan.csv", report_path=None,
                    rules_path=rules_path, bonus=BONUS, now=NOW, show_progress=False, confirm_rejections=True).plan

    whole = read_qualtrics(export, ids=MTURK.ids)
    subs = read_mturk_csv([str(batch)])
    result = match(whole.responses, subs.submissions, now=NOW, platform=MTURK, rules=load_rules(rules_path),
                   duplicates=subs.duplicates)
    want = build_plan(result, whole.responses, bonus=parse_bonus(BONUS, whole.columns), platform=MTURK)

    assert got.rows == want.rows and got.responses == want.responses
    reasons = {r.reason for r in got.rows}
    flags = {f for r in got.rows for f in r.flags}
    assert "reject_attention_check" in reasons  # the rule's column was kept
    assert {"recaptcha_low", "relevant_id_duplicate"} <= flags  # so were the fraud columns
    assert any(r.bonus is not None for r in got.rows)  # and the bonus columns


def test_keep_only_narrows_in_place_and_leaves_other_mappings():
    index = {"a": 0, "b": 1, "c": 2}
    rows = [RowFields(index, ["1", "2", "3", ""]), RowFields(index, ["4", "5", "6", ""])]
    other = {"a": "x", "b": "y"}
    keep_only([*rows, other], ["c", "a", "missing", "a"])
    assert [dict(r) for r in rows] == [{"c": "3", "a": "1"}, {"c": "6", "a": "4"}]
    assert "b" not in rows[0] and rows[0].get("b", "-") == "-" and len(rows[0]) == 2
    assert other == {"a": "x", "b": "y"}
    keep_only(rows, [])
    assert [dict(r) for r in rows] == [{}, {}]
