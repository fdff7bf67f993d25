"""MTurk worker IDs as captured or typed: normalised, recognised, and compared.

Workers type their own ID in surveys with the usual slips (lower case, spaces, junk around it, the
leading "A" left out); the matcher joins and cross-checks through these rules (platform.ParticipantIds).
"""

from __future__ import annotations

import re

from ...normalize import clean_text

# MTurk worker IDs: "A" followed by upper-case letters and digits, 12-21 characters in all in the wild.
_WORKER_RE = re.compile(r"^A[A-Z0-9]{9,20}$")


def worker_key(text: str) -> str:
    """Normalize a worker ID (captured or typed): upper case, no spaces or junk.

    A typed value such as "my id is a1b2c3d4e5f6g7" keeps only the ID-shaped token when there is
    exactly one. The leading "A" is *not* added here (see `worker_ids_agree`), because guessing it
    would make "AAB..." and "AB..." collide.
    """
    if text.isalnum() and text.isascii():
        key = text.upper()
        return text if key == text else key  # the cell itself when already its own key (no copy per row)
    cleaned = clean_text(text).upper()
    if not cleaned:
        return ""
    if " " in cleaned:
        shaped = [t for t in re.split(r"[^A-Z0-9]+", cleaned) if _WORKER_RE.match(t)]
        if len(shaped) == 1:
            return shaped[0]
    return re.sub(r"[^A-Z0-9]", "", cleaned)


def looks_like_worker_id(text: str) -> bool:
    """True when text (after normalization) has the shape of an MTurk WorkerId.

    Only "A..." forms count here: a pure number is a code, never a worker ID.
    """
    key = worker_key(text)
    return bool(_WORKER_RE.match(key)) and any(c.isdigit() for c in key) and any(c.isalpha() for c in key[1:])


def worker_ids_agree(typed_key: str, actual_key: str) -> bool:
    """Does a typed (normalized) worker ID name this worker? Tolerates the missing leading "A"."""
    if not typed_key or not actual_key:
        return False
    return typed_key == actual_key or ("A" + typed_key == actual_key and len(typed_key) >= 9)


def worker_lookup_keys(actual_key: str) -> tuple[str, ...]:
    """Keys under which a typed form of this worker ID may have been indexed (see worker_ids_agree)."""
    if not actual_key:
        return ()
    if actual_key.startswith("A") and len(actual_key) >= 10:
        return (actual_key, actual_key[1:])
    return (actual_key,)


# ---------------------------------------------------------------- the survey's worker-ID column

# Names researchers give the survey column holding the worker ID (captured from the link or typed),
# in importers.columns.norm form.
SURVEY_NAMES = frozenset({
    "workerid", "mturkid", "mturkworkerid", "amazonid", "amazonworkerid", "amtid", "amtworkerid", "mturkworker",
    "worker", "turkid", "mturkidnumber", "workeridentifier", "mtworkerid", "wid",
})
# A looser name ("Your MTurk worker ID") counts when one of its values could be a worker ID.
SURVEY_NAME_HINTS = ("worker", "mturkid")
# Names of the survey's completion-code column that only MTurk studies use (the generic ones are
# in importers.columns).
SURVEY_CODE_NAMES = frozenset({"mturkcode", "mturkcompletioncode", "mturkrandomid", "amtcode", "hitcode"})

WORKER_ID_SHAPE = re.compile(r"^A[A-Z0-9]{9,22}$")
_LOOSE_WORKER = re.compile(r"^A?[A-Z0-9]{9,22}$", re.IGNORECASE)


def shaped_like_worker_id(value: str) -> bool:
    """A cell holds a worker ID exactly as MTurk writes it (scores candidate columns)."""
    return WORKER_ID_SHAPE.match(value) is not None


def could_be_worker_id(value: str) -> bool:
    """A typed cell may be a worker ID (any case, the leading "A" left out)."""
    return _LOOSE_WORKER.match(value.strip()) is not None


class WorkerIds:
    """platform.ParticipantIds for MTurk. The survey's worker column is one column, captured or
    typed: no second (typed) column is looked for, and none is found by content alone."""

    described = "MTurk worker IDs"
    survey_names = SURVEY_NAMES
    survey_name_hints: tuple[str, ...] = SURVEY_NAME_HINTS
    captured_names: frozenset[str] = frozenset()
    not_id_names: frozenset[str] = frozenset()
    typed_by_content = False
    survey_code_names = SURVEY_CODE_NAMES

    key = staticmethod(worker_key)
    looks_like = staticmethod(looks_like_worker_id)
    agree = staticmethod(worker_ids_agree)
    lookup_keys = staticmethod(worker_lookup_keys)
    shaped = staticmethod(shaped_like_worker_id)
    could_be = staticmethod(could_be_worker_id)
