"""The PI's workbook, read back with openpyxl: sheets, cell types, styles, freeze panes, filters."""

from __future__ import annotations

import zipfile
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile import report
from reconcile.errors import InputError
from reconcile.models import Plan, PlanRow, ResponseOutcome
from reconcile.platforms.mturk import PLATFORM as MTURK
from reconcile.report import (
    DECISION_COLOURS,
    FLAGS_SHEET,
    SUMMARY_SHEET,
    responses_sheet,
    submission_columns,
    submissions_sheet,
    write_workbook,
)

ASSIGNMENTS_SHEET = submissions_sheet(MTURK.words)
RESPONSES_SHEET = responses_sheet(MTURK.words)
ASSIGNMENT_COLUMNS = submission_columns(MTURK.words)

D = Decimal


def row(aid, decision="approve", *, code="597423122", bonus=None, flags=(), reason="code_match", feedback="",
        status="Submitted", reward="$0.40", worker="AJAXUZFCLSER6R", detail="matches"):
    return PlanRow(
        submission_id=aid, participant_id=worker, group_id="3PGQRAZX02KSXFVMRF51W2NSTKZSYT", decision=decision,
        reason=reason, detail=detail, code=code, response_id="R_zbRcoOosrbFERIB", bonus=bonus, feedback=feedback,
        source=f"batch.csv:{aid}", flags=tuple(flags), status=status, reward=reward, group_size="100",
        review_deadline="Wed Nov 15 08:28:41 PST 2017",
    )


@pytest.fixture
def plan():
    return Plan(
        rows=(
            row("1", bonus=D("1.50")),
            row("2", "review", code="0123", reason="near_miss", flags=("duplicate_ip",)),
            row("3", "reject", code="1.23457E+11", reason="no_code", feedback="The code does not match."),
            row("4", "skip", code="=HYPERLINK(\"http://evil\",\"x\")", status="Approved", reason="already_approved"),
            row("5", "review", code="#N/A", reason="worker_mismatch", detail="typed \x07 bell\r\nline two"),
        ),
        responses=(
            ResponseOutcome("R_1", "matched", "code_match", "", "597423122", "", "1", "q.csv:4"),
            ResponseOutcome("R_2", "unmatched", "no_assignment", "no assignment", "00777", "ax1", "", "q.csv:5"),
            ResponseOutcome("R_3", "excluded", "survey_preview", "a preview", "", "", "", "q.csv:6"),
        ),
        inputs=("q.csv (3 rows)", "batch.csv (5 rows)"),
        warnings=("2 assignments auto-approve within 24 hours",),
    )


def load(path):
    return openpyxl.load_workbook(path)


def values(ws):
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_sheets_and_assignments(tmp_path, plan):
    p = tmp_path / "r.xlsx"
    write_workbook(p, plan, platform=MTURK)
    wb = load(p)
    assert wb.sheetnames == [SUMMARY_SHEET, ASSIGNMENTS_SHEET, RESPONSES_SHEET, FLAGS_SHEET]
    ws = wb[ASSIGNMENTS_SHEET]
    assert [c.value for c in ws[1]] == list(ASSIGNMENT_COLUMNS)
    assert ws.max_row == 6
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:O6"
    col = {name: i for i, name in enumerate(ASSIGNMENT_COLUMNS)}
    for r in ws.iter_rows(min_row=2):
        for name in ("Code", "Worker ID", "Assignment ID", "HIT ID", "Matched response"):
            assert r[col[name]].data_type == "s", (name, r[col[name]].value)
    codes = [r[col["Code"]].value for r in ws.iter_rows(min_row=2)]
    assert codes == ["597423122", "0123", "1.23457E+11", '=HYPERLINK("http://evil","x")', "#N/A"]
    assert ws.cell(2, col["Assignment ID"] + 1).value == "1"  # an ID that looks like a number stays text
    bonus = ws.cell(2, col["Bonus"] + 1)
    assert bonus.data_type == "n" and bonus.value == 1.5 and "$" in bonus.number_format
    assert ws.cell(3, col["Bonus"] + 1).value is None
    reward = ws.cell(2, col["Reward"] + 1)
    assert reward.value == 0.4 and "$" in reward.number_format
    for r, decision in zip(ws.iter_rows(min_row=2), ["approve", "review", "reject", "skip", "review"]):
        assert r[0].value == decision
        assert r[0].fill.fgColor.rgb == "FF" + DECISION_COLOURS[decision]
    assert ws.cell(3, col["Flags"] + 1).value == "duplicate_ip"
    assert ws.cell(6, col["Detail"] + 1).value == "typed \ufffd bell\nline two"  # control chars cannot go in XML
    assert all(ws.column_dimensions[c].width >= 8 for c in "ABCDEFGHIJKLMNO")
    assert ws.column_dimensions["C"].width <= 71


