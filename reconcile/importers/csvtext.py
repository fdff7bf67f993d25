"""Bytes -> text -> CSV records, with one clear sentence for every way a file can be unusable.

Decoding is strict: UTF-8 (with or without BOM) or UTF-16 with a BOM (Qualtrics TSV exports).
A file in a legacy code page is refused rather than guessed at, because a wrongly decoded code
would silently fail to match (and the user can re-save it as "CSV UTF-8" in one step).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter

from ..errors import InputError
from ..progress import BIG, report
from ..records import paused_gc

# JSON answers (bounding boxes, long free text) exceed csv's default 128 KiB field limit.
csv.field_size_limit(min(2**31 - 1, 512 * 1024 * 1024))

_BINARY_SIGNATURES = (
    (b"PK\x03\x04", "an Excel workbook or other zip archive (.xlsx/.zip), not a CSV; save it as \"CSV UTF-8\" or use the original CSV download"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls), not a CSV; save it as \"CSV UTF-8\" or use the original CSV download"),
    (b"\x1f\x8b", "gzip-compressed; decompress it first"),
    (b"%PDF", "a PDF document, not a CSV"),
    (b"SQLite format 3\x00", "a SQLite database, not a CSV"),
)


@dataclass(frozen=True)
class Table:
    """A file decoded and split into CSV records (lists of cells), plus what we learnt doing so."""

    path: str
    records: list  # list[list[str]]; blank records kept (as []) so indexes stay record numbers - 1
    encoding: str  # "UTF-8", "UTF-16 LE", ...
    bom: bool
    delimiter: str
    line_ending: str  # "CRLF", "LF", "CR", "mixed" or "none"
    final_newline: bool
    numeric: frozenset = frozenset()  # (record index, column index) of cells a workbook stored as numbers (importers/xlsx)

    @property
    def is_workbook(self) -> bool:
        return bool(self.encoding.startswith("Excel workbook"))

    @property
    def delimiter_name(self) -> str:
        return {",": "comma", "\t": "tab", ";": "semicolon"}.get(self.delimiter, repr(self.delimiter))


def read_bytes(path: str | os.PathLike) -> bytes:
    p = os.fspath(path)
    try:
        with open(p, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise InputError(f"{p}: no such file; check the path.") from None
    except IsADirectoryError:
        raise InputError(f"{p} is a directory, not a file; name the CSV file inside it.") from None
    except PermissionError:
        raise InputError(f"{p}: permission denied; cannot read the file.") from None
    except OSError as err:
        raise InputError(f"{p}: cannot be read ({err.strerror or err}).") from None


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when the bytes look like BOM-less UTF-16 text (NULs every other byte)."""
    head = data[:2000]
    if len(head) < 4:
        return None
    even_nuls = head[0::2].count(0)
    odd_nuls = head[1::2].count(0)
    half = len(head) // 2
    if odd_nuls > 0.8 * half and even_nuls == 0:
        return "utf-16-le"
    if even_nuls > 0.8 * half and odd_nuls == 0:
        return "utf-16-be"
    return None


def decode(path: str, data: bytes) -> tuple[str, str, bool]:
    """Return (text, encoding name, had BOM). Raises InputError for empty, binary or undecodable data."""
    if not data.strip():
        raise InputError(f"{path} is empty; download the export again.")
    for sig, what in _BINARY_SIGNATURES:
        if data.startswith(sig):
            raise InputError(f"{path} is {what}.")
    if data.startswith(codecs.BOM_UTF8):
        codec, name, bom, body = "utf-8", "UTF-8", True, data[3:]
    elif data.startswith(codecs.BOM_UTF16_LE):
        codec, name, bom, body = "utf-16-le", "UTF-16 LE", True, data[2:]
    elif data.startswith(codecs.BOM_UTF16_BE):
        codec, name, bom, body = "utf-16-be", "UTF-16 BE", True, data[2:]
    else:
        guess = _utf16_without_bom(data)
        if guess:
            codec, name, bom, body = guess, guess.upper().replace("UTF-16-", "UTF-16 "), False, data
        else:
            codec, name, bom, body = "utf-8", "UTF-8", False, data
    if codec == "utf-8" and b"\x00" in body:
        raise InputError(f"{path} looks like a binary file (it contains NUL bytes), not a CSV export.")
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as err:
        line = body[: err.start].count(b"\n") + 1
        bad = body[err.start : err.start + 1].hex()
        raise InputError(
            f"{path}: line {line} has bytes that are not valid {name} (0x{bad} at byte {err.start + (len(data) - len(body))}); "
            "re-save the file as \"CSV UTF-8\" or use the original download."
        ) from None
    if "\x00" in text:
        raise InputError(f"{path} looks like a binary file (it contains NUL characters), not a CSV export.")
    if not text.strip():
        raise InputError(f"{path} is empty; download the export again.")
    return text, name, bom


