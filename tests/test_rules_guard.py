"""Rules that cannot reject everyone by accident: the shipped example rejects nobody, a rule naming a
column the export lacks is refused, feedback `pay` would refuse is refused at `match`, a rule that
would reject most matched work needs confirmation, and codes that mostly match nothing are warned
about. Through the real command where possible (without a terminal, and on a pseudo-terminal)."""

from __future__ import annotations

import csv
import json
import re
import tomllib
from pathlib import Path

import openpyxl
import pytest

from conftest import SAMPLE_DATA, run_cli
from reconcile.errors import RefusedError
from reconcile.platforms.mturk import PLATFORM as MTURK
from reconcile.rules import _REJECT_KEYS, load_rules, parse_rules

EXAMPLE = SAMPLE_DATA / "rules.example.toml"
EXPORT = SAMPLE_DATA / "qualtrics_export.csv"
BATCH = SAMPLE_DATA / "mturk_batch_results.csv"
CHUC = "Chucooleg__Field_Experiment_Human_Image_Classification"
CHUC_FILES = ("20171112_qualtric_results_order1_0.40_redacted.csv", "20171112_mturk_results_order1_0.40.csv",
              "20171112_mturk_results_order1_0.40_supplementary.csv")


def _match(cwd: Path, *args, qualtrics=EXPORT, mturk=(BATCH,)):
    mt = [a for m in mturk for a in ("--mturk", m)]
    return run_cli("match", "--qualtrics", qualtrics, *mt, *args, cwd=cwd)


def _plan(cwd: Path) -> list[dict[str, str]]:
    with open(cwd / "reconcile-plan.csv", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _refused(proc, cwd: Path, *words):
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    for w in words:
        assert w in last, (w, last)
    assert not any(cwd.glob("reconcile-*")), "nothing may be written"
    return last


def _rules(tmp_path: Path, text: str, name="rules.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _all_on(tmp_path: Path) -> Path:
    """The example with every rule switched on, the way its comments say."""
    text, n = re.subn(r"(?m)^enabled = false$", "enabled = true", EXAMPLE.read_text(encoding="utf-8"))
    assert n == len(_REJECT_KEYS)
    return _rules(tmp_path, text, "all-on.toml")


# ---------------------------------------------------------------- the shipped example


def test_example_has_every_reject_rule_and_all_are_off():
    doc = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert set(doc["reject"]) == set(_REJECT_KEYS)
    assert all(sec["enabled"] is False for sec in doc["reject"].values())
    assert load_rules(EXAMPLE).reject == ()


def test_example_turned_on_parses_and_its_feedback_would_pass_pay(tmp_path):
    from reconcile.feedback import reason_problem

    rules = load_rules(_all_on(tmp_path))
    assert {r.name for r in rules.reject} == set(_REJECT_KEYS)
    assert all(reason_problem(r.feedback) is None for r in rules.reject)
    # its attention-check example names the sample export's attention check
    with open(EXPORT, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh))
    assert rules.reject_rule("attention_check").column in header


def test_shipped_example_rejects_nobody_on_the_sample(tmp_path):
    proc = _match(tmp_path, "--json", "--rules", EXAMPLE)
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout)
    assert counts["decisions"] == {"approve": 110, "reject": 0, "review": 16, "skip": 5}


def test_shipped_example_rejects_nobody_on_the_real_study(realdata, tmp_path):
    study = realdata / CHUC
    proc = _match(tmp_path, "--json", "--rules", EXAMPLE, qualtrics=study / CHUC_FILES[0],
                  mturk=[study / CHUC_FILES[1], study / CHUC_FILES[2]])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["decisions"] == {"approve": 97, "reject": 0, "review": 7, "skip": 0}


def test_example_turned_on_on_the_sample_rejects_few_and_says_why(tmp_path):
    proc = _match(tmp_path, "--json", "--rules", _all_on(tmp_path))
    assert proc.returncode == 0, proc.stderr
    rejected = [r for r in _plan(tmp_path) if r["decision"] == "reject"]
    approved = [r for r in _plan(tmp_path) if r["decision"] == "approve"]
    assert 0 < len(rejected) * 2 <= len(approved)
    assert all(r["reason"].startswith("reject_") and r["feedback"] for r in rejected)


# ---------------------------------------------------------------- a rule naming a missing column


