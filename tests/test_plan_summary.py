"""The plain dry run checked as columns (plan_summary) says exactly what check_plan says.

For every plan here: when check_plan refuses it, summarize_plan hands it over (None: the dry run
then runs check_plan, whose sentences stay); when check_plan passes it, summarize_plan either hands
it over too or shows the same summary (JSON and text: counts, money, digest, warnings, flags). Plain
plans are shown to take the column path, so these are not tests of the fallback alone."""

from __future__ import annotations

import dataclasses

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from reconcile.errors import InputError, PlanError
from reconcile.payment import long_summary, summary_dict
from reconcile.plan_check import check_plan
from reconcile.plan_summary import summarize_plan
from reconcile.planfile import plan_digest, read_plan
from reconcile.platforms.mturk import PLATFORM as MTURK
from test_executor_support import checked_plan, make_batch, plan_rows

REASON = "The completion code you entered does not match any survey response."


def outcome(plan: Path, platform=MTURK, **kw):
    """(took the column path, what is shown): the summary dict and text, or the refusal."""
    lean = summarize_plan(plan, platform, **kw)
    try:
        pc = check_plan(plan, platform, **kw)
    except (PlanError, InputError) as exc:
        assert lean is None, "check_plan refuses what the column check passed: " + str(exc)
        return False, ("refused", type(exc).__name__, str(exc), getattr(exc, "problems", None))
    classic = (summary_dict(pc, platform), long_summary(pc, platform))
    if lean is None:
        return False, classic
    pcl, counts = lean
    got = (summary_dict(pcl, platform, counts=counts), long_summary(pcl, platform, counts=counts))
    assert got == classic
    return True, got


