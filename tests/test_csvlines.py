"""csvlines writes exactly what csv.writer writes for escaped cells, however the cells look."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile import csvlines
from reconcile.csvsafe import escape_row

# Cells that take every branch: plain text, commas, quotes, line breaks, formula triggers after
# apostrophes, NUL, and empty cells.
_CELL = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=",\"'=+-@\t\r\n\x00 aZ9", max_size=6),
    st.sampled_from(["", "approve", "=HYPERLINK(\"x\")", "'=x", "''+1", "-3", "a,b", 'say "hi"', "line\r\nbreak"]),
)


def _reference(header, records) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(escape_row(r) for r in records)
    return out.getvalue()


def _written(header, records) -> str:
    out = io.StringIO(newline="")
    csvlines.write_escaped_records(out, header, iter(records))
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5).flatmap(lambda width: st.tuples(
    st.lists(st.text(max_size=5), min_size=width, max_size=width),
    st.lists(st.lists(_CELL, min_size=width, max_size=width).map(tuple), max_size=8))))
def test_same_text_as_csv_writer_of_escaped_cells(header_and_records):
    header, records = header_and_records
    assert _written(header, records) == _reference(header, records)


def test_records_past_a_batch_are_all_written_in_order(monkeypatch):
    monkeypatch.setattr(csvlines, "BATCH", 3)
    records = [(f"A{i}", "=1" if i % 4 == 0 else "x", "a,b" if i % 5 == 0 else "") for i in range(11)]
    header = ("id", "value", "note")
    assert _written(header, records) == _reference(header, records)
    assert _written(header, []) == _reference(header, [])
