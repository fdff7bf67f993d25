"""The whole path on a real study: `reconcile match` on the Chucooleg export and batches, the dry
run, then `pay --execute` against an emulator seeded with the same real batch files; then the PI
decides one review row, and the re-run does exactly that one new thing."""

from __future__ import annotations

import csv
import json

import pytest

from conftest import run_cli
from emulator_helpers import STUDY_DAYS, start_emulator
from test_executor_support import FAKE_ENV, emulator_snapshot_by_assignment

STUDY = "Chucooleg__Field_Experiment_Human_Image_Classification"


@pytest.fixture
def real_files(realdata):
    d = realdata / STUDY
    return (d / "20171112_qualtric_results_order1_0.40_redacted.csv",
            [d / "20171112_mturk_results_order1_0.40.csv", d / "20171112_mturk_results_order1_0.40_supplementary.csv"])


def read_plan(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_real_study_match_dry_run_execute_then_one_edit(tmp_path, real_files, monkeypatch):
    qualtrics, batches = real_files
    # Rehearse the 2017 study as of its own days, before MTurk auto-approved it (a reject is possible then).
    monkeypatch.setenv("RECONCILE_NOW", STUDY_DAYS)
    m = run_cli("match", "--qualtrics", qualtrics, *[a for b in batches for a in ("--mturk", b)], "--bonus", "0.25", cwd=tmp_path)
    assert m.returncode == 0, m.stderr
    plan = tmp_path / "reconcile-plan.csv"
    rows = read_plan(plan)
    approve = [r for r in rows if r["decision"] == "approve"]
    review = [r for r in rows if r["decision"] == "review"]
    assert len(rows) == 104 and len(approve) == 97 and review

    with start_emulator([str(b) for b in batches], as_of=STUDY_DAYS) as emu:
        assert run_cli("pay", plan, cwd=tmp_path).returncode == 0
        assert emu.stats()["total_calls"] == 0
        r = run_cli("pay", plan, "--execute", "--endpoint-url", emu.url, "--rate", "200", "--concurrency", "8", "--json",
                    cwd=tmp_path, env=FAKE_ENV)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["by_kind"]["approve"]["done"] == 97 and out["by_kind"]["bonus"]["done"] == 97
        assert out["bonuses_paid"] == "24.25"
        statuses, bonuses = emulator_snapshot_by_assignment(emu.state())
        assert sum(s == "Approved" for s in statuses.values()) == 97
        assert all(statuses[r["assignment_id"]] == "Submitted" for r in review)  # a person decides those
        assert sorted(bonuses) == sorted(r["assignment_id"] for r in approve)
        assert all([b["amount"] for b in v] == ["0.25"] for v in bonuses.values())

        # The PI rejects one review row with a real reason; the re-run does that and nothing else.
        target = review[0]["assignment_id"]
        for r in rows:
            if r["assignment_id"] == target:
                r["decision"], r["feedback"] = "reject", "The code you submitted belongs to a different survey."
        with open(plan, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\r\n")
            w.writeheader()
            w.writerows(rows)
        before = emu.stats()
        assert run_cli("pay", plan, cwd=tmp_path).returncode == 0
        r2 = run_cli("pay", plan, "--execute", "--endpoint-url", emu.url, "--json", cwd=tmp_path, env=FAKE_ENV)
        assert r2.returncode == 0, r2.stderr
        after = emu.stats()
        assert after["mutating_calls"] - before["mutating_calls"] == 1
        assert after["effective"]["RejectAssignment"] == 1
        assert emu.state()["assignments"][target]["status"] == "Rejected"
        out2 = json.loads(r2.stdout)
        assert out2["done"] == 1 and out2["already_done"] == 194
