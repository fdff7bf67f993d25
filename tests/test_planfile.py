"""The plan CSV round-trips, survives Excel-style BOMs and reordering, and is written atomically."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.errors import InputError, RefusedError
from reconcile.models import Plan, PlanRow, SourceRef
from reconcile.planfile import (
    FIELDS,
    plan_digest,
    read_plan_rows,
    record_shown,
    refuse_unseen_edits,
    responses_sidecar_path,
    shown_path,
    was_shown,
    write_plan,
    rows_digest,
    written_digest,
)


def _row(i: int, decision="approve", bonus: Decimal | None = Decimal("0.50"), feedback="") -> PlanRow:
    return PlanRow(
        submission_id=f"A{i:05d}",
        participant_id=f"AW{i:05d}",
        group_id="HIT1",
        decision=decision,
        reason="code_match",
        detail="The code matches response R_1.",
        code=f"{i:07d}",
        response_id=f"R_{i}",
        bonus=bonus,
        feedback=feedback,
        source=f"batch.csv:{i + 2}",
    )


def test_write_then_read_keeps_every_cell(tmp_path):
    rows = (_row(1), _row(2, "reject", None, 'Code "123", not ours,\nsorry'), _row(3, "review", None))
    path = tmp_path / "plan.csv"
    write_plan(Plan(platform="mturk", rows=rows), path)
    read = read_plan_rows(path)
    assert [r.line for r in read] == [2, 3, 4]
    assert read[0].cells["code"] == "0000001"  # leading zeros kept: text, not numbers
    assert read[1].cells["feedback"] == 'Code "123", not ours,\nsorry'
    assert read[0].cells["bonus"] == "0.50" and read[1].cells["bonus"] == ""
    assert list(read[0].cells) == [f for f in FIELDS if f != "category"]  # MTurk plans have no rejection category
    assert responses_sidecar_path(path).is_file()


def test_source_ref_round_trips_with_colons_in_path():
    ref = SourceRef("C:/data/batch.csv", 12)
    assert SourceRef.parse(str(ref)) == ref


def test_missing_plan_is_one_sentence(tmp_path):
    with pytest.raises(InputError, match="no such plan file"):
        read_plan_rows(tmp_path / "nope.csv")


def test_not_a_plan_names_missing_columns(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="missing columns"):
        read_plan_rows(p)


def test_digest_ignores_order_and_notes_but_not_decisions(tmp_path):
    path = tmp_path / "plan.csv"
    write_plan(Plan(platform="mturk", rows=(_row(1), _row(2))), path)
    cells = [r.cells for r in read_plan_rows(path)]
    base = plan_digest(cells)
    assert plan_digest(list(reversed(cells))) == base
    assert plan_digest([{**cells[0], "detail": "PI note"}, cells[1]]) == base
    assert plan_digest([{**cells[0], "decision": "reject"}, cells[1]]) != base
    assert plan_digest([{**cells[0], "bonus": "0.51"}, cells[1]]) != base


def test_shown_digest_is_remembered(tmp_path):
    path = tmp_path / "plan.csv"
    assert not was_shown(path, "abc")
    record_shown(path, "abc")
    assert was_shown(path, "abc") and not was_shown(path, "abd")


def test_written_and_shown_digests_live_side_by_side(tmp_path):
    """write_plan remembers what it wrote without counting it as shown (the executor still asks),
    and a dry run's record keeps what match wrote."""
    path = tmp_path / "plan.csv"
    plan = Plan(platform="mturk", rows=(_row(1), _row(2, "reject", None, "Your code is from another study.")))
    write_plan(plan, path)
    digest = plan_digest(r.cells for r in read_plan_rows(path))
    assert written_digest(plan) == digest  # what was written is what a reader gets back
    assert not was_shown(path, digest)
    refuse_unseen_edits(path)  # the tool's own plan: replacing it loses nothing
    record_shown(path, "edited")
    assert was_shown(path, "edited")
    record_shown(path, "edited")

    assert json.loads(shown_path(path).read_text()) == {"written_by_match": [digest], "digests": ["edited"]}


