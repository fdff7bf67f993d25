"""Stage 7: conflicting rows of the platform's files, and what the platform already decided.

A submission the platform shows as approved, rejected or closed is skipped: never decided again,
never paid a reward. What matching alone would have said stays in the detail.
"""

from __future__ import annotations

from collections import defaultdict

from ..models import DuplicateRow
from ..platform import State
from .prepare import Study
from .working import where

DECIDED = (State.APPROVED, State.REJECTED, State.CLOSED)

# A closed submission's reason is its status, where the status is one people know (Prolific's
# RETURNED -> "returned"); any other closed status reads "closed".
CLOSED_REASONS = ("returned", "timed_out", "screened_out", "partially_approved")


def closed_reason(status: str) -> str:
    slug = "_".join(status.strip().lower().replace("-", " ").split())
    return slug if slug in CLOSED_REASONS else "closed"


def settle_decided(st: Study, join) -> None:
    w = st.words
    conflicts: dict[str, list[DuplicateRow]] = defaultdict(list)
    identical: dict[str, list[DuplicateRow]] = defaultdict(list)
    for d in sorted(st.duplicates, key=lambda d: (d.source.path, d.source.row)):
        (identical if d.identical else conflicts)[d.submission_id].append(d)
    for it in st.items:
        aid = it.a.submission_id
        if aid in identical:
            it.add_flag("duplicate_row")
            it.add_sentence(f"Also in {', '.join(where(d.source) for d in identical[aid])} (identical, counted once).")
        if it.state in DECIDED:
            linked = join.skip_link(it)
            before = it.detail
            it.decision = "skip"
            it.feedback = ""
            it.chosen = linked
            it.suggested = []
            if it.state == State.CLOSED:
                it.reason = closed_reason(it.a.status)
                said = (f"{w.platform} shows this {w.submission} as {it.a.status.strip()}: closed, with nothing to decide "
                        "and no reward to pay.")
            else:
                it.reason = f"already_{it.state}"
                said = f"{w.platform} already shows this {w.submission} as {it.a.status.strip()}; nothing to do."
            it.detail = said + (f" (Matching alone: {before})" if before else "")
            continue
        if aid in conflicts:
            rows = ", ".join(where(d.source) for d in conflicts[aid])
            before = it.detail
            keep = it.chosen or (it.suggested[0] if it.suggested else None)
            it.chosen = None
            it.review(
                "conflicting_rows",
                f"This {w.submission} also appears in {rows} with different content; check which row is current."
                + (f" (Matching alone: {before})" if before else ""),
                [keep] if keep else [],
            )
            it.feedback = ""
