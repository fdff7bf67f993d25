"""The two double-pay reproductions of the hostile review, and the production guard, end to end:
the real `reconcile` command in subprocesses, the MTurk emulator in its own process, and every
payment counted with ListBonusPayments (what MTurk itself says was paid), never with our own output."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import SAMPLE_DATA, run_cli
from emulator_helpers import emulator_stats, mturk_client, start_emulator_process, stop_emulator_process
from test_executor_support import FAKE_ENV, FAKE_SECRET

QUALTRICS = SAMPLE_DATA / "qualtrics_export.csv"
BATCH = SAMPLE_DATA / "mturk_batch_results.csv"
NO_INTERNET = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost"}


@pytest.fixture
def env(tmp_path):
    # Each test gets its own cache folder, so its payout locks are its own.
    return {**FAKE_ENV, **NO_INTERNET, "XDG_CACHE_HOME": str(tmp_path / "cache")}


@pytest.fixture
def emulator():
    url, proc = start_emulator_process("--batch", str(BATCH), "--latency-ms", "5")
    try:
        yield url
    finally:
        stop_emulator_process(proc)


def hits_of(batch: Path) -> list[str]:
    with open(batch, encoding="utf-8-sig", newline="") as fh:
        return sorted({r["HITId"] for r in csv.DictReader(fh)})


def paid_bonuses(url: str) -> dict[str, list[tuple[str, Decimal, str]]]:
    """Every bonus MTurk holds, per assignment: (worker, amount, reason), listed HIT by HIT."""
    c = mturk_client(url)
    out: dict[str, list[tuple[str, Decimal, str]]] = {}
    for hit in hits_of(BATCH):
        token = None
        while True:
            page = c.list_bonus_payments(HITId=hit, MaxResults=100, **({"NextToken": token} if token else {}))
            for p in page["BonusPayments"]:
                out.setdefault(p["AssignmentId"], []).append((p["WorkerId"], Decimal(p["BonusAmount"]), p["Reason"]))
            token = page.get("NextToken")
            if not token:
                break
    return out


def read_plan(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_plan(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)


def match_from_api(tmp_path: Path, url: str, env: dict) -> Path:
    """`match --mturk-hit A --mturk-hit B --endpoint-url URL --bonus 0.50`: a plan no batch file vouches for."""
    args = ["match", "--qualtrics", QUALTRICS]
    for hit in hits_of(BATCH):
        args += ["--mturk-hit", hit]
    r = run_cli(*args, "--endpoint-url", url, "--bonus", "0.50", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    plan = tmp_path / "reconcile-plan.csv"
    _, rows = read_plan(plan)
    assert rows and all(row["source"].startswith("mturk-api:") for row in rows)
    return plan


def assert_each_bonus_once(url: str, plan: Path) -> int:
    _, rows = read_plan(plan)
    paid = paid_bonuses(url)
    wanted = {r["assignment_id"]: (r["worker_id"], Decimal(r["bonus"])) for r in rows if r["decision"] == "approve" and r["bonus"]}
    assert wanted
    for aid, (worker, amount) in wanted.items():
        assert [(w, a) for w, a, _ in paid.get(aid, [])] == [(worker, amount)], aid
    assert set(paid) == set(wanted)
    return len(wanted)


# ---------------------------------------------------------------- reproduction 1: a sorted HIT column


def test_sorting_the_hit_column_of_a_paid_api_plan_pays_nothing_again(tmp_path, emulator, env):
    url = emulator
    plan = match_from_api(tmp_path, url, env)
    assert run_cli("pay", plan, cwd=tmp_path, env=env).returncode == 0
    first = run_cli("pay", plan, "--execute", "--endpoint-url", url, "--rate", "100", "--concurrency", "8", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    n = assert_each_bonus_once(url, plan)

    # What sorting one column in Excel does: five paid approve rows now name the other HIT.
    header, rows = read_plan(plan)
    hits = hits_of(BATCH)
    moved = [r for r in rows if r["decision"] == "approve" and r["bonus"]][:5]
    for r in moved:
        r["hit_id"] = hits[1] if r["hit_id"] == hits[0] else hits[0]
    write_plan(plan, header, rows)

    before = emulator_stats(url)
    # Without a dry run of the edited plan, it is not paid unconfirmed.
    unconfirmed = run_cli("pay", plan, "--execute", "--endpoint-url", url, cwd=tmp_path, env=env, input="")
    assert unconfirmed.returncode == 2 and "changed since its last dry run" in unconfirmed.stderr
    # Confirmed (a dry run, then --execute): the finished actions are the same actions, so nothing is sent.
    assert run_cli("pay", plan, cwd=tmp_path, env=env).returncode == 0
    again = run_cli("pay", plan, "--execute", "--endpoint-url", url, "--json", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    assert out["done"] == 0 and out["bonuses_paid"] == "0.00"
    after = emulator_stats(url)
    assert after["mutating_calls"] == before["mutating_calls"]
    assert assert_each_bonus_once(url, plan) == n


def test_a_hit_that_is_not_the_assignments_is_refused_before_any_call(tmp_path, emulator, env):
    url = emulator
    plan = match_from_api(tmp_path, url, env)
    header, rows = read_plan(plan)
    hits = hits_of(BATCH)
    target = next(r for r in rows if r["decision"] == "approve")
    target["hit_id"] = hits[1] if target["hit_id"] == hits[0] else hits[0]
    write_plan(plan, header, rows)
    assert run_cli("pay", plan, cwd=tmp_path, env=env).returncode == 0  # no batch file: the dry run cannot know
    before = emulator_stats(url)
    r = run_cli("pay", plan, "--execute", "--endpoint-url", url, cwd=tmp_path, env=env)
    assert r.returncode == 2 and "do not match their assignment on MTurk" in r.stderr
    assert target["assignment_id"] not in r.stderr or "HIT" in r.stderr
    assert "Traceback" not in r.stderr
    assert emulator_stats(url)["mutating_calls"] == before["mutating_calls"]
    assert paid_bonuses(url) == {}


# ---------------------------------------------------------------- reproduction 2: two runs at once


def _start_pay(plan: Path, url: str, ledger: str, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "reconcile", "pay", str(plan), "--execute", "--yes", "--endpoint-url", url,
           "--ledger", ledger, "--rate", "60", "--concurrency", "4", "--json"]
    return subprocess.Popen(cmd, cwd=plan.parent, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def slow_emulator():
    url, proc = start_emulator_process("--batch", str(BATCH), "--latency-ms", "25")
    try:
        yield url
    finally:
        stop_emulator_process(proc)


def _wait_until_account_lock_is_held(env: dict, proc: subprocess.Popen, limit: float = 120.0) -> None:
    """Poll the payout-lock files in the run's cache folder until one is held (flock), or fail."""
    import fcntl

    locks = Path(env.get("XDG_CACHE_HOME") or os.environ["XDG_CACHE_HOME"]) / "reconcile" / "payout-locks"
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the first payout ended before it was seen holding the account lock"
        for path in locks.glob("*.lock") if locks.is_dir() else ():
            with open(path, "a+") as fh:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        time.sleep(0.05)
    raise AssertionError("the first payout never took the account lock")


