"""Cut-off downloads are refused, not read short: a file that ends inside a quoted field, or whose
last row holds fewer than half the header's fields, stops `match` and `inspect` with one sentence
naming the file and the row. Every real export still reads."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SAMPLE_DATA, run_cli
from reconcile.errors import InputError
from reconcile.importers import read_qualtrics
from reconcile.platforms.mturk.batch_csv import read_mturk_csv as read_mturk
from reconcile.importers.csvtext import load_table

EXPORT = SAMPLE_DATA / "qualtrics_export.csv"
BATCH = SAMPLE_DATA / "mturk_batch_results.csv"


def _rows(path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _cut_inside_quotes(path, near: int, id_column: str) -> tuple[bytes, int]:
    """The file's bytes cut just after the opening quote of a quoted cell, in the first row from
    row `near` on that has one after its ID cell, and that row's number. (IDs are unique in the
    file, so a row's bytes run from its ID to the next row's ID.)"""
    rows = _rows(path)
    j = rows[0].index(id_column)
    data = path.read_bytes()
    for row in range(near, len(rows)):
        at = data.index(rows[row - 1][j].encode())
        quote = data.find(b',"', at) + 1
        if 0 < quote < data.index(rows[row][j].encode()):
            return data[: quote + 4], row
    raise AssertionError("no row with a quoted cell after its ID")


def _one_sentence(proc, *words):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[-1], (w, lines[-1])


def test_export_cut_in_half_is_refused_at_match(tmp_path):
    """The hostile review's reproduction: half an export used to read as ~70 responses and, with
    reject.no_match on, plan to reject most workers. Now nothing is written."""
    n = len(_rows(EXPORT))
    cut, row = _cut_inside_quotes(EXPORT, n // 2, "ResponseId")
    (tmp_path / "export.csv").write_bytes(cut)
    (tmp_path / "rules.toml").write_text(
        '[reject.no_match]\nfeedback = "The code you submitted is not from this survey."\n', encoding="utf-8"
    )
    proc = run_cli("match", "--qualtrics", "export.csv", "--mturk", BATCH, "--rules", "rules.toml", cwd=tmp_path)
    _one_sentence(proc, "export.csv ends inside a quoted field", f"row {row} ", "cut off", "download it again")
    assert not any(tmp_path.glob("reconcile-*"))
    # the same sentence from inspect and from the library
    _one_sentence(run_cli("inspect", "export.csv", cwd=tmp_path), f"row {row} ")
    with pytest.raises(InputError, match=f"row {row} "):
        read_qualtrics(tmp_path / "export.csv")


def test_batch_cut_inside_a_quoted_cell_is_refused(tmp_path):
    rows = _rows(BATCH)
    cut, row = _cut_inside_quotes(BATCH, len(rows) - 3, "AssignmentId")
    (tmp_path / "batch.csv").write_bytes(cut)
    proc = run_cli("match", "--qualtrics", EXPORT, "--mturk", "batch.csv", cwd=tmp_path)
    _one_sentence(proc, "batch.csv ends inside a quoted field", f"row {row} ")
    assert not any(tmp_path.glob("reconcile-*"))
    with pytest.raises(InputError, match="ends inside a quoted field"):
        read_mturk([tmp_path / "batch.csv"])


def test_last_row_far_shorter_than_the_header_is_refused(tmp_path):
    """Cut between cells: every quote is closed, but the last row stops after a few cells."""
    data = BATCH.read_bytes()
    rows = _rows(BATCH)
    last = rows[-1]
    start = data.rindex(f'"{last[0]}"'.encode())  # the last row's first cell (the HITId repeats; take the last)
    cut = data[: data.index(b'",', start + len(last[0]) + 2 + 30) + 2]  # a few cells into the last row
    (tmp_path / "batch.csv").write_bytes(cut)
    kept = next(csv.reader(io.StringIO(cut[start:].decode("utf-8"))))
    assert 0 < len(kept) * 2 < len(rows[0])
    proc = run_cli("inspect", "batch.csv", cwd=tmp_path)
    _one_sentence(proc, "batch.csv", f"(row {len(rows)})", f"only {len(kept)} of the header's {len(rows[0])} fields", "cut off")


def test_batch_rows_two_cells_short_still_read(tmp_path):
    """MTurk omits the empty Approve/Reject cells: rows two short of the header are normal."""
    m = read_mturk([BATCH])
    raw = _rows(BATCH)
    assert len(raw[-1]) == len(raw[0]) - 2 and len(m.submissions) == len(raw) - 1


def test_stray_quote_in_an_unquoted_cell_is_not_a_cut(tmp_path):
    """An odd number of quotes alone proves nothing: 5'10" in an unquoted cell is text."""
    p = tmp_path / "t.csv"
    p.write_text('a,b,c\r\nx,5\'10",z\r\n"q,1",2,he said "hi"\r\n', encoding="utf-8")
    t = load_table(p)
    assert t.records[1:] == [["x", "5'10\"", "z"], ["q,1", "2", 'he said "hi"']]


def test_every_realdata_csv_still_reads(realdata):
    paths = sorted(realdata.glob("*/*.csv"))
    assert len(paths) >= 20
    for p in paths:
        t = load_table(p)  # raises on a refused file
        assert len(t.records[-1]) >= len(t.records[0]) - 2, p


# ---------------------------------------------------------------- property: the quote check is exact

cells = st.lists(
    st.text(st.sampled_from(['a', '1', ' ', ',', '"', '\n', '\r', 'é']), max_size=6), min_size=4, max_size=4
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(cells, min_size=1, max_size=4), quote_all=st.booleans(), data=st.data())
def test_refused_exactly_when_the_cut_falls_inside_quotes(tmp_path_factory, rows, quote_all, data):
    buf = io.StringIO(newline="")
    csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\r\n").writerows(
        [["h1", "h2", "h3", "h4"], *rows]
    )
    text = buf.getvalue()
    cut = text[: data.draw(st.integers(len("h1,h2,h3,h4\r\n") + 1, len(text)))]
    # The oracle: the csv module in strict mode says "unexpected end of data" only for an open quote.
    try:
        list(csv.reader(io.StringIO(cut, newline=""), strict=True))
        open_quote = False
    except csv.Error as err:
        assert "unexpected end of data" in str(err)
        open_quote = True
    path = tmp_path_factory.mktemp("cut") / "t.csv"
    path.write_bytes(cut.encode("utf-8"))
    try:
        load_table(path)
        refused = ""
    except InputError as err:
        refused = str(err)
    assert ("ends inside a quoted field" in refused) == open_quote, (cut, refused)
