"""Crash safety: SIGKILL the payer at random moments, re-run the same command until it reports
completion, and check on the emulator (its own process) that every approval and bonus happened
exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from decimal import Decimal

import pytest

from conftest import run_cli
from emulator_helpers import emulator_stats, mturk_client, start_emulator_process, stop_emulator_process
from reconcile.payout.ledger import Ledger
from test_executor_support import FAKE_ENV, checked_plan, make_batch, plan_rows

N = 30


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12])
def test_sigkill_at_random_moments_then_rerun_pays_everything_exactly_once(tmp_path, seed):
    rng = random.Random(seed)
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, N, hits=3, seed=seed)
    rows = plan_rows(batch, brows)
    plan = tmp_path / "plan.csv"
    checked_plan(plan, rows, [batch])
    url, emu = start_emulator_process("--batch", str(batch), "--port", "0", "--latency-ms", "15",
                                      "--drop-response-rate", "0.05", "--seed", str(seed))
    env = {**os.environ, **FAKE_ENV}
    cmd = [sys.executable, "-m", "reconcile", "pay", str(plan), "--execute", "--yes", "--endpoint-url", url,
           "--rate", "15", "--concurrency", "4"]
    try:
        kills = 0
        finished = None
        for attempt in range(25):
            proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            # Early kills land during start-up and the pre-checks, later ones mid-payment.
            delay = rng.uniform(0.4, 2.0) if attempt < 8 else None
            try:
                out, err = proc.communicate(timeout=delay if delay is not None else 120)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.communicate()
                kills += 1
                continue
            assert proc.returncode == 0, f"run {attempt} exited {proc.returncode}: {err}"
            finished = out
            break
        assert finished is not None and "Everything in the plan is done." in finished
        assert kills >= 3, "the test did not really interrupt the payer"

        c = mturk_client(url)
        for r in rows:
            assert c.get_assignment(AssignmentId=r.submission_id)["Assignment"]["AssignmentStatus"] == "Approved"
        paid: dict[str, list[tuple[str, str]]] = {}
        for hit in sorted({r.group_id for r in rows}):
            token = None
            while True:
                kw = {"HITId": hit, "MaxResults": 100, **({"NextToken": token} if token else {})}
                page = c.list_bonus_payments(**kw)
                for p in page["BonusPayments"]:
                    paid.setdefault(p["AssignmentId"], []).append((p["WorkerId"], p["BonusAmount"]))
                token = page.get("NextToken")
                if not token:
                    break
        for r in rows:
            assert [(w, Decimal(a)) for w, a in paid[r.submission_id]] == [(r.participant_id, r.bonus)]
        effective = emulator_stats(url)["effective"]
        assert effective.get("ApproveAssignment") == N and effective.get("SendBonus") == N

        with Ledger.open(tmp_path / "plan.ledger.sqlite") as led:
            entries = led.entries()
        # Finished, each exactly once: "done" by the run that made the call, "already_done" when a later
        # run found the payment of a killed one (ListBonusPayments, or the token already processed).
        assert len(entries) == 2 * N and all(e.state in ("done", "already_done") for e in entries)
        shown = run_cli("ledger", str(plan), cwd=tmp_path)
        assert shown.returncode == 0 and "is done on" in shown.stdout
    finally:
        stop_emulator_process(emu)
