"""A few columns of a large, plain CSV file, read by pandas' C parser (the dry run at scale).

`read_columns` returns None for any file that is not plain; the caller then reads it the usual way,
so everything said about an unusual file (its refusals above all) stays that reader's own sentence.
Plain means: UTF-8 (with or without a BOM), no NUL byte, an even number of quotes (no cut quoted
cell), a header record on the first line within the first 64 KiB, and nothing the C
parser refuses. On such files the C parser's records are the csv module's records, cell for cell,
in the columns asked for (a short record's missing cells read "", a blank line is a record of ""
cells, cells past the header's width are not read; CR, LF and CRLF end records alike outside
quotes); tests/test_plaincsv.py holds the two to that.

Columns come back as object arrays of str, or coded (`Coded`: one small-int code per row and each
distinct value once) for columns with few distinct values, which is what keeps a million rows small.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from dataclasses import dataclass
from typing import Callable, Mapping, Union

import numpy as np

from .progress import BIG, report

_HEAD_BYTES = 64 * 1024
_SCAN_BYTES = 64 * 1024
_TAIL_BYTES = 1 << 20
_ROWS_PER_CHUNK = 200_000


@dataclass(frozen=True)
class Coded:
    """A column as codes into its distinct values: values[codes[i]] is row i's cell."""

    codes: np.ndarray
    values: list[str]

    def cells(self) -> np.ndarray:
        """Every row's cell (object array; the distinct strings shared, not copied)."""
        return np.asarray(self.values + [""], dtype=object)[self.codes]

    def map(self, fn: Callable[[str], object]) -> np.ndarray:
        """fn of every row's cell, computed once per distinct value."""
        out = np.empty(len(self.values) + 1, dtype=object)
        for k, v in enumerate(self.values + [""]):  # one by one: a tuple value stays one cell
            out[k] = fn(v)
        return out[self.codes]


@dataclass(frozen=True)
class PlainColumns:
    path: str
    header: list[str]  # the header record as the csv module reads it
    delimiter: str
    bom: bool
    rows: int  # records after the header, blank ones included
    columns: Mapping[int, np.ndarray | Coded]  # header position -> the column
    last_width: int | None  # fields of the last record that is not blank (None: no data record)


# How a column is held: False as it is (an object array of str), True coded, or a function of
# each chunk's cells (an object array) whose results are held coded (e.g. a source without its row).
Keep = Union[bool, Callable[[np.ndarray], np.ndarray]]


def read_columns(
    path: str | os.PathLike,
    pick: Callable[[list[str]], Mapping[int, Keep] | None],
    *,
    sniff_delimiter: bool = True,
    what: str = "",
) -> PlainColumns | None:
    """The columns `pick(header)` names (position -> how to keep it: Keep), or None when the
    file is not plain (or pick returns None: the header is not what the caller reads this way)."""
    from .importers.csvtext import _BINARY_SIGNATURES, _sniff_delimiter, _utf16_without_bom

    p = os.fspath(path)
    try:
        fh = open(p, "rb")
    except OSError:
        return None
    with fh:
        head = fh.read(_HEAD_BYTES)
        bom = head.startswith(codecs.BOM_UTF8)
        body = head[3:] if bom else head
        cut = body.find(b"\n")
        if (cut < 0 or not head.strip() or b"\x00" in body or _utf16_without_bom(head) is not None
                or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
                or any(head.startswith(sig) for sig, _ in _BINARY_SIGNATURES)):
            return None
        first = body[:cut + 1]
        if first.count(b'"') % 2:
            return None  # a quoted newline in the header
        try:
            first_text = first.decode("utf-8")
        except UnicodeDecodeError:
            return None
        delimiter = _sniff_delimiter(first_text) if sniff_delimiter else ","
        header = next(csv.reader(io.StringIO(first_text, newline=""), delimiter=delimiter), None)
        if not header:
            return None
        wanted = pick(header)
        if not wanted:
            return None
        fh.seek(0)
        scan = _scan(fh)
        if scan is None:
            return None
        tail, quotes_before = scan
        last_width = _last_record_width(tail, quotes_before, delimiter)
        fh.seek(3 if bom else 0)
        columns = _parse(fh, p, wanted, delimiter, what or f"reading {os.path.basename(p)}")
    if columns is None:
        return None
    cols, rows = columns
    return PlainColumns(p, header, delimiter, bom, rows, cols, last_width)


