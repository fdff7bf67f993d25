"""Importers: the survey side (Qualtrics exports, files or API) into frozen records, and the
shared CSV reading every importer uses (csvtext). The platforms' own files are read by their
folders under reconcile/platforms.

Public API (stable; other modules rely on it):

    read_qualtrics(path, *, code_column=None, participant_column=None, typed_column=None, ids=None,
                   participant_option="--id-column") -> QualtricsExport
    require_columns(export, *, need_code=True, need_participant=False) -> None  (ColumnDetectionError)
    inspect_survey(table, ids=None) -> dict             (what `reconcile inspect --json` prints per export)

`ids` are the platform's participant-ID rules (platform.ParticipantIds): they say which columns hold
the participant's ID (captured from the study link, typed, or both); without them none is looked for.

read_* never fail because a column could not be detected; they leave code_column /
participant_column None and list candidates. `require_columns(...)` is for commands that need them
(match) and raises ColumnDetectionError with a sentence listing candidate columns.

Every cell is kept as text exactly as read (after decoding): nothing is stripped, converted or
"repaired". Records remember their file and CSV record number (see models.py).
"""

from __future__ import annotations

import os
from collections import Counter

from ..models import QualtricsExport
from ..platform import ParticipantIds
from .columns import detection_error

__all__ = ["read_qualtrics", "require_columns", "inspect_survey"]


def read_qualtrics(path: str | os.PathLike, *, code_column: str | None = None, participant_column: str | None = None,
                   typed_column: str | None = None, ids: ParticipantIds | None = None,
                   participant_option: str = "--id-column") -> QualtricsExport:
    """Read one Qualtrics export (any CSV/TSV variant, chosen by content)."""
    from .qualtrics_csv import read_qualtrics_csv

    return read_qualtrics_csv(path, code_column=code_column, participant_column=participant_column,
                              typed_column=typed_column, ids=ids, participant_option=participant_option)


def require_columns(data: QualtricsExport, *, need_code: bool = True, need_participant: bool = False,
                    participant_option: str = "--id-column") -> None:
    """Raise ColumnDetectionError (one sentence, candidates listed) unless the needed columns were found."""
    others = [c for c in data.columns if c not in _QUALTRICS_STANDARD]
    if need_code and data.code_column is None:
        raise detection_error(data.path, "completion code (survey side)", data.code_candidates, others, "--code-column")
    if need_participant and data.participant_column is None:
        raise detection_error(data.path, "participant ID (survey side)", data.participant_candidates, others, participant_option)


_QUALTRICS_STANDARD = {
    "StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished", "RecordedDate",
    "ResponseId", "ResponseID", "RecipientLastName", "RecipientFirstName", "RecipientEmail", "ExternalReference",
    "ExternalDataReference", "LocationLatitude", "LocationLongitude", "LocationAccuracy", "DistributionChannel",
    "UserLanguage", "ResponseSet", "Name", "EmailAddress",
}


def inspect_survey(table, ids: ParticipantIds | None = None) -> dict:
    """What `reconcile inspect --json` says of a survey export (see reconcile.inspection), its
    participant column found by `ids` (a platform's rules)."""
    from .qualtrics_csv import read_table

    q = read_table(table, ids=ids)
    statuses = Counter(r.status for r in q.responses)
    finished = Counter(r.finished for r in q.responses)
    return {
        "path": q.path,
        "kind": "qualtrics",
        "format": q.format,
        "rows": len(q.responses),
        "columns": len(q.columns),
        "code_column": q.code_column,
        "participant_column": q.participant_column,
        "code_candidates": list(q.code_candidates),
        "participant_candidates": list(q.participant_candidates),
        "status_counts": dict(sorted(statuses.items())),
        "finished_counts": dict(sorted(finished.items())),
        "warnings": list(q.warnings),
    }
