"""Where inputs come from: a file on disk, or a service (Qualtrics survey ID, MTurk HIT/batch IDs).

Commands call these so that `match` treats a fetched export exactly like a downloaded file.
"""

from __future__ import annotations

from .endpoints import MTurkEndpoint
from .models import MTurkInput, QualtricsExport


def load_qualtrics(
    spec: str,
    *,
    code_column: str | None = None,
    worker_column: str | None = None,
    datacenter: str | None = None,
    show_progress: bool = True,
) -> QualtricsExport:
    """`spec` is a path to an export file or a survey ID (SV_...) fetched through the v3 export API.

    `datacenter` (or QUALTRICS_DATACENTER) may be a datacenter ID like "ca1" or a full base URL.
    """
    from .importers import read_qualtrics

    return read_qualtrics(spec, code_column=code_column, worker_column=worker_column)


def load_mturk(
    paths: list[str],
    *,
    hit_ids: tuple[str, ...] = (),
    batch_ids: tuple[str, ...] = (),
    endpoint: MTurkEndpoint | None = None,
    code_column: str | None = None,
    worker_column: str | None = None,
    show_progress: bool = True,
) -> MTurkInput:
    """Batch results files, plus assignments listed through the API for HIT IDs / batch IDs."""
    from .importers import read_mturk

    return read_mturk(paths, code_column=code_column, worker_column=worker_column)