def test_rule_naming_a_missing_column_is_refused(tmp_path):
    """The old example's column: absent from the export, it used to fail (reject) every worker."""
    rules = _rules(tmp_path, '[reject.attention_check]\ncolumn = "AC1"\nexpected = ["Blue"]\n'
                             'feedback = "You did not pass the attention check."\n')
    _refused(_match(tmp_path, "--rules", rules), tmp_path, "rules.toml", "[reject.attention_check]", "'AC1'", str(EXPORT))


def test_missing_column_suggests_close_names(tmp_path):
    rules = _rules(tmp_path, '[reject.attention_check]\ncolumn = "q1"\nexpected = ["Purple"]\n'
                             'feedback = "You did not pass the attention check."\n')
    _refused(_match(tmp_path, "--rules", rules), tmp_path, "'q1'", "did you mean 'Q1'")


def test_example_turned_on_is_refused_on_an_export_without_its_column(realdata, tmp_path):
    study = realdata / CHUC
    proc = _match(tmp_path, "--rules", _all_on(tmp_path), qualtrics=study / CHUC_FILES[0], mturk=[study / CHUC_FILES[1]])
    _refused(proc, tmp_path, "all-on.toml", "[reject.attention_check]", "'Q1'", CHUC_FILES[0])


# ---------------------------------------------------------------- feedback checked when the rules load


@pytest.mark.parametrize("feedback, words", [("x", ["'x'", "too short"]), ("Too fast.", ["too short"]),
                                             ("Rejected", ["two words"]), ("word " * 210, ["1024"])])
def test_feedback_pay_would_refuse_is_refused_at_match(tmp_path, feedback, words):
    rules = _rules(tmp_path, f'[reject.no_code]\nfeedback = "{feedback}"\n')
    _refused(_match(tmp_path, "--rules", rules), tmp_path, "rules.toml", "[reject.no_code]", "reconcile pay", *words)


# ---------------------------------------------------------------- more than half: confirmation


