"""Find the completion-code and participant-ID columns of a survey export, by name first and content
second (the participant-ID rules are the platform's: platform.ParticipantIds). Shared with the
platforms' readers: `norm`, `choose`, `override_or_detect`, `damaged_codes`, `detection_error`.

Detection never guesses between equals: when two columns are equally good candidates it returns
None and lists them, so `require_columns` can ask the user to choose with an option.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ColumnDetectionError, InputError
from ..notices import DAMAGED_CODES, Notice


def norm(name: str) -> str:
    """Case-, space-, underscore-, dash- and dot-insensitive form of a column name."""
    return re.sub(r"[\s_\-.:]+", "", name).casefold()


# Names researchers give the embedded-data field holding the code (normalized); a platform adds the
# names only its studies use (ParticipantIds.survey_code_names).
CODE_NAMES = frozenset({
    "completioncode", "surveycode", "code", "randomid", "randomcode", "validationcode",
    "confirmationcode", "verificationcode", "completion", "surveycompletioncode",
    "secretcode", "paymentcode", "randomnumber", "randnum", "passcode", "token",
    "completiontoken", "surveytoken",
})
# Columns that contain "code" but are not completion codes.
NOT_CODE = frozenset({"zipcode", "postcode", "postalcode", "countrycode", "areacode", "languagecode", "statecode", "recode", "qrcode"})

_SCI = re.compile(r"^[+-]?\d(?:\.\d+)?[eE][+-]?\d+$")
_DOT_ZERO = re.compile(r"^\d+\.0+$")


@dataclass(frozen=True)
class Detected:
    column: str | None
    candidates: tuple[str, ...]
    note: str = ""  # a warning explaining a content-based choice


NOT_FOUND = Detected(None, ())


def _non_empty(values) -> int:
    return sum(1 for v in values if v.strip())


def choose(tiers: list[list[str]], column_values, *, score=None, described: str = "") -> Detected:
    """Pick from the best non-empty tier; break ties by content, else report ambiguity (column None).

    `score(values)` ranks columns of one tier whose values look like `described` (ParticipantIds.described)."""
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
                return Detected(best, candidates, f"several candidate columns ({', '.join(tier)}); using {best!r}, whose values look most like {described}")
        return Detected(None, candidates)
    return Detected(None, candidates)


def qualtrics_code(columns, column_values, *, extra_names=frozenset()) -> Detected:
    """The survey's completion-code column: a known name (plus the platform's `extra_names`), else a name with "code" in it."""
    known = CODE_NAMES | extra_names
    exact, contains = [], []
    for c in columns:
        n = norm(c)
        if n in known:
            exact.append(c)
        elif "code" in n and n not in NOT_CODE and not n.endswith(tuple(NOT_CODE)):
            contains.append(c)
    return choose([exact, contains], column_values)


def participant_columns(columns, column_values, ids, tallies=None) -> tuple[Detected, Detected]:
    """(the participant-ID column, the typed-ID column) of a survey, by the platform's rules (platform.ParticipantIds).

    Tiers, best first: a column filled from the study link (`captured_names`); a known name
    (`survey_names`); a looser name (`survey_name_hints`) with a value that could be an ID; for
    platforms whose IDs have a shape of their own (`typed_by_content`), any column whose values are
    mostly IDs (a question such as "What is your Prolific ID?", exported as Q34). When a captured
    column is found, the best of the other tiers is the typed one (both are read and cross-checked);
    otherwise the best column is the only one, captured or typed.

    `tallies` (column -> IdTally of its values under `ids`), when given, answer what the tiers ask
    of every column's values, so that a streamed reader need not read each column again."""
    captured, others = _id_tiers(columns, column_values, ids, tallies)
    score = _id_score(ids)
    if not captured:
        return choose(others, column_values, score=score, described=ids.described), NOT_FOUND
    primary = choose([captured], column_values, score=score, described=ids.described)
    if primary.column is None:
        return primary, NOT_FOUND
    return primary, choose(others, column_values, score=score, described=ids.described)


def typed_column(columns, column_values, ids, participant: str) -> Detected:
    """The typed-ID column next to a participant column the user named: looked for only when that
    column is one filled from the study link (otherwise it is the only ID column)."""
    if norm(participant) not in ids.captured_names:
        return NOT_FOUND
    _, others = _id_tiers([c for c in columns if c != participant], column_values, ids)
    return choose(others, column_values, score=_id_score(ids), described=ids.described)


def _id_score(ids):
    def score(values) -> int:
        return sum(1 for v in values if ids.shaped(v))

    return score


