"""Plan validation: every problem of an edited plan, with line and column, in one PlanError."""

from __future__ import annotations

import csv
import dataclasses
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.errors import InputError, PlanError
from reconcile.models import Plan, PlanRow
from reconcile.plan_check import check_plan as _check_plan
from reconcile.plan_check import parse_limit
from reconcile.planfile import plan_columns, plan_digest, read_plan_rows, write_plan
from reconcile.platforms.mturk import PLATFORM as MTURK
from reconcile.platforms.mturk.upload import read_batch

PLAN_COLUMNS = tuple(plan_columns("mturk").values())


def check_plan(path, **kw):
    return _check_plan(path, MTURK, **kw)


D = Decimal
CHUC = "Chucooleg__Field_Experiment_Human_Image_Classification"
MAIN = "20171112_mturk_results_order1_0.40.csv"
SUPP = "20171112_mturk_results_order1_0.40_supplementary.csv"
REASON = "The code you entered does not match any survey response."


def plan_rows(batch_path, n=None, decide=lambda i: "approve"):
    b = read_batch(batch_path)
    out = []
    for i in range(len(b.records) if n is None else n):
        out.append(PlanRow(
            submission_id=b.cell(i, "AssignmentId"), participant_id=b.cell(i, "WorkerId"), group_id=b.cell(i, "HITId"),
            decision=decide(i), reason="code_match", detail="", code=b.cell(i, "Answer.surveycode"),
            response_id="", bonus=None, feedback=REASON if decide(i) == "reject" else "",
            source=f"{batch_path}:{b.lines[i]}", status=b.cell(i, "AssignmentStatus"),
            reward=b.cell(i, "Reward"), group_size=b.cell(i, "MaxAssignments"),
        ))
    return out


def write(path, rows):
    write_plan(Plan(platform="mturk", rows=tuple(rows)), path)
    return path


