"""Find the completion-code and worker-ID columns on each side, by name first and content second.

Detection never guesses between equals: when two columns are equally good candidates it returns
None and lists them, so `require_columns` can ask the user to choose with an option.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ColumnDetectionError, InputError


def norm(name: str) -> str:
    """Case-, space-, underscore-, dash- and dot-insensitive form of a column name."""
    return re.sub(r"[\s_\-.:]+", "", name).casefold()


# Names researchers give the embedded-data field holding the code (normalized).
_CODE_NAMES = {
    "mturkcode", "completioncode", "surveycode", "code", "randomid", "randomcode", "validationcode",
    "confirmationcode", "verificationcode", "mturkcompletioncode", "completion", "surveycompletioncode",
    "secretcode", "paymentcode", "mturkrandomid", "randomnumber", "randnum", "passcode", "token",
    "completiontoken", "surveytoken", "amtcode", "hitcode",
}
# Columns that contain "code" but are not completion codes.
_NOT_CODE = {"zipcode", "postcode", "postalcode", "countrycode", "areacode", "languagecode", "statecode", "recode", "qrcode"}
_WORKER_NAMES = {
    "workerid", "mturkid", "mturkworkerid", "amazonid", "amazonworkerid", "amtid", "amtworkerid", "mturkworker",
    "worker", "turkid", "mturkidnumber", "workeridentifier", "mtworkerid", "wid",
}

_SCI = re.compile(r"^[+-]?\d(?:\.\d+)?[eE][+-]?\d+$")
_DOT_ZERO = re.compile(r"^\d+\.0+$")
WORKER_ID_SHAPE = re.compile(r"^A[A-Z0-9]{9,22}$")
_LOOSE_WORKER = re.compile(r"^A?[A-Z0-9]{9,22}$", re.IGNORECASE)


@dataclass(frozen=True)
class Detected:
    column: str | None
    candidates: tuple[str, ...]
    note: str = ""  # a warning explaining a content-based choice


def _non_empty(values) -> int:
    return sum(1 for v in values if v.strip())


def _choose(tiers: list[list[str]], column_values, *, score=None) -> Detected:
    """Pick from the best non-empty tier; break ties by content, else report ambiguity (column None)."""
    candidates = tuple(c for tier in tiers for c in tier)
    for tier in tiers:
        if not tier:
            continue
        if len(tier) == 1:
            return Detected(tier[0], candidates)
        filled = [c for c in tier if _non_empty(column_values(c))]
        if len(filled) == 1:
            return Detected(filled[0], candidates, f"several candidate columns ({', '.join(tier)}); using {filled[0]!r}, the only one with values")
        if score is not None and filled:
            scored = sorted(((score(column_values(c)), c) for c in filled), key=lambda t: -t[0])
            if scored[0][0] > scored[1][0]:
                best = scored[0][1]
                return Detected(best, candidates, f"several candidate columns ({', '.join(tier)}); using {best!r}, whose values look most like MTurk worker IDs")
        return Detected(None, candidates)
    return Detected(None, candidates)


def _worker_score(values) -> int:
    return sum(1 for v in values if WORKER_ID_SHAPE.match(v))


def qualtrics_code(columns, column_values) -> Detected:
    exact, contains = [], []
    for c in columns:
        n = norm(c)
        if n in _CODE_NAMES:
            exact.append(c)
        elif "code" in n and n not in _NOT_CODE and not n.endswith(tuple(_NOT_CODE)):
            contains.append(c)
    return _choose([exact, contains], column_values)


def qualtrics_worker(columns, column_values) -> Detected:
    exact, contains = [], []
    for c in columns:
        n = norm(c)
        if n in _WORKER_NAMES:
            exact.append(c)
        elif ("worker" in n or "mturkid" in n) and "code" not in n:
            # A loose name only counts when some value could be a worker ID (typed ones included).
            if any(_LOOSE_WORKER.match(v.strip()) for v in column_values(c)):
                contains.append(c)
    return _choose([exact, contains], column_values, score=_worker_score)


def mturk_code(columns, column_values) -> Detected:
    exact, contains = [], []
    for c in columns:
        if not c.startswith("Answer."):
            continue
        n = norm(c[len("Answer."):])
        if n in _CODE_NAMES:
            exact.append(c)
        elif "code" in n and n not in _NOT_CODE:
            contains.append(c)
    return _choose([exact, contains], column_values)


def mturk_worker(columns, column_values) -> Detected:
    exact = [c for c in columns if c == "WorkerId"]
    if not exact:
        exact = [c for c in columns if norm(c) == "workerid"]
    return _choose([exact], column_values, score=_worker_score)


def column_values(rows, index: dict[str, int]):
    """`values(column)` over shaped rows (see csvtext.shape_rows), as the detectors take it."""

    def values(col: str):
        j = index[col]
        return (r[j] for r in rows)

    return values


def override_or_detect(path: str, names, override: str | None, option: str, detect, *, prefixes=("",)) -> Detected:
    """The column the user named with `option` (see resolve_override), else what `detect()` finds."""
    if override is not None:
        return Detected(resolve_override(path, names, override, option, prefixes=prefixes), ())
    return detect()


def resolve_override(path: str, columns, name: str, option: str, *, prefixes=("",)) -> str:
    """The column the user named (exactly, else case/space-insensitively, else with a prefix like Answer.)."""
    cols = list(columns)
    if name in cols:
        return name
    for pre in prefixes:
        if pre and pre + name in cols:
            return pre + name
    loose = [c for c in cols if norm(c) == norm(name) or any(norm(c) == norm(pre + name) for pre in prefixes if pre)]
    if len(loose) == 1:
        return loose[0]
    shown = ", ".join(repr(c) for c in cols[:60]) + (", ..." if len(cols) > 60 else "")
    raise InputError(f"{path} has no column named {name!r} (given with {option}); its columns are: {shown}.")


def damaged_codes(values_with_rows, column: str, path: str) -> str | None:
    """A warning when codes look converted by Excel (1.23457E+11) or pandas (12345.0); never repaired."""
    # A plain number is never damaged (both forms need a "." or an "e"): skip the regexes for it.
    bad = [(row, v) for row, v in values_with_rows if not v.isdigit() and (_SCI.match(v.strip()) or _DOT_ZERO.match(v.strip()))]
    if not bad:
        return None
    row, example = bad[0]
    n = len(bad)
    return (
        f"{n} value{'s' if n != 1 else ''} in code column {column!r} look{'s' if n == 1 else ''} damaged by Excel or pandas "
        f"(e.g. {example!r} at {path}:{row}); the original codes cannot be recovered from them, so use the original download"
    )


def detection_error(path: str, role: str, candidates, all_columns, option: str) -> ColumnDetectionError:
    if candidates:
        listed = ", ".join(repr(c) for c in candidates)
        return ColumnDetectionError(
            f"{path}: cannot tell which column holds the {role}: candidates are {listed}; choose one with {option}."
        )
    shown = ", ".join(repr(c) for c in list(all_columns)[:40]) + (", ..." if len(all_columns) > 40 else "")
    return ColumnDetectionError(
        f"{path}: found no column that looks like the {role} among {shown}; name it with {option}."
    )
