"""The workbook's sheets written a block of rows at a time (report._block_xml) give exactly the XML of
the cell-by-cell writer they replaced, kept here verbatim (old_sheet_xml, main at 89f16e6) as the
reference: any cells (None, texts, numbers, (value, style)), hostile texts, empty and long cells,
columns with and without a style, rows of other widths, several blocks sharing their memories."""

from __future__ import annotations

from decimal import Decimal
from typing import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile import report
from reconcile.models import Plan, PlanRow
from reconcile.planfile import FIELDS, plan_row_cells
from reconcile.platforms.mturk import PLATFORM as MTURK
from reconcile.platforms.prolific import PLATFORM as PROLIFIC
from reconcile.report import _NEEDS_ESCAPE, _StyleAttrs, _attr, _col_letter, _number, _xml_text

def old_sheet_xml(sheet, *, selected: bool) -> Iterator[str]:
    last_col = _col_letter(sheet.ncols - 1)
    letters = [_col_letter(i) for i in range(sheet.ncols)]
    yield ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
           'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">')
    yield f'<dimension ref="A1:{last_col}{max(sheet.nrows, 1)}"/>'
    sel = ' tabSelected="1"' if selected else ""
    if sheet.frozen:
        yield (f'<sheetViews><sheetView workbookViewId="0"{sel}><pane ySplit="1" topLeftCell="A2" '
               'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" '
               'sqref="A2"/></sheetView></sheetViews>')
    else:
        yield f'<sheetViews><sheetView workbookViewId="0"{sel}/></sheetViews>'
    yield '<sheetFormatPr defaultRowHeight="15"/><cols>'
    yield "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>' for i, w in enumerate(sheet.widths))
    yield "</cols><sheetData>"
    buf: list[str] = []
    append = buf.append
    # Per cell only what differs from cell to cell: the opening '<c r="B' of each column and the
    # ' s="N"' of each style are made once, the escaping test is one regex search (most cells
    # need none), and the row number is formatted once per row. (A million rows x 15 cells.)
    opens = [f'<c r="{x}' for x in letters]
    s_attrs: dict[int, str] = _StyleAttrs()
    column_attrs = [s_attrs[style] for style in sheet.styles] + [""] * (sheet.ncols - len(sheet.styles))
    needs_escape = _NEEDS_ESCAPE.search
    ends = " \t\n"
    # A column's cells often repeat (decisions, reasons, statuses, groups): the rest of a cell after its
    # row number (its "tail") is remembered per distinct text, for up to report._MEMO_CELLS texts a column.
    # A column of mostly distinct texts (IDs) stops being remembered. Only texts are remembered:
    # Decimal("0.4") == Decimal("0.40") (and 1 == 1.0), and each is written as it is.
    memos: list[dict | None] = [{} for _ in range(sheet.ncols)]
    for r, values in enumerate(sheet.rows, start=1):
        row = f'{r}"'
        append(f'<row r="{row}>')
        for j, cell in enumerate(values):
            if cell is None:
                continue
            memo = memos[j]
            if memo is not None:
                tail = memo.get(cell)
                if tail is not None:
                    if tail:
                        append(f"{opens[j]}{row}{tail}")
                    continue
            if type(cell) is tuple:
                v, style = cell
                s_attr = s_attrs[style]
            else:
                v = cell
                s_attr = column_attrs[j]
            if isinstance(v, str):
                if not v:  # an empty cell that still shows its kind (read-only fill, money format), else none
                    tail = f"{s_attr}/>" if s_attr else ""
                elif v.isalnum() and len(v) <= 32767:  # most IDs and codes: nothing to escape, no space at an end
                    tail = f'{s_attr} t="inlineStr"><is><t>{v}</t></is></c>'
                else:
                    t = _xml_text(v) if len(v) > 32767 or needs_escape(v) else v
                    if t[0] in ends or t[-1] in ends:
                        tail = f'{s_attr} t="inlineStr"><is><t xml:space="preserve">{t}</t></is></c>'
                    else:
                        tail = f'{s_attr} t="inlineStr"><is><t>{t}</t></is></c>'
            else:
                tail = f"{s_attr}><v>{_number(v)}</v></c>"
            if tail:
                append(f"{opens[j]}{row}{tail}")
            if memo is not None:
                if type(v) is not str:
                    memos[j] = None
                elif len(memo) < report._MEMO_CELLS:
                    memo[cell] = tail
                elif r < 2 * report._MEMO_CELLS:
                    memos[j] = None
        append("</row>")
        if len(buf) > 20000:
            yield "".join(buf)
            buf.clear()
    yield "".join(buf)
    yield "</sheetData>"
    if sheet.filtered:
        yield f'<autoFilter ref="A1:{last_col}{max(sheet.nrows, 1)}"/>'
    if sheet.colour_rules:
        # Conditional fills: the decision's colour follows an edit (the static fill is for readers that ignore these).
        for ref in dict.fromkeys(r for r, _, _ in sheet.colour_rules):
            yield f'<conditionalFormatting sqref="{ref}">'
            for i, (rule_ref, value, dxf) in enumerate(sheet.colour_rules, start=1):
                if rule_ref == ref:
                    yield (f'<cfRule type="cellIs" dxfId="{dxf}" priority="{i}" operator="equal">'
                           f'<formula>"{_attr(value)}"</formula></cfRule>')
            yield "</conditionalFormatting>"
    if sheet.validations:
        yield f'<dataValidations count="{len(sheet.validations)}">{"".join(sheet.validations)}</dataValidations>'
    yield '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'