def edit(path, changes):
    """changes: {line: {column: value}}, as the PI would in a spreadsheet."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        recs = list(csv.reader(fh))
    header = recs[0]
    for line, cols in changes.items():
        for col, value in cols.items():
            recs[line - 1][header.index(col)] = value
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(recs)



@pytest.fixture(autouse=True)
def _study_days(monkeypatch):
    """The real 2017 study, judged as of its own days (before MTurk auto-approved it, so a reject is
    still possible); the commands run here inherit the clock through RECONCILE_NOW."""
    monkeypatch.setenv("RECONCILE_NOW", "2017-11-13T00:00:00Z")


@pytest.fixture
def real_plan(realdata, tmp_path):
    rows = plan_rows(realdata / CHUC / MAIN) + plan_rows(realdata / CHUC / SUPP, decide=lambda i: "review")
    return write(tmp_path / "plan.csv", rows)


def test_valid_real_plan(real_plan, realdata):
    pc = check_plan(real_plan)
    c = pc.checked
    assert len(c.rows) == 104
    assert set(c.batch_paths) == {str(realdata / CHUC / MAIN), str(realdata / CHUC / SUPP)}
    assert c.rewards == D("40.00") and c.fees == D("16.00") and c.bonuses == 0
    assert c.total == D("56.00")
    assert c.digest == plan_digest(r.cells for r in read_plan_rows(real_plan))
    assert pc.file_of[c.rows[-1].submission_id] == str(realdata / CHUC / SUPP)


def test_every_problem_reported_together(real_plan):
    edit(real_plan, {
        3: {"decision": "approved"},
        4: {"bonus": "1.005"},
        5: {"bonus": "6.00"},
        6: {"decision": "review", "bonus": "1.00"},
        7: {"decision": "reject", "feedback": "x"},
        8: {"decision": "reject", "feedback": ""},
        9: {"assignment_id": "3NOTINTHEBATCH0000000000000000"},
        10: {"worker_id": "AOTHERWORKER00"},
        11: {"assignment_id": "3018Q3ZVOIQHM2U0MNWHSQWCQYRAR4"},  # line 2's assignment again
    })
    with pytest.raises(PlanError) as exc:
        check_plan(real_plan, max_bonus=D("5.00"))
    problems = exc.value.problems
    text = "\n".join(problems)
    expected = [
        ("line 3, column decision", "'approved' is not one of approve, reject, review, skip (did you mean approve?)"),
        ("line 4, column bonus", "at most two decimals"),
        ("line 5, column bonus", "$6.00 is above --max-bonus $5.00"),
        ("line 6, column bonus", "bonuses go only with approve"),
        ("line 7, column feedback", "too short"),
        ("line 8, column feedback", "a reject needs feedback"),
        ("line 9, column assignment_id", "is not in batch file"),
        ("line 10, column worker_id", "is not the worker of assignment"),
        ("line 11, column assignment_id", "appears again (first on line 2)"),
    ]
    for where, what in expected:
        assert any(p.startswith(where) and what in p for p in problems), (where, what, text)
    # worker check is skipped for the unknown assignment; the duplicate's worker differs from line 2's
    assert len(problems) == len(expected) + 1
    assert str(real_plan) in str(exc.value) and "nothing was done" in str(exc.value)


def test_already_final_assignments_only_skip(tmp_path):
    batch = tmp_path / "b.csv"
    batch.write_text(
        "HITId,AssignmentId,WorkerId,AssignmentStatus,Reward,MaxAssignments,Answer.surveycode\r\n"
        "3H,3A1,AW1,Approved,$0.50,1,1\r\n3H,3A2,AW2,Rejected,$0.50,1,2\r\n3H,3A3,AW3,Approved,$0.50,1,3\r\n",
        encoding="utf-8",
    )
    rows = [
        PlanRow("3A1", "AW1", "3H", "approve", "r", "", "1", "", None, "", f"{batch}:2"),
        PlanRow("3A2", "AW2", "3H", "reject", "r", "", "2", "", None, REASON, f"{batch}:3"),
        PlanRow("3A3", "AW3", "3H", "skip", "r", "", "3", "", None, "", f"{batch}:4"),
    ]
    plan = write(tmp_path / "p.csv", rows)
    with pytest.raises(PlanError) as exc:
        check_plan(plan)
    assert [p.split(":")[0] for p in exc.value.problems] == ["line 2, column decision", "line 3, column decision"]
    assert "already Approved" in exc.value.problems[0] and "already Rejected" in exc.value.problems[1]


def test_missing_batch_file_hints_at_batch_option(real_plan, tmp_path, realdata):
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    rows = plan_rows(realdata / CHUC / MAIN, n=3)
    rows = [dataclasses.replace(r, source="gone/" + MAIN + ":" + r.source.rsplit(":", 1)[1]) for r in rows]
    plan = write(moved / "plan.csv", rows)
    with pytest.raises(PlanError) as exc:
        check_plan(plan)
    assert len(exc.value.problems) == 1
    assert "named on 3 lines" in exc.value.problems[0] and "--batch" in exc.value.problems[0]
    assert len(check_plan(plan, batch_paths=[str(realdata / CHUC / MAIN)]).checked.rows) == 3
    # a copy beside the plan is found by name
    (moved / MAIN).write_bytes((realdata / CHUC / MAIN).read_bytes())
    assert check_plan(plan).checked.batch_paths == (str(moved / MAIN),)


def test_batch_option_unknown_assignment(real_plan, realdata):
    with pytest.raises(PlanError) as exc:
        check_plan(real_plan, batch_paths=[str(realdata / CHUC / MAIN)])
    assert len(exc.value.problems) == 4
    assert all("not in any --batch file" in p for p in exc.value.problems)
    with pytest.raises(PlanError, match="nope.csv: no such file"):
        check_plan(real_plan, batch_paths=[str(realdata / CHUC / "nope.csv")])


def test_budget(real_plan):
    assert check_plan(real_plan, budget=D("56.00")).checked.total == D("56.00")
    with pytest.raises(PlanError, match=r"total cost \$56.00 .* above --budget \$55.99"):
        check_plan(real_plan, budget=D("55.99"))


def test_zero_bonus_means_none_and_case_is_forgiven(real_plan):
    edit(real_plan, {2: {"bonus": "0", "decision": " Approve "}, 3: {"bonus": "$1.25"}})
    c = check_plan(real_plan, max_bonus=D("1.25")).checked
    assert c.rows[0].bonus is None and c.rows[0].decision == "approve"
    assert c.rows[1].bonus == D("1.25") and c.bonuses == D("1.25")


def test_not_a_plan(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\r\n1,2\r\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a reconcile plan"):
        check_plan(p)
    with pytest.raises(InputError, match="no such plan"):
        check_plan(tmp_path / "missing.csv")


@pytest.mark.parametrize("text, value", [(None, None), ("", None), ("5", D("5.00")), ("$2.50", D("2.50"))])
def test_parse_limit(text, value):
    assert parse_limit(text, "--max-bonus") == value


@pytest.mark.parametrize("text", ["-1", "1.001", "five", "1e3"])
def test_parse_limit_refuses(text):
    with pytest.raises(InputError, match="--budget"):
        parse_limit(text, "--budget")


decisions = st.sampled_from(["approve", "reject", "review", "skip"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    choice=st.lists(st.tuples(decisions, st.one_of(st.none(), st.decimals(D("0.01"), D("9.99"), places=2))), min_size=1, max_size=10),
    bad=st.sets(st.integers(0, 9), max_size=4),
)
def test_problem_count_matches_bad_rows(realdata, tmp_path, choice, bad):
    """Valid rows never raise; each deliberately broken row yields exactly one problem on its own line."""
    rows = plan_rows(realdata / CHUC / MAIN, n=len(choice))
    fixed = []
    for r, (d, bonus) in zip(rows, choice):
        fixed.append(dataclasses.replace(r, decision=d, bonus=bonus if d == "approve" else None,
                                         feedback=REASON if d == "reject" else ""))
    plan = write(tmp_path / "prop.csv", fixed)
    bad = {i for i in bad if i < len(fixed)}
    if not bad:
        c = check_plan(plan).checked
        assert [r.decision for r in c.rows] == [d for d, _ in choice]
        assert c.bonuses == sum((b for d, b in choice if d == "approve" and b), D("0"))
        return
    edit(plan, {i + 2: {"decision": "maybe"} for i in bad})
    with pytest.raises(PlanError) as exc:
        check_plan(plan)
    lines = sorted(int(p.split(",")[0].split()[1]) for p in exc.value.problems)
    assert lines == sorted(i + 2 for i in bad)


def test_api_listed_rows_are_checked_against_the_plan_only(tmp_path):
    rows = [
        PlanRow("3A1", "AW1", "3H", "approve", "code_match", "", "1", "R_1", D("0.50"), "", "mturk-api:hit-3H:2",
                status="Submitted", reward="$0.40", group_size="100"),
        PlanRow("3A2", "AW2", "3H", "skip", "already_approved", "", "2", "", None, "", "mturk-api:hit-3H:3",
                status="Approved", reward="$0.40", group_size="100"),
    ]
    plan = write(tmp_path / "api.csv", rows)
    pc = check_plan(plan)
    assert pc.api_listed == 2 and pc.files == ()
    assert pc.checked.total == D("0.40") + D("0.16") + D("0.50") + D("0.10")
    edit(plan, {3: {"decision": "approve"}})  # the plan's own status still counts
    with pytest.raises(PlanError, match="already Approved"):
        check_plan(plan)
