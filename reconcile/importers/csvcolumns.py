"""Chosen columns of a UTF-8 CSV file, parsed by pandas' C reader (issue 14).

The csv module builds a str for every cell of every record: a million-row batch is 30 million
cells, of which a narrowed reader keeps 11. pandas' C reader tokenizes as fast and boxes only the
columns asked for (a cell that repeats within a chunk is boxed once). What pandas does not tell is
how many cells each record had: it pads a short record with "" and, given `usecols`, ignores a
long one. Those counts decide the format line ("N short rows"), the cut-file check and the
hand-overs, so `record_widths` counts them from the bytes first (numpy, one pass, a block at a
time): the cells in every record as the csv module splits the file.

Exactness: the counting is exact only while every quote is where the csv module's dialect puts
one (opening a field, closing it, or doubled inside it); anything else (a quote inside an unquoted
cell, text after a closing quote, an odd number of quotes, a NUL) makes `record_widths` return
None and the caller read the file its streamed way. `column_chunks` then checks that pandas saw
as many records as were counted, so a record split differently by the two readers is never
trusted (the caller compares the first records with the csv module's, too).
"""

from __future__ import annotations

import codecs
import csv
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .csvtext import _ending_of

_BLOCK = 1 << 21  # bytes counted at a time (2 MiB: about ten arrays of this size live at once)
_QUOTE, _LF, _CR = 34, 10, 13


@dataclass(frozen=True)
class Widths:
    """How the csv module splits the file: the cells of each record, and what the byte counts say."""

    cells: np.ndarray  # int64, one per record, blank records included (a blank line holds one cell)
    line_ending: str  # as csvtext's `_line_endings` names it
    final_newline: bool


class _Unusual(Exception):
    """A byte the counting cannot vouch for: the caller reads the file its streamed way."""


def record_widths(path: str, delimiter: str, start: int, block: int = _BLOCK) -> Widths | None:
    """The cells of every record of the file from byte `start` (after a BOM), or None for a file
    whose quoting, NULs or quote count the counting cannot vouch for (see the module). `block`:
    the bytes counted at a time."""
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            return _count(fh, ord(delimiter), block)
    except (OSError, _Unusual):
        return None


