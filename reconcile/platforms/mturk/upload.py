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
from typing import Iterable, Sequence

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

    def column(self, name: str) -> int | None:
        if not self._columns:
            for j, h in enumerate(self.header):
                self._columns.setdefault(h.strip(), j)
        return self._columns.get(name)

    def cell(self, pos: int, name: str) -> str:
        j = self.column(name)
        rec = self.records[pos]
        return rec[j] if j is not None and j < len(rec) else ""


def read_batch(path: str | os.PathLike) -> RawBatch:
    """Read a batch results CSV as raw records. Raises InputError for a file that is not one.

    Read exactly as `match` reads it (importers.csvtext: UTF-8 with or without BOM, UTF-16 with BOM,
    anything else refused with one sentence; a cut-off file refused), so `pay` never reads a file
    `match` would not.
    """
    from ...importers.csvtext import load_table

    p = Path(path)
    table = load_table(p)  # the same decoding, parsing and cut-file check as `match`
    header = tuple(table.records[0])  # kept as written: the upload gives the header back unchanged
    if "AssignmentId" not in (h.strip() for h in header):
        raise InputError(f"{p}: not an MTurk batch results file (no AssignmentId column).")
    records, lines = [], []
    recs = table.records
    for number in range(2, len(recs) + 1):
        rec = recs[number - 1]
        recs[number - 1] = None  # each list goes as its tuple comes: the rows are held once, not twice
        if any(c.strip() for c in rec):
            records.append(tuple(rec))
            lines.append(number)
    # The upload is written as UTF-8 (what the requester website gives and takes), whatever the input's encoding.
    batch = RawBatch(str(p), header, tuple(records), tuple(lines), "utf-8")
    j = batch.column("AssignmentId")
    assert j is not None  # checked above
    for pos, rec in enumerate(records):
        if j < len(rec):
            batch.index.setdefault(rec[j].strip(), pos)
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
        text, a, rj, u = upload_text(batch, per_batch[batch.path])
        result.append((UploadFile(batch.path, path, a, rj, u), text, batch.encoding))
    return result


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
