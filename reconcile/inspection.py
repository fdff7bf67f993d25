"""`reconcile inspect FILE...`: what each file is, identified by content among the survey exports
and every platform's files, with its row count and detected columns. A use-case module."""

from __future__ import annotations

import os

from .records import paused_gc


def inspect_file(path: str | os.PathLike) -> dict:
    """What a file is and what was found in it (the JSON object `reconcile inspect --json` prints)."""
    from . import platforms

    # A platform that can answer from a stream of the file's rows does so first (1M rows: no table).
    for platform in platforms.PLATFORMS.values():
        streamed = getattr(platform, "inspect_path", None)
        found = streamed(str(path), platforms.claims()) if streamed else None
        if found is not None:
            return found
    # A survey likewise, its participant column found by the first platform's rules that find one
    # (as in inspect_whole), one pass for all of them.
    from .importers.qualtrics_stream import inspect_survey_streamed_first_found

    rules = [platform.ids for platform in platforms.PLATFORMS.values()]
    found = inspect_survey_streamed_first_found(str(path), rules, platforms.claims())
    if found is not None:
        return found
    return inspect_whole(path)


def inspect_whole(path: str | os.PathLike) -> dict:
    """inspect_file from the whole table of the file (every record held)."""
    from . import platforms
    from .importers import inspect_survey
    from .sources import identify

    with paused_gc():
        kind, table = identify(str(path))
        if kind == "qualtrics":
            # The survey does not say which platform it was fielded on: the first platform whose
            # participant-ID rules find a column speaks for it.
            first = None
            for platform in platforms.PLATFORMS.values():
                found = inspect_survey(table, ids=platform.ids)
                if found["participant_column"]:
                    return found
                first = first or found
            return first if first is not None else inspect_survey(table)
        return platforms.get(kind).inspect_table(table)


def sniff_kind(path: str | os.PathLike) -> str:
    """"qualtrics" or the name of the platform whose file this is (InputError for anything else)."""
    from .sources import identify

    return identify(str(path))[0]
