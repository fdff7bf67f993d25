"""The --bonus expression language: parsing, Decimal evaluation, rounding half-up, caps, errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.bonus import compute_bonus, parse_bonus, parse_cell_number, parse_max_bonus
from reconcile.errors import InputError
from reconcile.money import format_amount, parse_amount

ROW = {"score": "87", "correct": "12", "Duration (in seconds)": "600", "blank": " ", "text": "n/a", "zero": "0"}


def amount(expr, values=ROW, cap=None, columns=tuple(ROW)):
    return compute_bonus(parse_bonus(expr, columns), values, max_bonus=cap, where="export.csv row 4")


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("0.50", "0.50"),
        ("$1.25", "1.25"),
        ("2", "2.00"),
        ("score / 100", "0.87"),
        ("score / 100 * 2", "1.74"),
        ("(correct - 10) * 0.05", "0.10"),
        ("correct * 0.125 / 10", "0.15"),  # 0.15 exactly
        ("score * 0.0125", "1.09"),  # 1.0875 -> half-up 1.09
        ("0.005 * 1", "0.01"),  # 0.005 -> half-up 0.01 (banker's rounding would give 0.00)
        ("-correct + 13", "1.00"),
        ("max(0, correct - 20)", None),
        ("min(score, 1)", "1.00"),
        ("Duration (in seconds)", "600.00"),
        ('"Duration (in seconds)" / 600', "1.00"),
        ("`Duration (in seconds)` / 1200", "0.50"),
        ("score/3", "29.00"),
        ("1/3", "0.33"),
        ("2/3", "0.67"),
    ],
)
def test_evaluation(expr, expected):
    res = amount(expr)
    assert res.amount == (None if expected is None else Decimal(expected))


def test_cap_and_flags():
    res = amount("score / 10", cap=Decimal("5.00"))
    assert res.amount == Decimal("5.00") and res.flags == ("bonus_capped",) and "8.70" in res.note
    assert amount("score / 10", cap=Decimal("9.00")).amount == Decimal("8.70")
    blank = amount("blank * 2")
    assert blank.amount is None and blank.flags == ("bonus_blank",) and "'blank'" in blank.note
    assert amount("zero").amount is None  # a zero bonus is no bonus


@pytest.mark.parametrize(
    "expr, fragment",
    [
        ("", "empty"),
        ("score +", "ends too early"),
        ("(score", "ends too early"),
        ("score )", "unexpected ')'"),
        ("score ^ 2", "unexpected '^'"),
        ('"unclosed', "unclosed"),
        ("0.505", "two decimals"),
        ("__import__('os')", "unexpected"),
    ],
)
def test_syntax_errors_are_one_sentence(expr, fragment):
    with pytest.raises(InputError) as exc:
        parse_bonus(expr)
    assert fragment in str(exc.value) and "\n" not in str(exc.value)


def test_value_errors_name_row_and_column():
    with pytest.raises(InputError, match=r"export.csv row 4, column 'text': 'n/a' is not a number"):
        amount("text * 2")
    with pytest.raises(InputError, match="divides by zero"):
        amount("score / zero")
    with pytest.raises(InputError, match="negative"):
        amount("correct - 20")


def test_unknown_column_suggests_case_fix():
    expr = parse_bonus("Score / 100")
    assert expr.columns == ("Score",)
    with pytest.raises(InputError, match="no column 'Score'.*Did you mean 'score'"):
        expr.check_columns(list(ROW), "export.csv")
    parse_bonus("score/100").check_columns(list(ROW), "export.csv")


def test_max_bonus_parsing():
    assert parse_max_bonus(None) is None
    assert parse_max_bonus("5") == Decimal("5.00")
    with pytest.raises(InputError, match="--max-bonus"):
        parse_max_bonus("5.001")
    with pytest.raises(InputError):
        parse_max_bonus("-1")


@pytest.mark.parametrize("cell, value", [("12", "12"), (" 0.5 ", "0.5"), ("$1.50", "1.50"), ("1,234", "1234"), ("-3", "-3"), ("", None)])
def test_cell_numbers(cell, value):
    assert parse_cell_number(cell) == (None if value is None else Decimal(value))


@pytest.mark.parametrize("cell", ["abc", "1.2.3", "$", "--1"])
def test_cell_not_a_number(cell):
    with pytest.raises(ValueError):
        parse_cell_number(cell)


@settings(max_examples=300, deadline=None)
@given(
    st.decimals(min_value=0, max_value=10000, places=3, allow_nan=False),
    st.decimals(min_value=Decimal("0.001"), max_value=100, places=3, allow_nan=False),
    st.one_of(st.none(), st.decimals(min_value=0, max_value=50, places=2)),
)
def test_bonus_money_round_trips_and_respects_cap(score, divisor, cap):
    res = compute_bonus(parse_bonus(f"score / {divisor}"), {"score": str(score)}, max_bonus=cap, where="x")
    if res.amount is None:
        return
    assert res.amount > 0
    assert parse_amount(format_amount(res.amount)) == res.amount
    assert res.amount == res.amount.quantize(Decimal("0.01"))
    if cap is not None:
        assert res.amount <= cap
    exact = score / divisor
    if cap is None or exact <= cap:
        # half-up: never more than half a cent away, and exactly-half rounds up
        assert abs(res.amount - exact) <= Decimal("0.005")
