"""`reconcile pay PLAN.csv` (the dry run), --upload-csv and --report, through the real command,
on the plan `reconcile match` writes for the matched real study."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from conftest import run_cli

CHUC = "Chucooleg__Field_Experiment_Human_Image_Classification"
QUALTRICS = "20171112_qualtric_results_order1_0.40_redacted.csv"
MAIN = "20171112_mturk_results_order1_0.40.csv"
SUPP = "20171112_mturk_results_order1_0.40_supplementary.csv"
REASON = "The code you entered belongs to another study, not this survey."



@pytest.fixture(autouse=True)
def _study_days(monkeypatch):
    """The real 2017 study, judged as of its own days (before MTurk auto-approved it, so a reject is
    still possible); the commands run here inherit the clock through RECONCILE_NOW."""
    monkeypatch.setenv("RECONCILE_NOW", "2017-11-13T00:00:00Z")


@pytest.fixture(scope="module")
def matched(tmp_path_factory, realdata):
    """Run `reconcile match` once on the real study; tests copy its plan."""
    d = tmp_path_factory.mktemp("match")
    src = realdata / CHUC
    res = run_cli("match", "--qualtrics", src / QUALTRICS, "--mturk", src / MAIN, "--mturk", src / SUPP, cwd=d)
    assert res.returncode == 0, res.stderr
    return d


@pytest.fixture
def plan(matched, tmp_path):
    for name in ("reconcile-plan.csv", "reconcile-plan.responses.csv"):
        shutil.copy(matched / name, tmp_path / name)
    return tmp_path / "reconcile-plan.csv"


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def edit(path, by_assignment):
    recs = read_csv(path)
    header = recs[0]
    for rec in recs[1:]:
        for col, value in by_assignment.get(rec[0], {}).items():
            rec[header.index(col)] = value
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(recs)


def plan_dicts(path):
    recs = read_csv(path)
    return [dict(zip(recs[0], r)) for r in recs[1:]]


def test_dry_run_summary_and_writes_only_the_sidecar(plan):
    before = sorted(p.name for p in plan.parent.iterdir())
    plan_bytes = plan.read_bytes()
    res = run_cli("pay", plan.name, cwd=plan.parent)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "104 assignments checked against 2 batch files" in out
    assert "approve      97" in out and "review        7" in out
    assert "$38.80" in out and "$15.52" in out and "$54.32" in out  # 97 x $0.40, 40% fee on a 100-assignment HIT
    assert "auto_approval_passed 104" in out
    assert "nothing was sent to MTurk" in out and "--execute --sandbox" in out and "--upload-csv" in out
    after = sorted(p.name for p in plan.parent.iterdir())
    assert after == sorted(before + ["reconcile-plan.shown.json"])
    assert plan.read_bytes() == plan_bytes
    shown = json.loads((plan.parent / "reconcile-plan.shown.json").read_text())
    res = run_cli("pay", plan.name, "--json", cwd=plan.parent)
    data = json.loads(res.stdout)
    assert shown["digests"] == [data["digest"]]


def test_json_output(plan):
    res = run_cli("pay", plan, "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["assignments"] == 104
    assert data["decisions"] == {"approve": 97, "reject": 0, "review": 7, "skip": 0}
    assert (data["rewards"], data["bonuses"], data["fees"], data["total"]) == ("38.80", "0.00", "15.52", "54.32")
    assert data["dry_run"] is True and data["uploads"] == [] and data["report"] is None


def test_workbook_and_upload_for_the_real_study(plan, realdata):
    d = plan.parent
    res = run_cli("pay", plan.name, "--upload-csv", "approve.csv", "--report", "dry.xlsx", cwd=d)
    assert res.returncode == 0, res.stderr
    main_up = d / f"approve__{Path(MAIN).stem}.csv"
    supp_up = d / f"approve__{Path(SUPP).stem}.csv"
    assert main_up.name in res.stdout and supp_up.name in res.stdout

    wb = openpyxl.load_workbook(d / "dry.xlsx")
    ws = wb["Assignments"]
    assert ws.max_row - 1 == 104
    header = [c.value for c in ws[1]]
    codes = [r[header.index("Code")] for r in ws.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in codes if c.value is not None)
    assert "597423122" in [c.value for c in codes]
    summary = [r for r in wb["Summary"].iter_rows(values_only=True)]
    assert any(r[0] == "DRY RUN" for r in summary)

    original = read_csv(realdata / CHUC / MAIN)
    up = read_csv(main_up)
    assert up[0] == original[0]  # the batch's exact header
    assert len(up) == len(original) == 101
    a, r = up[0].index("Approve"), up[0].index("Reject")
    assert sum(row[a] == "x" for row in up[1:]) == 97
    assert all(row[r] == "" for row in up[1:])
    assert all(row[:28] == orig[:28] for row, orig in zip(up[1:], original[1:]))
    raw = main_up.read_bytes()
    assert raw.startswith(b'"HITId","HITTypeId"') and raw.endswith(b'""\r\n') and b"\n" not in raw.replace(b"\r\n", b"")
    supp = read_csv(supp_up)
    assert len(supp) == 5 and all(row[-1] == row[-2] == "" for row in supp[1:])
    # the uploads' approvals are exactly the plan's approve rows
    approved = {p["assignment_id"] for p in plan_dicts(plan) if p["decision"] == "approve"}
    assert {row[up[0].index("AssignmentId")] for row in up[1:] if row[a] == "x"} == approved


def test_review_row_edited_to_reject_puts_feedback_in_reject(plan, realdata):
    rows = plan_dicts(plan)
    target = next(p for p in rows if p["decision"] == "review" and MAIN in p["source"])
    edit(plan, {target["assignment_id"]: {"decision": "reject", "feedback": REASON}})
    res = run_cli("pay", plan.name, "--upload-csv", "up.csv", "--json", cwd=plan.parent)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["decisions"]["reject"] == 1
    up = read_csv(plan.parent / f"up__{Path(MAIN).stem}.csv")
    h = up[0]
    rejected = [row for row in up[1:] if row[h.index("Reject")]]
    assert len(rejected) == 1
    assert rejected[0][h.index("AssignmentId")] == target["assignment_id"]
    assert rejected[0][h.index("Reject")] == REASON and rejected[0][h.index("Approve")] == ""


def test_invalid_edits_all_listed_exit_2_nothing_written(plan):
    rows = plan_dicts(plan)
    approve = [p for p in rows if p["decision"] == "approve"]
    review = [p for p in rows if p["decision"] == "review"]
    edit(plan, {
        approve[0]["assignment_id"]: {"decision": "yes"},
        approve[1]["assignment_id"]: {"bonus": "2.555"},
        approve[2]["assignment_id"]: {"bonus": "9.00"},
        review[0]["assignment_id"]: {"decision": "reject", "feedback": "x"},
        review[1]["assignment_id"]: {"bonus": "1.00"},
        approve[3]["assignment_id"]: {"assignment_id": "3NOSUCHASSIGNMENT0000000000000"},
    })
    before = sorted(p.name for p in plan.parent.iterdir())
    res = run_cli("pay", plan.name, "--max-bonus", "5", "--upload-csv", "up.csv", "--report", "r.xlsx", cwd=plan.parent)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr and res.stdout == ""
    err = "\n".join(line for line in res.stderr.splitlines() if not line.startswith("note: RECONCILE_NOW"))
    assert err.startswith("error: reconcile-plan.csv: the plan has 6 problems; nothing was done")
    for what in ("column decision: 'yes'", "at most two decimals", "above --max-bonus $5.00", "too short",
                 "bonuses go only with approve", "3NOSUCHASSIGNMENT0000000000000 is not in batch file"):
        assert what in err, what
    assert all("line " in line for line in err.splitlines()[1:])
    assert sorted(p.name for p in plan.parent.iterdir()) == before  # no upload, no workbook, no shown sidecar


def test_missing_batch_files_need_batch_option(plan, tmp_path, realdata):
    moved = tmp_path / "moved"
    moved.mkdir()
    # the plan as if made elsewhere: sources name files that are not here
    recs = read_csv(plan)
    src = recs[0].index("source")
    for rec in recs[1:]:
        rec[src] = "/nonexistent/" + Path(rec[src]).name
    with open(moved / "plan.csv", "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(recs)
    res = run_cli("pay", moved / "plan.csv")
    assert res.returncode == 2 and "--batch" in res.stderr and "2 problems" in res.stderr
    res = run_cli("pay", moved / "plan.csv", "--batch", realdata / CHUC / MAIN, "--batch", realdata / CHUC / SUPP, "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["decisions"]["approve"] == 97


def test_budget_and_bad_limits(plan):
    res = run_cli("pay", plan, "--budget", "50")
    assert res.returncode == 2 and "above --budget $50.00" in res.stderr
    res = run_cli("pay", plan, "--budget", "54.32")
    assert res.returncode == 0
    res = run_cli("pay", plan, "--max-bonus", "lots")
    assert res.returncode == 2 and res.stderr.startswith("error: --max-bonus:") and "Traceback" not in res.stderr


def test_missing_plan_and_output_folder(plan, tmp_path):
    res = run_cli("pay", tmp_path / "nope.csv")
    assert res.returncode == 2 and "no such plan file" in res.stderr
    res = run_cli("pay", plan, "--upload-csv", tmp_path / "no" / "up.csv")
    assert res.returncode == 2 and "does not exist" in res.stderr
    res = run_cli("pay", plan, "--report", tmp_path / "no" / "r.xlsx")
    assert res.returncode == 2 and "does not exist" in res.stderr
    assert not (plan.parent / "reconcile-plan.shown.json").exists()


def test_quiet_summary_before_execute_does_not_count_as_shown(plan, capsys):
    """`pay --execute` runs the checks quietly; only a standalone dry run marks the content as shown,
    so a plan edited after its dry run still needs confirmation from the executor."""
    from reconcile.payment import dry_run
    from reconcile.planfile import was_shown

    checked, _ = dry_run(plan, batch_paths=[], quiet_summary=True, json_output=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "97 approve" in captured.err and "$54.32" in captured.err
    assert not was_shown(plan, checked.digest)
    checked, _ = dry_run(plan, batch_paths=[])
    assert was_shown(plan, checked.digest)
    assert "Dry run" in capsys.readouterr().out


def test_api_listed_plan_dry_run_and_upload_refusal(tmp_path):
    plan = tmp_path / "api.csv"
    plan.write_text(
        "assignment_id,worker_id,hit_id,decision,reason,detail,code,response_id,bonus,feedback,source,flags,"
        "assignment_status,reward,max_assignments,auto_approval_time\r\n"
        "3A1,AW1,3H,approve,code_match,,123,R_1,,,mturk-api:batch-42:2,,Submitted,$1.00,5,\r\n",
        encoding="utf-8",
    )
    res = run_cli("pay", plan)
    assert res.returncode == 0, res.stderr
    assert "checks them with MTurk before paying" in res.stdout and "$1.20" in res.stdout
    res = run_cli("pay", plan, "--upload-csv", tmp_path / "up.csv")
    assert res.returncode == 2 and "reconcile fetch mturk" in res.stderr
    assert not (tmp_path / "up.csv").exists()


def test_match_writes_the_workbook_with_codes_as_text(matched):
    wb = openpyxl.load_workbook(matched / "reconcile-report.xlsx")
    ws = wb["Assignments"]
    assert ws.max_row - 1 == 104 and ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:O105"
    header = [c.value for c in ws[1]]
    decisions = [r[0].value for r in ws.iter_rows(min_row=2)]
    assert decisions.count("approve") == 97 and decisions.count("review") == 7
    codes = [r[header.index("Code")] for r in ws.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in codes if c.value is not None)
    assert not any(r[0] == "DRY RUN" for r in wb["Summary"].iter_rows(values_only=True))