def _interruptible() -> None:
    """In the child: Ctrl-C back to its default, so Python turns it into KeyboardInterrupt even when
    the tests run where SIGINT is ignored (a background job, some CI runners pass SIG_IGN down)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _spellings(url: str) -> tuple[str, str]:
    port = url.rsplit(":", 1)[1]
    return f"http://127.0.0.1:{port}", f"http://localhost:{port}/"


def test_two_runs_with_two_ledgers_and_two_spellings_one_account_lock(tmp_path, slow_emulator, env):
    url = slow_emulator
    plan = match_from_api(tmp_path, url, env)
    assert run_cli("pay", plan, cwd=tmp_path, env=env).returncode == 0
    a_url, b_url = _spellings(url)
    a = _start_pay(plan, a_url, "a.sqlite", env)
    _wait_until_account_lock_is_held(env, a)  # then B starts while A pays (however loaded the machine is)
    b = _start_pay(plan, b_url, "b.sqlite", env)
    b_out, b_err = b.communicate(timeout=300)
    a_out, a_err = a.communicate(timeout=300)
    assert a.returncode == 0, a_err
    assert b.returncode == 2 and "paying on this MTurk account" in b_err and "Traceback" not in b_err
    assert_each_bonus_once(url, plan)


def test_two_runs_that_cannot_see_each_others_lock_still_pay_once(tmp_path, slow_emulator, env):
    """Two machines (two cache folders), two ledgers, two spellings of one endpoint: the tokens,
    derived from the action alone, make MTurk refuse the second payment of every bonus."""
    url = slow_emulator
    plan = match_from_api(tmp_path, url, env)
    assert run_cli("pay", plan, cwd=tmp_path, env=env).returncode == 0
    a_url, b_url = _spellings(url)
    a = _start_pay(plan, a_url, "a.sqlite", {**env, "XDG_CACHE_HOME": str(tmp_path / "cache-a")})
    b = _start_pay(plan, b_url, "b.sqlite", {**env, "XDG_CACHE_HOME": str(tmp_path / "cache-b")})
    a_out, a_err = a.communicate(timeout=300)
    b_out, b_err = b.communicate(timeout=300)
    assert a.returncode == 0, a_err
    assert b.returncode == 0, b_err
    n = assert_each_bonus_once(url, plan)
    ja, jb = json.loads(a_out), json.loads(b_out)
    # What each run says it paid adds up to what was paid: nobody claims the other's payments.
    done_a, done_b = ja["by_kind"]["bonus"]["done"], jb["by_kind"]["bonus"]["done"]
    assert done_a + done_b == n
    assert Decimal(ja["bonuses_paid"]) + Decimal(jb["bonuses_paid"]) == Decimal("0.50") * n


# ---------------------------------------------------------------- the production guard


@pytest.mark.parametrize("spelling", [
    "https://MTURK-REQUESTER.us-east-1.amazonaws.com",
    "https://mturk-requester.us-east-1.amazonaws.com:443",
    "https://mturk-requester.us-east-1.amazonaws.com.",
    "https://mturk-requester-sandbox.us-east-1.amazonaws.com",
    "https://AKIAEXAMPLE:hunter2@mturk-requester.us-east-1.amazonaws.com/",
])
def test_endpoint_url_can_never_reach_amazon(tmp_path, env, spelling):
    plan = tmp_path / "p.csv"
    header = ["assignment_id", "worker_id", "hit_id", "decision", "bonus", "feedback", "source"]
    write_plan(plan, header, [])
    for cmd in (["pay", plan, "--execute", "--yes", "--endpoint-url", spelling],
                ["fetch", "mturk", "--hit", "3H", "-o", tmp_path / "o.csv", "--endpoint-url", spelling],
                ["match", "--qualtrics", QUALTRICS, "--mturk-hit", "3H", "--endpoint-url", spelling]):
        r = run_cli(*cmd, cwd=tmp_path, env=env)
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        assert "Amazon endpoint" in r.stderr and "--production" in r.stderr and "Traceback" not in r.stderr
        assert "hunter2" not in r.stdout + r.stderr


def test_credentials_inside_an_endpoint_url_are_never_echoed(tmp_path, emulator, env):
    plan = match_from_api(tmp_path, emulator, env)
    port = emulator.rsplit(":", 1)[1]
    secret_url = f"http://someone:Pa55word-{FAKE_SECRET[:8]}@127.0.0.1:{port}"  # holds a "/": not even a valid URL
    r = run_cli("pay", plan, "--execute", "--endpoint-url", secret_url, cwd=tmp_path, env=env, input="")
    assert "Pa55word" not in r.stdout + r.stderr
    assert r.returncode == 2 and "127.0.0.1" in r.stderr  # the prompt names the endpoint, not its password


# ---------------------------------------------------------------- what a run reports is true


def test_ctrl_c_prints_what_was_done_and_the_rerun_finishes(tmp_path, slow_emulator, env):
    import signal

    url = slow_emulator
    plan = match_from_api(tmp_path, url, env)
    assert run_cli("pay", plan, cwd=tmp_path, env=env).returncode == 0
    cmd = [sys.executable, "-m", "reconcile", "pay", str(plan), "--execute", "--endpoint-url", url, "--rate", "20",
           "--concurrency", "2"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_interruptible)
    deadline = time.monotonic() + 60
    while emulator_stats(url)["effective"].get("SendBonus", 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Interrupted (Ctrl-C) while executing" in out and "Not attempted because of the interruption" in out
    assert "interrupted:" in err and "Re-run the same command" in err and "Traceback" not in err
    paid_so_far = sum(len(v) for v in paid_bonuses(url).values())
    assert paid_so_far >= 3
    done_line = next(line for line in out.splitlines() if line.strip().startswith("bonus"))
    assert int(done_line.split()[1]) == paid_so_far  # the summary names exactly what this run paid
    r = run_cli("pay", plan, "--execute", "--endpoint-url", url, "--rate", "100", "--concurrency", "8", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert_each_bonus_once(url, plan)


def test_ctrl_c_before_the_payout_says_nothing_was_paid(tmp_path, slow_emulator, env):
    import signal

    url = slow_emulator
    plan = match_from_api(tmp_path, url, env)
    assert run_cli("pay", plan, cwd=tmp_path, env=env).returncode == 0
    # At 2 calls a second, checking the 131 API-listed rows with MTurk takes a minute: interrupt that.
    cmd = [sys.executable, "-m", "reconcile", "pay", str(plan), "--execute", "--endpoint-url", url, "--rate", "2"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_interruptible)
    deadline = time.monotonic() + 60
    while emulator_stats(url)["calls"].get("GetAssignment", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted before the payout started; nothing was approved, rejected or paid" in err and "Traceback" not in err
    assert emulator_stats(url)["mutating_calls"] == 0


def test_resume_from_a_v1_ledger_repeats_nothing(tmp_path, env):
    """A half-finished run journaled by the schema-v1 code (tests/fixtures/v1_ledger) resumes under
    v2 keys: every action ends done exactly once, and nothing that run did is done again."""
    import shutil
    import sqlite3

    fixture = Path(__file__).parent / "fixtures" / "v1_ledger"
    for name in ("batch.csv", "plan.csv", "plan.responses.csv", "ledger.sqlite"):
        shutil.copy(fixture / name, tmp_path / name)
    replay = json.loads((fixture / "replay.json").read_text())
    url, proc = start_emulator_process("--batch", str(tmp_path / "batch.csv"))
    try:
        # Rebuild what MTurk knew when the v1 run stopped: the calls that reached it.
        c = mturk_client(url)
        for call in replay["calls"]:
            op = call.pop("op")
            getattr(c, op)(**call)
        # The same endpoint as the v1 run (its port there, ours here): keys are per endpoint.
        db = sqlite3.connect(tmp_path / "ledger.sqlite")
        old = replay["endpoint"]
        db.execute("UPDATE actions SET endpoint=?, key=replace(key, ?, ?)", (url, old, url))
        db.execute("UPDATE events SET key=replace(key, ?, ?)", (old, url))
        db.commit()
        db.close()
        before = emulator_stats(url)
        assert run_cli("pay", "plan.csv", cwd=tmp_path, env=env).returncode == 0
        r = run_cli("pay", "plan.csv", "--execute", "--endpoint-url", url, "--ledger", "ledger.sqlite", "--json", cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        after = emulator_stats(url)
        # The untouched chains 7 (intent only), 8 and 9 are approved and bonused now; chain 5's bonus too;
        # chains 5 (approve) and 6 (both) were done by the v1 run and are found, not repeated.
        assert after["effective"].get("ApproveAssignment", 0) - before["effective"].get("ApproveAssignment", 0) == 3
        assert after["effective"].get("SendBonus", 0) - before["effective"].get("SendBonus", 0) == 4
        assert out["by_kind"]["approve"]["done"] == 3 and out["by_kind"]["bonus"]["done"] == 4
        state = json.loads(run_cli("ledger", "--ledger", "ledger.sqlite", "--json", cwd=tmp_path).stdout)
        assert state["in_flight"] == [] and state["failed"] == []
        bonuses = Counter(b["assignment_id"] for b in json.loads(
            __import__("urllib.request").request.urlopen(url + "/__emulator/state").read())["bonuses"])
        assert len(bonuses) == 10 and set(bonuses.values()) == {1}
        assert sqlite3.connect(tmp_path / "ledger.sqlite").execute(
            "SELECT value FROM meta WHERE name='schema_version'").fetchone() == ("2",)
    finally:
        stop_emulator_process(proc)
