"""US-dollar amounts as Decimal, parsed from text. No float anywhere near money.

Imports nothing of ours (house rule).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# "$0.40", "0.40", "1", "1.5", "$1,234.50". A sign or a third decimal is an error, never rounded away.
_AMOUNT_RE = re.compile(r"^\$?(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{0,2})?|\.\d{1,2})$")


class AmountError(ValueError):
    """Text that is not a valid non-negative US-dollar amount with at most two decimals."""


def parse_amount(text: str) -> Decimal:
    """Parse a dollar amount from text ("$0.40", "1.5", "2") into a Decimal quantized to cents.

    Raises AmountError with a sentence (without location; callers add file/row/column).
    """
    if not isinstance(text, str):
        raise AmountError(f"amount must be text, got {type(text).__name__}")
    cleaned = text.strip()
    m = _AMOUNT_RE.match(cleaned)
    if not m:
        raise AmountError(
            f"{text!r} is not a dollar amount with at most two decimals (like 0.50 or $1.25)"
        )
    try:
        value = Decimal(m.group("num").replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the regex already guarantees digits
        raise AmountError(f"{text!r} is not a dollar amount") from exc
    return value.quantize(CENT)


def round_cents(value: Decimal) -> Decimal:
    """Round to cents, half-up (0.125 -> 0.13). The documented rounding of computed bonuses."""
    if not isinstance(value, Decimal):
        raise TypeError("round_cents takes a Decimal")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_amount(value: Decimal) -> str:
    """Decimal -> "1.50": the string MTurk's BonusAmount wants and our files store."""
    if not isinstance(value, Decimal):
        raise TypeError("format_amount takes a Decimal")
    q = value.quantize(CENT)
    if q != value:
        raise AmountError(f"{value} has more than two decimals")
    return f"{q:.2f}"


def format_usd(value: Decimal) -> str:
    """Decimal -> "$1,234.50" for people."""
    return f"${value.quantize(CENT):,.2f}"