def rewrite(path: Path, change) -> None:
    """change(i, row dict) edits plan data row i in place (the plan's own column names)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        recs = list(csv.reader(fh))
    header = recs[0]
    for i, rec in enumerate(recs[1:]):
        row = dict(zip(header, rec))
        change(i, row)
        recs[i + 1] = [row[h] for h in header]
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(recs)


@pytest.fixture
def study(tmp_path):
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 40, hits=3, seed=7)
    plan = tmp_path / "plan.csv"
    checked_plan(plan, plan_rows(batch, brows), [batch])
    return plan, batch, brows


def mixed(i, r):
    return [("approve", "0.75", ""), ("reject", None, REASON), ("review", None, ""), ("skip", None, ""),
            ("approve", None, ""), ("approve", "0", "")][i % 6]


def test_a_plain_plan_takes_the_column_path_and_shows_the_same(study):
    plan, batch, brows = study
    took, shown = outcome(plan)
    assert took and shown[0]["assignments"] == 40 and shown[0]["bonus_count"] == 40
    checked_plan(plan, plan_rows(batch, brows, mixed), [batch])
    took, shown = outcome(plan)
    assert took and shown[0]["decisions"] == {"approve": 19, "reject": 7, "review": 7, "skip": 7}
    # the digest is plan_digest's value (the payout's record of what was shown depends on it)
    assert shown[0]["digest"] == plan_digest(r.cells for r in read_plan(plan).rows)


def test_the_command_line_dry_run_is_the_same_on_both_paths(study):
    plan, batch, brows = study
    checked_plan(plan, plan_rows(batch, brows, mixed), [batch])
    lean = [run_cli("pay", plan.name, *extra, cwd=plan.parent) for extra in ((), ("--json",))]
    # --report makes the dry run keep its rows (check_plan); the summary printed is the same
    whole = run_cli("pay", plan.name, "--json", "--report", "dry.xlsx", cwd=plan.parent)
    assert all(r.returncode == 0 for r in lean + [whole]), [r.stderr for r in lean + [whole]]
    assert "Dry run: nothing was sent to MTurk" in lean[0].stdout
    a, b = json.loads(lean[1].stdout), json.loads(whole.stdout)
    assert a.pop("report") is None and b.pop("report") == "dry.xlsx"
    assert a == b


@pytest.mark.parametrize("case", [
    "reject_without_reason", "reject_past_deadline", "duplicate", "worker_edited", "hit_edited", "approve_approved",
    "bonus_on_review", "bonus_not_amount", "decision_typo", "empty_worker", "api_source_on_file_row", "missing_batch",
    "unparsable_source", "max_bonus", "budget", "budget_ok", "far_bonus", "far_bonus_even", "zero_bonus",
    "skip_bonus_on_approved", "skip_bonus_on_rejected", "escaped_cells", "flags_ties", "control_in_feedback",
    "blank_line", "no_bom", "lone_cr", "deadline_from_plan_past", "deadline_from_plan_future", "api_rows", "spaces",
    "status_blank", "short_rows", "long_row", "unknown_status",
])
def test_each_edit_is_judged_alike(study, case):
    plan, batch, brows = study
    kw: dict = {}
    lean_expected = None  # True: must take the column path; False: must not; None: either
    if case == "reject_without_reason":
        rewrite(plan, lambda i, r: r.update(decision="reject", bonus="", feedback="bad") if i == 3 else None)
    elif case == "reject_past_deadline":
        _batch_cells(batch, {2: {"AutoApprovalTime": "2020-01-01 00:00:00 UTC"}})
        rewrite(plan, lambda i, r: r.update(decision="reject", bonus="", feedback=REASON) if i in (2, 5) else None)
    elif case == "duplicate":
        rewrite(plan, lambda i, r: r.update(assignment_id=brows[0]["AssignmentId"]) if i == 9 else None)
    elif case == "worker_edited":
        rewrite(plan, lambda i, r: r.update(worker_id="AXXXXXXXXXXXXX") if i == 4 else None)
    elif case == "hit_edited":
        rewrite(plan, lambda i, r: r.update(hit_id="3HXXXXXXXX") if i == 4 else None)
    elif case == "approve_approved":
        _batch_cells(batch, {1: {"AssignmentStatus": "Approved"}})
    elif case == "bonus_on_review":
        rewrite(plan, lambda i, r: r.update(decision="review") if i == 6 else None)
    elif case == "bonus_not_amount":
        rewrite(plan, lambda i, r: r.update(bonus="1,5 dollars") if i == 6 else None)
    elif case == "decision_typo":
        rewrite(plan, lambda i, r: r.update(decision="aprove") if i == 6 else None)
    elif case == "empty_worker":
        rewrite(plan, lambda i, r: r.update(worker_id=" ") if i == 6 else None)
    elif case == "api_source_on_file_row":
        rewrite(plan, lambda i, r: r.update(source="mturk-api:" + r["hit_id"]) if i == 6 else None)
    elif case == "missing_batch":
        rewrite(plan, lambda i, r: r.update(source=r["source"].replace("batch.csv", "gone.csv")) if i > 30 else None)
    elif case == "unparsable_source":
        rewrite(plan, lambda i, r: r.update(source="somewhere") if i == 6 else None)
    elif case == "max_bonus":
        kw["max_bonus"] = Decimal("0.60")
    elif case == "budget":
        kw["budget"] = Decimal("10.00")
    elif case == "budget_ok":
        kw["budget"], lean_expected = Decimal("1000.00"), True
    elif case in ("far_bonus", "far_bonus_even"):
        rewrite(plan, lambda i, r: r.update(bonus="50.00" if i in (3, 17) else "0.50" if i % 2 else r["bonus"],
                                            decision="skip" if i == 0 and case == "far_bonus_even" else r["decision"]))
        if case == "far_bonus_even":
            rewrite(plan, lambda i, r: r.update(bonus="") if i == 0 else None)
        lean_expected = True
    elif case == "zero_bonus":
        rewrite(plan, lambda i, r: r.update(bonus=["0", "0.00", "", " 1 "][i % 4]))
        lean_expected = True
    elif case in ("skip_bonus_on_approved", "skip_bonus_on_rejected"):
        _batch_cells(batch, {3: {"AssignmentStatus": "Approved" if case == "skip_bonus_on_approved" else "Rejected"}})
        rewrite(plan, lambda i, r: r.update(decision="skip") if i == 3 else None)
    elif case == "escaped_cells":
        rewrite(plan, lambda i, r: r.update(decision="reject", bonus="", feedback="'=" + REASON) if i == 3 else
                r.update(feedback="'-not a formula") if i == 4 else None)
        lean_expected = True
    elif case == "flags_ties":
        rewrite(plan, lambda i, r: r.update(flags=["b;a", " a ; c ", "c", "", "b"][i % 5]))
        lean_expected = True
    elif case == "control_in_feedback":
        rewrite(plan, lambda i, r: r.update(decision="review", bonus="", feedback=["x\x01y", "x", "x\ty", "x\x1fz"][i % 4])
                if i < 8 else None)
        lean_expected = True
    elif case == "blank_line":
        text = plan.read_bytes()
        plan.write_bytes(text.replace(b"\r\n", b"\r\n\r\n", 3))
        lean_expected = False
    elif case == "no_bom":
        plan.write_bytes(plan.read_bytes()[3:])
        lean_expected = True
    elif case == "lone_cr":
        plan.write_bytes(plan.read_bytes().replace(b"\r\n", b"\r"))
        lean_expected = False  # no LF in its head: read as the csv module reads it
    elif case in ("deadline_from_plan_past", "deadline_from_plan_future"):
        _batch_cells(batch, {2: {"AutoApprovalTime": ""}})
        when = "2020-01-01 00:00:00 UTC" if case.endswith("past") else "2099-01-01 00:00:00 UTC"
        rewrite(plan, lambda i, r: r.update(decision="reject", bonus="", feedback=REASON, auto_approval_time=when)
                if i == 2 else None)
    elif case == "api_rows":
        rows = plan_rows(batch, brows)
        extra = [dataclasses.replace(r, submission_id="3API" + r.submission_id[4:], source="mturk-api:" + r.group_id)
                 for r in rows[:5]]
        checked_plan(plan, rows + extra, [batch])
        lean_expected = True
    elif case == "spaces":
        rewrite(plan, lambda i, r: r.update(assignment_id=f" {r['assignment_id']} ", decision=" Approve ", source=f" {r['source']} "))
        lean_expected = True
    elif case == "status_blank":
        _batch_cells(batch, {1: {"AssignmentStatus": " "}, 2: {"Reward": ""}, 3: {"MaxAssignments": ""}})
        lean_expected = True
    elif case == "short_rows":
        text = plan.read_bytes().decode("utf-8-sig")
        lines = text.split("\r\n")
        lines[3] = lines[3].rsplit(",", 2)[0]  # the last two cells left out
        plan.write_text("\r\n".join(lines), encoding="utf-8")
    elif case == "long_row":
        text = plan.read_bytes().decode("utf-8-sig")
        lines = text.split("\r\n")
        lines[3] += ",extra"  # read_plan drops cells past the header; so does the column reading
        plan.write_text("\r\n".join(lines), encoding="utf-8")
        lean_expected = True
    elif case == "unknown_status":
        _batch_cells(batch, {1: {"AssignmentStatus": "Weird"}})
    took, shown = outcome(plan, **kw)
    if lean_expected is not None:
        assert took == lean_expected, shown


def _batch_cells(batch: Path, changes: dict[int, dict[str, str]]) -> None:
    with open(batch, encoding="utf-8-sig", newline="") as fh:
        recs = list(csv.reader(fh))
    header = recs[0]
    for i, cols in changes.items():
        for col, value in cols.items():
            recs[i + 1][header.index(col)] = value
    with open(batch, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(recs)


def test_masters_fees_and_unknown_rewards_are_counted_alike(study):
    plan, batch, brows = study
    checked_plan(plan, plan_rows(batch, brows, mixed), [batch])
    _batch_cells(batch, {0: {"Reward": "n/a"}, 6: {"MaxAssignments": "5"}})
    took, plain = outcome(plan)
    took_masters, masters = outcome(plan, MTURK.configured(masters=True))
    assert took and took_masters and plain[0]["unknown_rewards"] == 1
    assert Decimal(masters[0]["fees"]) > Decimal(plain[0]["fees"])


def test_batch_option_and_a_moved_batch(study, tmp_path):
    plan, batch, brows = study
    moved = tmp_path / "elsewhere.csv"
    batch.rename(moved)
    assert outcome(plan)[0] is False  # the source's file is gone: check_plan says so
    took, shown = outcome(plan, batch_paths=[str(moved)])
    assert took and shown[0]["batches"] == [str(moved)]


def test_repeated_assignments_in_a_batch_read_the_first(study):
    plan, batch, brows = study
    with open(batch, encoding="utf-8", newline="") as fh:
        recs = list(csv.reader(fh))
    recs.append(list(recs[5]))
    recs[-1][recs[0].index("WorkerId")] = "AOTHERWORKER00"
    with open(batch, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(recs)
    assert outcome(plan)[0] is True


EDITS = st.fixed_dictionaries({
    "decision": st.sampled_from(["approve", "reject", "review", "skip", " Skip ", "APPROVE", "aprove"]),
    "bonus": st.sampled_from(["", "0", "0.50", " 1.25 ", "50.00", "abc", "-1", "2.005"]),
    "feedback": st.sampled_from(["", REASON, "too short", "'=" + REASON, "a\x02" + REASON]),
    "flags": st.sampled_from(["", "x", "x;y", " y ; z;"]),
    "status": st.sampled_from(["", "Submitted", "Approved"]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.dictionaries(st.integers(0, 39), EDITS, max_size=6), max_bonus=st.sampled_from([None, "5.00", "100.00"]))
def test_any_edits_are_judged_alike(study, edits, max_bonus):
    plan, batch, brows = study
    base = plan.read_bytes()
    try:
        def change(i, r):
            if i in edits:
                e = edits[i]
                r.update(decision=e["decision"], bonus=e["bonus"], feedback=e["feedback"], flags=e["flags"],
                         assignment_status=e["status"])
        rewrite(plan, change)
        outcome(plan, max_bonus=None if max_bonus is None else Decimal(max_bonus))
    finally:
        plan.write_bytes(base)


def test_the_real_study_plan_takes_the_column_path(realdata, tmp_path, monkeypatch):
    from test_pay_dryrun import CHUC, MAIN, QUALTRICS, SUPP

    monkeypatch.setenv("RECONCILE_NOW", "2017-11-13T00:00:00Z")
    src = realdata / CHUC
    r = run_cli("match", "--qualtrics", src / QUALTRICS, "--mturk", src / MAIN, "--mturk", src / SUPP, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    took, shown = outcome(tmp_path / "reconcile-plan.csv")
    assert took and shown[0]["assignments"] > 100


def test_a_failure_of_the_column_path_leaves_the_plan_to_check_plan(study, monkeypatch, capsys):
    import reconcile.plan_summary as plan_summary
    from reconcile.payment import dry_run

    plan, batch, brows = study
    checked, _ = dry_run(plan, json_output=True, summary_only=True)
    shown = capsys.readouterr().out
    assert checked.rows == ()  # the column path: no rows kept

    def broken(*args, **kw):
        raise RuntimeError("a bug in the shortcut")

    monkeypatch.setattr(plan_summary, "summarize_plan", broken)
    checked, _ = dry_run(plan, json_output=True, summary_only=True)
    assert capsys.readouterr().out == shown and len(checked.rows) == 40
