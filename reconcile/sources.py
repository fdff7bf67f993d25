"""Where inputs come from: a file on disk, or a service (a Qualtrics survey ID; a platform's API).
A use-case module: files are identified by content among the survey and every platform.

Commands call these so that `match` treats a fetched export exactly like a downloaded file: the
fetched bytes go through the same importer.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Sequence

from .errors import InputError
from .models import QualtricsExport, SubmissionInput
from .platform import Endpoint, ParticipantIds, Platform

if TYPE_CHECKING:  # pragma: no cover
    from .importers.csvtext import Table

SURVEY_ID_RE = re.compile(r"^SV_[A-Za-z0-9]+$")


def identify(path: str) -> tuple[str, "Table"]:
    """(kind, table): "qualtrics" or a platform's name, decided by the file's content; InputError otherwise."""
    from . import platforms
    from .importers.csvtext import load_table
    from .importers.sniff import kind_of

    table = load_table(path)
    return kind_of(table, platforms.claims()), table


def load_survey(
    spec: str,
    *,
    code_column: str | None = None,
    participant_column: str | None = None,
    datacenter: str | None = None,
    show_progress: bool = True,
    typed_column: str | None = None,
    ids: ParticipantIds | None = None,
    participant_option: str = "--id-column",
    keep: Callable[[tuple[str, ...]], Sequence[str]] | None = None,
) -> QualtricsExport:
    """`spec` is a path to an export file or a survey ID (SV_...) fetched through the v3 export API.

    `ids` (the platform's participant-ID rules) find the participant-ID columns, captured and typed,
    unless `participant_column` / `typed_column` name them (given with `participant_option`).

    `datacenter` (or QUALTRICS_DATACENTER) may be a datacenter ID like "ca1" or a full base URL.
    Fetched responses point at `qualtrics-api:SV_...` rows numbered as in the export file.

    `keep(columns)`, when given, names the only columns the caller will look up in a response's
    `fields` (given the export's columns): a plain file is then read narrowed as it streams
    (importers.qualtrics_narrow); anything else is read whole, every cell kept.
    """
    if SURVEY_ID_RE.match(str(spec)):
        from . import platforms
        from .importers.qualtrics_api import read_qualtrics_api, stderr_progress

        return read_qualtrics_api(
            str(spec),
            code_column=code_column,
            participant_column=participant_column,
            datacenter=datacenter,
            progress=stderr_progress(str(spec)) if show_progress else None,
            claims=platforms.claims(),
            typed_column=typed_column,
            ids=ids,
            participant_option=participant_option,
        )
    from .importers.qualtrics_csv import read_table

    if keep is not None:
        from . import platforms
        from .importers.qualtrics_narrow import read_survey_narrowed
        from .records import paused_gc

        with paused_gc():  # a million new responses would set off full collections of the whole heap
            narrowed = read_survey_narrowed(str(spec), keep, claims=platforms.claims(), code_column=code_column,
                                            participant_column=participant_column, typed_column=typed_column, ids=ids,
                                            participant_option=participant_option)
        if narrowed is not None:
            return narrowed
    kind, table = identify(str(spec))
    if kind != "qualtrics":
        raise InputError(f"{spec} is a {kind} file, not a Qualtrics export; pass the survey export as the survey side.")
    return read_table(table, code_column=code_column, participant_column=participant_column, typed_column=typed_column,
                      ids=ids, participant_option=participant_option)


def load_submissions(
    platform: Platform,
    paths: Sequence[str],
    *,
    group_ids: Sequence[str] = (),
    batch_ids: Sequence[str] = (),
    endpoint: Endpoint | None = None,
    code_column: str | None = None,
    participant_column: str | None = None,
    show_progress: bool = True,
    keep: Sequence[str] | None = None,
) -> SubmissionInput:
    """The platform's files, plus what its API lists for the given groups (read together, so the
    same submission from a file and from the API is caught as a duplicate). `keep`: see
    Platform.read_files (the files only; an API listing keeps every cell)."""
    # (Each reader checks that its files are its own, by content, while reading them once.)
    if not (group_ids or batch_ids):
        return platform.read_files(list(paths), code_column=code_column, participant_column=participant_column, keep=keep)
    if endpoint is None:
        raise InputError(f"listing {platform.words.submissions} through the API needs an endpoint.",
                         hint="Pass --sandbox, --production, or --endpoint-url URL.")
    progress = _stderr_line if show_progress else None
    return platform.list_submissions(list(paths), endpoint, group_ids=tuple(group_ids), batch_ids=tuple(batch_ids),  # type: ignore[attr-defined]
                                     code_column=code_column, participant_column=participant_column, progress=progress)


def _stderr_line(message: str) -> None:
    import sys

    sys.stderr.write(message + "\n")
    sys.stderr.flush()