def _durations_of_matched(tmp_path: Path) -> list[int]:
    """Durations of the responses the default policy approves (read with the csv module)."""
    base = tmp_path / "base"
    base.mkdir()
    assert _match(base, "--json").returncode == 0
    approved = {r["response_id"] for r in _plan(base) if r["decision"] == "approve"}
    with open(EXPORT, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    h = rows[0]
    dur = {r[h.index("ResponseId")]: int(r[h.index("Duration (in seconds)")]) for r in rows[3:]}
    assert len(approved) == 110
    return sorted(dur[rid] for rid in approved)


def _too_fast(tmp_path: Path, seconds) -> Path:
    return _rules(tmp_path, f'[reject.too_fast]\nmax_seconds = {seconds}\n'
                            'feedback = "You completed the survey too quickly to have read it."\n')


def test_more_than_half_needs_confirmation_both_sides_of_the_threshold(tmp_path):
    """matched = 110 approve-able assignments; too_fast rejects those faster than max_seconds.
    At most 55 rejected goes through; 56 or more is refused without a terminal, and goes through
    with --confirm-rejections (and says so in the plan's warnings)."""
    ds = _durations_of_matched(tmp_path)
    m = len(ds)
    below = max(k for k in range(m + 1) if k * 2 <= m and (k == 0 or k == m or ds[k - 1] < ds[k]))
    above = min(k for k in range(m + 1) if k * 2 > m and (k == m or ds[k - 1] < ds[k]))
    assert below <= m // 2 < above

    at = tmp_path / "at"
    at.mkdir()
    proc = _match(at, "--json", "--rules", _too_fast(at, ds[below - 1] + 0.5 if below else 1))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["reasons"].get("reject_too_fast", 0) == below

    over = tmp_path / "over"
    over.mkdir()
    rules = _too_fast(over, ds[above - 1] + 0.5)
    _refused(_match(over, "--json", "--rules", rules), over, "[reject.too_fast]", "rules.toml",
                    f"would reject {above} of the {m} matched assignments", "--confirm-rejections")
    proc = _match(over, "--rules", rules, "--confirm-rejections")
    assert proc.returncode == 0, proc.stderr
    assert sum(r["reason"] == "reject_too_fast" for r in _plan(over)) == above
    assert f"warning: Rule [reject.too_fast] in {rules} rejects {above} of the {m} matched assignments (confirmed with --confirm-rejections)." in proc.stdout
    summary = [c for row in openpyxl.load_workbook(over / "reconcile-report.xlsx")["Summary"].iter_rows(values_only=True) for c in row if c]
    assert any(f"rejects {above} of the {m} matched" in str(c) for c in summary)


def test_attention_check_rejecting_nearly_everyone_is_refused(tmp_path):
    """The right column with the wrong accepted answer fails nearly everyone: refused, not planned."""
    rules = _rules(tmp_path, '[reject.attention_check]\ncolumn = "Q1"\nexpected = ["Blue"]\n'
                             'feedback = "You did not pass the attention check."\n')
    _refused(_match(tmp_path, "--rules", rules), tmp_path, "[reject.attention_check]", "of the 110 matched assignments")


def _first_half_of_the_export(tmp_path: Path) -> Path:
    """The sample export cut at a record boundary (undetectable by reading: every row is whole)."""
    with open(EXPORT, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    out = tmp_path / "half.csv"
    with open(out, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows[: 3 + (len(rows) - 3) // 2])
    return out


def test_no_match_rule_on_a_half_export_needs_confirmation(tmp_path):
    half = _first_half_of_the_export(tmp_path)
    rules = _rules(tmp_path, '[reject.no_match]\nfeedback = "The code you submitted is not from this survey."\n')
    _refused(_match(tmp_path, "--rules", rules, qualtrics=half), tmp_path, "[reject.no_match]", "more than half as many as the")


def test_prompt_answer_decides(tmp_path):
    """On a terminal the CLI passes a yes/no question; here the same library call gets the answer."""
    from reconcile.study import run_match

    rules = _too_fast(tmp_path, 100000)  # everyone is "too fast"
    asked = []
    with pytest.raises(RefusedError, match="not confirmed, so nothing was written"):
        run_match(str(EXPORT), [str(BATCH)], rules_path=rules, plan_path=tmp_path / "p.csv", report_path=None,
                  show_progress=False, confirm=lambda q: asked.append(q) or False)
    assert asked == ["Rule [reject.too_fast] in " + str(rules) + " would reject 110 of the 110 matched assignments; continue?"]
    assert not (tmp_path / "p.csv").exists()
    summary = run_match(str(EXPORT), [str(BATCH)], rules_path=rules, plan_path=tmp_path / "p.csv", report_path=None,
                        show_progress=False, confirm=lambda q: True)
    assert summary.counts["decisions"]["reject"] == 110
    assert any("(confirmed at the prompt)" in w for w in summary.plan.warnings)


def _on_a_terminal(cwd: Path, args: list[str], answer: bytes) -> tuple[str, int]:
    """Run the real command with a pseudo-terminal as its terminal; answer its question."""
    import os
    import select
    import sys

    pty = pytest.importorskip("pty")
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the command
        os.chdir(cwd)
        os.execv(sys.executable, [sys.executable, "-m", "reconcile", *args])
    out = b""
    answered = False
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 120)  # a hang guard, not a timing assertion
            if not ready:
                os.kill(pid, 9)
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            out += chunk
            if not answered and b"continue?" in out:
                os.write(fd, answer)
                answered = True
    except OSError:  # the terminal closes when the command exits
        pass
    _, status = os.waitpid(pid, 0)
    return out.decode("utf-8", "replace"), os.waitstatus_to_exitcode(status)


@pytest.mark.parametrize("answer, code", [(b"n\n", 2), (b"y\n", 0)])
def test_terminal_question(tmp_path, answer, code):
    rules = _too_fast(tmp_path, 100000)  # every matched response is "too fast"
    out, exit_code = _on_a_terminal(tmp_path, ["match", "--qualtrics", str(EXPORT), "--mturk", str(BATCH), "--rules", str(rules)], answer)
    assert f"Rule [reject.too_fast] in {rules} would reject 110 of the 110 matched assignments; continue? [y/N]" in out
    assert exit_code == code, out
    assert (tmp_path / "reconcile-plan.csv").exists() == (code == 0)
    if code:
        assert "not confirmed, so nothing was written" in out
    else:
        assert "(confirmed at the prompt)" in out and sum(r["decision"] == "reject" for r in _plan(tmp_path)) == 110


# ---------------------------------------------------------------- most codes match nothing


def test_warning_when_most_codes_match_nothing(tmp_path):
    half = _first_half_of_the_export(tmp_path)
    proc = _match(tmp_path, qualtrics=half)
    assert proc.returncode == 0, proc.stderr
    rows = _plan(tmp_path)
    with_code = sum(1 for r in rows if r["code"].strip())
    # Rows MTurk already decided (skip) lose their matching reason in the plan, but their codes count
    # too: read the half export's codes with the csv module to see which of them are missing.
    with open(half, encoding="utf-8", newline="") as fh:
        exp = list(csv.reader(fh))
    codes = {r[exp[0].index("mTurkCode")].strip() for r in exp[3:]}
    missing = sum(1 for r in rows if r["reason"] == "no_match") + sum(
        1 for r in rows if r["decision"] == "skip" and r["code"].strip() and r["code"].strip() not in codes
    )
    assert missing * 4 > with_code and missing < with_code
    line = f"warning: {missing} of the {with_code} assignments that carry a code match no response at all"
    assert line in proc.stdout and "cut short" in proc.stdout
    summary = [c for row in openpyxl.load_workbook(tmp_path / "reconcile-report.xlsx")["Summary"].iter_rows(values_only=True) for c in row if c]
    assert any(line.removeprefix("warning: ") in str(c) for c in summary)


def test_no_such_warning_on_the_whole_export(tmp_path):
    proc = _match(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "match no response at all" not in proc.stdout


# ---------------------------------------------------------------- the thresholds, on the matcher itself


def _matched_study(n_matched: int, n_unmatched: int, rules_text: str = ""):
    """n_matched assignments whose codes are in the export, n_unmatched whose codes are in none."""
    from datetime import datetime, timezone

    from reconcile.match import match
    from reconcile.models import Submission, Response, SourceRef

    def worker(i):
        return f"A{i:013d}"

    responses = [
        Response(SourceRef("e.csv", 4 + i), f"R_{i:04d}", "IP Address", "True", "100", "", "", "", "300",
                 f"7{i:07d}", worker(i), {"mTurkCode": f"7{i:07d}"})
        for i in range(n_matched)
    ]
    codes = [f"7{i:07d}" for i in range(n_matched)] + [f"{9000 + i}ZZQ" for i in range(n_unmatched)]
    submissions = [
        Submission(SourceRef("b.csv", 2 + i), "mturk", f"ASG{i:05d}", worker(i), "HIT", "pending", "Submitted", "$0.40", "9",
                   "", "", "Sun Mar 10 08:00:00 PST 2099", "100", code)
        for i, code in enumerate(codes)
    ]
    rules = parse_rules(rules_text, "r.toml")
    return match(responses, submissions, now=datetime(2024, 3, 1, tzinfo=timezone.utc), platform=MTURK, rules=rules), rules


@pytest.mark.parametrize("matched, unmatched, warned", [(3, 1, False), (5, 2, True), (0, 3, True), (10, 0, False)])
def test_unmatched_codes_warning_from_a_quarter_on(matched, unmatched, warned):
    result, _ = _matched_study(matched, unmatched)
    assert sum(r.reason == "no_match" for r in result.rows) == unmatched
    hits = [w for w in result.warnings if "match no response at all" in w]
    assert bool(hits) == warned
    if warned:
        assert hits[0].startswith(f"{unmatched} of the {matched + unmatched} assignments that carry a code")


NO_MATCH = '[reject.no_match]\nfeedback = "The code you submitted is not from this survey."\n'


@pytest.mark.parametrize("matched, unmatched, asked", [(4, 2, False), (4, 3, True), (0, 1, True), (1, 0, False)])
def test_no_match_rule_threshold(matched, unmatched, asked):
    from reconcile.rules import confirm_mass_rejections, mass_rejections

    result, rules = _matched_study(matched, unmatched, NO_MATCH)
    assert sum(r.reason == "reject_no_match" for r in result.rows) == unmatched
    found = mass_rejections(result.rows, rules, MTURK.words)
    assert bool(found) == asked
    if asked:
        assert found == [("[reject.no_match] in r.toml", f"{unmatched} assignment{'s' if unmatched != 1 else ''}, more than half as many as the {matched} matched ones")]
        with pytest.raises(RefusedError, match="--confirm-rejections"):
            confirm_mass_rejections(result.rows, rules, words=MTURK.words)
        assert confirm_mass_rejections(result.rows, rules, confirmed=True, words=MTURK.words)
    else:
        assert confirm_mass_rejections(result.rows, rules) == ()
