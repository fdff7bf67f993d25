"""The matcher lets its working records go as it makes its results (issue 14: at a million rows the
peak of memory is where the working records and the results live together)."""

from __future__ import annotations

import gc

from reconcile.match import match
from reconcile.match.working import WorkingResponse, WorkingSubmission
from reconcile.platforms.mturk import PLATFORM as MTURK
from reconcile.records import paused_gc

from test_match import NOW, asg, resp


def _live(cls) -> int:
    return sum(1 for o in gc.get_objects() if type(o) is cls)


def test_no_working_record_outlives_match_without_the_cyclic_gc():
    # A matched response and its submission pointed at each other (a reference cycle): with the
    # cyclic GC paused, as the CLI runs, every matched pair stayed in memory until it ran.
    responses = [resp(i, f"CODE{i:04d}", f"W{i}") for i in range(4, 40)]
    submissions = [asg(i, f"CODE{i:04d}", f"W{i}") for i in range(2, 30)]
    submissions.append(asg(40, "CODE0031x", "W99"))  # a near miss: a suggestion, not a match
    gc.collect()
    before = _live(WorkingSubmission), _live(WorkingResponse)
    with paused_gc():
        result = match(responses, submissions, now=NOW, platform=MTURK)
        assert {r.reason for r in result.rows} >= {"code_match"}
        assert sum(o.outcome == "matched" for o in result.responses) == 26
        assert (_live(WorkingSubmission), _live(WorkingResponse)) == before


def test_submissions_given_away_are_freed_as_their_rows_are_made():
    # run_match gives match() its submissions as a list it keeps no other reference to: the list is
    # emptied and no Submission outlives match() (they were a quarter of the peak at a million rows);
    # the result is the one match() gives for the same records kept by the caller.
    from reconcile.models import Submission

    def study():
        responses = [resp(i, f"CODE{i:04d}", f"W{i}") for i in range(4, 40)]
        submissions = [asg(i, f"CODE{i:04d}", f"W{i}") for i in range(2, 30)] + [asg(40, "CODE0031x", "W99")]
        return responses, submissions

    responses, kept = study()
    expected = match(responses, kept, now=NOW, platform=MTURK)
    del kept
    responses, given = study()
    gc.collect()
    before = _live(Submission)
    with paused_gc():
        result = match(responses, given, now=NOW, platform=MTURK, given_away=True)
        assert given == []
        assert _live(Submission) == before - 29
    assert result == expected


def test_only_a_list_can_be_given_away():
    import pytest

    responses = [resp(1, "CODE0001", "W1")]
    with pytest.raises(TypeError):
        match(responses, (asg(1, "CODE0001", "W1"),), now=NOW, platform=MTURK, given_away=True)
