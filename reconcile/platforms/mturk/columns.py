"""Which columns of a batch results file hold the completion code and the worker ID."""

from __future__ import annotations

from ...importers.columns import CODE_NAMES, NOT_CODE, Detected, choose, norm
from .ids import SURVEY_CODE_NAMES, WorkerIds, shaped_like_worker_id

# A worker pastes the code into an Answer.* field named like the survey's code field.
_CODE_NAMES = CODE_NAMES | SURVEY_CODE_NAMES


def _worker_score(values) -> int:
    return sum(1 for v in values if shaped_like_worker_id(v))


def batch_code(columns, column_values) -> Detected:
    exact, contains = [], []
    for c in columns:
        if not c.startswith("Answer."):
            continue
        n = norm(c[len("Answer."):])
        if n in _CODE_NAMES:
            exact.append(c)
        elif "code" in n and n not in NOT_CODE:
            contains.append(c)
    return choose([exact, contains], column_values)


def batch_worker(columns, column_values) -> Detected:
    exact = [c for c in columns if c == "WorkerId"]
    if not exact:
        exact = [c for c in columns if norm(c) == "workerid"]
    return choose([exact], column_values, score=_worker_score, described=WorkerIds.described)
