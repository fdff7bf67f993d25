"""csvcolumns: the columns pandas parses and the cells counted from the bytes are the csv module's
records (as csvtext.RecordStream streams them), or the reading hands over to the streamed one."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.importers.csvcolumns import ColumnReading, HandOver, record_widths, share_column
from reconcile.importers.csvtext import NotStreamable, RecordStream, is_blank

_PLAIN = st.text(alphabet="ab ;\t#\\\x1a", max_size=4)
_INNER = st.text(alphabet='ab,;"\n\r \t', max_size=6)


@st.composite
def _cell(draw, delimiter: str) -> str:
    kind = draw(st.integers(0, 9))
    if kind < 5:
        return draw(_PLAIN).replace(delimiter, "")
    if kind < 9:
        return '"' + draw(_INNER).replace('"', '""') + '"'
    return draw(st.sampled_from(['a"b', '"a"b', '"', 'x""']))  # quotes the csv module reads loosely


@st.composite
def _csv_files(draw) -> tuple[bytes, str]:
    """Random CSV bytes: quoted and plain cells, short, long and blank rows, any line ending, a BOM."""
    delimiter = draw(st.sampled_from([",", "\t"]))
    width = draw(st.integers(1, 5))
    header = [draw(st.text(alphabet="abc", min_size=1, max_size=3)) for _ in range(width)]
    rows = [delimiter.join(header)]
    for _ in range(draw(st.integers(0, 8))):
        shape = draw(st.integers(0, 9))
        n = 0 if shape == 0 else width + draw(st.integers(-width, 1)) if shape < 3 else width
        rows.append(delimiter.join(draw(_cell(delimiter)) for _ in range(n)))
    endings = [draw(st.sampled_from(["\n", "\r\n", "\r"])) for _ in rows]
    text = "".join(r + e for r, e in zip(rows, endings))
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + text).encode("utf-8"), delimiter


def _streamed(path) -> tuple[list[list[str]], RecordStream] | None:
    try:
        stream = RecordStream(path, progress=False)
        return list(stream), stream
    except NotStreamable:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_csv_files(), chunk=st.integers(1, 4), block=st.integers(1, 9))
def test_the_columns_are_the_streamed_records_or_hand_over(tmp_path, data, chunk, block):
    raw, delimiter = data
    path = tmp_path / "f.csv"
    path.write_bytes(raw)
    streamed = _streamed(path)
    if streamed is None or not streamed[0] or not streamed[0][0]:
        return  # the streamed reading hands over too (or no header): nothing to compare
    records, stream = streamed
    widths = record_widths(str(path), stream.delimiter, 3 if stream.bom else 0, block)
    if widths is not None:
        assert widths.cells.tolist() == [max(1, len(r)) for r in records]
        assert (widths.line_ending, widths.final_newline) == (stream.line_ending, stream.final_newline)
    ncols = len(records[0])
    reading = ColumnReading(str(path), stream.bom, stream.delimiter, [list(r) for r in records[:3]], ncols, range(ncols), 1,
                            chunk=chunk, block=block)
    try:
        got = list(reading)
    except HandOver:
        return
    assert widths is not None
    data_rows = [(i + 1, r) for i, r in enumerate(records) if i >= 1 and not is_blank(r)]
    assert all(len(r) <= ncols for _, r in data_rows)
    assert [n for rows, _ in got for n in rows] == [n for n, _ in data_rows]
    for j in range(ncols):
        assert [c for _, cols in got for c in cols[j]] == [r[j] if j < len(r) else "" for _, r in data_rows]
    assert reading.short == sum(len(r) < ncols for _, r in data_rows)
    assert reading.last_cells == (len(data_rows[-1][1]) if data_rows else 0)
    assert (reading.line_ending, reading.final_newline) == (stream.line_ending, stream.final_newline)


@pytest.mark.parametrize("text", [
    'a,b\n1,x"y\n',  # a quote inside a plain cell
    'a,b\n1,"x"y\n',  # text after a closing quote
    'a,b\n1,"x\n',  # an odd number of quotes (a cut file)
    'a,b\n1,x\x00\n',  # a NUL
    'a,b\n1," x" \n',  # a space after a closing quote
])
def test_quotes_the_counting_cannot_vouch_for_hand_over(tmp_path, text):
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode())
    assert record_widths(str(path), ",", 0) is None


def test_the_cells_of_each_record_are_counted_as_the_csv_module_splits_them(tmp_path):
    text = 'h1,h2,h3\r\n"a,b","c\r\nd",e\r\n\r\n"""q""",,\r\nshort\r\n"",""\r\n'
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode())
    widths = record_widths(str(path), ",", 0, block=4)
    assert widths is not None
    assert widths.cells.tolist() == [max(1, len(r)) for r in csv.reader(io.StringIO(text, newline=""))] == [3, 3, 1, 3, 1, 2]
    assert (widths.line_ending, widths.final_newline) == ("CRLF", True)


def _reading(tmp_path, text: str, first=None) -> ColumnReading:
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode())
    records = list(csv.reader(io.StringIO(text, newline="")))
    return ColumnReading(str(path), False, ",", first if first is not None else records[:3], 3, [0, 2], 1, chunk=2)


def test_a_long_record_hands_over(tmp_path):
    with pytest.raises(HandOver):
        list(_reading(tmp_path, "a,b,c\n1,2,3\n1,2,3,4\n"))


def test_a_record_blank_in_the_read_columns_but_with_more_cells_hands_over(tmp_path):
    # Its unread middle cell decides whether it is blank: only the streamed reading sees it.
    with pytest.raises(HandOver):
        list(_reading(tmp_path, "a,b,c\n1,2,3\n ,x,\n"))


def test_blank_lines_are_left_out_and_keep_their_record_numbers(tmp_path):
    reading = _reading(tmp_path, "a,b,c\n\n1,2,3\n  \n4,5\n")
    got = list(reading)
    assert [n for rows, _ in got for n in rows] == [3, 5]
    assert [c for _, cols in got for c in cols[2]] == ["3", ""]
    assert (reading.short, reading.last_cells) == (1, 2)


def test_first_records_read_otherwise_by_the_csv_module_hand_over(tmp_path):
    with pytest.raises(HandOver):
        list(_reading(tmp_path, "a,b,c\n1,2,3\n", first=[["a", "b", "c"], ["1", "2", "other"]]))


def test_share_column_holds_each_repeated_value_once_across_chunks():
    seen: dict = {}
    one = share_column(["x" + "y", "z"], seen)
    two = share_column(["".join(["x", "y"]), "w"], seen)
    assert one == ["xy", "z"] and two == ["xy", "w"]
    assert two[0] is one[0]


def test_positional_maker_makes_the_record_the_frozen_init_makes():
    from reconcile.importers.csvtext import RowFields
    from reconcile.records import record_maker
    from reconcile.models import Response, SourceRef, Submission

    fields = RowFields({"a": 0}, ("x",))
    sub = (SourceRef("b.csv", 2), "mturk", "A1", "W1", "H1", "pending", "Submitted", "$0.50", "9", "s", "t", "d", "60", "123", fields)
    resp = (SourceRef("s.csv", 4), "R_1", "IP Address", "True", "100", "1.2.3.4", "s", "e", "60", "123", "W1", fields, "")
    for cls, args in ((Submission, sub), (Response, resp), (SourceRef, ("b.csv", 2))):
        made, init = record_maker(cls)(*args), cls(*args)
        assert type(made) is cls and made == init and repr(made) == repr(init)
        assert [getattr(made, f) for f in cls.__dataclass_fields__] == list(args)
        with pytest.raises(AttributeError):
            setattr(made, next(iter(cls.__dataclass_fields__)), None)  # still frozen


@pytest.mark.parametrize("raw", [
    b"a,b,c\n1,\xff,3\n",  # a byte that is not UTF-8, in a column nobody reads
    b"a,b,c\n1,\xc3",  # a character cut at the end
])
def test_bytes_the_csv_module_cannot_decode_hand_over_even_in_unread_columns(tmp_path, raw):
    path = tmp_path / "f.csv"
    path.write_bytes(raw)
    assert record_widths(str(path), ",", 0) is None


def test_a_character_split_between_blocks_is_decoded_whole(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("a,b\nü,é€\n".encode())
    assert [record_widths(str(path), ",", 0, block=b).cells.tolist() for b in range(1, 12)] == [[2, 2]] * 11
