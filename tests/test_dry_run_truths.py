"""The dry run must not approve what MTurk will refuse, nor hide what the payout will do
(issue: money safety, item 7), and a full disk must name itself (item 9)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import SAMPLE_DATA, run_cli
from emulator_helpers import start_emulator
from reconcile.errors import InputError, PlanError
from reconcile.plan_check import check_plan as _check_plan
from reconcile.platforms.mturk import PLATFORM as MTURK
from test_executor_support import FAKE_ENV, checked_plan, emulator_snapshot_by_assignment, make_batch, plan_rows


def check_plan(path, **kw):
    return _check_plan(path, MTURK, **kw)

REASON = "The completion code you entered does not match any survey response."


def rewrite_cells(path: Path, changes: dict[int, dict[str, str]]) -> None:
    """changes: {0-based data row: {column: value}} in a CSV with one header row."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        recs = list(csv.reader(fh))
    header = recs[0]
    for i, cols in changes.items():
        for col, value in cols.items():
            recs[i + 1][header.index(col)] = value
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(recs)


@pytest.fixture
def study(tmp_path):
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 6, seed=31)
    return tmp_path, batch, brows


def test_a_reject_past_auto_approval_time_is_a_problem(study):
    tmp, batch, brows = study
    rewrite_cells(batch, {0: {"AutoApprovalTime": "2020-01-01 00:00:00 UTC"}, 1: {"AutoApprovalTime": "2020-01-01 00:00:00 UTC"}})
    rows = plan_rows(batch, make_rows_of(batch), lambda i, r: ("reject", None, REASON) if i == 0 else ("approve", None, ""))
    checked_plan(tmp / "plan.csv", rows, [batch])
    with pytest.raises(PlanError) as err:
        check_plan(tmp / "plan.csv")
    (problem,) = err.value.problems
    assert problem.startswith("line 2, column decision:") and "passed its AutoApprovalTime" in problem
    # An approve past the deadline is no problem: MTurk approved it already, which is what was wanted.


