"""The approve/reject CSV the MTurk requester website accepts (Manage > Results > Upload CSV).

It is the batch results file itself, given back: every original row, the same header and column
order, with `x` in `Approve` or the reason text in `Reject`. Rows with neither are left alone by
MTurk. The byte layout follows the real uploads in shared/realdata/ielab__CLEF2017_AMT: UTF-8
without a BOM, every field quoted, CRLF after every record including the last.

The batch files are read here as raw text records (not through the importers) because the upload
must give back each row exactly as MTurk wrote it, including columns we do not interpret.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ...errors import InputError
from ...feedback import reason_problem as _reason_problem
from ...models import PlanRow

MIN_REASON_CHARS = 10
MAX_REASON_CHARS = 1024  # RequesterFeedback limit

APPROVE_MARK = "x"


@dataclass(frozen=True)
class RawBatch:
    """One batch results file as raw text records (short rows as they are, not padded)."""

    path: str
    header: tuple[str, ...]
    records: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]  # CSV record number of each record (header = 1)
    encoding: str
    index: dict = field(default_factory=dict, compare=False, repr=False)  # AssignmentId -> record position
    _columns: dict = field(default_factory=dict, compare=False, repr=False)  # name -> first position
    # Only some columns kept (read_batch's `keep`): the header and records hold those alone, and an
    # upload reads the file again whole (prepare_uploads).
    narrowed: bool = False

    def column(self, name: str) -> int | None:
        if not self._columns:
            for j, h in enumerate(self.header):
                self._columns.setdefault(h.strip(), j)
        return self._columns.get(name)

    def cell(self, pos: int, name: str) -> str:
        j = self.column(name)
        rec = self.records[pos]
        return rec[j] if j is not None and j < len(rec) else ""


def read_batch(path: str | os.PathLike, keep: Sequence[str] | None = None) -> RawBatch:
    """Read a batch results CSV as raw records. Raises InputError for a file that is not one.

    Read exactly as `match` reads it (importers.csvtext: UTF-8 with or without BOM, UTF-16 with BOM,
    anything else refused with one sentence; a cut-off file refused), so `pay` never reads a file
    `match` would not.

    `keep`: hold only these columns (by name, as `RawBatch.column` finds them; a short row's missing
    cell reads ""), for a reader that checks a few columns of a large batch (the dry run's verifier:
    a 1M-row batch's every cell is about 2 GB). The index of AssignmentIds is the whole reading's.
    """
    from ...importers.csvtext import NotStreamable, load_table

    p = Path(path)
    if keep is not None:
        try:  # a stream: the cells not kept are never all held at once (1M rows: about 2 GB)
            header, numbered = _streamed(p)
            return _batch(p, header, numbered, keep)
        except NotStreamable:
            pass  # read whole, so that what is refused is refused in load_table's words
    table = load_table(p)  # the same decoding, parsing and cut-file check as `match`
    recs = table.records

    def whole():
        for number in range(2, len(recs) + 1):
            rec = recs[number - 1]
            recs[number - 1] = None  # each list goes as its tuple comes: the rows are held once, not twice
            yield number, rec

    return _batch(p, tuple(recs[0]), whole(), keep)


def _streamed(p: Path):
    """(header, numbered records) of a batch read as csvtext.RecordStream reads it; NotStreamable
    (also at the end, for a cut last row) when load_table must read it whole, or it is no batch."""
    from ...importers.csvtext import NotStreamable, RecordStream

    records = iter(RecordStream(p))
    header = next(records, None)
    if header is None or "AssignmentId" not in (h.strip() for h in header):
        raise NotStreamable(str(p))
    width = len(header)

    def numbered():
        last_number, last_len = 1, width
        for number, rec in enumerate(records, start=2):
            if any(c.strip() for c in rec):
                last_number, last_len = number, len(rec)
            yield number, rec
        if last_number > 1 and last_len * 2 < width:  # csvtext._refuse_short_last_record
            raise NotStreamable(str(p))

    return tuple(header), numbered()


def _batch(p: Path, header: tuple[str, ...], numbered, keep: Sequence[str] | None) -> RawBatch:
    # The header is kept as written: the upload gives it back unchanged.
    if "AssignmentId" not in (h.strip() for h in header):
        raise InputError(f"{p}: not an MTurk batch results file (no AssignmentId column).")
    records: list[tuple[str, ...]] = []
    lines: list[int] = []
    whole = RawBatch(str(p), header, (), (), "utf-8")
    j = whole.column("AssignmentId")
    assert j is not None  # checked above
    index: dict[str, int] = {}
    narrow: Callable[[list[str]], tuple[str, ...]] = tuple
    if keep is not None:
        kept = [(name, at) for name in dict.fromkeys(keep) if (at := whole.column(name)) is not None]
        header = tuple(name for name, _ in kept)
        positions = [at for _, at in kept]
        width = max(positions, default=-1) + 1

        def narrow(rec: list[str]) -> tuple[str, ...]:
            if len(rec) < width:
                rec = rec + [""] * (width - len(rec))
            return tuple([rec[k] for k in positions])
    for number, rec in numbered:
        if any(c.strip() for c in rec):
            if j < len(rec):
                index.setdefault(rec[j].strip(), len(records))
            records.append(narrow(rec))
            lines.append(number)
    # The upload is written as UTF-8 (what the requester website gives and takes), whatever the input's encoding.
    batch = RawBatch(str(p), header, tuple(records), tuple(lines), "utf-8", narrowed=keep is not None)
    batch.index.update(index)
    return batch


@dataclass(frozen=True)
class UploadFile:
    batch_path: str
    out_path: Path
    approve: int
    reject: int
    untouched: int


def upload_paths(out: Path, batch_paths: Sequence[str]) -> list[Path]:
    """OUT.csv for one batch; OUT__<batch stem>.csv for each of several (numbered if stems repeat)."""
    out = Path(out)
    if len(batch_paths) == 1:
        return [out]
    suffix = out.suffix or ".csv"
    seen: dict[str, int] = {}
    paths = []
    for bp in batch_paths:
        stem = Path(bp).stem
        seen[stem] = seen.get(stem, 0) + 1
        name = f"{out.stem}__{stem}" + (f"_{seen[stem]}" if seen[stem] > 1 else "") + suffix
        paths.append(out.with_name(name))
    return paths


def upload_text(batch: RawBatch, decisions: dict[str, PlanRow]) -> tuple[str, int, int, int]:
    """The upload file for one batch: (text, approvals, rejections, rows left alone).

    `decisions` maps AssignmentId -> checked plan row. Rows the plan does not mention, and later
    duplicates of a row, get neither mark: nothing is done that the PI did not see in the plan.
    """
    header = list(batch.header)
    cols = {}
    for col in ("Approve", "Reject", "AssignmentId"):
        j = batch.column(col)
        if j is None:  # an Excel-edited file may have lost Approve/Reject; MTurk needs both
            j = len(header)
            header.append(col)
        cols[col] = j
    a_col, r_col, id_col = cols["Approve"], cols["Reject"], cols["AssignmentId"]
    width = len(header)
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    approvals = rejections = untouched = 0
    done: set[str] = set()
    for rec in batch.records:
        row = list(rec) + [""] * (width - len(rec))
        aid = row[id_col].strip()
        plan_row = decisions.get(aid) if aid not in done else None
        done.add(aid)
        row[a_col] = row[r_col] = ""
        if plan_row is not None and plan_row.decision == "approve":
            row[a_col] = APPROVE_MARK
            approvals += 1
        elif plan_row is not None and plan_row.decision == "reject":
            if not is_real_reason(plan_row.feedback):  # plan_check refuses these; never upload one
                raise InputError(f"{plan_row.source}: refusing to write a reject without a real reason.")
            row[r_col] = plan_row.feedback.strip()
            rejections += 1
        else:
            untouched += 1
        writer.writerow(row)
    return buf.getvalue(), approvals, rejections, untouched


def reason_problem(feedback: str) -> str | None:
    """Why a feedback text is not a reason MTurk (and a worker) should get; None if it is one."""
    return _reason_problem(feedback, min_chars=MIN_REASON_CHARS, max_chars=MAX_REASON_CHARS, where="MTurk")


def is_real_reason(feedback: str) -> bool:
    return reason_problem(feedback) is None


def prepare_uploads(
    out: Path, batches: Sequence[RawBatch], rows: Iterable[PlanRow], row_batch: dict[str, str]
) -> list[tuple[UploadFile, str, str]]:
    """Everything to write, computed before anything is written: (file, text, encoding) per batch.

    `row_batch` maps AssignmentId -> the path of the batch the row belongs to.
    """
    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{out}: cannot write the upload CSV, folder {parent} does not exist.")
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name like approve.csv.")
    per_batch: dict[str, dict[str, PlanRow]] = {b.path: {} for b in batches}
    for r in rows:
        bp = row_batch.get(r.submission_id)
        if bp in per_batch:
            per_batch[bp][r.submission_id] = r
    result = []
    for batch, path in zip(batches, upload_paths(out, [b.path for b in batches])):
        decisions = per_batch[batch.path]
        if batch.narrowed:
            batch = _read_again(batch)
        text, a, rj, u = upload_text(batch, decisions)
        result.append((UploadFile(batch.path, path, a, rj, u), text, batch.encoding))
    return result


def _read_again(checked: RawBatch) -> RawBatch:
    """The whole batch a narrowed one was read from, refused when its checked columns changed since."""
    whole = read_batch(checked.path)
    at = [whole.column(name) for name in checked.header]
    same = whole.lines == checked.lines and all(
        tuple([rec[k] if k is not None and k < len(rec) else "" for k in at]) == cells
        for rec, cells in zip(whole.records, checked.records)
    )
    if not same:
        raise InputError(f"{checked.path} changed while the plan was being checked; run the dry run again.")
    return whole


def write_uploads(prepared: list[tuple[UploadFile, str, str]]) -> list[UploadFile]:
    """Write the prepared files atomically (each one whole or not at all)."""
    from ...atomic import atomic_open

    written = []
    for info, text, encoding in prepared:
        try:
            with atomic_open(info.out_path, "w", encoding=encoding, newline="") as fh:
                fh.write(text)
        except OSError as exc:
            raise InputError(f"{info.out_path}: cannot write the upload CSV ({exc.strerror or exc}).") from None
        written.append(info)
    return written
