"""MTurk's AssignmentStatus in the core's words (platform.State)."""

from __future__ import annotations

from ...platform import State

_STATES = {"submitted": State.PENDING, "approved": State.APPROVED, "rejected": State.REJECTED}


def state_of(status: str) -> str:
    """Submitted -> pending, Approved -> approved, Rejected -> rejected. A blank status (the column was
    deleted in a spreadsheet) counts as pending, as MTurk only lists those three; anything else is unknown."""
    s = (status or "").strip().lower()
    if not s:
        return State.PENDING
    return _STATES.get(s, State.UNKNOWN)