def _id_tiers(columns, column_values, ids, tallies=None) -> tuple[list[str], list[list[str]]]:
    """(captured-named columns, [known names, loose names, columns of IDs by content]); `tallies`:
    see participant_columns."""
    usable = [c for c in columns if norm(c) not in ids.not_id_names]
    captured, exact, loose = [], [], []
    for c in usable:
        n = norm(c)
        if n in ids.captured_names:
            captured.append(c)
        elif n in ids.survey_names:
            exact.append(c)
        elif any(h in n for h in ids.survey_name_hints) and "code" not in n:
            # A loose name only counts when some value could be an ID (typed ones included).
            if tallies[c].any_could_be() if tallies is not None else any(ids.could_be(v) for v in column_values(c)):
                loose.append(c)
    by_content: list[str] = []
    if ids.typed_by_content:
        named = set(captured) | set(exact) | set(loose)
        by_content = [c for c in usable if c not in named and (
            tallies[c].mostly_ids() if tallies is not None else _mostly_ids(column_values(c), ids))]
    return captured, [exact, loose, by_content]


def _mostly_ids(values, ids) -> bool:
    """More than half the filled cells hold an ID (alone or inside a sentence), and not all the same
    one (a study's own ID, captured on every row)."""
    return IdTally(ids).add(values).mostly_ids()


_KNOWN_VALUES = 512  # distinct values whose could_be an IdTally keeps (bounded: memory independent of rows)


class IdTally:
    """What the ID tiers ask of one column's values under a platform's rules (`ids`), kept as running
    counts: the values may be added in pieces (a streamed reader adds each block of rows as it
    passes) and the answers are those of one pass over the whole column, exactly (nothing sampled).

    `mostly_ids`: more than half the filled cells hold an ID and not all the same one (_mostly_ids).
    `any_could_be`: some cell, blank ones included, could be an ID (the loose-name tier's test)."""

    __slots__ = ("_ids", "filled", "found", "first", "varied", "_empty", "_blank_could_be", "_could_be")

    def __init__(self, ids) -> None:
        self._ids = ids
        self.filled = self.found = 0  # filled cells; those that could be an ID
        self.first: str | None = None  # the key of the first ID found
        self.varied = False  # an ID with another key was found since
        self._empty = False  # some cell was ""
        self._blank_could_be = False  # some blank cell other than "" could be an ID
        # could_be of the first distinct values seen: a column of answers repeats a few values
        # (a status, a choice, "True") on every row, and could_be is a pure function of the text.
        self._could_be: dict[str, bool] = {}

    def add(self, values) -> IdTally:
        could_be, key = self._ids.could_be, self._ids.key
        known = self._could_be
        filled, found, first, varied = self.filled, self.found, self.first, self.varied
        for v in values:
            if not v.strip():
                if not v:
                    self._empty = True
                elif not self._blank_could_be and could_be(v):
                    self._blank_could_be = True
                continue
            filled += 1
            hit = known.get(v)
            if hit is None:
                hit = bool(could_be(v))
                if len(known) < _KNOWN_VALUES:
                    known[v] = hit
            if hit:
                found += 1
                if not varied:  # once two keys differ, no later key changes an answer
                    k = key(v)
                    if first is None:
                        first = k
                    elif k != first:
                        varied = True
        self.filled, self.found, self.first, self.varied = filled, found, first, varied
        return self

    def mostly_ids(self) -> bool:
        return self.found * 2 > self.filled and (self.varied or self.filled == 1)

    def any_could_be(self) -> bool:
        return self.found > 0 or self._blank_could_be or (self._empty and bool(self._ids.could_be("")))


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


def damaged_codes(values_with_rows, column: str | None, path: str) -> str | None:
    """A warning when codes look converted by Excel (1.23457E+11) or pandas (12345.0); never repaired."""
    # A plain number is never damaged (both forms need a "." or an "e"): skip the regexes for it.
    bad = [(row, v) for row, v in values_with_rows if not v.isdigit() and (_SCI.match(v.strip()) or _DOT_ZERO.match(v.strip()))]
    if not bad:
        return None
    row, example = bad[0]
    n = len(bad)
    return Notice(
        f"{n} value{'s' if n != 1 else ''} in code column {column!r} look{'s' if n == 1 else ''} damaged by Excel or pandas "
        f"(e.g. {example!r} at {path}:{row}); the original codes cannot be recovered from them, so use the original download",
        kind=DAMAGED_CODES, subject=path,
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
