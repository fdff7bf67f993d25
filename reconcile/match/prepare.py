"""Stage 0: the working records, sorted, and what every join needs to find a participant's responses."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from ..models import DuplicateRow, Response, Submission
from ..normalize import normalize_code
from ..platform import ParticipantIds, Platform, Words
from ..rules import Rules
from .working import (
    RESPONSE_ORDER,
    SUBMISSION_ORDER,
    WorkingResponse,
    WorkingSubmission,
    first_and_repeated,
    response_exclusion,
    response_finished,
    src_key,
)


@dataclass(eq=False)
class Study:
    """Everything the stages share: the platform's rules and words, the records, the indexes."""

    platform: Platform
    rules: Rules
    now: datetime
    duplicates: Sequence[DuplicateRow]
    responses: list[WorkingResponse]  # sorted by source
    items: list[WorkingSubmission]  # sorted by source
    # Non-excluded responses by their participant key: the first one, and all of them where there are
    # several (a list per participant was 90 MB at a million); how many of those are finished.
    first_of_participant: dict[str, WorkingResponse] = field(default_factory=dict)
    all_of_participant: dict[str, list[WorkingResponse]] = field(default_factory=dict)
    finished_per_participant: dict[str, int] = field(default_factory=dict)

    @property
    def ids(self) -> ParticipantIds:
        return self.platform.ids

    @property
    def words(self) -> Words:
        return self.platform.words

    def responses_of(self, actual_key: str) -> list[WorkingResponse]:
        """The non-excluded responses whose participant ID agrees with `actual_key`, in source order."""
        ids = self.platform.ids
        found: dict[int, WorkingResponse] = {}
        for k in ids.lookup_keys(actual_key):
            group = self.all_of_participant.get(k)
            if group is None:
                one = self.first_of_participant.get(k)
                if one is None:
                    continue
                group = [one]
            for r in group:
                if ids.agree(r.participant, actual_key):
                    found[id(r)] = r
        return sorted(found.values(), key=lambda r: src_key(r.resp))


def _placeholder(text: str) -> bool:
    # An unpiped Qualtrics placeholder ("${e://Field/PROLIFIC_PID}") is no participant ID at all.
    return "${" in text


def prepare(responses: Sequence[Response], submissions: Sequence[Submission], *, platform: Platform, rules: Rules,
            now: datetime, duplicates: Sequence[DuplicateRow], given_away: bool = False) -> Study:
    ids = platform.ids
    rs: list[WorkingResponse] = []
    excl_cache: dict[str, str | None] = {}
    fin_cache: dict[tuple[str, str], bool] = {}
    for resp in sorted(responses, key=RESPONSE_ORDER):
        excluded = excl_cache.get(resp.status, "?")
        if excluded == "?":
            excluded = excl_cache[resp.status] = response_exclusion(resp.status)
        fk = (resp.finished, resp.progress)
        finished = fin_cache.get(fk)
        if finished is None:
            finished = fin_cache[fk] = response_finished(resp)
        captured = "" if _placeholder(resp.participant_id) else ids.key(resp.participant_id)
        typed = "" if not resp.typed_id or _placeholder(resp.typed_id) else ids.key(resp.typed_id)
        if captured:
            rs.append(WorkingResponse(resp, normalize_code(resp.code), excluded, finished, captured, typed))
        else:
            rs.append(WorkingResponse(resp, normalize_code(resp.code), excluded, finished, typed, ""))
    key = ids.key
    items = [
        WorkingSubmission(a, normalize_code(a.code), key(a.participant_id), a.state)  # a, key, participant, state
        for a in sorted(submissions, key=SUBMISSION_ORDER)
    ]
    if given_away and isinstance(submissions, list):
        # The caller holds no other reference: each record now lives only in its working record,
        # which plan_rows frees as it makes the row (at a million a side, ~0.25 GB at the peak).
        submissions.clear()
    first, several = first_and_repeated((r.participant, r) for r in rs if r.participant and not r.excluded)
    finished_per: dict[str, int] = defaultdict(int)
    for r in rs:
        if r.finished and r.participant and not r.excluded:
            finished_per[r.participant] += 1
    return Study(platform=platform, rules=rules, now=now, duplicates=duplicates, responses=rs, items=items,
                 first_of_participant=first, all_of_participant=several, finished_per_participant=finished_per)
