"""The per-row models are slotted, and records.frozen_record / records.replaced build them without
the frozen __init__: the objects must be the ones the __init__ and dataclasses.replace give."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.models import DuplicateRow, PlanRow, Response, ResponseOutcome, SourceRef, Submission
from reconcile.records import frozen_record, record_fields, record_maker, replaced

ROW_MODELS = (SourceRef, Response, Submission, DuplicateRow, PlanRow, ResponseOutcome)


@pytest.mark.parametrize("cls", ROW_MODELS)
def test_row_models_have_no_dict(cls):
    assert "__slots__" in cls.__dict__
    assert not hasattr(frozen_record(cls, **{f.name: f.name for f in dataclasses.fields(cls)}), "__dict__")


text = st.text(max_size=8)
plan_rows = st.builds(
    PlanRow, text, text, text, st.sampled_from(["approve", "reject", "review", "skip"]), text, text, text, text,
    st.one_of(st.none(), st.decimals(places=2, min_value=0, max_value=10)), text, text,
    st.lists(text, max_size=3).map(tuple), text, text, text, text, text,
)


@settings(max_examples=60, deadline=None)
@given(plan_rows, st.dictionaries(st.sampled_from([f.name for f in dataclasses.fields(PlanRow)]), text, max_size=4))
def test_built_and_replaced_records_equal_the_dataclass_ones(row, changes):
    assert frozen_record(PlanRow, **record_fields(row)) == row
    again = replaced(row, **changes)
    assert again == dataclasses.replace(row, **changes)
    assert hash(again) == hash(dataclasses.replace(row, **changes))
    assert row == frozen_record(PlanRow, **record_fields(row))  # the original is untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        again.decision = "approve"  # type: ignore[misc]


@settings(max_examples=60, deadline=None)
@given(plan_rows)
def test_positional_maker_equals_the_dataclass_init(row):
    values = [getattr(row, f.name) for f in dataclasses.fields(PlanRow)]
    made = record_maker(PlanRow)(*values)
    assert made == PlanRow(*values) and hash(made) == hash(row) and repr(made) == repr(row)
    with pytest.raises(TypeError):
        record_maker(PlanRow)(*values[:-1])  # every field, always
    with pytest.raises(TypeError, match="not slotted"):
        record_maker(type("Plain", (), {}))


def test_replacing_an_unknown_field_is_refused():
    row = ResponseOutcome("R_1", "matched", "code_match", "", "c", "W", "A", "e.csv:4")
    with pytest.raises(TypeError, match="no field"):
        replaced(row, outcom="unmatched")
    assert replaced(row, reason="x") == dataclasses.replace(row, reason="x")
    assert replaced(SourceRef("a.csv", 2), row=3) == SourceRef("a.csv", 3)