def test_refuse_unseen_edits(tmp_path):
    path = tmp_path / "plan.csv"
    refuse_unseen_edits(path)  # nothing there yet
    write_plan(Plan(platform="mturk", rows=(_row(1),)), path)
    path.write_text(path.read_text(encoding="utf-8-sig").replace(",approve,", ",skip,"), encoding="utf-8")
    with pytest.raises(RefusedError, match="holds edits"):
        refuse_unseen_edits(path)
    refuse_unseen_edits(path, force=True)
    shown_path(path).write_text("not json")  # a damaged record remembers nothing
    write_plan(Plan(platform="mturk", rows=(_row(1),)), path)
    refuse_unseen_edits(path)
    path.write_bytes(b"\xff\xfe binary")
    with pytest.raises(RefusedError, match="is not a reconcile plan"):
        refuse_unseen_edits(path)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=20), st.sampled_from(["approve", "review", "reject", "skip"])), min_size=1, max_size=6))
def test_written_digest_matches_the_file(tmp_path_factory, cells):
    rows = tuple(
        PlanRow(f" A{i}", "W", "H", decision, "r", "", "", "", Decimal("1.50") if decision == "approve" else None, feedback, "b.csv:2")
        for i, (feedback, decision) in enumerate(cells)
    )
    for platform in ("mturk", "prolific"):
        if platform == "prolific":  # a plan with categories on its rejects: part of what the digest covers
            rows = tuple(dataclasses.replace(r, category="LOW_EFFORT" if r.decision == "reject" else "") for r in rows)
        path = tmp_path_factory.mktemp("p") / "plan.csv"
        write_plan(Plan(platform=platform, rows=rows), path)
        read_back = plan_digest(r.cells for r in read_plan_rows(path))
        assert written_digest(Plan(platform=platform, rows=rows)) == read_back == rows_digest(rows)
        # What write_plan remembers as its own (from the cells as it wrote them) is that same digest.
        assert json.loads(shown_path(path).read_text())["written_by_match"] == [read_back]


def test_failed_write_leaves_old_file(tmp_path):
    path = tmp_path / "plan.csv"
    write_plan(Plan(platform="mturk", rows=(_row(1),)), path)
    before = path.read_bytes()

    bad = dataclasses.replace(_row(2), bonus=Decimal("0.125"))  # more than cents: refused mid-write
    with pytest.raises(Exception):  # noqa: B017 - any failure will do: the point is the file left as it was
        write_plan(Plan(platform="mturk", rows=(_row(1), bad)), path)
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(text, text, st.integers(0, 10**6)), min_size=1, max_size=8))
def test_any_text_round_trips(tmp_path_factory, cells):
    rows = tuple(
        PlanRow(f"A{i}", "W", "H", "review", "r", detail, code, "", Decimal(c) / 100, "", "b.csv:2")
        for i, (detail, code, c) in enumerate(cells)
    )
    path = tmp_path_factory.mktemp("p") / "plan.csv"
    write_plan(Plan(platform="mturk", rows=rows), path)
    read = read_plan_rows(path)
    # Blank rows are skipped on read only when every cell is blank, which never happens (assignment_id).
    assert len(read) == len(rows)
    for row, raw in zip(rows, read):
        assert raw.cells["detail"] == row.detail
        assert raw.cells["code"] == row.code
        assert Decimal(raw.cells["bonus"]) == row.bonus


def test_fast_writer_and_dict_view_agree():
    from reconcile.planfile import plan_row_cells, plan_row_to_text

    row = PlanRow(
        "A1", "W1", "H1", "approve", "code_match", "d", "0012", "R_1", Decimal("1.50"), "fb", "b.csv:2",
        ("duplicate_ip", "short_duration"), "Submitted", "$0.40", "100", "Wed Nov 15 08:28:41 PST 2017",
    )
    assert dict(zip(FIELDS, plan_row_cells(row))) == plan_row_to_text(row)


_KEY_TEXT = st.text(alphabet=st.sampled_from(["a", "b", "A", " ", "\x1f", "\x1e", "\x01", "\u00e9", "\U0001f600", "~"]), max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.tuples(*[_KEY_TEXT] * 6), st.tuples(*[_KEY_TEXT] * 7)), max_size=8))
def test_digest_of_key_bytes_is_the_digest_of_the_keys(keys):
    from reconcile.planfile import _digest_of_key_bytes, _digest_of_keys, _key_bytes

    as_bytes = [_key_bytes(k) for k in keys]
    for k, b in zip(keys, as_bytes):
        # None exactly where a cell holds a character below U+0020 (where bytes could sort otherwise)
        assert (b is None) == any(ch < " " for cell in k for ch in cell)
    if None not in as_bytes:
        assert _digest_of_key_bytes(as_bytes) == _digest_of_keys(keys)