def _count(fh, delim: int, block: int) -> Widths:
    counts: list[np.ndarray] = []
    parity = 0  # inside quotes at the end of the bytes counted so far
    delims = 0  # delimiters outside quotes in the record still open
    crlf = lf = cr = 0
    prev = -1  # the byte before the block (-1: the first block)
    cur = fh.read(block)
    if not cur:
        raise _Unusual
    last = b""
    utf8 = codecs.getincrementaldecoder("utf-8")("strict")
    pending_utf8 = False  # a character split between two blocks
    while cur:
        nxt = fh.read(block)
        if b"\x00" in cur:
            raise _Unusual
        if not (cur.isascii() and not pending_utf8):
            # pandas decodes only the columns it is asked for; the csv module decodes every byte,
            # and a file it cannot decode is the whole reading's to word.
            try:
                utf8.decode(cur)
            except UnicodeDecodeError:
                raise _Unusual from None
            pending_utf8 = utf8.getstate()[0] != b""
        last = cur[-1:]
        # The block with one byte either side, so every byte can see its neighbours.
        off = 0 if prev < 0 else 1
        ext = (b"" if prev < 0 else bytes((prev,))) + cur + nxt[:1]
        a = np.frombuffer(ext, np.uint8)
        quote = a == _QUOTE
        is_cr = a == _CR
        is_lf = a == _LF
        sep = (a == delim) | is_cr | is_lf
        edge = sep | quote  # what may stand next to a quote
        before = np.empty_like(edge)
        before[1:] = edge[:-1]
        before[0] = prev < 0  # the data's first byte has the start of the data before it
        after = np.empty_like(edge)
        after[:-1] = edge[1:]
        after[-1] = not nxt  # the file's last byte has its end after it
        # The line endings among this block's own bytes, counted as _CountingReader counts them
        # (a CRLF where its LF is).
        mine = slice(off, off + len(cur))
        n_lf = int(np.count_nonzero(is_lf[mine]))
        cr += int(np.count_nonzero(is_cr[mine]))
        is_lf[1:] &= ~is_cr[:-1]
        alone = int(np.count_nonzero(is_lf[mine]))
        lf += n_lf
        crlf += n_lf - alone
        # The bytes that count: quotes, delimiters and line ends (an LF completing a CRLF is no end).
        marks = np.flatnonzero((a == delim) | is_cr | is_lf | quote)
        # Only the block's own bytes: not the neighbours borrowed from either side.
        lo = 1 if off and marks.size and marks[0] == 0 else 0
        hi = marks.size - (1 if nxt and marks.size and marks[-1] == len(ext) - 1 else 0)
        marks = marks[lo:hi]
        q = quote[marks]
        # Inside quotes after each marked byte (a quote flips it).
        inside = np.bitwise_xor.accumulate(q.view(np.uint8)) ^ parity
        if marks.size:
            # An opening quote follows a delimiter, a line end or a quote (doubled), or starts the data;
            # a closing one is followed by one of those or ends the file.
            opening = inside.view(bool)
            if np.any(q & ((opening & ~before[marks]) | (~opening & ~after[marks]))):
                raise _Unusual
            parity = int(inside[-1])
            out = ~q & ~opening
            is_end = a[marks[out]] != delim  # the delimiters and line ends outside quotes, in order
            e = np.flatnonzero(is_end)
            if e.size:
                first = delims + e[0]
                counts.append(np.concatenate(([first], np.diff(e) - 1)) + 1)
                delims = int(is_end.size - e[-1] - 1)
            else:
                delims += int(is_end.size)
        prev = cur[-1]
        cur = nxt
    if pending_utf8:
        raise _Unusual  # the file ends inside a character
    if parity:
        raise _Unusual  # an odd number of quotes: the streamed reading hands it over whole
    final_newline = last in (b"\n", b"\r")
    if not final_newline:
        counts.append(np.array([delims + 1]))
    cells = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    return Widths(cells.astype(np.int64), _ending_of(crlf, lf - crlf, cr - crlf), final_newline)


def column_chunks(path: str, delimiter: str, start: int, positions: Sequence[int], chunk: int
                  ) -> Iterator[dict[int, list[str]]]:
    """The cells at `positions` of every record (from byte `start`), `chunk` records at a time:
    position -> that column's cells, "" where a record is short. Read with the csv module's
    dialect: one quote character, doubled inside quotes, no escape character, nothing stripped,
    every blank line kept as a record (so record numbers stay the csv module's)."""
    wanted = sorted(set(positions))
    import pandas as pd

    with open(path, "rb") as fh:
        fh.seek(start)
        reader = pd.read_csv(
            fh, sep=delimiter, header=None, usecols=wanted, index_col=False, dtype=object, engine="c",
            na_filter=False, keep_default_na=False, skip_blank_lines=False, quotechar='"', quoting=csv.QUOTE_MINIMAL,
            doublequote=True, escapechar=None, skipinitialspace=False, comment=None, encoding="utf-8",
            encoding_errors="strict", chunksize=chunk, memory_map=False, on_bad_lines="error",
        )
        with reader:
            for frame in reader:
                got = {j: frame[j].tolist() for j in wanted}
                del frame
                yield got


def file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class HandOver(Exception):
    """The file needs the streamed reading (and maybe the whole one): see `ColumnReading`."""


_CHUNK = 50_000  # records parsed (and held as columns) at a time


