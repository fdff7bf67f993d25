"""The executor as a library, against the MTurk emulator over real HTTP with the real boto3 client.

Every assertion about what happened is made through the emulator's own state (statuses, bonuses,
call counts), never through what the executor says about itself.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator_helpers import mturk_client, start_emulator
from reconcile.errors import RefusedError
from reconcile.payout.actions import plan_actions
from reconcile.payout.run import remaining_rows
from reconcile.payout.ledger import Ledger, default_ledger_path
from reconcile.models import PlanRow
from reconcile.platforms.mturk import PLATFORM as MTURK
from test_executor_support import (
    FAKE_ENV,
    FAKE_KEY_ID,
    FAKE_SECRET,
    checked_plan,
    emulator_snapshot_by_assignment,
    make_batch,
    payout,
    plan_rows,
)


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch):
    for k, v in FAKE_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def run(cp, emu, **kw):
    kw.setdefault("rate", 200.0)
    kw.setdefault("concurrency", 8)
    return payout(cp, emu.url, **kw)


def assert_exactly_once(state: dict, rows: list[PlanRow]) -> None:
    statuses, bonuses = emulator_snapshot_by_assignment(state)
    for r in rows:
        want = {"approve": "Approved", "reject": "Rejected"}.get(r.decision, "Submitted")
        assert statuses[r.submission_id] == want, r.submission_id
        paid = bonuses.get(r.submission_id, [])
        if r.bonus:
            assert [(b["worker_id"], b["amount"]) for b in paid] == [(r.participant_id, f"{r.bonus:.2f}")], r.submission_id
        else:
            assert paid == []


def mixed(i, r):
    if i % 7 == 3:
        return "reject", None, "The completion code you entered does not match any survey response."
    if i % 7 == 5:
        return "review", None, ""
    return "approve", f"{0.25 + i / 100:.2f}", ""


def test_pays_everything_once_and_a_second_run_calls_nothing_mutating(tmp_path):
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 30, hits=3, seed=1)
    rows = plan_rows(batch, brows, mixed)
    cp = checked_plan(tmp_path / "plan.csv", rows, [batch])
    with start_emulator([str(batch)]) as emu:
        qual = mturk_client(emu.url).create_qualification_type(
            Name="did our study", Description="blocks retakes", QualificationTypeStatus="Active"
        )["QualificationType"]["QualificationTypeId"]
        s = run(cp, emu, grant_qualification=qual)
        assert s.complete, s.failures
        n_approve = sum(r.decision == "approve" for r in rows)
        n_reject = sum(r.decision == "reject" for r in rows)
        assert (s.count("done", "approve"), s.count("done", "reject"), s.count("done", "bonus")) == (n_approve, n_reject, n_approve)
        assert s.count("done", "qualify") == n_approve  # every approved worker is distinct here
        state = emu.state()
        assert_exactly_once(state, rows)
        assert set(state["qualification_grants"][qual]) == {r.participant_id for r in rows if r.decision == "approve"}
        rejected = [r for r in rows if r.decision == "reject"]
        assert state["assignments"][rejected[0].submission_id]["requester_feedback"] == rejected[0].feedback
        before = emu.stats()

        s2 = run(cp, emu, grant_qualification=qual)
        after = emu.stats()
        assert s2.complete and s2.count("done") == 0
        assert s2.count("already_done") == s.count("done")
        assert after["mutating_calls"] == before["mutating_calls"]
        # Only the up-front check that the qualification type exists; no listing, no balance.
        assert after["total_calls"] - before["total_calls"] == 1
        assert after["calls"]["GetQualificationType"] - before["calls"]["GetQualificationType"] == 1
    with Ledger.open(default_ledger_path(cp.path)) as led:
        entries = led.entries()
        assert {e.state for e in entries} == {"done"}
        assert all(isinstance(e.amount, str) for e in entries)
        assert len(led.runs()) == 2


@pytest.mark.parametrize("seed", [7, 8])
def test_faults_and_lost_responses_end_with_every_action_done_exactly_once(tmp_path, seed):
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 40, hits=2, seed=seed)
    rows = plan_rows(batch, brows, mixed)
    cp = checked_plan(tmp_path / "plan.csv", rows, [batch])
    with start_emulator([str(batch)], fault_rate=0.1, drop_response_rate=0.1, seed=seed) as emu:
        s = run(cp, emu)
        stats = emu.stats()
        assert stats["faults"] > 0 and stats["dropped"] > 0  # the faults really happened
        assert s.complete, s.failures
        assert_exactly_once(emu.state(), rows)
        assert stats["effective"].get("SendBonus", 0) == sum(1 for r in rows if r.bonus)


def test_throttling_is_absorbed_without_failures(tmp_path):
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 25, hits=1, seed=3)
    rows = plan_rows(batch, brows)
    cp = checked_plan(tmp_path / "plan.csv", rows, [batch])
    with start_emulator([str(batch)], throttle=20) as emu:
        # Ask for three times what the service allows: pacing must adapt instead of failing.
        s = run(cp, emu, rate=60.0, concurrency=8)
        assert emu.stats()["throttled"] > 0
        assert s.complete, s.failures
        assert s.throttled > 0
        assert_exactly_once(emu.state(), rows)


def test_balance_too_low_refuses_before_any_mutating_call(tmp_path):
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 10, seed=4)
    rows = plan_rows(batch, brows)
    cp = checked_plan(tmp_path / "plan.csv", rows, [batch])
    with start_emulator([str(batch)], balance="5.00") as emu:
        with pytest.raises(RefusedError) as err:
            run(cp, emu)
        assert "$5.00" in str(err.value) and "nothing was paid" in str(err.value)
        stats = emu.stats()
        assert stats["mutating_calls"] == 0
        assert stats["calls"].get("GetAccountBalance") == 1


def test_balance_is_held_against_what_the_run_draws_not_the_prepaid_rewards(tmp_path):
    """MTurk is prepaid: approving draws nothing; bonuses and their fees do. A balance that covers the
    bonuses but not the rewards as well is enough (it was refused before)."""
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 10, seed=12)
    rows = plan_rows(batch, brows)
    cp = checked_plan(tmp_path / "plan.csv", rows, [batch])
    draw = MTURK.fees.cost(rows).drawn
    assert draw < cp.total - Decimal("4.00")
    with start_emulator([str(batch)], balance=f"{draw:.2f}") as emu:
        s = run(cp, emu)
        assert s.complete
        assert emu.state()["balance"] == "0.00"
        assert_exactly_once(emu.state(), rows)
    with start_emulator([str(batch)], balance=f"{draw - Decimal('0.01'):.2f}") as emu:
        with pytest.raises(RefusedError, match="bonuses and their fees"):
            run(cp, emu)
        assert emu.stats()["mutating_calls"] == 0


def test_new_ledger_finds_bonus_already_paid_and_does_not_pay_again(tmp_path):
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 6, hits=2, seed=5)
    rows = plan_rows(batch, brows)
    cp = checked_plan(tmp_path / "plan.csv", rows, [batch])
    with start_emulator([str(batch)]) as emu:
        c = mturk_client(emu.url)
        bonus_of = {ch.row.submission_id: ch.actions[1] for ch in plan_actions(rows, emu.url)}
        first, second, third = rows[0], rows[1], rows[2]
        # Paid by a run whose ledger was lost, beyond MTurk's 24 hours of token memory (another token):
        # the reason still carries the plan's reference.
        c.approve_assignment(AssignmentId=first.submission_id)
        c.send_bonus(WorkerId=first.participant_id, AssignmentId=first.submission_id, BonusAmount=f"{first.bonus:.2f}",
                     Reason=bonus_of[first.submission_id].bonus_reason, UniqueRequestToken="lost-ledger-1")
        # A different amount already paid: a conflict for a person, not a second payment.
        c.approve_assignment(AssignmentId=second.submission_id)
        c.send_bonus(WorkerId=second.participant_id, AssignmentId=second.submission_id, BonusAmount="9.99",
                     Reason="by hand", UniqueRequestToken="manual-2")
        # A thank-you paid by hand of exactly the plan's amount is not the plan's bonus either.
        c.send_bonus(WorkerId=third.participant_id, AssignmentId=third.submission_id, BonusAmount=f"{third.bonus:.2f}",
                     Reason="Thanks for the extra feedback!", UniqueRequestToken="manual-3")
        s = run(cp, emu)
        by = {(r.action.kind, r.action.submission_id): r for r in s.results}
        assert by[("approve", first.submission_id)].outcome == "already_done"
        assert by[("bonus", first.submission_id)].outcome == "already_done"
        for who in (second, third):
            assert by[("bonus", who.submission_id)].outcome == "failed"
            assert "conflict" in by[("bonus", who.submission_id)].detail
        assert s.count("failed") == 2
        _, bonuses = emulator_snapshot_by_assignment(emu.state())
        assert len(bonuses[first.submission_id]) == 1
        assert [b["amount"] for b in bonuses[second.submission_id]] == ["9.99"]
        assert [b["reason"] for b in bonuses[third.submission_id]] == ["Thanks for the extra feedback!"]
        for r in rows[3:]:
            assert len(bonuses[r.submission_id]) == 1
            assert bonus_of[r.submission_id].reference in bonuses[r.submission_id][0]["reason"]


def test_crash_after_intent_is_settled_by_asking_mturk(tmp_path):
    """Intent journaled, call made, process died before the outcome: the re-run must not pay again,
    and says the payment was made by the earlier run, not by itself."""
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 4, seed=6)
    rows = plan_rows(batch, brows)
    cp = checked_plan(tmp_path / "plan.csv", rows, [batch])
    with start_emulator([str(batch)]) as emu:
        r0 = rows[0]
        (chain,) = [c for c in plan_actions(rows, emu.url) if c.row.submission_id == r0.submission_id]
        approve, bonus = chain.actions
        with Ledger.open(default_ledger_path(cp.path)) as led:
            led.record_intent(approve.key, **approve.ledger_fields())
            led.record_intent(bonus.key, **bonus.ledger_fields())
        c = mturk_client(emu.url)
        c.approve_assignment(AssignmentId=r0.submission_id)
        c.send_bonus(WorkerId=r0.participant_id, AssignmentId=r0.submission_id, BonusAmount=bonus.amount,
                     Reason=bonus.bonus_reason, UniqueRequestToken=bonus.token)
        s = run(cp, emu)
        assert s.complete
        by = {(r.action.kind, r.action.submission_id): r for r in s.results}
        assert by[("approve", r0.submission_id)].outcome == "already_done"  # ours, from the crashed run
        assert "earlier run" in by[("approve", r0.submission_id)].detail
        assert by[("bonus", r0.submission_id)].outcome == "already_done"
        assert "earlier run" in by[("bonus", r0.submission_id)].detail
        assert s.count("done") == 2 * (len(rows) - 1)
        assert_exactly_once(emu.state(), rows)


def test_one_failure_does_not_stop_the_others_and_blocks_only_its_bonus(tmp_path):
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 8, seed=9)
    rows = plan_rows(batch, brows)
    cp = checked_plan(tmp_path / "plan.csv", rows, [batch])
    with start_emulator([str(batch)]) as emu:
        victim = rows[2]
        mturk_client(emu.url).reject_assignment(AssignmentId=victim.submission_id, RequesterFeedback="rejected elsewhere")
        s = run(cp, emu)
        failed = {(r.action.kind, r.action.submission_id): r.detail for r in s.failures}
        assert set(failed) == {("approve", victim.submission_id), ("bonus", victim.submission_id)}
        assert "Rejected" in failed[("approve", victim.submission_id)]
        assert "not attempted" in failed[("bonus", victim.submission_id)]
        _, bonuses = emulator_snapshot_by_assignment(emu.state())
        assert victim.submission_id not in bonuses
        assert all(len(bonuses[r.submission_id]) == 1 for r in rows if r is not victim)
        assert emu.stats()["calls"]["SendBonus"] == len(rows) - 1


def test_credentials_and_tokens_never_reach_the_ledger(tmp_path):
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 12, seed=10)
    rows = plan_rows(batch, brows)
    cp = checked_plan(tmp_path / "plan.csv", rows, [batch])
    with start_emulator([str(batch)], drop_response_rate=0.3, seed=10) as emu:
        s = run(cp, emu)
        assert s.complete
        tokens = [b["token"] for b in emu.state()["bonuses"]]
    assert len(tokens) == 12 and all(tokens)
    blobs = b"".join(p.read_bytes() for p in tmp_path.glob("plan.ledger.sqlite*"))
    for secret in [FAKE_KEY_ID, FAKE_SECRET, *tokens]:
        assert secret.encode() not in blobs


def test_remaining_cost_counts_only_unfinished_actions(tmp_path):
    batch = tmp_path / "batch.csv"
    brows = make_batch(batch, 10, seed=11)
    rows = plan_rows(batch, brows, lambda i, r: ("approve", "1.00", ""))
    cp = checked_plan(tmp_path / "plan.csv", rows, [batch])
    chains = plan_actions(rows, "http://127.0.0.1:1")
    with Ledger.open(tmp_path / "l.sqlite") as led:
        assert MTURK.fees.cost(remaining_rows(chains, led)).total == cp.total
        for c in chains[:4]:
            for a in c.actions:
                led.record_outcome(a.key, "done", **a.ledger_fields())
        # 6 of 10 left: $0.40 reward (+ 20% + 20% for a 10-assignment HIT) and $1.00 bonus (+ 20%) each.
        assert MTURK.fees.cost(remaining_rows(chains, led)).total == 6 * (Decimal("0.40") + Decimal("0.16") + Decimal("1.00") + Decimal("0.20"))


def _row(i: int, decision: str, bonus: str | None) -> PlanRow:
    return PlanRow(submission_id=f"A{i}", participant_id=f"W{i}", group_id="H", decision=decision, reason="", detail="",
                   code="", response_id="", bonus=Decimal(bonus) if bonus else None, feedback="reason text here",
                   source=f"b.csv:{i + 2}")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["approve", "reject", "review", "skip"]),
                          st.one_of(st.none(), st.decimals(min_value=0, max_value=50, places=2))), max_size=40))
def test_plan_actions_are_ordered_unique_and_never_bonus_a_rejection(spec):
    rows = [_row(i, d, None if b is None else f"{b:.2f}") for i, (d, b) in enumerate(spec)]
    chains = plan_actions(rows, "http://127.0.0.1:9")
    keys = [a.key for c in chains for a in c.actions]
    assert len(keys) == len(set(keys))
    assert keys == [a.key for c in plan_actions(rows, "http://127.0.0.1:9/") for a in c.actions]
    for c in chains:
        kinds = [a.kind for a in c.actions]
        assert kinds in (["approve"], ["approve", "bonus"], ["reject"], ["bonus"])
        if "bonus" in kinds:
            assert c.row.decision in ("approve", "skip") and c.row.bonus > 0
            assert c.actions[-1].amount == f"{c.row.bonus:.2f}"
    # Another endpoint never shares a key (a rehearsal is not a payment).
    other = {a.key for c in plan_actions(rows, "https://mturk-requester.us-east-1.amazonaws.com") for a in c.actions}
    assert not other & set(keys)


# Rates stay at or below 10%: with 8 attempts per action, giving up then has odds of ~1e-6.
@settings(max_examples=6, deadline=None, derandomize=True)
@given(
    n=st.integers(1, 12),
    fault=st.sampled_from([0.0, 0.05, 0.1]),
    drop=st.sampled_from([0.0, 0.05, 0.1]),
    seed=st.integers(0, 10_000),
    decisions=st.lists(st.sampled_from(["approve", "approve", "reject", "review"]), min_size=12, max_size=12),
)
def test_property_any_plan_under_any_faults_ends_exactly_once(tmp_path_factory, n, fault, drop, seed, decisions):
    tmp = tmp_path_factory.mktemp("prop")
    batch = tmp / "batch.csv"
    brows = make_batch(batch, n, hits=1 + n // 5, seed=seed)

    def decide(i, r):
        d = decisions[i]
        return d, (f"{0.01 + i:.2f}" if d == "approve" else None), ("Wrong code, sorry." if d == "reject" else "")

    rows = plan_rows(batch, brows, decide)
    cp = checked_plan(tmp / "plan.csv", rows, [batch])
    with start_emulator([str(batch)], fault_rate=fault, drop_response_rate=drop, seed=seed) as emu:
        s = run(cp, emu)
        assert s.complete, s.failures
        assert_exactly_once(emu.state(), rows)
        again = run(cp, emu)
        assert again.count("done") == 0 and again.complete
        assert_exactly_once(emu.state(), rows)
