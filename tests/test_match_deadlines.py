"""Review deadlines at the edges, read by times.Moments' fast path (the batch's own style) and by
parse_timestamp (any other style): passed at `now` exactly, soon up to 24 hours exactly, unreadable
days counted."""

from __future__ import annotations

from test_match import asg, resp, run

# NOW is 2024-03-01 12:00 UTC, 04:00 PST.
EDGES = {
    "Fri Mar 01 04:00:00 PST 2024": "auto_approval_passed",  # now exactly
    "Fri Mar 01 04:00:01 PST 2024": "auto_approval_soon",
    "Sat Mar 02 04:00:00 PST 2024": "auto_approval_soon",  # 24 hours exactly
    "Sat Mar 02 04:00:01 PST 2024": None,
    "Thu Feb 29 23:59:59 PST 2024": "auto_approval_passed",  # a leap day
    "2024-03-02 12:00:00 UTC": "auto_approval_soon",  # the newer style, 24 hours exactly
    "2024-03-02 12:00:01 UTC": None,
    "Fri Mar  1 04:00:00 PST 2024": "auto_approval_passed",  # a day padded with a space: parse_timestamp reads it
    "Fri Feb 30 04:00:00 PST 2024": None,  # unreadable: no such day
    "Fri Mar 01 04:00:00 XYZ 2024": None,  # unreadable: no such zone
}


def test_deadline_edges():
    texts = list(EDGES)
    responses = [resp(10 + i, f"1000{i:04d}") for i in range(len(texts))]
    submissions = [asg(2 + i, f"1000{i:04d}", f"A{i:02d}WORKERXYZ12", auto=t) for i, t in enumerate(texts)]
    rows, _, result = run(responses, submissions)
    for i, text in enumerate(texts):
        row = rows[f"ASG{2 + i:04d}B"]
        flags = {f for f in row.flags if f.startswith("auto_approval")}
        assert flags == ({EDGES[text]} if EDGES[text] else set()), text
    soon = rows["ASG0004B"]  # Sat Mar 02 04:00:00 PST: the hours come from the exact datetime
    assert "is in 24.0 hours" in soon.detail
    assert any("2 auto_approval" in w or "could not be read" in w for w in result.warnings)
    assert any(w.startswith("2 ") and "could not be read" in w for w in result.warnings)
    assert any("auto-approve within 24 hours (the first at 2024-03-01 12:00 UTC)" in w for w in result.warnings)
