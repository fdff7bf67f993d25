"""The matcher: survey responses + a platform's submissions + rules -> one decision per submission
and one outcome per response. Pure: no I/O, no clock (the caller passes `now`).

The join is the platform's (platform.capabilities.join): "code" joins on the completion code a
participant submitted (code_join.py), "participant" on the participant's ID captured or typed in the
survey (participant_join.py). Everything after the join is shared, in stages:

  0. prepare.py        working records, sorted; a participant's responses
  1-5. the join        candidates and checks, ending in approve or review (with suggestions)
  6. reject_rules.py   the opt-in reject rules
  7. decided.py        conflicting file rows; what the platform already decided (skip)
  8. flags.py          informative flags: same IP, fast, fraud columns, review deadlines
  9-10. outcomes.py    plan rows, response outcomes, the plan's warnings

Reason codes are neutral (participant_id_as_code, no_submission, ...); plan.build_plan words them as
the platform's plans always have (Platform.reason_code). Sentences use the platform's Words.
The result never depends on input order: every choice is made over sorted candidates, and the
rows come out sorted by their source (file, row).
"""

from __future__ import annotations

import sys as _sys
import types as _types
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

from ..models import DuplicateRow, PlanRow, Response, ResponseOutcome, Submission
from ..platform import Platform
from ..progress import BIG, report
from ..records import paused_gc
from ..rules import DEFAULT_RULES, Rules
from .code_join import CodeJoin
from .decided import settle_decided
from .flags import flag_deadlines, flag_responses
from .outcomes import MATCH_REASONS, link_responses, plan_rows, plan_warnings, response_outcomes, unlink_responses
from .participant_join import ParticipantJoin
from .reject_rules import apply_reject_rules
from .prepare import prepare
from .working import response_exclusion, response_finished

__all__ = ["match", "MatchResult", "MATCH_REASONS", "response_exclusion", "response_finished"]


@dataclass(frozen=True)
class MatchResult:
    rows: tuple[PlanRow, ...]  # one per submission, bonus None (plan.build_plan adds bonuses)
    responses: tuple[ResponseOutcome, ...]  # one per response
    warnings: tuple[str, ...] = ()
    # Parallel to rows: the response each row is matched to (None for none), so build_plan can
    # compute bonuses without looking responses up again.
    matched: tuple[Response | None, ...] = ()


def match(
    responses: Sequence[Response],
    submissions: Sequence[Submission],
    *,
    now: datetime,
    platform: Platform,
    rules: Rules = DEFAULT_RULES,
    duplicates: Sequence[DuplicateRow] = (),
    completion_codes: Sequence[str] = (),
    given_away: bool = False,
) -> MatchResult:
    """Decide every submission and account for every response. See rules.SUBMISSION_REASONS.

    `platform` supplies the join (capabilities.join), the participant-ID rules (ids) and the words
    of every sentence; `now` decides the review-deadline warnings (the CLI passes the current time);
    `completion_codes` are the study's codes, which the participant join checks when given.
    `given_away`: `submissions` is a list the caller gives away (it keeps no other reference to its
    records); the list is emptied and each record freed as its plan row is made.
    """
    if given_away and not isinstance(submissions, list):
        raise TypeError("given_away needs the submissions as a list")
    with paused_gc():
        return _match(responses, submissions, now=now, platform=platform, rules=rules, duplicates=duplicates,
                      completion_codes=completion_codes, given_away=given_away)


def _stage_counter(big: bool, what: str, stages: int):
    done = [0]

    def stage() -> None:
        done[0] += 1
        if big:
            report(what, done[0], stages)

    return stage


def join_of(platform: Platform, completion_codes: Sequence[str] = ()):
    join = platform.capabilities.join
    if join == "code":
        return CodeJoin()
    if join == "participant":
        return ParticipantJoin(completion_codes)
    raise ValueError(f"unknown join {join!r} (capabilities.join is 'code' or 'participant')")


def _match(responses, submissions, *, now, platform, rules, duplicates, completion_codes, given_away) -> MatchResult:
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    join = join_of(platform, completion_codes)
    # A study of about BIG rows or more takes seconds here: say how far the stages are.
    stage = _stage_counter(max(len(responses), len(submissions)) >= BIG, f"matching {len(submissions)} rows (stages)", 8)
    st = prepare(responses, submissions, platform=platform, rules=rules, now=now, duplicates=duplicates, given_away=given_away)
    stage()
    join.decide(st)  # stages 1-5
    # A participant's responses are looked up only while joining: at a million responses these
    # tables are ~100 MB that the records made after them can use instead.
    st.first_of_participant, st.all_of_participant, st.finished_per_participant = {}, {}, {}
    stage()
    apply_reject_rules(st)  # 6
    join.census(st)
    stage()
    settle_decided(st, join)  # 7
    stage()
    flag_responses(st)  # 8
    stage()
    deadlines = flag_deadlines(st)
    stage()
    # 9-10, in the order that frees the most before the rows (the last records made, at the peak of
    # memory): the warnings and the responses' outcomes read the working submissions, the rows free them.
    warnings = plan_warnings(st, join, deadlines)  # 10
    del deadlines
    matched, pointed = link_responses(st)
    outcomes = response_outcomes(st, join, pointed)
    del pointed
    unlink_responses(st)
    stage()
    rows = plan_rows(st)  # 9
    stage()
    return MatchResult(tuple(rows), tuple(outcomes), tuple(warnings), tuple(matched))


class _CallableMatcher(_types.ModuleType):
    """`reconcile.match(qualtrics=..., prolific=[...])` is the notebook API (reconcile.notebook.match), while
    `reconcile.match` stays this package (reconcile.match.match is the pure join). One name for both,
    because a function and a submodule of one name cannot coexist on a package: importing the
    submodule would replace the function."""

    def __call__(self, *args, **kwargs):
        from ..notebook import match as notebook_match

        return notebook_match(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableMatcher
