"""MTurk's fee schedule, in Decimal, and the cost of a plan.

The schedule (MTurk requester pricing, 2015 onwards):

* 20% commission on every reward and every bonus;
* another 20% on the *reward* (never on bonuses) when the HIT has 10 or more assignments
  (MaxAssignments >= 10);
* another 5% on the reward when the HIT required Masters;
* at least $0.01 per assignment and per bonus.

Rounding rule: the fee of one payment is computed at full precision with the combined rate
(e.g. 20% + 20% + 5% = 45%), then rounded to cents half-up (0.005 -> 0.01), then raised to the
$0.01 minimum. A payment of $0.00 has no fee. Totals are sums of per-payment fees, because that
is how MTurk charges (fees are per assignment and per bonus, not on the batch total).

When MaxAssignments is unknown (blank or unreadable), the 10-or-more rate is assumed, so an
estimate errs on the side of the higher cost (a budget check must never be optimistic).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from ...models import PlanRow
from ...money import ZERO, AmountError, parse_amount, round_cents
from ...platform import CostSummary

COMMISSION = Decimal("0.20")
LARGE_HIT_EXTRA = Decimal("0.20")
LARGE_HIT_ASSIGNMENTS = 10
MASTERS_EXTRA = Decimal("0.05")
MINIMUM_FEE = Decimal("0.01")


def _apply(amount: Decimal, rate: Decimal) -> Decimal:
    if amount < 0:
        raise ValueError("a payment cannot be negative")
    if amount == 0:
        return ZERO
    return max(round_cents(amount * rate), MINIMUM_FEE)


def reward_rate(group_size: int | None, *, masters: bool = False) -> Decimal:
    """The combined fee rate on one assignment's reward. None (unknown size) counts as a large HIT."""
    rate = COMMISSION
    if group_size is None or group_size >= LARGE_HIT_ASSIGNMENTS:
        rate += LARGE_HIT_EXTRA
    if masters:
        rate += MASTERS_EXTRA
    return rate


def reward_fee(reward: Decimal, group_size: int | None, *, masters: bool = False) -> Decimal:
    """MTurk's fee for approving one assignment: $0.40 reward on a 100-assignment HIT -> $0.16."""
    return _apply(reward, reward_rate(group_size, masters=masters))


def bonus_fee(amount: Decimal) -> Decimal:
    """MTurk's fee for one bonus: 20%, at least $0.01 ($1.00 -> $0.20, $0.03 -> $0.01)."""
    return _apply(amount, COMMISSION)


def parse_max_assignments(text: str) -> int | None:
    """MaxAssignments as read from a batch file ("100") -> 100; blank or unreadable -> None."""
    t = (text or "").strip()
    return int(t) if t.isdigit() else None


def row_reward_owed(row: PlanRow) -> bool:
    """Approving this row pays its reward: decision approve and status Submitted (blank counts as
    Submitted: a batch file edited in Excel may have lost the column; better to over-estimate)."""
    return row.decision == "approve" and row.status.strip() in ("", "Submitted")


class MTurkFees:
    """platform.FeeSchedule for MTurk. MTurk is prepaid: a HIT's rewards and their fees leave the
    available balance when the HIT is published, so a payout draws only its bonuses and their fees."""

    # cost(rows) is a sum of each row's own cost (every field of the CostSummary): k rows alike cost
    # k times one of them (plan_summary counts a million rows that way).
    additive = True

    def __init__(self, *, masters: bool = False) -> None:
        self.masters = masters  # the HITs required Masters (batch files do not say: `pay --masters`)

    def cost(self, rows: Iterable[PlanRow]) -> CostSummary:
        return cost_summary(rows, masters=self.masters)


def cost_summary(rows: Iterable[PlanRow], *, masters: bool = False, masters_hits: frozenset[str] = frozenset()) -> CostSummary:
    """The money a set of plan rows would move: rewards owed, bonuses, MTurk fees, total.

    `masters_hits`: HIT IDs that required Masters (the batch files do not say so; the caller knows).
    """
    approvals = owed = bonus_count = unknown = 0
    rewards = reward_fees = bonuses = bonus_fees = ZERO
    # A study has a handful of distinct (reward, size) pairs; parse each once, not once per row.
    seen: dict[tuple[str, str, bool], tuple[Decimal, Decimal] | None] = {}
    for row in rows:
        if row.decision == "approve":
            approvals += 1
            if row_reward_owed(row):
                owed += 1
                key = (row.reward, row.group_size, masters or row.group_id in masters_hits)
                if key not in seen:
                    try:
                        reward = parse_amount(row.reward) if row.reward.strip() else None
                    except AmountError:
                        reward = None
                    seen[key] = None if reward is None else (
                        reward, reward_fee(reward, parse_max_assignments(row.group_size), masters=key[2]))
                paid = seen[key]
                if paid is None:
                    unknown += 1
                else:
                    rewards += paid[0]
                    reward_fees += paid[1]
        if row.bonus is not None and row.bonus > 0:
            bonus_count += 1
            bonuses += row.bonus
            bonus_fees += bonus_fee(row.bonus)
    return CostSummary(
        approvals=approvals,
        approvals_owed=owed,
        rewards=rewards,
        reward_fees=reward_fees,
        bonus_count=bonus_count,
        bonuses=bonuses,
        bonus_fees=bonus_fees,
        unknown_rewards=unknown,
        rewards_prefunded=True,
    )
