"""plaincsv reads a plain CSV's columns exactly as the csv module reads its records (or says the file
is not plain: None), and the dry run's batch columns are the narrowed read_batch's cells."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SAMPLE_DATA
from reconcile.errors import InputError
from reconcile.plaincsv import Coded, read_columns
from reconcile.platforms.mturk.batch_columns import read_batch_columns
from reconcile.platforms.mturk.upload import read_batch
from reconcile.platforms.mturk.verifier import CHECKED_COLUMNS


def _cells(col) -> list[str]:
    return list(col.cells()) if isinstance(col, Coded) else list(col)


def _as_csv_reads(data: bytes):
    text = data.decode("utf-8-sig")
    recs = list(csv.reader(io.StringIO(text, newline="")))
    header, body = recs[0], recs[1:]
    return header, [[(r[j] if j < len(r) else "") for j in range(len(header))] for r in body]


PIECES = st.sampled_from(["a", "b", " ", ",", '"', '""', "\r\n", "\n", "\r", "é", "x,y", '"q,\r\n"', '"\r"'])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.lists(PIECES, max_size=30), bom=st.booleans(), coded=st.booleans(), final=st.booleans(),
       piece=st.sampled_from([1, 2, 3, 5, 64 * 1024]))
def test_any_text_reads_as_the_csv_module_reads_it_or_not_at_all(tmp_path, monkeypatch, body, bom, coded, final, piece):
    import reconcile.plaincsv as plaincsv

    monkeypatch.setattr(plaincsv, "_SCAN_BYTES", piece)  # reads that cut characters, quotes and CRLFs apart
    data = ("\ufeff" if bom else "") + "h1,h2,h3\r\n" + "".join(body) + ("\r\n" if final else "")
    path = tmp_path / "f.csv"
    path.write_bytes(data.encode("utf-8"))
    got = read_columns(path, lambda header: {j: coded for j in range(len(header))}, sniff_delimiter=False)
    if got is None:
        return
    header, rows = _as_csv_reads(data.encode("utf-8"))
    assert got.header == header and got.rows == len(rows)
    for j in range(len(header)):
        assert _cells(got.columns[j]) == [r[j] for r in rows]
    records = list(csv.reader(io.StringIO(data.lstrip("\ufeff"), newline="")))
    nonblank = [r for r in records[1:] if any(c.strip() for c in r)]
    assert got.last_width == (len(nonblank[-1]) if nonblank else None)


@pytest.mark.parametrize("text", [
    'h1,h2\r\n"1,2\r\n',  # an odd number of quotes: a cut quoted cell
    "h1,h2\r\n1,\x002\r\n",  # a NUL
    "h1,h2",  # no line end in the head
])
def test_what_is_not_plain_is_left_to_the_usual_reading(tmp_path, text):
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode("utf-8"))
    assert read_columns(path, lambda header: {0: False}) is None
    path.write_bytes(b"h1,h2\r\n\xff\xfe,2\r\n")  # not UTF-8
    assert read_columns(path, lambda header: {0: False}) is None
    path.write_bytes("h1,h2\r\n1,é".encode("utf-8")[:-1])  # ends inside a character
    assert read_columns(path, lambda header: {0: False}) is None


def _batches(realdata: Path | None) -> list[Path]:
    found = sorted(SAMPLE_DATA.rglob("*.csv"))
    if realdata is not None:
        found += sorted(realdata.rglob("*.csv"))
    return found


def test_batch_columns_are_the_narrowed_batch_on_every_real_file(realdata, tmp_path):
    from test_batch_narrowed import BATCH, ODD

    odd = []
    for name, text in {"batch.csv": BATCH, **ODD}.items():
        for ending in ("\n", "\r\n"):
            p = tmp_path / f"{len(ending)}{name}"
            p.write_bytes(text.replace("\n", ending).encode("utf-8"))
            odd.append(p)
    taken = 0
    for path in odd + _batches(realdata):
        try:
            narrow = read_batch(path, keep=CHECKED_COLUMNS)
        except (InputError, UnicodeDecodeError, csv.Error):
            assert read_batch_columns(path, CHECKED_COLUMNS) is None
            continue
        cols = read_batch_columns(path, CHECKED_COLUMNS)
        if cols is None:
            continue
        taken += 1
        assert cols.rows == len(narrow.records), path
        pos = np.arange(cols.rows)
        for k, name in enumerate(narrow.header):
            assert list(cols.at(name, pos)) == [rec[k] for rec in narrow.records], (path, name)
        for name in CHECKED_COLUMNS:
            if narrow.column(name) is None:
                assert not cols.has(name)
        ids = np.asarray(list(narrow.index), dtype=object)
        assert list(cols.lookup(ids)) == list(narrow.index.values()), path
        assert list(cols.lookup(np.asarray(["no such id"], dtype=object))) == [-1]
    assert taken >= 3  # the real downloads are plain: the column reading is what the dry run uses on them
