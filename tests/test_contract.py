"""The payout engine's contract, over every kind of platform at the seam: MTurk through its emulator
(real boto3, pay calls safe to retry with a token, one call per action) and an in-memory fake that is
MTurk's opposite (bulk approvals that settle later, bonuses set up then paid in groups in GBP, a pay
call that is NOT safe to retry). Whatever the platform: every action happens exactly once, a re-run
changes nothing, and a pay call that is not safe to retry is never sent twice for one reference."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator_helpers import start_emulator
from fake_platform import FakePlatform, World
from reconcile.models import CheckedPlan, PlanRow
from reconcile.payout.ledger import Ledger, default_ledger_path
from reconcile.payout.run import ExecutionIncomplete, execute_plan
from reconcile.payout.status import ledger_status, resolve
from reconcile.platform import State
from test_executor_support import FAKE_ENV, checked_plan, emulator_snapshot_by_assignment, make_batch, plan_rows

REJECT_REASON = ("Your submission did not include the completion code shown at the end of the survey, and the "
                 "answers do not match any response we received; we cannot approve it.")


# ---------------------------------------------------------------- the fake world's plans


def fake_plan(tmp_path: Path, world: World, n: int, *, reject: set[int] = frozenset(), bonus=lambda i: Decimal("0.50") + Decimal(i) / 100):
    rows = []
    for i, (sid, pid) in enumerate(world.seed(n)):
        decision = "reject" if i in reject else "approve"
        rows.append(PlanRow(submission_id=sid, participant_id=pid, group_id="S1", decision=decision, reason="participant_match",
                            detail="", code="C0DE", response_id=f"R_{i}", bonus=None if decision == "reject" else bonus(i),
                            feedback=REJECT_REASON if decision == "reject" else "", source=f"export.csv:{i + 2}",
                            status="AWAITING REVIEW"))
    path = tmp_path / "plan.csv"
    path.write_text("", encoding="utf-8")  # the ledger goes beside it
    cost = FakePlatform(world).fees.cost(rows)
    return CheckedPlan(str(path), tuple(rows), "digest", (), cost.rewards, cost.bonuses, cost.fees, cost.total,
                       platform="fake", currency="GBP", drawn=cost.drawn)


def pay_fake(cp: CheckedPlan, world: World, **kw):
    platform = FakePlatform(world)
    endpoint = platform.resolve_endpoint(None, False, False)
    engine_kw = {"concurrency": 4, "rate": 1000.0, **kw}
    return execute_plan(cp, platform=platform, payer=platform.payer(endpoint), endpoint_url=endpoint.url, **engine_kw)


def assert_fake_exactly_once(world: World, cp: CheckedPlan) -> None:
    for r in cp.rows:
        want = State.APPROVED if r.decision == "approve" else State.REJECTED
        if r.submission_id in world.pending_approvals:  # accepted, not settled: counts as approved
            world.states[r.submission_id] = State.APPROVED
        assert world.states[r.submission_id] == want, r.submission_id
        assert world.paid(r.submission_id) == ([r.bonus] if r.bonus else []), r.submission_id


# ---------------------------------------------------------------- both kinds of platform


@pytest.fixture(params=["mturk", "fake"])
def kind(request, monkeypatch):
    if request.param == "mturk":
        for k, v in FAKE_ENV.items():
            monkeypatch.setenv(k, v)
    return request.param


def test_everything_once_and_a_rerun_changes_nothing(kind, tmp_path):
    if kind == "fake":
        world = World()
        cp = fake_plan(tmp_path, world, 120, reject={3, 77})
        s = pay_fake(cp, world)
        assert s.complete and s.currency == "GBP"
        assert s.count("done", "approve") == 118 and s.count("done", "bonus") == 118 and s.count("done", "reject") == 2
        assert_fake_exactly_once(world, cp)
        assert world.calls["approve"] == 1  # 118 approvals in one bulk call
        assert world.calls["pay"] == 3 and set(world.pay_calls.values()) == {1}  # 118 bonuses in groups of 50
        calls_before = dict(world.calls)
        again = pay_fake(cp, world)
        assert again.count("done") == 0 and again.count("already_done") == 238
        assert {k: world.calls[k] for k in ("approve", "pay", "prepare", "reject")} == {
            k: calls_before.get(k, 0) for k in ("approve", "pay", "prepare", "reject")}
        return
    from test_executor_support import payout

    batch = tmp_path / "batch.csv"
    rows = plan_rows(batch, make_batch(batch, 20, hits=2, seed=41))
    cp = checked_plan(tmp_path / "plan.csv", rows, [batch])
    with start_emulator([str(batch)]) as emu:
        s = payout(cp, emu.url, rate=500.0, concurrency=6)
        assert s.complete and s.count("done", "bonus") == 20
        before = emu.stats()["mutating_calls"]
        again = payout(cp, emu.url, rate=500.0, concurrency=6)
        assert again.count("done") == 0 and emu.stats()["mutating_calls"] == before
        _, bonuses = emulator_snapshot_by_assignment(emu.state())
        assert sorted(len(v) for v in bonuses.values()) == [1] * 20


# ---------------------------------------------------------------- a pay call not safe to retry


def test_a_lost_pay_answer_is_in_doubt_and_never_sent_again(tmp_path):
    world = World()
    cp = fake_plan(tmp_path, world, 10)
    world.faults["pay"] = ["lose-hidden"]  # paid, the answer lost, and the payment not showing yet
    s = pay_fake(cp, world)
    assert s.count("in_doubt", "bonus") == 10 and not s.complete
    assert world.calls["pay"] == 1 and len(world.payments) == 10
    # A re-run before the payment shows: still in doubt, and no pay call at all.
    s2 = pay_fake(cp, world)
    assert s2.count("in_doubt", "bonus") == 10 and world.calls["pay"] == 1
    # Once the platform shows it, the re-run settles it as done by the earlier run; nothing is paid again.
    world.hidden.clear()
    s3 = pay_fake(cp, world)
    assert s3.complete and s3.count("already_done", "bonus") == 10
    assert world.calls["pay"] == 1 and len(world.payments) == 10
    assert_fake_exactly_once(world, cp)


def test_a_person_settles_what_is_in_doubt(tmp_path):
    world = World()
    cp = fake_plan(tmp_path, world, 4)
    world.faults["pay"] = ["lose-hidden"]
    pay_fake(cp, world)
    status = ledger_status(default_ledger_path(cp.path))
    keys = [e["key"] for e in status["in_doubt"]]
    assert len(keys) == 4
    # Paid, as the platform's website shows: never attempted again.
    resolve(default_ledger_path(cp.path), None, keys[0], "paid", "seen on the website")
    # The other three really were not paid (say the platform later failed them): undo the world's record.
    lost = {world.participants[sid] for sid in list(world.states)[1:4]}
    world.payments = [p for p in world.payments if p[2] not in lost]
    world.hidden.clear()
    for key in keys[1:]:
        resolve(default_ledger_path(cp.path), None, key, "unpaid")
    s = pay_fake(cp, world)
    assert s.complete and s.count("done", "bonus") == 3 and s.count("already_done", "bonus") == 1
    assert_fake_exactly_once(world, cp)
    with pytest.raises(Exception, match="never undone"):
        resolve(default_ledger_path(cp.path), None, keys[0], "unpaid")


def test_a_crash_after_the_intent_leaves_the_bonus_in_doubt(tmp_path):
    """Killed between journaling the pay intent and learning the answer: never paid again on its own."""
    world = World()
    cp = fake_plan(tmp_path, world, 3)

    class Crash(BaseException):
        pass

    original = FakePlatform.payer

    def crashing_payer(self, endpoint, **kw):
        p = original(self, endpoint, **kw)
        real = p.pay_bonuses

        def pay_then_die(reference, items):
            real(reference, items)
            raise Crash()

        p.pay_bonuses = pay_then_die  # the process dies right after the call went out
        return p

    FakePlatform.payer = crashing_payer
    try:
        with pytest.raises(Crash):
            pay_fake(cp, world, concurrency=1)
    finally:
        FakePlatform.payer = original
    world.hidden = set(world.pay_calls)  # the payment does not show yet
    s = pay_fake(cp, world)
    assert s.count("in_doubt", "bonus") == 3 and sum(world.pay_calls.values()) == 1
    with Ledger.open(default_ledger_path(cp.path)) as led:
        assert {e.state for e in led.entries() if e.kind == "bonus"} == {"in_doubt"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["throttle", "fail", "lose", "lose-hidden", None]), max_size=8),
       st.lists(st.sampled_from(["throttle", "fail", "lose", None]), max_size=4),
       st.lists(st.sampled_from(["throttle", "fail", "lose", None]), max_size=4))
def test_no_sequence_of_faults_sends_pay_twice_for_one_reference(tmp_path_factory, pay_faults, prepare_faults, approve_faults):
    tmp_path = tmp_path_factory.mktemp("prop")
    world = World()
    cp = fake_plan(tmp_path, world, 60, reject={5})
    world.faults["pay"] = list(pay_faults)
    world.faults["prepare"] = list(prepare_faults)
    world.faults["approve"] = list(approve_faults)
    for _ in range(4):  # the same command, re-run until nothing is left but what a person must settle
        try:
            s = pay_fake(cp, world)
        except ExecutionIncomplete:
            pass
        world.hidden.clear()
    assert set(world.pay_calls.values()) <= {1}, world.pay_calls
    # Each submission is paid at most once; all of them once unless a person must settle one in doubt.
    for r in cp.rows:
        assert len(world.paid(r.submission_id)) <= 1
    status = ledger_status(default_ledger_path(cp.path))
    if not status["in_doubt"] and not status["failed"]:
        assert_fake_exactly_once(world, cp)
    assert s is not None


def test_ledger_status_shows_what_is_in_doubt_and_how_to_settle_it(tmp_path):
    from conftest import run_cli

    world = World()
    cp = fake_plan(tmp_path, world, 2)
    world.faults["pay"] = ["lose-hidden"]
    pay_fake(cp, world)
    out = run_cli("ledger", "--ledger", str(default_ledger_path(cp.path)), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "In doubt (2)" in out.stdout and "--resolve KEY paid" in out.stdout
    key = json.loads(run_cli("ledger", "--ledger", str(default_ledger_path(cp.path)), "--json", cwd=tmp_path).stdout)["in_doubt"][0]["key"]
    done = run_cli("ledger", "--ledger", str(default_ledger_path(cp.path)), "--resolve", key, "paid", cwd=tmp_path)
    assert done.returncode == 0 and "now already done" in done.stdout
    bad = run_cli("ledger", "--ledger", str(default_ledger_path(cp.path)), "--resolve", key, "maybe", cwd=tmp_path)
    assert bad.returncode == 2 and "paid|unpaid" in bad.stderr and "Traceback" not in bad.stderr
