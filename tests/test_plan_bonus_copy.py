"""build_plan's copy of an approved row with its bonus (records.one_field_copier(PlanRow, "bonus")) is the row records.replaced
would make: a PlanRow equal field by field, every other field the same object, the old row untouched."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from reconcile.models import PlanRow
from reconcile.records import one_field_copier, replaced

_TEXT = st.text(max_size=8)
_BONUS = st.one_of(st.none(), st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=0, max_value=99))
_ROWS = st.builds(PlanRow, submission_id=_TEXT, participant_id=_TEXT, group_id=_TEXT, decision=_TEXT, reason=_TEXT,
                  detail=_TEXT, code=_TEXT, response_id=_TEXT, bonus=_BONUS, feedback=_TEXT, source=_TEXT,
                  flags=st.lists(_TEXT, max_size=3).map(tuple), status=_TEXT, reward=_TEXT, group_size=_TEXT,
                  review_deadline=_TEXT, category=_TEXT)


@given(_ROWS, _BONUS)
def test_the_bonus_copy_is_the_replaced_row(row, bonus):
    before = dataclasses.astuple(row)
    got = one_field_copier(PlanRow, "bonus")(row, bonus)
    want = replaced(row, bonus=bonus)
    assert type(got) is PlanRow and got == want and got is not row
    assert got.bonus is bonus
    for f in dataclasses.fields(PlanRow):
        if f.name != "bonus":
            assert getattr(got, f.name) is getattr(row, f.name)
    assert dataclasses.astuple(row) == before  # the old row is not changed


def test_the_copy_keeps_a_decimal_as_given():
    row = PlanRow("s", "p", "g", "approve", "code_match", "d", "c", "r", None, "", "x.csv:2")
    assert str(one_field_copier(PlanRow, "bonus")(row, Decimal("0.40")).bonus) == "0.40"