def _sniff_delimiter(text: str) -> str:
    # The header line never holds a quoted newline in real exports, so the first line is enough.
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 0 else ","


def _line_endings(text: str) -> tuple[str, bool]:
    crlf = text.count("\r\n")
    return _ending_of(crlf, text.count("\n") - crlf, text.count("\r") - crlf), text.endswith(("\n", "\r"))


def _ending_of(crlf: int, lf: int, cr: int) -> str:
    """The file's line ending from counts of CRLF, bare LF and bare CR."""
    kinds = [k for k, n in (("CRLF", crlf), ("LF", lf), ("CR", cr)) if n]
    # bare LF inside quoted cells of a CRLF file is normal for Qualtrics; call the file CRLF then.
    if crlf and not cr:
        return "CRLF"
    if len(kinds) == 1:
        return kinds[0]
    return "none" if not kinds else "mixed"


def load_table(path: str | os.PathLike, *, partial: bool = False) -> Table:
    """The file decoded and split into records. `partial`: the text is knowingly only the start of a
    file (a probe of a download), so a short last record is no sign of a cut.

    A UTF-8 file (the usual case) is read as a stream: csv reads lines from the open file while the
    bytes going past are counted (quotes, line endings, NULs), so the whole text is never held,
    nor a second copy of it (1M-row batch: 5.6 GB -> about 2 GB peak). Anything unusual (UTF-16, a
    decoding error, NUL bytes, an odd number of quotes that may mean a cut, no line end in the first
    64 KiB) is read again whole by `_load_whole`, which words the error exactly as before.
    """
    p = os.fspath(path)
    fh = _open_binary(p)
    with fh:
        head = fh.read(_HEAD_BYTES)
        if head.startswith(b"PK\x03\x04"):
            from .xlsx import is_xlsx, load_xlsx_table

            data = read_bytes(p)
            if is_xlsx(data):  # a Qualtrics "Excel" download, or a CSV re-saved as a workbook
                return load_xlsx_table(p, data)
        body = head[3:] if head.startswith(codecs.BOM_UTF8) else head
        cut = body.find(b"\n")
        if (cut < 0 or not head.strip() or b"\x00" in body or _utf16_without_bom(head) is not None
                or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or any(head.startswith(sig) for sig, _ in _BINARY_SIGNATURES)):
            return _load_whole(p, partial)
        try:
            delimiter = _sniff_delimiter(body[:cut].decode("utf-8"))
        except UnicodeDecodeError:
            return _load_whole(p, partial)
        counted = _CountingReader(fh, body)
        text = io.TextIOWrapper(io.BufferedReader(counted, _CHUNK_BYTES), encoding="utf-8", errors="strict", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            records: list[list[str]] = _read_records(reader, lambda: counted.read_bytes, _file_size(p),
                                                     f"reading {os.path.basename(p)}")
        except (UnicodeDecodeError, csv.Error):
            # Whole, so that a decoding error later in the file is still the one reported first.
            return _load_whole(p, partial)
    if counted.nul or (counted.quotes % 2 and not partial):
        return _load_whole(p, partial)
    while records and not any(c.strip() for c in records[-1]):
        records.pop()
    if not records:
        raise InputError(f"{p} is empty; download the export again.")
    if not partial:
        _refuse_short_last_record(p, records)
    ending, final_newline = counted.line_endings()
    return Table(p, records, "UTF-8", head.startswith(codecs.BOM_UTF8), delimiter, ending, final_newline)


_HEAD_BYTES = 64 * 1024  # the header line must end in here to be streamed (real headers: a few KiB)
_CHUNK_BYTES = 1 << 20  # the most bytes read (and counted) at a time


class _CountingReader(io.RawIOBase):
    """The bytes of an open file (after its BOM), counting what `_line_endings` and the cut-file
    check count in the text. In UTF-8 a quote, CR, LF or NUL byte is always that character."""

    def __init__(self, fh, first: bytes) -> None:
        self._fh = fh
        self._pending = first
        self.quotes = self.crlf = self.lf = self.cr = 0
        self.nul = False
        self._last = b""
        self.read_bytes = 0  # for the progress estimate

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        want = min(len(b), _CHUNK_BYTES)
        data = self._pending or self._fh.read(want)
        if self._pending:
            data, self._pending = data[:want], data[want:]
        if not data:
            return 0
        self.quotes += data.count(b'"')
        self.crlf += data.count(b"\r\n") + (self._last == b"\r" and data[:1] == b"\n")
        self.lf += data.count(b"\n")
        self.cr += data.count(b"\r")
        self.nul = self.nul or b"\x00" in data
        self._last = data[-1:]
        n = len(data)
        self.read_bytes += n
        b[:n] = data
        return n

    def line_endings(self) -> tuple[str, bool]:
        """What `_line_endings` says of the same text."""
        return _ending_of(self.crlf, self.lf - self.crlf, self.cr - self.crlf), self._last in (b"\n", b"\r")


def _open_binary(p: str):
    try:
        return open(p, "rb")
    except FileNotFoundError:
        raise InputError(f"{p}: no such file; check the path.") from None
    except IsADirectoryError:
        raise InputError(f"{p} is a directory, not a file; name the CSV file inside it.") from None
    except PermissionError:
        raise InputError(f"{p}: permission denied; cannot read the file.") from None
    except OSError as err:
        raise InputError(f"{p}: cannot be read ({err.strerror or err}).") from None


def _load_whole(p: str, partial: bool) -> Table:
    """load_table by decoding the whole file first: for UTF-16 and for files with a problem."""
    text, encoding, bom = decode(p, read_bytes(p))
    delimiter = _sniff_delimiter(text)
    ending, final_newline = _line_endings(text)
    buffer = io.StringIO(text, newline="")
    reader = csv.reader(buffer, delimiter=delimiter)
    try:
        records: list[list[str]] = _read_records(reader, buffer.tell, len(text), f"reading {os.path.basename(p)}")
    except csv.Error as err:
        raise InputError(f"{p}: line {reader.line_num} cannot be read as CSV ({err}); the file may be damaged.") from None
    # Trailing blank records (a final empty line, Excel's padding) carry nothing.
    while records and not any(c.strip() for c in records[-1]):
        records.pop()
    if not records:
        raise InputError(f"{p} is empty; download the export again.")
    if not partial:
        refuse_cut_file(p, text, delimiter, records)
    return Table(p, records, encoding, bom, delimiter, ending, final_newline)


def _file_size(p: str) -> int:
    try:
        return os.path.getsize(p)
    except OSError:
        return 0


def _read_records(reader, position: Callable[[], int], size: int, what: str, chunk: int = 20_000) -> list[list[str]]:
    """Every record, read in chunks (C speed); for a file of about BIG rows or more, the rows read so
    far and an estimate of all of them (from how much of the `size` was read) are reported after each chunk."""
    records: list[list[str]] = []
    for got in _chunks(reader, position, size, what, chunk):
        records.extend(got)
    return records


def _chunks(reader, position: Callable[[], int], size: int, what: str, chunk: int = 20_000, first: int = 0):
    """The records in lists of `chunk` (the first list of `first` when given), reporting progress as
    `_read_records` says."""
    from itertools import islice

    done = 0
    shown = False
    want = first or chunk
    while True:
        got = list(islice(reader, want))
        done += len(got)
        yield got
        if len(got) < want:
            break
        want = chunk
        read = position()
        estimate = max(done, round(done * size / max(1, read)))
        shown = shown or estimate >= BIG
        if shown:
            report(what, done, estimate)
    if shown:
        report(what, done, done)


# ---------------------------------------------------------------- cut-off downloads

def refuse_cut_file(path: str, text: str, delimiter: str, records: list) -> None:
    """Raise InputError when the file looks cut off: it ends inside a quoted field, or its last
    record holds fewer than half the header's fields.

    The csv module reads an unterminated quote up to the end of the file without complaint, so an
    interrupted download would otherwise lose every row after the cut without a word. (Batch
    rows are legitimately two fields short, hence "half"; no real download comes close to it.)
    """
    # In well-formed CSV every quote opens or closes a field or is half of a doubled "": the count
    # is even. Only an odd count (a cut, or a stray quote inside an unquoted cell) needs a closer look.
    if text.count('"') % 2:
        where = _final_record_in_quotes(text, delimiter)
        if where is not None:
            row, line = where
            raise InputError(
                f"{path} ends inside a quoted field that opens in row {row} (line {line}); the file looks cut off "
                "(an interrupted download?), so download it again."
            )
    _refuse_short_last_record(path, records)


def _refuse_short_last_record(path: str, records: list) -> None:
    width = len(records[0])
    last = records[-1]
    if len(records) > 1 and len(last) * 2 < width:
        raise InputError(
            f"{path}: the last row (row {len(records)}) has only {len(last)} of the header's {width} fields; "
            "the file looks cut off (an interrupted download?), so download it again."
        )


def _final_record_in_quotes(text: str, delimiter: str) -> tuple[int, int] | None:
    """(row, line) where the last non-blank record starts, when that record ends inside quotes."""
    starts: list[int] = []  # text offset of every physical line, as the csv reader sees lines

    def lines():
        pos = 0
        for line in io.StringIO(text, newline=""):
            starts.append(pos)
            pos += len(line)
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    row = 0
    last: tuple[int, int] | None = None
    next_line = 1  # the line the next record starts on
    for rec in reader:
        row += 1
        if any(c.strip() for c in rec):
            last = (row, next_line)
        next_line = reader.line_num + 1
    if last is None or not _ends_in_quotes(text[starts[last[1] - 1]:], delimiter):
        return None
    return last


def _ends_in_quotes(chunk: str, delimiter: str) -> bool:
    """Whether csv parsing of `chunk` (from a record start) ends inside a quoted field.

    Mirrors the csv module's default (non-strict) reading: a quote opens a field only at the
    field's start, "" inside quotes is a literal quote, and text after a closing quote is kept.
    """
    start, plain, quoted, after_quote = range(4)
    state = start
    for ch in chunk:
        if state == quoted:
            if ch == '"':
                state = after_quote
        elif state == after_quote:
            if ch == '"':
                state = quoted
            elif ch == delimiter or ch in "\r\n":
                state = start
            else:
                state = plain
        elif state == start:
            if ch == '"':
                state = quoted
            elif ch != delimiter and ch not in "\r\n":
                state = plain
        elif ch == delimiter or ch in "\r\n":
            state = start
    return state == quoted


def is_blank(record: list[str]) -> bool:
    # The first cell decides almost every row; only rows starting empty need the full scan.
    return not record or (not record[0].strip() and not any(c.strip() for c in record))


class RowFields(Mapping):
    """A read-only column -> cell mapping over one row, sharing the column index with its file.

    A dict per row would cost ~90 entries x 100k rows of memory and time; this costs one object.
    """

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict, values: Sequence) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: str) -> str:
        return self._values[self._index[key]]

    def get(self, key, default=None):
        j = self._index.get(key)
        return default if j is None else self._values[j]

    def __contains__(self, key) -> bool:
        return key in self._index

    def __iter__(self):
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __eq__(self, other) -> bool:
        if isinstance(other, RowFields) and other._index is self._index:
            return self._values == other._values
        return Mapping.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RowFields({dict(zip(self._index, self._values))!r})"


