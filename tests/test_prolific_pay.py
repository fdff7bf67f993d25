"""Paying on Prolific exactly once, against the Prolific emulator in its own process: faults and
dropped answers, SIGKILL of the payer at random moments, re-runs, a person settling what is in doubt;
and the refusals that stop a payout before any money moves (one sentence, exit 2, nothing paid)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
from decimal import Decimal

import pytest

from prolific_helpers import (
    prolific_audit,
    prolific_settle,
    prolific_set_faults,
    prolific_state,
    prolific_stats,
    start_prolific_process,
    stop_prolific_process,
)
from prolific_pay_support import (
    REJECT_MESSAGE,
    TOKEN,
    assert_exactly_once,
    cli,
    emulator_args,
    pay_calls_per_bulk,
    payouts,
    plan_for,
    popen_pay,
    seed_study,
)


def emulator(exports, *extra: str):
    return start_prolific_process(*emulator_args(exports), "--token", TOKEN, "--port", "0", *extra)


def settle_like_a_person(plan, url, rows) -> None:
    """What a person does with bonuses left in doubt: wait until Prolific shows what it paid (the
    emulator's settle hook stands for the wait), re-run (which settles those it finds paid), then
    look at the website for the rest and settle each with `ledger --resolve`."""
    prolific_settle(url)
    status = json.loads(cli("ledger", str(plan), "--json", cwd=plan.parent).stdout)
    shown = prolific_state(url)["submissions"]
    for entry in status["in_doubt"]:
        paid = shown[entry["submission_id"]]["visible_bonus_payments"]
        verdict = "paid" if Decimal(entry["amount"]) * 100 in [Decimal(c) for c in paid] else "unpaid"
        done = cli("ledger", str(plan), "--resolve", entry["key"], verdict, "--note", "checked on the website", cwd=plan.parent)
        assert done.returncode == 0, done.stderr


def run_until_done(plan, url, rows, *, runs: int = 12, extra: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """Re-run the same command until it says everything is done (settling what is in doubt between
    runs, like a person); the last output and every run's stderr."""
    said: list[str] = []
    for attempt in range(runs):
        out = cli("pay", str(plan), "--execute", "--yes", "--endpoint-url", url, "--rate", "200", *extra, cwd=plan.parent)
        assert "Traceback" not in out.stderr, out.stderr
        said.append(out.stderr)
        if out.returncode == 0:
            return out.stdout, said
        assert out.returncode == 1, f"run {attempt} exited {out.returncode}: {out.stderr}"
        if "in doubt" in out.stderr:
            settle_like_a_person(plan, url, rows)
    raise AssertionError(f"not done after {runs} runs: {out.stdout}\n{out.stderr}")


# ---------------------------------------------------------------- exactly once


@pytest.mark.parametrize("seed", [3, 8])
def test_faults_and_dropped_answers_pay_every_planned_bonus_exactly_once(tmp_path, seed):
    n = 40
    # Four studies: four set-ups and four pay calls a run, each of which may meet a fault.
    export = seed_study(tmp_path, n, approved=3, screened=2, studies=4)
    plan, rows = plan_for(tmp_path, n, reject={4, 17}, approved=3, screened=2, studies=4)
    url, proc = emulator(export, "--fault-rate", "0.1", "--drop-response-rate", "0.1", "--settle-ms", "30",
                         "--bonus-lag-ms", "150", "--seed", str(seed))
    try:
        # Small groups, so several set-ups and pay calls meet the faults.
        final, outputs = run_until_done(plan, url, rows, extra=("--concurrency", "4"))
        assert "Everything in the plan is done." in final
        prolific_settle(url)
        audit = prolific_audit(url)
        assert_exactly_once(audit, prolific_state(url), rows)
        assert prolific_stats(url)["faulted"] + prolific_stats(url)["dropped"] > 0, "no fault was injected"
        # A re-run once everything is done sends nothing that changes anything.
        before = prolific_stats(url)["effective_mutations"]
        again = cli("pay", str(plan), "--execute", "--yes", "--endpoint-url", url, cwd=tmp_path)
        assert again.returncode == 0 and prolific_stats(url)["effective_mutations"] == before
        assert payouts(prolific_audit(url)) == payouts(audit)
    finally:
        stop_prolific_process(proc)


@pytest.mark.parametrize("seed", [21, 22])
def test_sigkill_at_random_moments_then_reruns_pay_exactly_once(tmp_path, seed):
    rng = random.Random(seed)
    n = 30
    export = seed_study(tmp_path, n, approved=2, studies=3)
    plan, rows = plan_for(tmp_path, n, reject={9}, approved=2, studies=3)
    url, proc = emulator(export, "--latency-ms", "15", "--fault-rate", "0.1", "--drop-response-rate", "0.1",
                         "--settle-ms", "30", "--bonus-lag-ms", "100", "--seed", str(seed))
    try:
        kills = 0
        for _ in range(8):
            payer = popen_pay(plan, url, "--rate", "40", "--concurrency", "3")
            try:
                payer.communicate(timeout=rng.uniform(0.3, 2.5))
            except subprocess.TimeoutExpired:
                payer.send_signal(signal.SIGKILL)  # mid-call: an intent journaled, its answer never read
                payer.communicate()
                kills += 1
                continue
            if payer.returncode == 0:
                break
        assert kills >= 2, "the test did not really interrupt the payer"
        final, _ = run_until_done(plan, url, rows)
        assert "Everything in the plan is done." in final
        prolific_settle(url)
        assert_exactly_once(prolific_audit(url), prolific_state(url), rows)
    finally:
        stop_prolific_process(proc)


def test_a_lost_pay_answer_is_in_doubt_shown_by_the_ledger_and_settled_by_a_person(tmp_path):
    export = seed_study(tmp_path, 6)
    plan, rows = plan_for(tmp_path, 6)
    url, proc = emulator(export, "--bonus-lag-ms", "600000")  # the payment will not show for ten minutes
    try:
        prolific_set_faults(url, drop_response_rate=1.0, routes=["bulk-bonus-payments"])
        first = cli("pay", str(plan), "--execute", "--yes", "--endpoint-url", url, cwd=tmp_path)
        assert first.returncode == 1 and "6 in doubt" in first.stderr, first.stderr
        assert "Traceback" not in first.stderr
        prolific_set_faults(url, drop_response_rate=0.0)
        # A re-run while the payment does not show: still in doubt, and no second pay call.
        again = cli("pay", str(plan), "--execute", "--yes", "--endpoint-url", url, cwd=tmp_path)
        assert again.returncode == 1 and "in doubt" in again.stderr
        assert list(pay_calls_per_bulk(prolific_audit(url)).values()) == [1]
        shown = cli("ledger", str(plan), cwd=tmp_path)
        assert shown.returncode == 0 and "In doubt (6)" in shown.stdout and "--resolve KEY paid" in shown.stdout
        # The person sees the payment on the website and settles each as paid.
        for entry in json.loads(cli("ledger", str(plan), "--json", cwd=tmp_path).stdout)["in_doubt"]:
            assert cli("ledger", str(plan), "--resolve", entry["key"], "paid", cwd=tmp_path).returncode == 0
        done = cli("pay", str(plan), "--execute", "--yes", "--endpoint-url", url, cwd=tmp_path)
        assert done.returncode == 0 and "Everything in the plan is done." in done.stdout
        prolific_settle(url)
        assert_exactly_once(prolific_audit(url), prolific_state(url), rows)
    finally:
        stop_prolific_process(proc)


# ---------------------------------------------------------------- the dry run and its refusals


def test_the_dry_run_calls_prolific_not_once_and_shows_its_fees(tmp_path):
    export = seed_study(tmp_path, 5)
    plan, rows = plan_for(tmp_path, 5, bonus=lambda i: Decimal("3.00"))
    url, proc = emulator(export)
    try:
        out = cli("pay", str(plan), cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert "£15.00" in out.stdout and "Prolific fees" in out.stdout and "£5.00" in out.stdout  # a third of £15
        assert "draws £20.00 now" in out.stdout
        vat = cli("pay", str(plan), "--fee-rate", "42.8%", "--vat-rate", "20%", "--json", cwd=tmp_path)
        summary = json.loads(vat.stdout)
        assert summary["fees"] == "6.42" and summary["tax"] == "1.29" and summary["drawn_now"] == "22.71"
        assert prolific_stats(url)["total_calls"] == 0 and prolific_audit(url) == []
    finally:
        stop_prolific_process(proc)


def _refused(out: subprocess.CompletedProcess, *phrases: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    assert out.stderr.count("error: ") == 1, out.stderr
    said = out.stderr.split("error: ", 1)[1].rstrip().splitlines()
    assert all(line.startswith("  line ") for line in said[1:]), out.stderr  # one sentence; a plan's problems listed under it
    for p in phrases:
        assert p in out.stderr, (p, out.stderr)


def test_refusals_before_any_money_moves(tmp_path):
    export = seed_study(tmp_path, 4)
    url, proc = emulator(export)
    try:
        # A short message, a missing category and a bonus of 0.975: every problem at once, with line and column.
        plan, rows = plan_for(tmp_path, 4, reject={1, 2})
        text = plan.read_bytes().decode("utf-8-sig")
        text = text.replace(REJECT_MESSAGE, REJECT_MESSAGE[:99], 1).replace(",BAD_CODE,", ",,", 2)
        lines = text.split("\r\n")
        lines[1] = lines[1].replace(",0.25,", ",0.975,")
        plan.write_text("\r\n".join(lines), encoding="utf-8")
        bad = cli("pay", str(plan), "--execute", "--yes", "--endpoint-url", url, cwd=tmp_path)
        _refused(bad, "the plan has 4 problems", "line 2, column bonus: '0.975' is not an amount with at most two decimals",
                 "line 3, column feedback", "100 characters", "line 3, column rejection_category: a reject needs one of "
                 "Prolific's rejection categories", "line 4, column rejection_category")

        good, _ = plan_for(tmp_path, 4, reject={1}, name="good.csv")
        # A wrong token (401), an unknown study (404), a sandbox that does not exist.
        _refused(cli("pay", str(good), "--execute", "--yes", "--endpoint-url", url, cwd=tmp_path, token="wrong-token"),
                 "the Prolific token was refused", "nothing was paid")
        unknown, _ = plan_for(tmp_path, 4, study="5f00000000000000000000ff", name="other-study.csv")
        _refused(cli("pay", str(unknown), "--execute", "--yes", "--endpoint-url", url, cwd=tmp_path),
                 "study 5f00000000000000000000ff is not in this Prolific workspace", "nothing was paid")
        _refused(cli("pay", str(good), "--execute", "--yes", "--sandbox", cwd=tmp_path), "Prolific has no sandbox")
        _refused(cli("pay", str(good), "--execute", "--yes", "--endpoint-url", "https://api.prolific.com", cwd=tmp_path),
                 "is Prolific itself; use --production")
        # Edited after its dry run: the payout asks again, and without a yes nothing happens.
        assert cli("pay", str(good), cwd=tmp_path).returncode == 0
        good.write_text(good.read_text(encoding="utf-8-sig").replace(",0.25,", ",0.95,"), encoding="utf-8")
        _refused(cli("pay", str(good), "--execute", "--endpoint-url", url, cwd=tmp_path, input="\n"),
                 "not confirmed; nothing was sent to Prolific")
        assert prolific_audit(url) == [] and prolific_stats(url)["effective_mutations"] == 0
    finally:
        stop_prolific_process(proc)


def test_bonus_csv_is_the_website_dialogs_text(tmp_path):
    plan, rows = plan_for(tmp_path, 5, reject={2}, approved=1, bonus=lambda i: Decimal("1.5") + i)
    out = cli("pay", str(plan), "--bonus-csv", str(tmp_path / "bonuses.csv"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    want = "".join(f"{r.participant_id},{r.bonus:.2f}\n" for r in rows if r.bonus is not None)
    assert (tmp_path / "bonuses.csv").read_bytes() == want.encode()
    assert want.splitlines()[0].endswith(",1.50") and len(want.splitlines()) == 5
    assert "Wrote" in out.stdout and "bulk bonus dialog" in out.stdout
    before = plan.read_bytes()
    _refused(cli("pay", str(plan), "--bonus-csv", str(plan), cwd=tmp_path), "would overwrite the plan")
    assert plan.read_bytes() == before


def test_rows_from_an_export_are_checked_against_it_and_paid_without_reading_each_first(tmp_path):
    export = seed_study(tmp_path, 6)
    plan, rows = plan_for(tmp_path, 6, reject={2}, from_export=True)
    url, proc = emulator(export)
    try:
        dry = cli("pay", str(plan), cwd=tmp_path)
        assert dry.returncode == 0 and "checked against 1 submissions export" in dry.stdout, dry.stdout + dry.stderr
        paid = cli("pay", str(plan), "--execute", "--yes", "--endpoint-url", url, cwd=tmp_path)
        assert paid.returncode == 0, paid.stderr
        prolific_settle(url)
        assert_exactly_once(prolific_audit(url), prolific_state(url), rows)
        # A participant edited in the plan: the export says whose the submission is, and the dry run refuses.
        edited, _ = plan_for(tmp_path, 6, from_export=True, name="edited.csv")
        text = edited.read_bytes().decode("utf-8-sig").replace(rows[3].participant_id, "9a" + "f" * 22, 1)
        edited.write_bytes(text.encode("utf-8"))
        _refused(cli("pay", str(edited), cwd=tmp_path), f"line 5, column participant_id: '9a{'f' * 22}' is not the participant of "
                 f"submission {rows[3].submission_id}")
    finally:
        stop_prolific_process(proc)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_reads_before_paying_are_retried_one_by_one(tmp_path, seed):
    """Four studies' reads before anything changes, against a service failing half of them: each
    read is retried on its own. Retried as one (every read again after any failed), the run gave
    up with "could not reach Prolific" one time in ten at a fifth of calls failing (seen in full
    suites), and here most of the time."""
    export = seed_study(tmp_path, 8, studies=4)
    plan, rows = plan_for(tmp_path, 8, studies=4)
    url, proc = emulator(export, "--seed", str(seed))
    try:
        prolific_set_faults(url, fault_rate=0.5, routes=["GET /api/v1/studies/"])
        r = cli("pay", str(plan), "--execute", "--yes", "--endpoint-url", url, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert "Everything in the plan is done." in r.stdout
        prolific_settle(url)
        assert_exactly_once(prolific_audit(url), prolific_state(url), rows)
    finally:
        stop_prolific_process(proc)
