"""The SQLite ledger: keys, tokens, intent/outcome journaling, consistency under threads and crashes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.errors import InputError
from reconcile.payout.ledger import Ledger, action_key, default_ledger_path, endpoint_identity, request_token

EP = "http://127.0.0.1:5555"


def key(aid="A1", kind="bonus", amount="1.50", endpoint=EP, worker="W1", purpose="plan bonus"):
    return action_key(endpoint=endpoint, kind=kind, submission_id=aid, participant_id=worker, amount=amount, purpose=purpose)


def token(aid="A1", kind="bonus", amount="1.50", worker="W1", purpose="plan bonus"):
    return request_token(kind=kind, submission_id=aid, participant_id=worker, amount=amount, purpose=purpose)


def fields(aid="A1", kind="bonus", amount="1.50"):
    return dict(endpoint=EP, kind=kind, group_id="H1", submission_id=aid, participant_id="W1", amount=amount, purpose="plan bonus")


def test_default_path_is_beside_the_plan(tmp_path):
    assert default_ledger_path(tmp_path / "reconcile-plan.csv") == tmp_path / "reconcile-plan.ledger.sqlite"


def test_endpoint_identity_drops_userinfo_and_slash():
    assert endpoint_identity("HTTPS://user:secret@Example.com:8443/x/") == "https://example.com:8443/x"
    assert "secret" not in endpoint_identity("https://AKIA:secret@mturk.example/")


@pytest.mark.parametrize("spelling", [
    "https://mturk-requester.us-east-1.amazonaws.com",
    "HTTPS://MTURK-REQUESTER.us-east-1.amazonaws.com",
    "https://mturk-requester.us-east-1.amazonaws.com:443/",
    "https://mturk-requester.us-east-1.amazonaws.com.",
    "https://key:secret@mturk-requester.us-east-1.amazonaws.com",
])
def test_one_server_one_identity_however_spelled(spelling):
    assert endpoint_identity(spelling) == "https://mturk-requester.us-east-1.amazonaws.com:443"
    assert key(endpoint=spelling) == key(endpoint="https://mturk-requester.us-east-1.amazonaws.com")


def test_loopback_spellings_are_one_endpoint():
    spellings = ["http://127.0.0.1:5555", "http://localhost:5555/", "HTTP://LOCALHOST.:5555", "http://[::1]:5555", "http://127.0.0.2:5555"]
    assert {endpoint_identity(s) for s in spellings} == {"http://loopback:5555"}
    assert endpoint_identity("http://127.0.0.1:5556") != endpoint_identity("http://127.0.0.1:5555")


def test_key_separates_every_component_and_holds_no_hit():
    base = key()
    variants = [key(aid="A2"), key(kind="approve"), key(amount="1.51"), key(endpoint="https://mturk-requester.us-east-1.amazonaws.com"),
                key(worker="W2"), key(purpose="other")]
    assert len({base, *variants}) == 1 + len(variants)
    assert key() == base  # deterministic
    assert "H1" not in base  # a HIT column a person can edit is not part of what an action is


def test_token_ignores_the_endpoint_and_the_ledger():
    """Two runs of one plan, with two ledgers and two spellings of the endpoint, send one token."""
    assert token() == token()
    assert len({token(), token(aid="A2"), token(amount="1.51"), token(worker="W2"), token(kind="approve"), token(purpose="x")}) == 6


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=100), st.text(max_size=30), st.sampled_from(["1.00", "0.01", "12.34"]))
def test_token_is_valid_for_mturk_and_deterministic(aid, worker, amount):
    t = token(aid=aid, worker=worker, amount=amount)
    assert 1 <= len(t) <= 64
    assert t == token(aid=aid, worker=worker, amount=amount)
    assert t.isalnum() and t.isascii()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=12), st.sampled_from(["1.00", "1.50", "0.01"])), min_size=2, max_size=30, unique=True))
def test_distinct_keys_give_distinct_tokens(items):
    tokens = {token(aid="A" + aid, amount=amount) for aid, amount in items}
    assert len(tokens) == len(items)


def test_intent_then_outcome(tmp_path):
    path = tmp_path / "l.sqlite"
    with Ledger.open(path) as led:
        assert led.is_new
        k = key()
        e = led.record_intent(k, **fields())
        assert e.state == "intent" and e.attempts == 1 and e.amount == "1.50"
        led.record_intent(k, **fields())
        led.record_outcome(k, "done")
        e = led.get(k)
        assert e.state == "done" and e.attempts == 2 and e.finished
        assert [ev.event for ev in led.events(k)] == ["intent", "intent", "done"]
        with pytest.raises(RuntimeError):
            led.record_intent(k, **fields())  # a finished action is never attempted again
        # A late failure from a concurrent retry never downgrades a finished action.
        led.record_outcome(k, "failed", "late")
        assert led.get(k).state == "done"
    with Ledger.open(path) as led:
        assert not led.is_new
        assert led.get(key()).state == "done"


def test_amounts_are_text_in_the_file(tmp_path):
    path = tmp_path / "l.sqlite"
    with Ledger.open(path) as led:
        led.record_intent(key(amount="1.10"), **fields(amount="1.10"))
    conn = sqlite3.connect(path)
    (value, typ) = conn.execute("SELECT amount, typeof(amount) FROM actions").fetchone()
    conn.close()
    assert (value, typ) == ("1.10", "text")


def test_outcome_without_intent_needs_fields(tmp_path):
    with Ledger.open(tmp_path / "l.sqlite") as led:
        with pytest.raises(RuntimeError):
            led.record_outcome(key(), "already_done")
        led.record_outcome(key(), "already_done", "found", **fields())
        assert led.get(key()).state == "already_done"
        with pytest.raises(ValueError):
            led.record_outcome(key(), "maybe")


def test_wal_mode_and_runs(tmp_path):
    with Ledger.open(tmp_path / "l.sqlite") as led:
        rid = led.start_run(plan_path="p.csv", plan_digest="abc", endpoint=EP)
        led.finish_run(rid, '{"done": 1}')
        (run,) = led.runs()
        assert run.finished_at and run.summary == '{"done": 1}'
    conn = sqlite3.connect(tmp_path / "l.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_not_a_ledger_is_one_sentence(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_text("this is not sqlite, " * 100)
    with pytest.raises(InputError) as err:
        Ledger.open(bad)
    assert "bad.sqlite" in str(err.value)
    with pytest.raises(InputError):
        Ledger.open(tmp_path / "missing.sqlite", create=False)
    with pytest.raises(InputError):
        Ledger.open(tmp_path / "no-such-dir" / "l.sqlite")


def test_consistent_under_threads(tmp_path):
    """16 threads journaling 50 actions each, twice over: every action ends with exactly one row."""
    with Ledger.open(tmp_path / "l.sqlite") as led:
        def work(t: int) -> None:
            for i in range(50):
                k = key(aid=f"A{t}-{i}")
                led.record_intent(k, **fields(aid=f"A{t}-{i}"))
                led.record_outcome(k, "done")

        threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        entries = led.entries()
        assert len(entries) == 800
        assert all(e.state == "done" and e.attempts == 1 for e in entries)
        assert len(led.events()) == 1600


def test_intent_survives_sigkill(tmp_path):
    """An intent committed before the process dies is there when the ledger is reopened."""
    path = tmp_path / "l.sqlite"
    code = (
        "import os, signal\n"
        "from reconcile.payout.ledger import Ledger, action_key\n"
        f"led = Ledger.open({str(path)!r})\n"
        f"k = action_key(endpoint={EP!r}, kind='bonus', submission_id='A1', participant_id='W1', amount='1.50', purpose='plan bonus')\n"
        f"led.record_intent(k, endpoint={EP!r}, kind='bonus', group_id='H1', submission_id='A1', participant_id='W1', amount='1.50', purpose='plan bonus')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    with Ledger.open(path) as led:
        e = led.get(key())
        assert e is not None and e.state == "intent" and not led.is_new


def test_one_payer_at_a_time_per_ledger(tmp_path):
    path = tmp_path / "l.sqlite"
    with Ledger.open(path) as first:
        first.lock_for_run()
        code = (
            "from reconcile.payout.ledger import Ledger\n"
            "from reconcile.errors import RefusedError\n"
            f"led = Ledger.open({str(path)!r})\n"
            "try:\n    led.lock_for_run()\nexcept RefusedError as e:\n    print('refused:', e)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
        assert out.startswith("refused:") and "another" in out
    # Released on close: the next payer gets it.
    with Ledger.open(path) as again:
        again.lock_for_run()


def test_ledger_command_shows_done_in_flight_failed_and_not_done(tmp_path):
    from conftest import run_cli
    from reconcile.payout.actions import plan_actions
    from test_executor_support import checked_plan, make_batch, plan_rows

    batch = tmp_path / "batch.csv"
    rows = plan_rows(batch, make_batch(batch, 4, seed=2))
    plan = tmp_path / "plan.csv"
    checked_plan(plan, rows, [batch])
    chains = plan_actions(rows, EP)
    with Ledger.open(tmp_path / "plan.ledger.sqlite") as led:
        rid = led.start_run(plan_path=str(plan), plan_digest="d", endpoint=EP)
        a0, b0 = chains[0].actions
        led.record_intent(a0.key, **a0.ledger_fields())
        led.record_outcome(a0.key, "done")
        led.record_intent(b0.key, **b0.ledger_fields())  # killed mid-call
        a1 = chains[1].actions[0]
        led.record_intent(a1.key, **a1.ledger_fields())
        led.record_outcome(a1.key, "failed", "the assignment is Rejected, so it cannot be approved")
        del rid  # never finished: the run was interrupted
    r = run_cli("ledger", "plan.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "(interrupted)" in out
    assert "approve      1 done,     0 already done,     1 failed,     0 in flight" in out
    assert "In flight when a run stopped (1" in out and rows[0].submission_id in out
    assert "Failed (1):" in out and "cannot be approved" in out
    assert "Not done yet from plan.csv on http://loopback:5555: 7 actions" in out
    assert "re-run the same" in out
    data = __import__("json").loads(run_cli("ledger", "--ledger", "plan.ledger.sqlite", "--json", cwd=tmp_path).stdout)
    assert data["bonuses_paid"] == "0.00" and len(data["in_flight"]) == 1 and data["in_flight"][0]["amount"] == b0.amount
    missing = run_cli("ledger", "other.csv", cwd=tmp_path)
    assert missing.returncode == 2 and "no such ledger" in missing.stderr and "Traceback" not in missing.stderr