_HOSTILE = st.sampled_from([
    "=HYPERLINK(\"http://x\")", "<b>&amp;</b>", "a&b", "x<y>z", "\r\n", "a\rb", "\x00", "\x1f", "\x7f", "a\x7f b",
    "\ud800", "\udfff", "\ufffe", "\uffff", " lead", "trail ", "\ttab", "nl\n", " ", "\xa0nbsp\xa0", "{0}", "}{",
    "A" * 32767, "B" * 32768, "a&" * 16400, " " + "C" * 32767, "", "plain", "R_1x", "The code matches.", "é€😀",
])
_TEXT = st.one_of(_HOSTILE, st.text(max_size=12), st.text(alphabet="ab &<>\x7f\t\n\r", max_size=6))
_NUMBER = st.one_of(st.sampled_from([Decimal("0.4"), Decimal("0.40"), Decimal("-0"), Decimal("1E+2"), Decimal("NaN"),
                                     Decimal("12.345"), 1, 0, 1.0, True]),
                    st.decimals(allow_nan=False, places=2, max_value=1000, min_value=-1000))
_VALUE = st.one_of(_TEXT, _TEXT, _NUMBER, st.none())
_STYLE = st.sampled_from([0, 4, 7, 11, 12])
_CELL = st.one_of(_VALUE, _VALUE, st.tuples(st.one_of(_TEXT, _NUMBER), _STYLE))


@st.composite
def _sheets(draw):
    ncols = draw(st.integers(1, 4))
    styles = draw(st.lists(_STYLE, max_size=ncols))
    # Columns of one kind (as the workbook's are), sometimes, so that blocks take their fast paths.
    kinds = [draw(st.sampled_from([_CELL, _TEXT, st.sampled_from(["x", "yy", "zz z"]), _NUMBER,
                                   st.one_of(st.just(""), _NUMBER), st.tuples(st.sampled_from(["approve", "", "a&"]), _STYLE)]))
             for _ in range(ncols)]
    full = st.tuples(*kinds).map(list)
    short = st.lists(_CELL, max_size=ncols)
    items = draw(st.lists(st.one_of(full, full, full, short), max_size=30))
    header = draw(st.lists(st.lists(_CELL, max_size=ncols), max_size=2))
    return ncols, styles, header, items


def _sheet(ncols, styles, header, items, *, blocks: bool) -> report._Sheet:
    rows = header if blocks else header + items
    sheet = report._Sheet("S", ncols, len(header) + len(items), iter(rows), widths=[8] * ncols)
    sheet.styles = list(styles)
    if blocks:
        sheet.items, sheet.to_cells = items, list
    return sheet


@settings(max_examples=400, deadline=None)
@given(_sheets(), st.sampled_from([1, 2, 3, 2000]), st.sampled_from([1, 4096]))
def test_blocks_write_exactly_what_the_cell_by_cell_writer_wrote(sheet, block_rows, memo_cells):
    ncols, styles, header, items = sheet
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report, "_BLOCK_ROWS", block_rows)
        mp.setattr(report, "_MEMO_CELLS", memo_cells)
        got = "".join(report._sheet_xml(_sheet(ncols, styles, header, items, blocks=True), selected=False))
    want = "".join(old_sheet_xml(_sheet(ncols, styles, header, items, blocks=False), selected=False))
    assert got == want


def test_a_column_of_plain_texts_is_laid_out_without_a_string_per_cell():
    # The common case, checked by hand: opening, row number, style, text, closing; an empty styled cell
    # keeps its style, an empty unstyled one is left out, amounts are numbers.
    attrs = ["", ' s="11"', ' s="4"']
    opens = ['<c r="A', '<c r="B', '<c r="C']
    xml = report._block_xml(5, [["id1", "x", Decimal("1.50")], ["", "", ""]], opens, attrs, report._CellTails(_StyleAttrs()))
    assert xml == ('<row r="5"><c r="A5" t="inlineStr"><is><t>id1</t></is></c><c r="B5" s="11" t="inlineStr"><is><t>x</t>'
                   '</is></c><c r="C5" s="4"><v>1.50</v></c></row>'
                   '<row r="6"><c r="B6" s="11"/><c r="C6" s="4"/></row>')


_ID_TEXT = st.text(max_size=6)
_PLAN_ROWS = st.builds(
    PlanRow, submission_id=_ID_TEXT, participant_id=_ID_TEXT, group_id=_ID_TEXT, decision=_ID_TEXT, reason=_ID_TEXT,
    detail=_ID_TEXT, code=_ID_TEXT, response_id=_ID_TEXT,
    bonus=st.one_of(st.none(), st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=0, max_value=99)),
    feedback=_ID_TEXT, source=_ID_TEXT, flags=st.lists(_ID_TEXT, max_size=2).map(tuple), status=_ID_TEXT,
    reward=_ID_TEXT, group_size=_ID_TEXT, review_deadline=_ID_TEXT, category=_ID_TEXT)


@settings(max_examples=100, deadline=None)
@given(st.lists(_PLAN_ROWS, min_size=1, max_size=5), st.sampled_from([MTURK, PROLIFIC]))
def test_the_identity_sheet_rows_are_the_plan_files_cells(rows, platform):
    plan = Plan(rows=tuple(rows), responses=(), inputs=(), warnings=(), platform=platform.capabilities.name,
                currency=platform.capabilities.currency)
    fields = report.submission_fields(platform)
    sheet = report._identity_sheet(plan, platform.words, fields, digest="d")
    assert sheet is not None and sheet.to_cells is not None
    names = report.IDENTITY_FIELDS + tuple(f for f in fields if f not in report.SUBMISSION_FIELDS)
    for row in rows:
        assert sheet.to_cells(row) == [plan_row_cells(row)[FIELDS.index(f)] for f in names]