def make_rows_of(batch: Path) -> list[dict[str, str]]:
    with open(batch, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_repeated_plan_column_is_refused(study):
    tmp, batch, brows = study
    checked_plan(tmp / "plan.csv", plan_rows(batch, brows), [batch])
    text = (tmp / "plan.csv").read_bytes().decode("utf-8-sig")
    head, rest = text.split("\r\n", 1)
    lines = rest.split("\r\n")
    (tmp / "plan.csv").write_text(head + ",decision\r\n" + "\r\n".join(line + ",skip" if line else line for line in lines), encoding="utf-8")
    with pytest.raises(InputError, match="repeats the column decision"):
        check_plan(tmp / "plan.csv")
    r = run_cli("pay", "plan.csv", cwd=tmp)
    assert r.returncode == 2 and "repeats the column decision" in r.stderr and "Traceback" not in r.stderr


def test_an_api_source_on_a_file_row_is_refused(study):
    tmp, batch, brows = study
    rows = plan_rows(batch, brows)
    checked_plan(tmp / "plan.csv", rows, [batch])
    rewrite_cells(tmp / "plan.csv", {2: {"source": "mturk-api:hit-3H:4"}})
    with pytest.raises(PlanError) as err:
        check_plan(tmp / "plan.csv")
    assert "line 4, column source" in err.value.problems[0] and "not listed through the API" in err.value.problems[0]


@pytest.mark.parametrize("cell, words", [
    ("1e30", "not an amount with at most two decimals"),
    ("1000000000000000000000000000000", "not a plausible amount"),
    ("\u0661.\u0665\u0660", "not an amount with at most two decimals"),  # Arabic-Indic digits: Decimal() would take them
    ("\uff11.\uff15\uff10", "not an amount with at most two decimals"),  # full-width digits
])
def test_money_cells_are_ascii_amounts(study, cell, words):
    tmp, batch, brows = study
    checked_plan(tmp / "plan.csv", plan_rows(batch, brows), [batch])
    rewrite_cells(tmp / "plan.csv", {1: {"bonus": cell}})
    r = run_cli("pay", "plan.csv", cwd=tmp)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "line 3, column bonus" in r.stderr and words in r.stderr


def test_a_bonus_far_above_the_others_is_warned(study):
    tmp, batch, brows = study
    checked_plan(tmp / "plan.csv", plan_rows(batch, brows, lambda i, r: ("approve", "50.00" if i == 4 else "0.50", "")), [batch])
    pc = check_plan(tmp / "plan.csv")
    assert len(pc.warnings) == 1 and "line 6: $50.00" in pc.warnings[0] and "median $0.50" in pc.warnings[0]
    r = run_cli("pay", "plan.csv", cwd=tmp)
    assert r.returncode == 0 and "warning: 1 bonus(es) far above the others" in r.stdout
    checked_plan(tmp / "plan.csv", plan_rows(batch, brows, lambda i, r: ("approve", "0.75" if i == 4 else "0.50", "")), [batch])
    assert check_plan(tmp / "plan.csv").warnings == ()


def test_bonus_only_rows_are_paid_only_to_approved_work(study, monkeypatch):
    """A skip row with a bonus (approved through the upload CSV, or by MTurk automatically) is allowed:
    the bonus is paid when MTurk shows the assignment Approved, and refused when it does not."""
    tmp, batch, brows = study
    for k, v in FAKE_ENV.items():
        monkeypatch.setenv(k, v)
    rewrite_cells(batch, {0: {"AssignmentStatus": "Approved"}, 2: {"AssignmentStatus": "Rejected"}})
    brows = make_rows_of(batch)

    def decide(i, r):
        return {0: ("skip", "0.75", ""), 1: ("skip", "0.60", ""), 2: ("skip", "0.40", "")}.get(i, ("approve", "0.50", ""))

    checked_plan(tmp / "plan.csv", plan_rows(batch, brows, decide), [batch])
    with pytest.raises(PlanError) as err:
        check_plan(tmp / "plan.csv")
    assert len(err.value.problems) == 1 and "line 4, column bonus" in err.value.problems[0] and "Rejected" in err.value.problems[0]
    rewrite_cells(tmp / "plan.csv", {2: {"bonus": ""}})
    pc = check_plan(tmp / "plan.csv")
    assert pc.bonus_only == 2
    with start_emulator([str(batch)]) as emu:
        assert run_cli("pay", "plan.csv", cwd=tmp).returncode == 0
        r = run_cli("pay", "plan.csv", "--execute", "--endpoint-url", emu.url, "--rate", "100", cwd=tmp)
        assert r.returncode == 1  # the bonus on the still-Submitted assignment is not paid
        assert "not paid: it is Submitted, not approved" in r.stdout
        statuses, bonuses = emulator_snapshot_by_assignment(emu.state())
    assert [b["amount"] for b in bonuses[brows[0]["AssignmentId"]]] == ["0.75"]
    assert brows[1]["AssignmentId"] not in bonuses and statuses[brows[1]["AssignmentId"]] == "Submitted"


def test_a_huge_bonus_cell_at_match_is_one_sentence(tmp_path):
    src = SAMPLE_DATA / "qualtrics_export.csv"
    with open(src, encoding="utf-8-sig", newline="") as fh:
        recs = list(csv.reader(fh))
    col = recs[0].index("score")
    for rec in recs[3:]:  # every response: whichever approved row comes first stops the run
        rec[col] = "1e30"
    export = tmp_path / "export.csv"
    with open(export, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(recs)
    args = ["match", "--qualtrics", export, "--mturk", SAMPLE_DATA / "mturk_batch_results.csv", "--bonus", "score / 10"]
    r = run_cli(*args, cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "export.csv row " in r.stderr and ", column 'score'" in r.stderr and "not a plausible bonus" in r.stderr
    assert len([line for line in r.stderr.splitlines() if line.startswith("error:")]) == 1
    assert not (tmp_path / "reconcile-plan.csv").exists()
    capped = run_cli(*args, "--max-bonus", "2.00", cwd=tmp_path)  # the cap applies before any rounding
    assert capped.returncode == 0, capped.stderr


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here to fill up ({r.stderr.strip() or r.returncode})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_names_itself_and_the_rerun_finishes(tmp_path, small_disk):
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 150, seed=33)
    rows = plan_rows(batch, brows)
    checked_plan(tmp_path / "plan.csv", rows, [batch])
    filler = small_disk / "filler"
    env = {**FAKE_ENV, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with start_emulator([str(batch)]) as emu:
        assert run_cli("pay", "plan.csv", cwd=tmp_path).returncode == 0
        ledger = small_disk / "ledger.sqlite"
        # Leave the ledger only a little room: it fills up part-way through the run.
        free = shutil.disk_usage(small_disk).free
        filler.write_bytes(b"\0" * max(0, free - 120 * 1024))
        r = run_cli("pay", "plan.csv", "--execute", "--endpoint-url", emu.url, "--ledger", ledger, "--rate", "200",
                    "--concurrency", "4", cwd=tmp_path, env=env)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "the disk is full" in r.stderr and "Traceback" not in r.stderr
        paid_before = len(emu.state()["bonuses"])
        # Free the space and run the same command: it finishes, and nothing is paid twice.
        filler.unlink()
        r = run_cli("pay", "plan.csv", "--execute", "--endpoint-url", emu.url, "--ledger", ledger, "--rate", "200",
                    "--concurrency", "4", cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        _, bonuses = emulator_snapshot_by_assignment(emu.state())
    assert paid_before < len(rows)
    assert sorted(len(v) for v in bonuses.values()) == [1] * len(rows)
    assert all(Decimal(bonuses[r.submission_id][0]["amount"]) == r.bonus for r in rows)
    assert os.path.exists(ledger)
