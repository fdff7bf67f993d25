"""Prolific's submission status in the core's words (platform.State).

Statuses are written with spaces and a hyphen ("AWAITING REVIEW", "TIMED-OUT", "SCREENED OUT"), the
list filter takes underscores ("AWAITING_REVIEW"), and the 2025 spec once spells "TIME-OUT": all of
them are folded to one spelling before looking up (PROLIFIC.md §1.3).
"""

from __future__ import annotations

import re

from ...platform import State

_STATES = {
    "AWAITING REVIEW": State.PENDING,
    "APPROVED": State.APPROVED,
    "REJECTED": State.REJECTED,
    # Nothing to decide and no reward to pay: the participant gave the place back, ran out of time,
    # was screened out (paid a fixed screen-out reward by Prolific), or was partly paid already.
    "RETURNED": State.CLOSED,
    "TIMED-OUT": State.CLOSED,
    "SCREENED OUT": State.CLOSED,
    "PARTIALLY APPROVED": State.CLOSED,
    # ACTIVE, RESERVED (still working), PROCESSING (a transition under way) and anything new: unknown,
    # so never decided automatically.
}


def canonical_status(status: str) -> str:
    """A status as written anywhere ("awaiting_review", " Timed out ") in Prolific's own spelling
    ("AWAITING REVIEW", "TIMED-OUT"); unknown words come back upper-cased with single spaces."""
    s = re.sub(r"[\s_]+", " ", (status or "").strip().upper())
    if s in ("TIMED OUT", "TIME-OUT", "TIME OUT"):
        return "TIMED-OUT"
    return s


def state_of(status: str) -> str:
    """AWAITING REVIEW -> pending; APPROVED, REJECTED; RETURNED, TIMED-OUT, SCREENED OUT and
    PARTIALLY APPROVED -> closed; ACTIVE, RESERVED, PROCESSING and anything else -> unknown."""
    return _STATES.get(canonical_status(status), State.UNKNOWN)
