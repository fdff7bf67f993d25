"""The dry run's authority for MTurk plans: the batch results files the plan came from.

The batch files (named by the plan's `source` column, or given with --batch) say which assignments
exist, whose they are, their HIT, status, reward, HIT size and AutoApprovalTime: the plan's copies
of those are for people and may be stale or edited. Rows listed through the API have no file; the
payout checks those with GetAssignment before paying.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ...errors import InputError
from ...models import SourceRef
from ...planfile import PlanText
from ...platform import Verification
from .upload import RawBatch, read_batch

if TYPE_CHECKING:
    from ...plan_summary import ColumnTruths
    from ...planfile import PlanColumns

API_SOURCE_PREFIX = "mturk-api:"  # api.pseudo_path: assignments listed through the API
# The only columns of a batch the verifier reads (an upload reads the file again whole).
CHECKED_COLUMNS = ("AssignmentId", "WorkerId", "HITId", "Reward", "MaxAssignments", "AutoApprovalTime", "AssignmentStatus")


def _resolve(path_text: str, plan_dir: Path) -> Path | None:
    """A batch path as recorded by `match` (relative to where it ran, or absolute); also tried
    beside the plan, since plans travel in one folder with their batch files."""
    p = Path(path_text)
    for cand in (p, plan_dir / p, plan_dir / p.name):
        if cand.is_file():
            return cand
    return None


class BatchVerifier:
    """platform.PlanVerifier for MTurk."""

    def verify(self, plan: PlanText, files: Sequence[str] = ()) -> Verification:
        problems: list[str] = []
        batches, by_line = self._load(plan, files, problems)
        truths: dict[int, dict[str, str]] = {}
        vouched: set[str] = set()
        file_of: dict[str, str] = {}
        col = plan.column
        for raw in plan.rows:
            c = raw.cells
            line = raw.line
            aid = c.get("submission_id", "").strip()
            worker = c.get("participant_id", "").strip()
            hit = c.get("group_id", "").strip()
            batch = by_line.get(line)
            if batch is None:
                if aid and c.get("source", "").strip().startswith(API_SOURCE_PREFIX):
                    # `match` reads files before the API listing, so a real API row is never in a batch
                    # file: one that is has had its source edited to dodge the file check.
                    holder = next((b for b in batches if aid in b.index), None)
                    if holder is not None:
                        problems.append(
                            f"line {line}, column {col('source')}: assignment {aid} is in batch file {holder.path}, so it was "
                            f"not listed through the API; restore the source {holder.path}:{holder.lines[holder.index[aid]]}"
                        )
                continue
            pos = batch.index.get(aid)
            if pos is None:
                if aid:
                    problems.append(f"line {line}, column {col('submission_id')}: assignment {aid} is not in batch file {batch.path}")
                continue
            file_of[aid] = batch.path
            true_worker = batch.cell(pos, "WorkerId").strip()
            true_hit = batch.cell(pos, "HITId").strip()
            if true_worker and worker and worker != true_worker:
                problems.append(
                    f"line {line}, column {col('participant_id')}: {worker!r} is not the worker of assignment {aid} "
                    f"({batch.path} says {true_worker})"
                )
            if true_hit and hit and hit != true_hit:
                problems.append(
                    f"line {line}, column {col('group_id')}: {hit!r} is not the HIT of assignment {aid} ({batch.path} says {true_hit})"
                )
            if true_worker and true_hit:
                vouched.add(aid)
            truth = {"group_id": true_hit, "reward": batch.cell(pos, "Reward"), "group_size": batch.cell(pos, "MaxAssignments"),
                     "review_deadline": batch.cell(pos, "AutoApprovalTime").strip()}
            if batch.column("AssignmentStatus") is not None:
                truth["status"] = batch.cell(pos, "AssignmentStatus").strip()
            truths[line] = {k: v for k, v in truth.items() if v or k == "status"}
        return Verification(truths, frozenset(vouched), tuple(batches), file_of, tuple(problems))

    @staticmethod
    def _load(plan: PlanText, files: Sequence[str], problems: list[str]) -> tuple[list[RawBatch], dict[int, RawBatch | None]]:
        """The batches, and for each plan line the batch its assignment must be in (None: not checkable)."""
        batches: list[RawBatch] = []
        by_line: dict[int, RawBatch | None] = {}
        col = plan.column
        if files:
            for bp in files:
                try:
                    batches.append(read_batch(bp, keep=CHECKED_COLUMNS))
                except InputError as exc:
                    problems.append(f"--batch {exc}")
            for r in plan.rows:
                aid = r.cells.get("submission_id", "").strip()
                by_line[r.line] = next((b for b in batches if aid in b.index), None)
                if aid and by_line[r.line] is None and len(batches) == len(files):
                    problems.append(f"line {r.line}, column {col('submission_id')}: assignment {aid} is not in any --batch file")
            return batches, by_line

        plan_dir = Path(plan.path).parent
        loaded: dict[str, RawBatch | None] = {}
        missing: dict[str, list[int]] = {}
        for r in plan.rows:
            text = r.cells.get("source", "").strip()
            if text.startswith(API_SOURCE_PREFIX):
                by_line[r.line] = None
                continue
            try:
                ref = SourceRef.parse(text)
            except ValueError:
                problems.append(
                    f"line {r.line}, column {col('source')}: {text!r} does not name a batch file and row (like batch.csv:12); "
                    "restore it or pass --batch FILE"
                )
                by_line[r.line] = None
                continue
            if ref.path not in loaded:
                found = _resolve(ref.path, plan_dir)
                batch = None
                if found is not None:
                    try:
                        batch = read_batch(found, keep=CHECKED_COLUMNS)
                        batches.append(batch)
                    except InputError as exc:
                        problems.append(f"line {r.line}, column {col('source')}: {exc}")
                else:
                    missing[ref.path] = []
                loaded[ref.path] = batch
            if ref.path in missing:
                missing[ref.path].append(r.line)
            by_line[r.line] = loaded[ref.path]
        for path_text, lines in missing.items():
            problems.append(
                f"line {lines[0]}, column {col('source')}: batch file {path_text!r} (named on {len(lines)} line"
                f"{'s' if len(lines) != 1 else ''}) was not found; pass --batch FILE with its current location"
            )
        return batches, by_line

    # ---------------------------------------------------------------- the dry run at scale

    def verify_columns(self, plan: PlanColumns, files: Sequence[str] = (), *, deadlines: bool = True) -> ColumnTruths | None:
        """What `verify` finds, for a plan read as columns, when it finds no problem; None when it
        would find one or a batch is not plain (batch_columns): then `verify` runs and says what.
        `deadlines` False: the review deadlines are not read (all "")."""
        from ...plaincsv import Coded
        from ...plan_summary import ColumnTruths, stripped
        from .batch_columns import read_batch_columns

        keep = CHECKED_COLUMNS if deadlines else tuple(c for c in CHECKED_COLUMNS if c != "AutoApprovalTime")

        n = plan.rows
        sid = stripped(plan.column("submission_id"), n)
        batches = []
        batch_of = np.full(n, -1, dtype=np.int64)  # which batch vouches for each row (-1: none, an API row)
        if files:
            for bp in files:
                b = read_batch_columns(bp, keep)
                if b is None:
                    return None
                batches.append(b)
            for k, b in enumerate(batches):
                free = batch_of < 0
                batch_of[free & (b.lookup(sid) >= 0)] = k
            if (batch_of < 0).any():
                return None  # "not in any --batch file"
        else:
            plan_dir = Path(plan.path).parent
            source = plan.column("source")  # a few distinct texts (planfile._source_file)
            if not isinstance(source, Coded):
                return None
            # The distinct sources in the order the rows first name them: the batches are read in it.
            first = np.full(len(source.values) + 1, n, dtype=np.int64)
            np.minimum.at(first, source.codes, np.arange(n))
            batch_at = np.full(len(source.values) + 1, -1, dtype=np.int64)
            code: dict[str, int] = {}
            for v in sorted((v for v in range(len(source.values) + 1) if first[v] < n), key=lambda v: first[v]):
                text = source.values[v] if v < len(source.values) else ""
                if text.startswith(API_SOURCE_PREFIX):
                    continue
                path, sep, row = text.rpartition(":")  # SourceRef.parse
                if not sep or not row.isdigit():
                    return None
                if path not in code:
                    found = _resolve(path, plan_dir)
                    b = None if found is None else read_batch_columns(found, keep)
                    if b is None:
                        return None  # not found, or not plain: `verify` reads or refuses it
                    code[path] = len(batches)
                    batches.append(b)
                batch_at[v] = code[path]
            batch_of = batch_at[source.codes]
            api = batch_of < 0
            if api.any() and any((b.lookup(sid[api]) >= 0).any() for b in batches):
                return None  # an API row's assignment in a batch file: a problem
        pos = np.full(n, -1, dtype=np.int64)
        for k, b in enumerate(batches):
            mine = batch_of == k
            pos[mine] = b.lookup(sid[mine])
        if ((batch_of >= 0) & (pos < 0)).any():
            return None  # "not in batch file"
        verified = pos >= 0
        worker = stripped(plan.column("participant_id"), n)
        hit = stripped(plan.column("group_id"), n)
        fields = {name: np.full(n, "", dtype=object) for name in CHECKED_COLUMNS}
        has_status = np.zeros(n, dtype=bool)
        for k, b in enumerate(batches):
            mine = np.flatnonzero(batch_of == k)
            at = pos[mine]
            for name in CHECKED_COLUMNS:
                fields[name][mine] = b.at(name, at)
            has_status[mine] = b.has("AssignmentStatus")
        true_worker = np.asarray([v.strip() for v in fields["WorkerId"]], dtype=object)
        true_hit = np.asarray([v.strip() for v in fields["HITId"]], dtype=object)
        if ((true_worker != "") & (worker != "") & (worker != true_worker)).any():
            return None
        if ((true_hit != "") & (hit != "") & (hit != true_hit)).any():
            return None
        return ColumnTruths(
            files=tuple(batches),
            verified=verified,
            vouched=verified & (true_worker != "") & (true_hit != ""),
            status=np.asarray([v.strip() for v in fields["AssignmentStatus"]], dtype=object),
            has_status=verified & has_status,
            reward=fields["Reward"],
            group_size=fields["MaxAssignments"],
            review_deadline=np.asarray([v.strip() for v in fields["AutoApprovalTime"]], dtype=object),
        )
