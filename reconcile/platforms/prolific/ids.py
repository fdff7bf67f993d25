"""Prolific participant IDs as captured or typed: normalised, recognised, and compared.

A Prolific ID is 24 lower-case hex digits (a MongoDB ObjectId). Studies capture it from the study
link into embedded data `PROLIFIC_PID` (`?PROLIFIC_PID={{%PROLIFIC_PID%}}`), often ask for it again
in a question ("What is your Prolific ID?"), or only ask. Typed IDs come in other case, with spaces,
inside a sentence, as the study URL (`...?PROLIFIC_PID=<id>&amp;STUDY_ID=...`) or as the relay
e-mail address (`<id>@email.prolific.com`). No slip is forgiven when comparing: two IDs agree
when they are the same ID (a typo is a different ID, suggested for review).
"""

from __future__ import annotations

import re

from ...normalize import clean_text

_ID = re.compile(r"[0-9a-f]{24}")
_ANY_CASE_ID = re.compile(r"[0-9a-fA-F]{24}")
# The ID as a URL parameter, the way Prolific appends it to the study link (any case; "&amp;" as
# copied from an HTML page leaves the parameter name intact).
_PID_PARAM = re.compile(r"prolific_?pid=([0-9a-f]{24})(?![0-9a-f])")
_IN_TEXT = re.compile(r"(?<![0-9a-z])[0-9a-f]{24}(?![0-9a-z])")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_HEX = re.compile(r"[0-9a-f]+")
# An attempt at an ID with a typo (too short, one wrong character) still compares, as itself.
_MIN_ATTEMPT = 12


def prolific_key(text: str) -> str:
    """The join key of a Prolific ID as captured or typed: 24 lower-case hex digits when one is
    there (trimmed, case-folded, pulled out of a sentence, a URL or an e-mail address); a hex
    string that tried to be one (a typo), as itself; "" for anything else (an unpiped
    "{{%PROLIFIC_PID%}}", "I don't know", an empty cell)."""
    if not text:
        return ""
    t = clean_text(text).lower()
    if not t:
        return ""
    if _ID.fullmatch(t):
        return t
    m = _PID_PARAM.search(t)
    if m:
        return m.group(1)
    found = set(_IN_TEXT.findall(t))
    if len(found) == 1:
        return found.pop()
    if len(found) > 1:
        return ""  # several IDs (a study URL with STUDY_ID and SESSION_ID): none of them is surely theirs
    squeezed = _NOT_ALNUM.sub("", t)  # "5f3a 8b1c ..." typed in groups
    if len(squeezed) >= _MIN_ATTEMPT and _HEX.fullmatch(squeezed):
        return squeezed
    return ""


def looks_like_prolific_id(text: str) -> bool:
    """Text holds exactly one Prolific ID (alone or inside a sentence, URL or address)."""
    return _ID.fullmatch(prolific_key(text)) is not None


def prolific_ids_agree(typed_key: str, actual_key: str) -> bool:
    return bool(typed_key) and typed_key == actual_key


def prolific_lookup_keys(actual_key: str) -> tuple[str, ...]:
    return (actual_key,) if actual_key else ()


def shaped_like_prolific_id(value: str) -> bool:
    """A cell holds a Prolific ID and nothing else (any case; spaces around it)."""
    return _ANY_CASE_ID.fullmatch(value.strip()) is not None


class ProlificIds:
    """platform.ParticipantIds for Prolific: the captured `PROLIFIC_PID` column and a typed question
    are both read (and cross-checked by the join); a question of any name is found by its values."""

    described = "Prolific participant IDs"
    # importers.columns.norm forms (case, spaces, "_", "-", "." and ":" ignored)
    captured_names = frozenset({"prolificpid"})
    survey_names = frozenset({
        "prolificid", "prolificparticipantid", "participantid", "yourprolificid", "whatisyourprolificid",
        "prolificidnumber", "pid",
    })
    survey_name_hints: tuple[str, ...] = ("prolific",)
    not_id_names = frozenset({"studyid", "sessionid", "prolificstudyid", "prolificsessionid", "submissionid"})
    typed_by_content = True
    survey_code_names = frozenset({"prolificcode", "prolificcompletioncode"})

    key = staticmethod(prolific_key)
    looks_like = staticmethod(looks_like_prolific_id)
    agree = staticmethod(prolific_ids_agree)
    lookup_keys = staticmethod(prolific_lookup_keys)
    shaped = staticmethod(shaped_like_prolific_id)
    could_be = staticmethod(looks_like_prolific_id)