def test_no_formulas_anywhere(tmp_path, plan):
    p = tmp_path / "r.xlsx"
    write_workbook(p, plan, platform=MTURK)
    with zipfile.ZipFile(p) as zf:
        for name in zf.namelist():
            assert b"<f>" not in zf.read(name), name


def test_responses_and_flags_sheets(tmp_path, plan):
    p = tmp_path / "r.xlsx"
    write_workbook(p, plan, platform=MTURK)
    wb = load(p)
    resp = wb[RESPONSES_SHEET]
    assert resp.freeze_panes == "A2" and resp.auto_filter.ref == "A1:H3"
    data = values(resp)[1:]
    assert [(r[0], r[3], r[4]) for r in data] == [("unmatched", "R_2", "00777"), ("excluded", "R_3", None)]
    flags = wb[FLAGS_SHEET]
    assert flags.freeze_panes == "A2"
    got = [(r[0], r[1], r[4]) for r in values(flags)[1:]]
    assert got == [("near_miss", "review", "2"), ("duplicate_ip", "review", "2"), ("no_code", "reject", "3"),
                   ("worker_mismatch", "review", "5")]


def test_summary_counts_money_and_warnings(tmp_path, plan):
    p = tmp_path / "r.xlsx"
    write_workbook(p, plan, title="Study X", platform=MTURK)
    ws = load(p)[SUMMARY_SHEET]
    rows = values(ws)
    assert rows[0][0] == "Study X"
    flat = {r[0]: r for r in rows if r and r[0]}
    assert flat["approve"][1] == 1 and flat["review"][1] == 2 and flat["reject"][1] == 1 and flat["skip"][1] == 1
    assert flat["Assignments"][1] == 5
    assert flat["Rewards owed"][1] == 0.4
    assert flat["Bonuses"][1] == 1.5
    assert flat["MTurk fees"][1] == pytest.approx(0.16 + 0.30)
    assert flat["Total cost"][1] == pytest.approx(2.36)
    money_cells = [r[1] for r in ws.iter_rows() if r[0].value in ("Rewards owed", "Bonuses", "MTurk fees", "Total cost")]
    assert all(c.data_type == "n" and "$" in c.number_format for c in money_cells)
    texts = [str(c) for r in rows for c in r if c]
    assert "q.csv (3 rows)" in texts and "batch.csv (5 rows)" in texts
    assert "2 assignments auto-approve within 24 hours" in texts
    assert any("flagged duplicate_ip" in t for t in texts)
    assert flat["PLAN"] and not any("DRY RUN" == t for t in texts)
    assert ("near_miss", 1, "review") in [tuple(r[:3]) for r in rows]


def test_dry_run_says_nothing_was_done(tmp_path, plan):
    p = tmp_path / "r.xlsx"
    write_workbook(p, plan, dry_run=True, platform=MTURK)
    rows = values(load(p)[SUMMARY_SHEET])
    banner = [r for r in rows if r[0] == "DRY RUN"]
    assert banner and "Nothing has been done" in banner[0][2]


