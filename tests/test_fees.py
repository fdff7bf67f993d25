"""MTurk fee arithmetic, pinned with worked examples, plus invariants."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.platforms.mturk.fees import bonus_fee, cost_summary, parse_max_assignments, reward_fee
from reconcile.models import PlanRow

D = Decimal


@pytest.mark.parametrize(
    "reward, group_size, masters, fee",
    [
        ("0.40", 100, False, "0.16"),  # 40% of 0.40
        ("0.40", 9, False, "0.08"),  # small HIT: 20% only
        ("0.40", 10, False, "0.16"),  # 10 assignments is already "large"
        ("0.04", 1, False, "0.01"),  # 0.008 -> minimum $0.01
        ("0.01", 100, False, "0.01"),  # 0.004 -> minimum
        ("0.25", 4, False, "0.05"),  # the Chucooleg supplementary batch
        ("0.07", 1, False, "0.01"),  # CLEF: 0.014 -> 0.01
        ("1.00", 1, True, "0.25"),  # Masters: 20% + 5%
        ("1.00", 50, True, "0.45"),  # 20% + 20% + 5%
        ("0.05", 1, False, "0.01"),  # exactly 0.010
        ("0.33", 1, False, "0.07"),  # 0.066 -> 0.07 half-up
        ("0.35", 1, True, "0.09"),  # 0.0875 -> 0.09
        ("0.10", 1, True, "0.03"),  # 0.025 -> 0.03 (half-up, not banker's 0.02)
        ("0.00", 100, False, "0.00"),  # nothing paid, nothing charged
        ("0.40", None, False, "0.16"),  # unknown size: assume the higher rate
    ],
)
def test_reward_fee_worked_examples(reward, group_size, masters, fee):
    assert reward_fee(D(reward), group_size, masters=masters) == D(fee)


@pytest.mark.parametrize(
    "amount, fee",
    [("1.00", "0.20"), ("0.03", "0.01"), ("0.05", "0.01"), ("0.08", "0.02"), ("2.50", "0.50"), ("0.00", "0.00"), ("0.13", "0.03")],
)
def test_bonus_fee_worked_examples(amount, fee):
    assert bonus_fee(D(amount)) == D(fee)


def test_negative_amounts_refused():
    with pytest.raises(ValueError):
        bonus_fee(D("-1.00"))


@pytest.mark.parametrize("text, value", [("100", 100), (" 4 ", 4), ("", None), ("ten", None), ("1.5", None)])
def test_parse_max_assignments(text, value):
    assert parse_max_assignments(text) == value


def _row(aid, decision, *, status="Submitted", reward="$0.40", group_size="100", bonus=None, hit="H1"):
    return PlanRow(
        submission_id=aid, participant_id="AW" + aid, group_id=hit, decision=decision, reason="r", detail="", code="1",
        response_id="", bonus=bonus, feedback="", source="b.csv:2", status=status, reward=reward,
        group_size=group_size,
    )


def test_cost_summary_counts_only_owed_rewards():
    rows = [
        _row("1", "approve"),  # owed: 0.40 + 0.16
        _row("2", "approve", status="Approved"),  # already paid
        _row("3", "approve", bonus=D("1.00")),  # owed: 0.40 + 0.16, bonus 1.00 + 0.20
        _row("4", "review"),
        _row("5", "reject"),
        _row("6", "skip", status="Approved"),
        _row("7", "approve", reward=""),  # unknown reward: counted, not summed
        _row("8", "approve", reward="$0.25", group_size="4", hit="H2", status=""),  # 0.25 + 0.05
    ]
    s = cost_summary(rows)
    assert (s.approvals, s.approvals_owed, s.unknown_rewards, s.bonus_count) == (5, 4, 1, 1)
    assert s.rewards == D("1.05")
    assert s.reward_fees == D("0.37")
    assert s.bonuses == D("1.00") and s.bonus_fees == D("0.20")
    assert s.fees == D("0.57")
    assert s.total == D("2.62")
    masters = cost_summary(rows, masters_hits=frozenset({"H2"}))
    assert masters.reward_fees == D("0.37") - D("0.05") + D("0.06")  # 0.25 * 25% = 0.0625 -> 0.06


amounts = st.decimals(min_value=D("0.00"), max_value=D("1000.00"), places=2)


@given(amounts, st.one_of(st.none(), st.integers(1, 1000)), st.booleans())
def test_reward_fee_invariants(reward, n, masters):
    fee = reward_fee(reward, n, masters=masters)
    assert fee == fee.quantize(D("0.01"))
    if reward == 0:
        assert fee == 0
    else:
        assert fee >= D("0.01")
        rate = D("0.20") + (D("0.20") if n is None or n >= 10 else 0) + (D("0.05") if masters else 0)
        assert abs(fee - reward * rate) <= D("0.005") or fee == D("0.01")
    # more assignments or Masters never make a HIT cheaper
    assert reward_fee(reward, 100, masters=True) >= fee


@given(st.lists(amounts, max_size=20))
def test_cost_summary_total_is_sum_of_parts(bonus_amounts):
    rows = [_row(str(i), "approve", bonus=b) for i, b in enumerate(bonus_amounts)]
    s = cost_summary(rows)
    assert s.total == s.rewards + s.bonuses + s.reward_fees + s.bonus_fees
    assert s.bonuses == sum(bonus_amounts, D("0.00"))
    assert s.bonus_fees == sum((bonus_fee(b) for b in bonus_amounts), D("0.00"))
    assert s.rewards == D("0.40") * len(rows)


def test_masters_fee_is_reachable_from_the_command_line(tmp_path):
    """Batch files do not record Masters; `pay --masters` adds its 5% on rewards to the dry run."""
    import json

    from conftest import run_cli
    from test_executor_support import checked_plan, make_batch, plan_rows

    batch = tmp_path / "batch.csv"
    rows = plan_rows(batch, make_batch(batch, 10, seed=8, reward="$1.00"), lambda i, r: ("approve", None, ""))
    checked_plan(tmp_path / "plan.csv", rows, [batch])
    plain = json.loads(run_cli("pay", "plan.csv", "--json", cwd=tmp_path).stdout)
    masters = json.loads(run_cli("pay", "plan.csv", "--json", "--masters", cwd=tmp_path).stdout)
    # 10 x $1.00 on a 10-assignment HIT: 40% plain, 45% with Masters.
    assert (plain["fees"], masters["fees"]) == ("4.00", "4.50")
    assert plain["drawn_now"] == masters["drawn_now"] == "0.00"  # prepaid: approving draws nothing
