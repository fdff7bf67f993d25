"""Where inputs come from: a file on disk, or a service (Qualtrics survey ID, MTurk HIT/batch IDs).

Commands call these so that `match` treats a fetched export exactly like a downloaded file: the
fetched bytes go through the same importer (`read_qualtrics` / `read_mturk`).
"""

from __future__ import annotations

import re

from .endpoints import MTurkEndpoint
from .errors import InputError
from .models import MTurkInput, QualtricsExport

SURVEY_ID_RE = re.compile(r"^SV_[A-Za-z0-9]+$")


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
    Fetched responses point at `qualtrics-api:SV_...` rows numbered as in the export file.
    """
    if SURVEY_ID_RE.match(str(spec)):
        from .importers.qualtrics_api import read_qualtrics_api, stderr_progress

        return read_qualtrics_api(
            str(spec),
            code_column=code_column,
            worker_column=worker_column,
            datacenter=datacenter,
            progress=stderr_progress(str(spec)) if show_progress else None,
        )
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
    """Batch results files, plus assignments listed through the API for HIT IDs / batch IDs.

    API-listed assignments are written in the batch-results format and read back by `read_mturk`
    together with the files (so duplicates across a file and the API are caught the same way);
    they point at `mturk-api:...` rows numbered as in `reconcile fetch mturk`'s file.
    """
    from .importers import read_mturk

    if not (hit_ids or batch_ids):
        return read_mturk(list(paths), code_column=code_column, worker_column=worker_column)
    if endpoint is None:
        raise InputError(
            "--mturk-hit / --mturk-batch need an MTurk endpoint.",
            hint="Pass --sandbox, --production, or --endpoint-url URL.",
        )
    from .importers.mturk_api import read_mturk_api, stderr_progress

    return read_mturk_api(
        list(paths),
        endpoint=endpoint,
        hit_ids=tuple(hit_ids),
        batch_ids=tuple(batch_ids),
        code_column=code_column,
        worker_column=worker_column,
        progress=stderr_progress() if show_progress else None,
    )
