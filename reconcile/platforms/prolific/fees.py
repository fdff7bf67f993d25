"""Prolific's fees as the dry run shows them (platform.FeeSchedule).

Rewards and their fees left the workspace's balance when the study was published, so a payout
draws only bonuses, the service fee on them and VAT on that fee (PROLIFIC.md §1.12: "we charge a
~33.33% service charge on each bonus payment + VAT where applicable"). Prolific computes its fee
per bonus set-up in fractional pence (850 -> 283.34); the estimate here rounds each group's fee and
VAT up to the penny, so the balance check never under-counts. The set-up call's `total_amount` is
what is really drawn, and the payer journals it.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Iterable

from ...errors import InputError
from ...models import PlanRow
from ...platform import CostSummary

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
ONE_THIRD = Decimal(1) / Decimal(3)


def parse_rate(text: str, option: str) -> Decimal:
    """'33.33%', '0.3333' or '1/3' -> a Decimal fraction in [0, 1); one sentence otherwise."""
    t = (text or "").strip()
    try:
        if t.endswith("%"):
            rate = Decimal(t[:-1].strip()) / 100
        elif "/" in t:
            num, den = t.split("/", 1)
            rate = Decimal(num.strip()) / Decimal(den.strip())
        else:
            rate = Decimal(t)
    except (InvalidOperation, ZeroDivisionError, ValueError):
        raise InputError(f"{option} {text!r} is not a rate; write it as 33.33%, 0.3333 or 1/3.") from None
    if not rate.is_finite() or rate < 0 or rate >= 1:
        raise InputError(f"{option} {text!r} is outside 0% to 100%; write it as 33.33%, 0.3333 or 1/3.")
    return rate


class ProlificFees:
    def __init__(self, *, fee_rate: Decimal = ONE_THIRD, vat_rate: Decimal = Decimal(0)) -> None:
        self.fee_rate = fee_rate
        self.vat_rate = vat_rate

    def bonus_fee(self, amount: Decimal) -> Decimal:
        return (amount * self.fee_rate).quantize(CENT, rounding=ROUND_CEILING)

    def vat(self, fee: Decimal) -> Decimal:
        return (fee * self.vat_rate).quantize(CENT, rounding=ROUND_CEILING)

    def cost(self, rows: Iterable[PlanRow]) -> CostSummary:
        approvals = owed = bonus_count = 0
        bonuses = ZERO
        for row in rows:
            if row.decision == "approve":
                approvals += 1
                if row.status.strip().upper() in ("", "AWAITING REVIEW"):
                    owed += 1
            if row.bonus is not None and row.bonus > 0:
                bonus_count += 1
                bonuses += row.bonus
        fee = self.bonus_fee(bonuses)
        return CostSummary(
            approvals=approvals,
            approvals_owed=owed,
            rewards=ZERO,  # funded when the study was published: nothing more is drawn for them
            reward_fees=ZERO,
            bonus_count=bonus_count,
            bonuses=bonuses,
            bonus_fees=fee,
            unknown_rewards=0,
            tax=self.vat(fee),
            rewards_prefunded=True,
        )