def _scan(fh) -> tuple[bytes, int] | None:
    """One pass over the bytes: None for a NUL, an odd number of quotes or bytes that are not UTF-8;
    else the last bytes and the number of quotes before them (for the last record).

    Small reads into one buffer, decoded piece by piece: every piece (and its text) then reuses the
    same memory, where 16 MiB pieces cost a page fault per 4 KiB each time (a second of system time
    for a 600 MB file)."""
    buf = bytearray(_SCAN_BYTES)
    view = memoryview(buf)
    quotes = carried = 0
    try:
        while True:
            got = fh.readinto(view[carried:])
            if not got:
                break
            end = carried + got
            if buf.find(b"\x00", carried, end) >= 0:
                return None
            quotes += buf.count(b'"', carried, end)
            try:
                _, used = codecs.utf_8_decode(view[:end], "strict", False)
            except UnicodeDecodeError:
                return None
            carried = end - used  # the start of a character cut by the read: decoded with the next piece
            buf[:carried] = buf[used:end]
    finally:
        view.release()
    if carried or quotes % 2:  # the file ends inside a character, or inside a quoted cell
        return None
    size = fh.tell()
    fh.seek(max(0, size - _TAIL_BYTES))
    tail = fh.read()
    return tail, quotes - tail.count(b'"')


def _last_record_width(tail: bytes, quotes_before: int, delimiter: str) -> int | None:
    """Fields of the last record with a non-blank cell, read from the file's last bytes (records
    start after a newline outside quotes); None when none is found there."""
    odd = quotes_before % 2
    start = -1
    pos = 0
    for piece in tail.split(b"\n")[:-1]:
        odd ^= piece.count(b'"') % 2
        pos += len(piece) + 1
        if not odd and start < 0:
            start = pos
    if start < 0:
        return None
    width = None
    for rec in csv.reader(io.StringIO(tail[start:].decode("utf-8"), newline=""), delimiter=delimiter):
        if any(c.strip() for c in rec):
            width = len(rec)
    return width


def _parse(fh, p: str, wanted: Mapping[int, Keep], delimiter: str, what: str):
    import pandas as pd

    positions = sorted(wanted)
    size = max(1, os.fstat(fh.fileno()).st_size)
    parts: dict[int, list] = {j: [] for j in positions}
    rows = 0
    shown = False
    try:
        reader = pd.read_csv(
            fh, sep=delimiter, header=0, index_col=False, usecols=positions, engine="c", encoding="utf-8", encoding_errors="strict",
            # Never dtype "category": its categories are read as numbers where they all look like one ("0.50" -> 0.5).
            dtype=object, keep_default_na=False, na_filter=False,
            skip_blank_lines=False, chunksize=_ROWS_PER_CHUNK, low_memory=True,
        )
        with reader:
            for chunk in reader:
                for k, j in enumerate(positions):
                    col = chunk.iloc[:, k]
                    keep = wanted[j]
                    if keep is not False:
                        cells = col.to_numpy(dtype=object)
                        if keep is not True:
                            cells = np.asarray(keep(cells), dtype=object)  # type: ignore[operator]
                        codes, uniques = pd.factorize(cells)
                        parts[j].append((codes, list(uniques)))
                    else:
                        parts[j].append(col.to_numpy(dtype=object))
                rows += len(chunk)
                estimate = max(rows, round(rows * size / max(1, fh.tell())))
                shown = shown or estimate >= BIG
                if shown:
                    report(what, rows, estimate)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, OverflowError):
        return None
    if shown:
        report(what, rows, rows)
    columns: dict[int, np.ndarray | Coded] = {}
    for j in positions:
        columns[j] = _coded(parts[j], rows) if wanted[j] is not False else (
            np.concatenate(parts[j]) if parts[j] else np.empty(0, dtype=object))
        parts[j] = []
    return columns, rows


def _coded(parts: list, rows: int) -> Coded:
    """One code table across the chunks (each chunk has its own categories)."""
    values: list[str] = []
    code_of: dict[str, int] = {}
    out = np.empty(rows, dtype=np.int32)
    at = 0
    for codes, cats in parts:
        remap = np.empty(len(cats) + 1, dtype=np.int32)
        for k, v in enumerate(cats):
            c = code_of.get(v)
            if c is None:
                c = code_of[v] = len(values)
                values.append(v)
            remap[k] = c
        remap[-1] = -1  # a missing cell (code -1): cannot happen without NA values, kept safe
        out[at:at + len(codes)] = remap[codes]
        at += len(codes)
    out[out < 0] = len(values)  # Coded.cells: the extra last value is ""
    return Coded(out, values)