def keep_only(fields: Iterable[Mapping[str, str]], columns: Iterable[str]) -> None:
    """Narrow every RowFields in `fields` to `columns` (those its file has), in place; other
    mappings are left alone. For a caller that knows every column it will still look up: a
    million rows of a 30-column batch hold about a gigabyte of cells no decision reads. A column
    dropped here reads as absent (`get` gives the default, `in` is False), so keep every column
    whose presence is asked about too."""
    with paused_gc():  # a million new tuples would set off full collections of the whole heap
        _keep_only(fields, list(dict.fromkeys(columns)))


def _keep_only(fields: Iterable[Mapping[str, str]], wanted: list[str]) -> None:
    narrowed: dict[int, tuple[dict, dict, Callable]] = {}  # id(old index) -> (old index, new index, getter)
    for f in fields:
        if type(f) is not RowFields:
            continue
        old = f._index
        plan = narrowed.get(id(old))
        if plan is None:
            names = [c for c in wanted if c in old]
            at = [old[c] for c in names]
            if not at:
                getter: Callable = _no_cells
            elif len(at) == 1:
                one = at[0]
                getter = lambda values, one=one: (values[one],)  # noqa: E731
            else:
                getter = itemgetter(*at)
            # The old index is kept in the entry so its id() cannot be reused by another one.
            plan = narrowed[id(old)] = (old, {c: k for k, c in enumerate(names)}, getter)
        f._index = plan[1]
        f._values = plan[2](f._values)


