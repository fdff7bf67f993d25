"""`reconcile pay PLAN --execute` end to end: the real command in a subprocess, real boto3, the
MTurk emulator over real HTTP. What happened is read from the emulator, not from our output."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import pytest

from conftest import run_cli
from emulator_helpers import mturk_client, start_emulator
from reconcile import planfile
from reconcile.errors import RefusedError
from reconcile.cli.pay_cmd import _execute
from reconcile.platforms.mturk import PLATFORM as MTURK
from reconcile.payout.ledger import Ledger
from test_executor_support import (
    FAKE_ENV,
    FAKE_KEY_ID,
    FAKE_SECRET,
    checked_plan,
    emulator_snapshot_by_assignment,
    make_batch,
    plan_rows,
)

# Any attempt to reach a real host through boto3 would go to this closed port instead.
NO_INTERNET = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost"}
ENV = {**FAKE_ENV, **NO_INTERNET}


def mixed(i, r):
    if i % 5 == 4:
        return "reject", None, "The completion code you entered does not match any survey response."
    return "approve", f"{0.30 + i / 100:.2f}", ""


@pytest.fixture
def study(tmp_path):
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 15, hits=2, seed=21)
    rows = plan_rows(batch, brows, mixed)
    plan = tmp_path / "plan.csv"
    checked_plan(plan, rows, [batch])
    return tmp_path, batch, plan, rows


def pay(plan: Path, *args: str, env=None, input=None):
    return run_cli("pay", str(plan), *args, cwd=plan.parent, env={**ENV, **(env or {})}, input=input)


def test_dry_run_makes_zero_calls(study):
    tmp, batch, plan, rows = study
    with start_emulator([str(batch)]) as emu:
        r = pay(plan, "--endpoint-url", emu.url)
        assert r.returncode == 0, r.stderr
        assert emu.stats()["total_calls"] == 0
        assert not (tmp / "plan.ledger.sqlite").exists()


def test_execute_pays_once_and_second_run_makes_no_mutating_call(study):
    tmp, batch, plan, rows = study
    with start_emulator([str(batch)], fault_rate=0.1, drop_response_rate=0.1, seed=5) as emu:
        assert pay(plan).returncode == 0  # the dry run the PI saw
        r = pay(plan, "--execute", "--endpoint-url", emu.url, "--rate", "100", "--json")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        n_approve = sum(x.decision == "approve" for x in rows)
        assert out["complete"] and out["failed"] == 0
        assert out["by_kind"]["bonus"]["done"] == n_approve
        statuses, bonuses = emulator_snapshot_by_assignment(emu.state())
        for x in rows:
            assert statuses[x.submission_id] == ("Approved" if x.decision == "approve" else "Rejected")
            assert [b["amount"] for b in bonuses.get(x.submission_id, [])] == ([f"{x.bonus:.2f}"] if x.bonus else [])
        before = emu.stats()

        r2 = pay(plan, "--execute", "--endpoint-url", emu.url)
        assert r2.returncode == 0, r2.stderr
        assert "Everything in the plan is done." in r2.stdout
        after = emu.stats()
        assert after["mutating_calls"] == before["mutating_calls"]

        led = run_cli("ledger", str(plan), cwd=tmp)
        assert led.returncode == 0, led.stderr
        assert f"{'bonus':<8} {n_approve:>5} done," in led.stdout
        assert "Everything in" in led.stdout and "is done on" in led.stdout
        as_json = json.loads(run_cli("ledger", str(plan), "--json", cwd=tmp).stdout)
        assert as_json["by_kind"]["bonus"]["done"] == n_approve
        assert len(as_json["runs"]) == 2


def test_balance_too_low_refuses_before_any_call_that_changes_anything(study):
    tmp, batch, plan, rows = study
    with start_emulator([str(batch)], balance="1.00") as emu:
        r = pay(plan, "--execute", "--endpoint-url", emu.url, "--yes")
        assert r.returncode == 2
        assert "balance ($1.00)" in r.stderr and "Traceback" not in r.stderr
        assert emu.stats()["mutating_calls"] == 0


def test_limits_refuse_before_any_call(study):
    tmp, batch, plan, rows = study
    with start_emulator([str(batch)]) as emu:
        r = pay(plan, "--execute", "--endpoint-url", emu.url, "--yes", "--max-bonus", "0.31")
        assert r.returncode == 2 and "Traceback" not in r.stderr
        r = pay(plan, "--execute", "--endpoint-url", emu.url, "--yes", "--budget", "1.00")
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert emu.stats()["total_calls"] == 0


def test_production_needs_confirmation_and_refusing_sends_nothing(study):
    tmp, batch, plan, rows = study
    r = pay(plan, "--execute", "--production", input="no\n")
    assert r.returncode == 2
    assert "REAL money" in r.stderr and "total $" in r.stderr
    assert "not confirmed" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp / "plan.ledger.sqlite").exists()
    # No answer at all (stdin closed) is a refusal too.
    r = pay(plan, "--execute", "--production", input="")
    assert r.returncode == 2 and "not confirmed" in r.stderr


def test_no_endpoint_is_one_sentence(study):
    tmp, batch, plan, rows = study
    r = pay(plan, "--execute")
    assert r.returncode == 2 and "no MTurk endpoint chosen" in r.stderr and "Traceback" not in r.stderr


def test_edited_plan_needs_confirmation_again(study, monkeypatch, capsys):
    """The executor's side of re-confirmation (the CLI's dry run records what it showed)."""
    tmp, batch, plan, rows = study
    for k, v in FAKE_ENV.items():
        monkeypatch.setenv(k, v)
    edited = [*rows[:-1], dataclasses.replace(rows[-1], decision="approve", feedback="", bonus=None)]
    cp = checked_plan(plan, edited, [batch])
    assert not planfile.was_shown(plan, cp.digest)
    with start_emulator([str(batch)]) as emu:
        kw = dict(endpoint_url=emu.url, sandbox=False, production=False, ledger=None, concurrency=2, rate=50.0,
                  grant_qualification=None, max_bonus=None, budget=None, json_output=False)
        monkeypatch.setattr("sys.stdin", __import__("io").StringIO("no\n"))
        with pytest.raises(RefusedError):
            _execute(cp, MTURK, yes=False, **kw)
        assert "changed since its last dry run" in capsys.readouterr().err
        assert emu.stats()["total_calls"] == 0
        monkeypatch.setattr("sys.stdin", __import__("io").StringIO("yes\n"))
        _execute(cp, MTURK, yes=False, **kw)
        assert emu.stats()["effective_mutations"] > 0
        # Once shown by a dry run, no question is asked (stdin would answer "no").
        planfile.record_shown(plan, cp.digest)
        monkeypatch.setattr("sys.stdin", __import__("io").StringIO("no\n"))
        _execute(cp, MTURK, yes=False, **kw)


def test_edited_plan_needs_confirmation_again_through_the_cli(study):
    tmp, batch, plan, rows = study
    with start_emulator([str(batch)]) as emu:
        assert pay(plan).returncode == 0
        text = plan.read_text(encoding="utf-8-sig")
        plan.write_text(text.replace(f",{rows[0].bonus:.2f},", ",0.99,", 1), encoding="utf-8-sig")
        r = pay(plan, "--execute", "--endpoint-url", emu.url, "--rate", "100", input="no\n")
        assert r.returncode == 2 and "changed since its last dry run" in r.stderr
        assert emu.stats()["total_calls"] == 0


def test_grant_qualification_to_every_approved_worker(study):
    tmp, batch, plan, rows = study
    with start_emulator([str(batch)]) as emu:
        qual = mturk_client(emu.url).create_qualification_type(
            Name="took part", Description="no retakes", QualificationTypeStatus="Active")["QualificationType"]["QualificationTypeId"]
        r = pay(plan, "--execute", "--endpoint-url", emu.url, "--yes", "--rate", "100", "--grant-qualification", qual)
        assert r.returncode == 0, r.stderr
        grants = emu.state()["qualification_grants"][qual]
        assert set(grants) == {x.participant_id for x in rows if x.decision == "approve"}
        with Ledger.open(tmp / "plan.ledger.sqlite") as led:
            assert sum(e.kind == "qualify" and e.state == "done" for e in led.entries()) == len(grants)


def test_failures_are_listed_with_what_to_do_and_exit_nonzero(study):
    tmp, batch, plan, rows = study
    victim = next(x for x in rows if x.decision == "approve")
    with start_emulator([str(batch)]) as emu:
        mturk_client(emu.url).reject_assignment(AssignmentId=victim.submission_id, RequesterFeedback="done elsewhere")
        r = pay(plan, "--execute", "--endpoint-url", emu.url, "--yes", "--rate", "100")
        assert r.returncode == 1, r.stderr
        assert victim.submission_id in r.stdout and "Rejected" in r.stdout
        assert "re-run the same command" in r.stderr
        statuses, bonuses = emulator_snapshot_by_assignment(emu.state())
        assert all(statuses[x.submission_id] != "Submitted" for x in rows)
        assert victim.submission_id not in bonuses


def test_credentials_and_tokens_never_appear_in_output_ledger_or_workbook(study):
    tmp, batch, plan, rows = study
    report = tmp / "dry-run.xlsx"
    with start_emulator([str(batch)], drop_response_rate=0.2, fault_rate=0.05, seed=3) as emu:
        r1 = pay(plan, "--report", str(report))
        r2 = pay(plan, "--execute", "--endpoint-url", emu.url, "--yes", "--rate", "100")
        r3 = pay(plan, "--execute", "--endpoint-url", emu.url, "--yes", "--json")
        r4 = run_cli("ledger", str(plan), "--all", "--json", cwd=tmp)
        tokens = [b["token"] for b in emu.state()["bonuses"]]
    assert r2.returncode == 0, r2.stderr
    assert tokens and all(tokens)
    texts = "".join(p.stdout + p.stderr for p in (r1, r2, r3, r4))
    blobs = b"".join(p.read_bytes() for p in tmp.glob("plan.ledger.sqlite*"))
    with zipfile.ZipFile(report) as z:
        blobs += b"".join(z.read(n) for n in z.namelist())
    for secret in [FAKE_KEY_ID, FAKE_SECRET, *tokens]:
        assert secret not in texts
        assert secret.encode() not in blobs


def test_unknown_qualification_refuses_before_paying(study):
    tmp, batch, plan, rows = study
    with start_emulator([str(batch)]) as emu:
        r = pay(plan, "--execute", "--endpoint-url", emu.url, "--yes", "--grant-qualification", "3NOSUCHQUALIFICATION")
        assert r.returncode == 2 and "3NOSUCHQUALIFICATION" in r.stderr and "Traceback" not in r.stderr
        assert emu.stats()["mutating_calls"] == 0


def test_missing_credentials_is_one_sentence_before_any_call(study, tmp_path):
    tmp, batch, plan, rows = study
    home = tmp_path / "home"
    home.mkdir()
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": str(home / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "none")}
    with start_emulator([str(batch)]) as emu:
        r = pay(plan, "--execute", "--endpoint-url", emu.url, "--yes", env=env)
        assert r.returncode == 2, r.stderr
        assert "no AWS credentials" in r.stderr and "Traceback" not in r.stderr
        r = pay(plan, "--execute", "--endpoint-url", emu.url, "--yes", env={**env, "AWS_PROFILE": "nosuchprofile"})
        assert r.returncode == 2 and "AWS_PROFILE" in r.stderr and "Traceback" not in r.stderr
        assert emu.stats()["total_calls"] == 0


def test_unusable_endpoint_url_is_one_sentence(study):
    tmp, batch, plan, rows = study
    r = pay(plan, "--execute", "--endpoint-url", "not-a-url", "--yes")
    assert r.returncode == 2 and "is not an http(s) URL" in r.stderr and "Traceback" not in r.stderr


def test_every_paced_call_reaches_the_service(study):
    """The pacer's tokens are the service's calls: a bonus reference MTurk runs derive themselves (the
    idempotency token) takes none. Paced as a call, it held MTurk payouts to 4/5 of any rate the
    service allowed (bench/PAY_NOTES.md, issue 11)."""
    tmp, batch, plan, rows = study
    with start_emulator([str(batch)]) as emu:
        assert pay(plan).returncode == 0
        r = pay(plan, "--execute", "--endpoint-url", emu.url, "--rate", "100", "--json")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["by_kind"]["bonus"]["done"] == sum(x.decision == "approve" for x in rows) > 0
        assert out["calls"] == emu.stats()["total_calls"]
    # The ledger's totals carry the currency its runs paid in.
    total = sum(x.bonus for x in rows if x.decision == "approve" and x.bonus)
    led = run_cli("ledger", str(plan), cwd=tmp)
    assert led.returncode == 0, led.stderr
    assert f"bonuses paid by runs of this ledger: ${total:,.2f}" in led.stdout
    assert json.loads(run_cli("ledger", str(plan), "--json", cwd=tmp).stdout)["currency"] == "USD"
