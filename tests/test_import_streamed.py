"""csvtext.load_table reads a UTF-8 file as a stream (issue 14: never the whole text, nor a copy of
it); `_load_whole` decodes the whole file first, as load_table always did. For any bytes both
give the same Table, or the same one-sentence InputError: the streamed reader changes memory,
never what is read."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SAMPLE_DATA
from reconcile.errors import InputError
from reconcile.importers import csvtext
from reconcile.importers.csvtext import _load_whole, load_table

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# The characters that decide how a CSV reads: delimiters, quotes, every line ending, blanks, a NUL,
# multi-byte text, and bytes that are not UTF-8 at all.
PIECES = [b"a", b"bc", b",", b";", b"\t", b'"', b'""', b"\r", b"\n", b"\r\n", b" ", b"\x00", "é".encode(), "€".encode(),
          b"\xff", b"\xc3", codecs.BOM_UTF8, b"PK\x03\x04"]


def _outcome(read, path, partial):
    try:
        t = read(path, partial) if read is _load_whole else read(path, partial=partial)
    except InputError as exc:
        return ("error", str(exc))
    return ("table", t.records, t.encoding, t.bom, t.delimiter, t.line_ending, t.final_newline)


def _same(path, partial=False):
    streamed = _outcome(load_table, str(path), partial)
    whole = _outcome(_load_whole, str(path), partial)
    assert streamed == whole
    return streamed


@SETTINGS
@given(parts=st.lists(st.sampled_from(PIECES), max_size=60), partial=st.booleans(), chunk=st.sampled_from([1, 2, 5, 1 << 20]))
def test_streamed_reading_is_whole_reading(tmp_path, parts, partial, chunk):
    path = tmp_path / "f.csv"
    path.write_bytes(b"".join(parts))
    saved = csvtext._CHUNK_BYTES
    csvtext._CHUNK_BYTES = chunk  # read boundaries anywhere: inside a CRLF, a character, a quote pair
    try:
        _same(path, partial)
    finally:
        csvtext._CHUNK_BYTES = saved


@SETTINGS
@given(rows=st.lists(st.lists(st.text(alphabet='ab,"\r\n é', max_size=6), min_size=1, max_size=4), min_size=1, max_size=8),
       ending=st.sampled_from([b"\r\n", b"\n"]), bom=st.booleans())
def test_streamed_reading_of_csv_written_text(tmp_path, rows, ending, bom):
    """Well-formed files (the usual case, which is the one streamed), quoted line breaks included."""
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator=ending.decode()).writerows([["h1", "h2"], *rows])
    path = tmp_path / "f.csv"
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + buf.getvalue().encode())
    _same(path)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_line_endings_split_across_chunks(tmp_path, monkeypatch, chunk):
    """A CRLF (or a multi-byte character) cut in two by a read boundary counts and decodes as one."""
    monkeypatch.setattr(csvtext, "_CHUNK_BYTES", chunk)
    path = tmp_path / "f.csv"
    path.write_bytes('id,text\r\n1,"é\r\nx"\r\n2,€\r\n3,"a""b"\r\n'.encode())
    got = _same(path)
    assert got[0] == "table" and got[5] == "CRLF" and got[1][1] == ["1", "é\r\nx"]


@pytest.mark.parametrize("name", ["qualtrics_export.csv", "mturk_batch_results.csv"])
def test_sample_data_reads_the_same_streamed(name):
    got = _same(SAMPLE_DATA / name)
    assert got[0] == "table" and len(got[1]) > 10


def test_real_exports_read_the_same_streamed(realdata):
    files = sorted(p for p in realdata.rglob("*") if p.suffix.lower() in (".csv", ".tsv") and p.stat().st_size < 50_000_000)
    assert files
    for path in files:
        _same(path)