def _no_cells(values) -> tuple:
    return ()


def used_width(header: list[str], records: list, data_idx: list[int]) -> int:
    """The header's width less trailing unnamed columns that are empty in every data row
    (a comma at the end of every line, or padding added by a spreadsheet)."""
    ncols = len(header)
    while ncols and not header[ncols - 1].strip() and all(
        len(records[i]) < ncols or not records[i][ncols - 1].strip() for i in data_idx
    ):
        ncols -= 1
    return ncols


def shape_rows(path: str, records: list, data_idx: list[int], ncols: int) -> tuple[list[list[str]], int]:
    """Rows of exactly ncols cells plus one trailing "" (a sentinel that absent columns read from).

    Short rows are padded (some websites omit empty trailing cells); extra cells are dropped
    when empty and refused otherwise (an unquoted comma would shift every later cell). Returns the
    rows and how many were short. Pads in place: the records belong to the caller's Table.
    """
    rows: list[list[str]] = []
    short = 0
    width = ncols + 1
    for i in data_idx:
        rec = records[i]
        n = len(rec)
        if n == ncols:
            rec.append("")
        elif n < ncols:
            short += 1
            rec.extend([""] * (width - n))
        elif any(c.strip() for c in rec[ncols:]):
            raise InputError(
                f"{path}: row {i + 1} has {n} cells but the header has {ncols} columns; "
                "the file may be damaged (an unquoted comma?), so use the original download."
            )
        else:
            del rec[ncols:]
            rec.append("")
        rows.append(rec)
    return rows, short


