"""The matcher's working records and what every stage reads of a raw cell.

Plain, mutable, cheap: 100k of each are built per run, and the stages fill in a decision step by
step. Nothing here knows which platform the submissions come from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import Any, Iterable, Sequence, TypeVar

from ..models import Response, Submission

MAX_SUGGESTIONS = 3
T = TypeVar("T")

# ---------------------------------------------------------------- reading raw fields

_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}


def response_exclusion(status: str) -> str | None:
    """Preview / test / spam responses are never paid. Text or the numeric codes of older exports."""
    s = status.strip().lower()
    if not s:
        return None
    if s.isdigit():
        n = int(s)
        # Qualtrics response types: 0 normal, 1 preview, 2 test, 4 imported, 8 spam, 9 preview spam,
        # 12 imported spam, 16 offline, 17 offline preview.
        if n in (8, 9, 12):
            return "spam"
        if n in (1, 17):
            return "survey_preview"
        if n == 2:
            return "survey_test"
        return None
    if "spam" in s:
        return "spam"
    if "preview" in s:
        return "survey_preview"
    if "test" in s:
        return "survey_test"
    return None


def response_finished(r: Response) -> bool:
    """Finished True/TRUE/1; when the column is absent, Progress 100; when both are absent, finished."""
    f = r.finished.strip().lower()
    if f in _TRUE:
        return True
    if f in _FALSE:
        return False
    p = r.progress.strip()
    if p:
        try:
            return Decimal(p) >= 100
        except InvalidOperation:
            return False
    return True


def decimal_or_none(text: str) -> Decimal | None:
    t = (text or "").strip()
    if not t:
        return None
    try:
        d = Decimal(t)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def truthy(text: str) -> bool:
    return (text or "").strip().lower() in _TRUE


# ---------------------------------------------------------------- working records


class WorkingResponse:
    """A response while matching (a plain class: 100k of these are built per run)."""

    __slots__ = ("resp", "key", "excluded", "finished", "participant", "typed", "flags", "notes", "matched_by")

    def __init__(self, resp: Response, key: str, excluded: str | None, finished: bool, participant: str, typed: str) -> None:
        self.resp = resp
        self.key = key  # normalized code
        self.excluded = excluded
        self.finished = finished
        # The participant's ID as a join key: the captured one, else the typed one ("" when none).
        self.participant = participant
        # The typed ID's key when the survey has both a captured and a typed one ("" otherwise).
        self.typed = typed
        # (The duration is read where the flags are set, once per distinct value: a Decimal per
        # response was 100 MB at a million.)
        # Shared empty tuples until flags.flag_response adds the first flag and its sentence: most
        # responses have none, and two empty lists each were 100 MB at a million responses.
        self.flags: list[str] | tuple[()] = ()
        self.notes: list[str] | tuple[()] = ()
        # The submission whose plan row is matched to this response (set by outcomes.link_responses): a slot,
        # where a dict by id() was 80 MB at a million responses.
        self.matched_by: WorkingSubmission | None = None

    @property
    def label(self) -> str:
        """"R_abc (export.csv:5)" for sentences."""
        return f"{self.resp.response_id or '(no ResponseId)'} ({where(self.resp.source)})"


@dataclass(slots=True)
class WorkingSubmission:
    a: Submission
    key: str  # normalized code
    participant: str  # the participant's ID as a join key
    state: str  # platform.State
    decision: str = ""
    reason: str = ""  # a neutral reason code (the platform words it in its plan: Platform.reason_code)
    detail: str = ""
    chosen: WorkingResponse | None = None  # the response this submission claims
    suggested: Sequence[WorkingResponse] = ()  # set whole by review() (an empty list per submission was 56 MB at a million)
    feedback: str = ""
    category: str = ""  # a reject rule's category (Prolific's rejection_category)
    # Shared empty tuples until add_flag / add_sentence: most submissions get neither, and two
    # empty lists each were 110 MB at a million submissions.
    flags: list[str] | tuple[()] = ()
    extra: list[str] | tuple[()] = ()  # further sentences for detail
    excel: bool = False  # the submitted code looks damaged by a spreadsheet
    joined: WorkingResponse | None = None  # participant join: the one response its ID leads to, whatever the decision

    def add_flag(self, flag: str) -> None:
        if isinstance(self.flags, tuple):
            self.flags = []
        self.flags.append(flag)

    def add_sentence(self, sentence: str) -> None:
        if isinstance(self.extra, tuple):
            self.extra = []
        self.extra.append(sentence)

    def review(self, reason: str, detail: str, suggested: Iterable[WorkingResponse] = ()) -> None:
        self.decision, self.reason, self.detail = "review", reason, detail
        self.suggested = list(suggested)


def first_and_repeated(pairs: Iterable[tuple[Any, T]]) -> tuple[dict[Any, T], dict[Any, list[T]]]:
    """(the first item of each key, the items of each key that several share, in order): lists only
    for the keys that repeat. Most keys (a participant, an address, a claimed response) belong to
    one record, and a list for each was a million lists per stage at a million rows."""
    first: dict[Any, T] = {}
    several: dict[Any, list[T]] = {}
    take = first.setdefault
    for key, item in pairs:
        one = take(key, item)
        if one is not item:
            group = several.get(key)
            if group is None:
                several[key] = [one, item]
            else:
                group.append(item)
    return first, several


# ---------------------------------------------------------------- order and sentences


def src_key(x: Response | Submission) -> tuple:
    return (x.source.path, x.source.row)


RESPONSE_ORDER = attrgetter("source.path", "source.row")  # src_key, in C
SUBMISSION_ORDER = attrgetter("source.path", "source.row", "submission_id")
WORKING_RESPONSE_ORDER = attrgetter("resp.source.path", "resp.source.row")


_BASENAMES: dict[str, str] = {}


def where(ref) -> str:
    """A short "file.csv:12" for sentences (the full path is in the source column)."""
    name = _BASENAMES.get(ref.path)
    if name is None:
        name = _BASENAMES[ref.path] = os.path.basename(ref.path) or ref.path
    return f"{name}:{ref.row}"


def suggest_text(rs: Sequence[WorkingResponse]) -> str:
    if not rs:
        return ""
    shown = ", ".join(f"{r.resp.response_id or '(no ResponseId)'} (code {r.resp.code!r}, {where(r.resp.source)})" for r in rs[:MAX_SUGGESTIONS])
    more = f" and {len(rs) - MAX_SUGGESTIONS} more" if len(rs) > MAX_SUGGESTIONS else ""
    return f" Suggested response{'s' if len(rs) > 1 else ''}: {shown}{more}."
