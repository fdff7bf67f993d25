"""Where inputs come from: a file on disk, or a service (Qualtrics survey ID, MTurk HIT/batch IDs).

Commands call these so that `match` treats a fetched export exactly like a downloaded file.
"""

from __future__ import annotations

from .models import MTurkInput, QualtricsExport


def load_qualtrics(spec: str, *, code_column: str | None = None, worker_column: str | None = None, **api_options) -> QualtricsExport:
    """`spec` is a path to an export file (or, once the API importer lands, a survey ID SV_...)."""
    from .importers import read_qualtrics

    return read_qualtrics(spec, code_column=code_column, worker_column=worker_column)


def load_mturk(paths: list[str], *, code_column: str | None = None, worker_column: str | None = None, **api_options) -> MTurkInput:
    """Batch results files (and, once the API importer lands, HIT IDs / batch IDs)."""
    from .importers import read_mturk

    return read_mturk(paths, code_column=code_column, worker_column=worker_column)
