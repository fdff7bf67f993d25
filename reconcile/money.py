"""Amounts as Decimal, parsed from text, and shown with their currency. No float anywhere near money.

Imports nothing of ours (house rule).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Far above any study's payment, and far below where Decimal's 28 digits run out: text above this
# is a slip (or an attack), never an amount to pay or to round quietly.
MAX_AMOUNT = Decimal("1000000000")

# "$0.40", "0.40", "1", "1.5", "$1,234.50". A sign or a third decimal is an error, never rounded away.
# ASCII digits only: \d would also take Arabic-Indic or full-width digits, which Decimal() accepts.
_AMOUNT_RE = re.compile(r"^[$\u00a3\u20ac]?(?P<num>(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{0,2})?|\.[0-9]{1,2})$")


class AmountError(ValueError):
    """Text that is not a valid non-negative amount with at most two decimals."""


def parse_amount(text: str) -> Decimal:
    """Parse an amount from text ("$0.40", "\u00a31.5", "2") into a Decimal quantized to cents (or pence).

    Raises AmountError with a sentence (without location; callers add file/row/column).
    """
    if not isinstance(text, str):
        raise AmountError(f"amount must be text, got {type(text).__name__}")
    cleaned = text.strip()
    m = _AMOUNT_RE.match(cleaned)
    if not m:
        raise AmountError(
            f"{text!r} is not an amount with at most two decimals (like 0.50 or 1.25)"
        )
    try:
        value = Decimal(m.group("num").replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the regex already guarantees digits
        raise AmountError(f"{text!r} is not an amount") from exc
    if value > MAX_AMOUNT:
        raise AmountError(f"{text.strip()[:40]!r} is not a plausible amount (more than {MAX_AMOUNT:,})")
    return value.quantize(CENT)


def round_cents(value: Decimal) -> Decimal:
    """Round to cents, half-up (0.125 -> 0.13). The documented rounding of computed bonuses.

    Raises AmountError for a value beyond MAX_AMOUNT (callers say where it came from)."""
    if not isinstance(value, Decimal):
        raise TypeError("round_cents takes a Decimal")
    if not value.is_finite() or abs(value) > MAX_AMOUNT:
        raise AmountError(f"{value} is not a plausible amount (more than {MAX_AMOUNT:,} in size)")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_amount(value: Decimal) -> str:
    """Decimal -> "1.50": the text platforms take for an amount, and our files store."""
    if not isinstance(value, Decimal):
        raise TypeError("format_amount takes a Decimal")
    q = value.quantize(CENT)
    if q != value:
        raise AmountError(f"{value} has more than two decimals")
    return f"{q:.2f}"


_SYMBOLS = {"USD": "$", "GBP": "\u00a3", "EUR": "\u20ac"}


def format_money(value: Decimal, currency: str = "USD") -> str:
    """Decimal -> "$1,234.50" / "\u00a31,234.50" for people (other currencies: "1,234.50 CHF")."""
    text = f"{value.quantize(CENT):,.2f}"
    symbol = _SYMBOLS.get(currency.upper())
    if symbol is None:
        return f"{text} {currency.upper()}"
    return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"


def format_usd(value: Decimal) -> str:
    """Decimal -> "$1,234.50" for people."""
    return format_money(value, "USD")
