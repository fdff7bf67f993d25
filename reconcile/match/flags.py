"""Stage 8: informative flags. They never change a decision.

On responses: the same IP address, much faster than usual, Qualtrics' fraud columns. On
submissions: a review deadline that has passed or is near (the platform then decides on its own).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..platform import State
from ..times import parse_timestamp
from .prepare import Study
from .working import WorkingResponse, WorkingSubmission, decimal_or_none, truthy

FRAUD_COLUMNS = ("Q_RecaptchaScore", "Q_RelevantIDDuplicate", "Q_RelevantIDFraudScore", "Q_DuplicateRespondent")
_MISSING: Any = object()


def flag_responses(st: Study) -> None:
    rules = st.rules
    rs = st.responses
    ip_count: dict[str, list[WorkingResponse]] = defaultdict(list)
    for r in rs:
        ip = r.resp.ip_address.strip()
        if ip and not r.excluded:
            ip_count[ip].append(r)
    if rules.short_duration_seconds is not None:
        short_limit: Decimal | None = rules.short_duration_seconds
    else:
        durs = [r.duration for r in rs if r.finished and not r.excluded and r.duration is not None]
        short_limit = (statistics.median(durs) / 3) if len(durs) >= 5 else None
    # Fraud columns exist only when the survey turned the feature on; look only when present.
    fraud_cols = {c for c in FRAUD_COLUMNS if any(c in r.resp.fields for r in rs)}
    for r in rs:
        ip = r.resp.ip_address.strip()
        group = ip_count.get(ip, ()) if ip else ()
        if len(group) > 1:
            r.flags.append("duplicate_ip")
            # Three others are named: the first four members hold them. (Walking the whole group for
            # each member was quadratic in a group's size: one NAT or VPN exit shared by thousands.)
            others = [o.resp.response_id for o in group[:4] if o is not r][:3]
            n_others = len(group) - (not r.excluded)  # an excluded response is flagged but not in the group
            r.notes.append(f"Same IP address as {', '.join(others)}{' and more' if n_others > 3 else ''}.")
        dur = r.duration
        if short_limit is not None and dur is not None and r.finished and dur < short_limit:
            r.flags.append("short_duration")
            r.notes.append(f"Took only {r.resp.duration_seconds.strip()} seconds.")
        if not fraud_cols:
            continue
        f = r.resp.fields
        score = decimal_or_none(f.get("Q_RecaptchaScore", ""))
        if score is not None and score < rules.recaptcha_below:
            r.flags.append("recaptcha_low")
            r.notes.append(f"reCAPTCHA score {score}.")
        if truthy(f.get("Q_RelevantIDDuplicate", "")):
            r.flags.append("relevant_id_duplicate")
            r.notes.append("RelevantID marks a duplicate.")
        fraud = decimal_or_none(f.get("Q_RelevantIDFraudScore", ""))
        if fraud is not None and fraud >= rules.fraud_score_at_least:
            r.flags.append("relevant_id_fraud")
            r.notes.append(f"RelevantID fraud score {fraud}.")
        if truthy(f.get("Q_DuplicateRespondent", "")):
            r.flags.append("duplicate_respondent")
            r.notes.append("Qualtrics marks a duplicate respondent.")


@dataclass
class Deadlines:
    """Pending submissions whose review deadline has passed or comes within a day."""

    passed: list[WorkingSubmission] = field(default_factory=list)
    soon: list[tuple[datetime, WorkingSubmission]] = field(default_factory=list)
    unreadable: int = 0


def flag_deadlines(st: Study) -> Deadlines:
    w = st.words
    now = st.now
    out = Deadlines()
    time_cache: dict[str, datetime | None] = {}
    day = timedelta(hours=24)
    for it in st.items:
        if it.state != State.PENDING:
            continue
        if not it.a.review_deadline.strip():
            continue
        when = time_cache.get(it.a.review_deadline, _MISSING)
        if when is _MISSING:
            when = time_cache[it.a.review_deadline] = parse_timestamp(it.a.review_deadline)
        if when is None:
            out.unreadable += 1
            continue
        if when <= now:
            it.flags.append("auto_approval_passed")
            it.extra.append(
                f"Warning: {w.review_deadline} {it.a.review_deadline.strip()} has passed; {w.platform} has approved this "
                f"{w.submission} automatically, so it can no longer be rejected."
            )
            out.passed.append(it)
        elif when - now <= day:
            it.flags.append("auto_approval_soon")
            hours = (when - now).total_seconds() / 3600
            it.extra.append(
                f"Warning: {w.review_deadline} {it.a.review_deadline.strip()} is in {hours:.1f} hours; after that "
                f"{w.platform} approves it automatically and rejecting is impossible."
            )
            out.soon.append((when, it))
    return out
