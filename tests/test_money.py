"""Money: Decimal from text, two decimals at most, nothing rounded quietly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.money import AmountError, format_amount, format_usd, parse_amount, round_cents


@pytest.mark.parametrize(
    "text, expected",
    [
        ("$0.40", "0.40"),
        ("0.4", "0.40"),
        ("2", "2.00"),
        (" 1.50 ", "1.50"),
        ("$1,234.50", "1234.50"),
        (".5", "0.50"),
        ("0", "0.00"),
    ],
)
def test_parse_amount_accepts_dollar_text(text, expected):
    assert parse_amount(text) == Decimal(expected)
    assert format_amount(parse_amount(text)) == expected


@pytest.mark.parametrize("text", ["", "abc", "0.975", "-1.00", "1.00$", "$-1", "1e3", "NaN", "1,00", "1.2.3", "$ 1"])
def test_parse_amount_refuses_what_it_would_have_to_guess(text):
    with pytest.raises(AmountError):
        parse_amount(text)


def test_parse_amount_refuses_float():
    with pytest.raises(AmountError):
        parse_amount(0.5)  # type: ignore[arg-type]


def test_round_cents_is_half_up():
    assert round_cents(Decimal("0.125")) == Decimal("0.13")
    assert round_cents(Decimal("0.135")) == Decimal("0.14")  # banker's rounding would give 0.14 too
    assert round_cents(Decimal("0.145")) == Decimal("0.15")  # banker's would give 0.14
    assert round_cents(Decimal("2.004")) == Decimal("2.00")


def test_format_amount_refuses_more_than_cents():
    with pytest.raises(AmountError):
        format_amount(Decimal("0.975"))
    with pytest.raises(TypeError):
        format_amount(1.5)  # type: ignore[arg-type]


def test_format_usd_for_people():
    assert format_usd(Decimal("1234.5")) == "$1,234.50"


@given(st.integers(min_value=0, max_value=10**9))
def test_money_round_trips_through_text(cents):
    value = Decimal(cents) / 100
    text = format_amount(value)
    assert parse_amount(text) == value
    assert parse_amount("$" + text) == value
    assert format_amount(parse_amount(text)) == text
