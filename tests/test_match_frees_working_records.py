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
