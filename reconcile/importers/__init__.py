"""Importers: read Qualtrics exports and MTurk batch results into frozen records.

Public API (stable; other modules rely on it):

    sniff_kind(path) -> "qualtrics" | "mturk"          (raises InputError for anything else)
    read_qualtrics(path, *, code_column=None, worker_column=None) -> QualtricsExport
    read_mturk(paths, *, code_column=None, worker_column=None) -> MTurkInput
    require_columns(export_or_batch, *, need_worker=False) -> None  (ColumnDetectionError)
    inspect_file(path) -> dict                          (what `reconcile inspect --json` prints per file)

read_* never fail because a column could not be detected; they leave code_column / worker_column
None and list candidates. `require_columns(...)` is for commands that need them (match) and
raises ColumnDetectionError with a sentence listing candidate columns.

Every cell is kept as text exactly as read (after decoding): nothing is stripped, converted or
"repaired". Records remember their file and CSV record number (see models.py).
"""

from __future__ import annotations

import os
from collections import Counter

from ..models import MTurkBatch, MTurkInput, QualtricsExport
from .columns import detection_error
from ..records import paused_gc
from .csvtext import load_table
from .sniff import kind_of, sniff_kind

__all__ = ["sniff_kind", "read_qualtrics", "read_mturk", "require_columns", "inspect_file"]


def read_qualtrics(path: str | os.PathLike, *, code_column: str | None = None, worker_column: str | None = None) -> QualtricsExport:
    """Read one Qualtrics export (any CSV/TSV variant, chosen by content)."""
    from .qualtrics_csv import read_qualtrics_csv

    return read_qualtrics_csv(path, code_column=code_column, worker_column=worker_column)


def read_mturk(paths, *, code_column: str | None = None, worker_column: str | None = None) -> MTurkInput:
    """Read one or more batch results files; assignments are unique by AssignmentId across them."""
    from .mturk_csv import read_mturk_csv

    return read_mturk_csv(paths, code_column=code_column, worker_column=worker_column)


def require_columns(data: QualtricsExport | MTurkBatch | MTurkInput, *, need_worker: bool = False) -> None:
    """Raise ColumnDetectionError (one sentence, candidates listed) unless the needed columns were found."""
    if isinstance(data, MTurkInput):
        for batch in data.batches:
            require_columns(batch, need_worker=need_worker)
        return
    if isinstance(data, QualtricsExport):
        code_opt, worker_opt, side = "--code-column", "--worker-column", "Qualtrics"
        worker_candidates = data.worker_candidates
        others = [c for c in data.columns if c not in _QUALTRICS_STANDARD]
    else:
        code_opt, worker_opt, side = "--mturk-code-column", "--worker-column", "MTurk"
        worker_candidates = ()
        others = [c for c in data.columns if c.startswith("Answer.")] or list(data.columns)
    if data.code_column is None:
        raise detection_error(data.path, f"completion code ({side} side)", data.code_candidates, others, code_opt)
    if need_worker and data.worker_column is None:
        raise detection_error(data.path, f"worker ID ({side} side)", worker_candidates, others, worker_opt)


_QUALTRICS_STANDARD = {
    "StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished", "RecordedDate",
    "ResponseId", "ResponseID", "RecipientLastName", "RecipientFirstName", "RecipientEmail", "ExternalReference",
    "ExternalDataReference", "LocationLatitude", "LocationLongitude", "LocationAccuracy", "DistributionChannel",
    "UserLanguage", "ResponseSet", "Name", "EmailAddress",
}


def inspect_file(path: str | os.PathLike) -> dict:
    """What a file is and what was found in it (the JSON object `reconcile inspect --json` prints)."""
    with paused_gc():
        return _inspect(load_table(path))


def _inspect(table) -> dict:
    kind = kind_of(table)
    if kind == "qualtrics":
        from .qualtrics_csv import read_table

        q = read_table(table)
        statuses = Counter(r.status for r in q.responses)
        finished = Counter(r.finished for r in q.responses)
        return {
            "path": q.path,
            "kind": "qualtrics",
            "format": q.format,
            "rows": len(q.responses),
            "columns": len(q.columns),
            "code_column": q.code_column,
            "worker_column": q.worker_column,
            "code_candidates": list(q.code_candidates),
            "worker_candidates": list(q.worker_candidates),
            "status_counts": dict(sorted(statuses.items())),
            "finished_counts": dict(sorted(finished.items())),
            "warnings": list(q.warnings),
        }
    from .mturk_csv import combine, read_batch_table

    b = read_batch_table(table)
    merged = combine([b])
    statuses = Counter(a.status for a in b.assignments)
    return {
        "path": b.path,
        "kind": "mturk",
        "format": b.format,
        "rows": len(b.assignments),
        "columns": len(b.columns),
        "code_column": b.code_column,
        "worker_column": b.worker_column,
        "code_candidates": list(b.code_candidates),
        "worker_candidates": [b.worker_column] if b.worker_column else [],
        "status_counts": dict(sorted(statuses.items())),
        "duplicate_rows": len(merged.duplicates),
        "warnings": list(b.warnings),
    }