def test_empty_plan(tmp_path):
    p = tmp_path / "r.xlsx"
    write_workbook(p, Plan(platform="mturk", rows=()), platform=MTURK)
    wb = load(p)
    assert wb[ASSIGNMENTS_SHEET].max_row == 1
    assert wb[ASSIGNMENTS_SHEET].auto_filter.ref == "A1:O1"


def test_missing_folder_is_an_input_error(tmp_path, plan):
    with pytest.raises(InputError, match="does not exist"):
        write_workbook(tmp_path / "no" / "r.xlsx", plan, platform=MTURK)
    with pytest.raises(InputError, match="folder"):
        write_workbook(tmp_path, plan, platform=MTURK)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_the_old_workbook(tmp_path, plan, monkeypatch):
    import reconcile.report as report

    p = tmp_path / "r.xlsx"
    write_workbook(p, plan, platform=MTURK)
    before = p.read_bytes()
    real = report._submission_cells

    def breaks_mid_stream(r):
        if r.submission_id == "4":
            raise RuntimeError("disk on fire")
        return real(r)

    monkeypatch.setattr(report, "_submission_cells", breaks_mid_stream)
    with pytest.raises(RuntimeError):
        write_workbook(p, plan, platform=MTURK)
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["r.xlsx"]


text_st = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(text_st, text_st, st.sampled_from(["approve", "reject", "review", "skip", "weird"])), max_size=12))
def test_any_text_round_trips_as_text(tmp_path, items):
    """Whatever workers typed comes back as the same text cell (XML-illegal characters aside)."""
    import re

    rows = tuple(row(str(i), d, code=c, worker=w) for i, (c, w, d) in enumerate(items))
    p = tmp_path / "prop.xlsx"
    write_workbook(p, Plan(platform="mturk", rows=rows), platform=MTURK)
    ws = load(p)[ASSIGNMENTS_SHEET]
    assert ws.max_row == len(rows) + 1
    illegal = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
    for r, got in zip(rows, ws.iter_rows(min_row=2)):
        for want, cell in ((r.code, got[3]), (r.participant_id, got[4]), (r.decision, got[0])):
            expect = illegal.sub("\ufffd", want.replace("\r\n", "\n").replace("\r", "\n"))
            assert (cell.value or "") == expect
            if want:
                assert cell.data_type == "s"


_MEMO_VALUE = st.one_of(
    st.sampled_from(["approve", "", " padded ", "a&b", "x\r\ny", "R_1", "A1B2", "\u00e9t\u00e9", "\x01"]),
    st.sampled_from([Decimal("0.4"), Decimal("0.40"), 1, 1.0]),
    st.text(max_size=3),
    st.none(),
)
_MEMO_CELL = st.one_of(_MEMO_VALUE, st.tuples(_MEMO_VALUE.filter(lambda v: v is not None), st.sampled_from([0, 4, 7, 11])))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_MEMO_CELL, min_size=3, max_size=3), max_size=25), st.sampled_from([1, 2, 100]))
def test_remembered_cells_are_written_as_they_would_be_anew(rows, memo_cells):
    # Equal values written differently (Decimal("0.4") / Decimal("0.40"), 1 / 1.0) are never mixed up,
    # nor a column's style for a bare value with a cell's own, nor a column that stops being remembered.
    def xml(limit: int) -> str:
        sheet = report._Sheet("S", 3, len(rows), iter(rows), widths=[8, 8, 8])
        sheet.styles = [0, report.S_READ_ONLY, report.S_MONEY]
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(report, "_MEMO_CELLS", limit)
            return "".join(report._sheet_xml(sheet, selected=False))

    assert xml(memo_cells) == xml(0)  # 0: nothing remembered


def test_a_cell_past_excels_limit_is_cut_even_when_it_needs_no_escaping():
    sheet = report._Sheet("S", 2, 1, iter([["A" * 40000, "a&" * 20000]]), widths=[8, 8])
    xml = "".join(report._sheet_xml(sheet, selected=False))
    assert f"<t>{'A' * 32767}</t>" in xml and "A" * 32768 not in xml
    assert "a&amp;" in xml and "a&amp;" * 16384 not in xml