class ColumnReading:
    """The data records of a UTF-8 CSV file as columns at `positions`, a chunk at a time, for a
    narrowed reader that has read the first records with the csv module (`first`, what its
    `RecordStream` gave) and decided the columns from them.

    Iterating gives (record numbers, position -> cells) for the records after the first
    `header_records`, blank records left out, each column padded with "" where a record is short.
    Raises HandOver for what only the streamed reading can say exactly: a file the counting cannot
    vouch for, a record longer than the header (`ncols`), a record whose read cells are all blank
    but which has more cells (blank or not: only all its cells tell), a chunk reader that fails or
    sees other records than the csv module did. After the iteration `short` (data records with
    fewer cells than the header), `last_cells` (cells of the last data record), `line_ending` and
    `final_newline` are what the streamed reading would say.
    """

    def __init__(self, path: str, bom: bool, delimiter: str, first: list[list[str]], ncols: int,
                 positions: Sequence[int], header_records: int, chunk: int = _CHUNK, block: int = _BLOCK) -> None:
        self.path = path
        self.start = 3 if bom else 0
        self.delimiter = delimiter
        self.first = first
        self.ncols = ncols
        self.positions = sorted({0, *(j for j in positions if j < ncols)})  # the first column tells blank lines
        self.header_records = header_records
        self.chunk = chunk
        self.block = block
        self.short = 0
        self.last_cells = 0
        self.line_ending, self.final_newline = "none", False

    def __iter__(self) -> Iterator[tuple[Sequence[int], dict[int, list[str]]]]:
        from ..progress import BIG, report

        widths = record_widths(self.path, self.delimiter, self.start, self.block)
        if widths is None:
            raise HandOver(self.path)
        cells = widths.cells
        total = len(cells)
        ncols = self.ncols
        if total < len(self.first) or bool(np.any(cells > ncols)):
            raise HandOver(self.path)  # longer records: the whole reading drops or refuses their extra cells
        what = f"reading {os.path.basename(self.path)}"
        shown = total >= BIG
        done = 0
        last = -1  # index of the last data record
        blank_short = 0
        try:
            for got in column_chunks(self.path, self.delimiter, self.start, self.positions, self.chunk):
                n = len(got[0])
                if done + n > total:
                    raise HandOver(self.path)
                if done < len(self.first):
                    self._same_as_first(got, done)
                skip = self._skipped(got, done, cells)
                for i in skip:
                    if i >= self.header_records and cells[i] < ncols:
                        blank_short += 1
                rows: Sequence[int] = range(done + 1, done + n + 1)
                if skip:
                    keep = [r for r in range(n) if r + done not in skip]
                    rows = [r + done + 1 for r in keep]
                    got = {j: [col[r] for r in keep] for j, col in got.items()}
                if rows:
                    last = rows[-1] - 1
                done += n
                yield rows, got
                if shown and done < total:
                    report(what, done, total)
        except (ValueError, OSError):
            raise HandOver(self.path) from None  # pandas' ParserError and decoding errors are ValueErrors
        if done != total:
            raise HandOver(self.path)
        if shown:
            report(what, done, done)
        data = cells[self.header_records:]
        self.short = int(np.count_nonzero(data < ncols)) - blank_short
        self.last_cells = int(cells[last]) if last >= 0 else 0
        self.line_ending, self.final_newline = widths.line_ending, widths.final_newline

    def _same_as_first(self, got: dict[int, list[str]], done: int) -> None:
        """The first records (those in this chunk, which starts at record `done`) as the csv module
        read them, or the two readers split the file differently."""
        for r in range(len(got[0])):
            if done + r >= len(self.first):
                break
            rec = self.first[done + r]
            for j in self.positions:
                if got[j][r] != (rec[j] if j < len(rec) else ""):
                    raise HandOver(self.path)

    def _skipped(self, got: dict[int, list[str]], done: int, cells: np.ndarray) -> set[int]:
        """Indexes (in the file) of this chunk's header and blank records."""
        skip = {i for i in range(done, min(done + len(got[0]), self.header_records))}
        firsts = got[0]
        for r, v in enumerate(firsts):
            if v and not v.isspace():
                continue
            i = done + r
            if i < self.header_records:
                continue
            if any(got[j][r].strip() for j in self.positions):
                continue  # a record with something in a read cell is no blank record
            if cells[i] > 1:
                raise HandOver(self.path)  # blank only if its other cells are: the streamed reading sees them
            skip.add(i)
        return skip


def share_column(values: list[str], seen: dict) -> list[str]:
    """`values` with each cell replaced by the equal string first seen in its column (as
    csvtext.share_repeats does a record at a time, at most as many values a column)."""
    from .csvtext import _SHARED_VALUES

    room = _SHARED_VALUES - len(seen)
    if room > 0:
        for v in dict.fromkeys(values):
            if v not in seen:
                seen[v] = v
                room -= 1
                if not room:
                    break
    return list(map(seen.get, values, values))