def unique_names(names: list[str]) -> tuple[list[str], list[str]]:
    """Make column names usable as dict keys: blank -> "column N", repeats -> "name (2)". Returns (names, notes)."""
    out: list[str] = []
    seen: set[str] = set()
    notes: list[str] = []
    for i, name in enumerate(names, start=1):
        new = name if name.strip() else f"column {i}"
        if new in seen:
            k = 2
            while f"{name} ({k})" in seen:
                k += 1
            new = f"{name} ({k})"
            notes.append(f"column {i} repeats the name {name!r}; it is kept as {new!r}")
        elif not name.strip():
            notes.append(f"column {i} has no name; it is kept as {new!r}")
        seen.add(new)
        out.append(new)
    return out, notes


class NotStreamable(Exception):
    """The file needs `load_table`'s whole reading (another encoding, a damaged byte, a workbook,
    a NUL, an odd number of quotes): a streamed reader gives up and the caller reads it whole, so
    what is said of the file, error sentences included, stays exactly `load_table`'s."""


class RecordStream:
    """The records of a UTF-8 CSV file one at a time, read as `load_table` streams them, for a
    reader that needs each record once (memory independent of the rows). Iterate it once; after
    that `encoding`, `bom`, `delimiter`, `line_ending` and `final_newline` are what the Table of
    `load_table` would say. Anything `load_table` would read whole raises NotStreamable, while
    opening or while iterating (a NUL or an odd number of quotes: when the last record is read)."""

    def __init__(self, path: str | os.PathLike, *, progress: bool = True, chunk: int = 2_000, first: int = 0) -> None:
        self.path = os.fspath(path)
        self.progress = progress  # report the rows read, as load_table does
        self.chunk = chunk  # records read (and held) at a time when reporting progress
        self.first = first  # records read first when reporting progress (a reader that may stop after them)
        self.encoding = "UTF-8"
        self.line_ending, self.final_newline = "none", False
        fh = _open_binary(self.path)
        try:
            head = fh.read(_HEAD_BYTES)
            body = head[3:] if head.startswith(codecs.BOM_UTF8) else head
            cut = body.find(b"\n")
            if (cut < 0 or not head.strip() or b"\x00" in body or _utf16_without_bom(head) is not None
                    or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
                    or any(head.startswith(sig) for sig, _ in _BINARY_SIGNATURES)):
                raise NotStreamable(self.path)
            try:
                self.delimiter = _sniff_delimiter(body[:cut].decode("utf-8"))
            except UnicodeDecodeError:
                raise NotStreamable(self.path) from None
        except BaseException:
            fh.close()
            raise
        self.bom = head.startswith(codecs.BOM_UTF8)
        self._fh = fh
        self._counted = _CountingReader(fh, body)

    def head(self, n: int) -> tuple[list[list[str]], Iterator[list[str]], Table]:
        """Start the one iteration: the first `n` records (fewer in a shorter file), an iterator over
        the rest, and a Table of those first records (what identification by content reads)."""
        records = iter(self)
        head = list(islice(records, n))
        return head, records, Table(self.path, head, self.encoding, self.bom, self.delimiter, "none", False)

    def __iter__(self):
        counted = self._counted
        with self._fh:
            text = io.TextIOWrapper(io.BufferedReader(counted, _CHUNK_BYTES), encoding="utf-8", errors="strict", newline="")
            reader = csv.reader(text, delimiter=self.delimiter)
            try:
                if self.progress:
                    # Small chunks by default: the stream holds one chunk of records at a time.
                    for got in _chunks(reader, lambda: counted.read_bytes, _file_size(self.path),
                                       f"reading {os.path.basename(self.path)}", chunk=self.chunk, first=self.first):
                        yield from got
                else:
                    yield from reader
            except (UnicodeDecodeError, csv.Error):
                raise NotStreamable(self.path) from None
        if counted.nul or counted.quotes % 2:
            raise NotStreamable(self.path)
        self.line_ending, self.final_newline = counted.line_endings()


# A column kept as one object per distinct value up to this many values (statuses, rewards, HIT IDs,
# durations, scores repeat on most rows; a column of distinct values stops growing its table here).
_SHARED_VALUES = 4096


def repeats_shared(positions: Iterable[int]) -> list[tuple[int, dict]]:
    """The tables `share_repeats` fills, one per column position (each position once)."""
    return [(j, {}) for j in dict.fromkeys(positions)]


def share_repeats(record: list[str], tables: list[tuple[int, dict]]) -> None:
    """Replace each cell at the tables' positions by the equal string first seen there, so a million
    rows of "Submitted" or "$0.50" hold one string, not a million (~55 bytes each). Equal text, so
    nothing read from the cells changes."""
    for j, seen in tables:
        v = record[j]
        first = seen.get(v)
        if first is None:
            if len(seen) < _SHARED_VALUES:
                seen[v] = v
        else:
            record[j] = first
