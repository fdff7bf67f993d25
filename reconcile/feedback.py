"""Is this a real reason to show a rejected participant? One check for the rules file, the dry run
and every writer, with each platform's limits (platform.Capabilities). Imports nothing of ours.

Participants read this on their record; "x" (which real uploads contain) tells them nothing, so a
reason needs at least two words and the platform's minimum length (Prolific demands 100 characters).
"""

from __future__ import annotations

MIN_CHARS = 10
MAX_CHARS = 1024


def reason_problem(feedback: str, *, min_chars: int = MIN_CHARS, max_chars: int = MAX_CHARS, where: str = "") -> str | None:
    """Why a feedback text is not a real reason (None if it is one). `where` names the platform for
    the length limits ("<platform> accepts at most ...")."""
    text = (feedback or "").strip()
    if not text:
        return "a reject needs feedback: the reason the participant will read"
    if len(text) < min_chars or len(text.split()) < 2:
        return f"feedback {text!r} is too short to be a real reason (at least two words, {min_chars} characters)"
    if len(text) > max_chars:
        return f"feedback is {len(text)} characters; {where or 'the platform'} accepts at most {max_chars}"
    return None


def is_real_reason(feedback: str, **limits) -> bool:
    return reason_problem(feedback, **limits) is None
