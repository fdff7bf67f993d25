"""Stage 8: informative flags. They never change a decision.

On responses: the same IP address, much faster than usual, Qualtrics' fraud columns. On
submissions: a review deadline that has passed or is near (the platform then decides on its own).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import repeat
from operator import attrgetter, contains
from typing import Any

from ..platform import State
from ..times import Moments, moment_us, parse_timestamp
from .prepare import Study
from .working import WorkingResponse, WorkingSubmission, decimal_or_none, first_and_repeated, truthy

FRAUD_COLUMNS = ("Q_RecaptchaScore", "Q_RelevantIDDuplicate", "Q_RelevantIDFraudScore", "Q_DuplicateRespondent")
_MISSING: Any = object()
_FIELDS = attrgetter("resp.fields")


def flag_responses(st: Study) -> None:
    rules = st.rules
    rs = st.responses
    ips = [r.resp.ip_address.strip() for r in rs]
    # The non-excluded responses of each address that several share (the first of every address in
    # a dict, a list from the second: a list per address was a million lists).
    shared = first_and_repeated((ip, r) for r, ip in zip(rs, ips) if ip and not r.excluded)[1]
    # Each response's duration in seconds (None when unreadable), parsed once per distinct text.
    parsed: dict[str, Decimal | None] = {}
    durations = []
    for r in rs:
        text = r.resp.duration_seconds
        d = parsed.get(text, _MISSING)
        if d is _MISSING:
            d = parsed[text] = decimal_or_none(text)
        durations.append(d)
    if rules.short_duration_seconds is not None:
        short_limit: Decimal | None = rules.short_duration_seconds
    else:
        durs = [d for r, d in zip(rs, durations) if r.finished and not r.excluded and d is not None]
        short_limit = (statistics.median(durs) / 3) if len(durs) >= 5 else None
    # Fraud columns exist only when the survey turned the feature on; look only when present.
    fields = list(map(_FIELDS, rs))
    fraud_cols = {c for c in FRAUD_COLUMNS if any(map(contains, fields, repeat(c)))}
    del fields
    for r, dur, ip in zip(rs, durations, ips):
        group = shared.get(ip) if ip else None
        if group is not None:
            # Three others are named: the first four members hold them. (Walking the whole group for
            # each member was quadratic in a group's size: one NAT or VPN exit shared by thousands.)
            others = [o.resp.response_id for o in group[:4] if o is not r][:3]
            n_others = len(group) - (not r.excluded)  # an excluded response is flagged but not in the group
            flag_response(r, "duplicate_ip", f"Same IP address as {', '.join(others)}{' and more' if n_others > 3 else ''}.")
        if short_limit is not None and dur is not None and r.finished and dur < short_limit:
            flag_response(r, "short_duration", f"Took only {r.resp.duration_seconds.strip()} seconds.")
        if not fraud_cols:
            continue
        f = r.resp.fields
        score = decimal_or_none(f.get("Q_RecaptchaScore", ""))
        if score is not None and score < rules.recaptcha_below:
            flag_response(r, "recaptcha_low", f"reCAPTCHA score {score}.")
        if truthy(f.get("Q_RelevantIDDuplicate", "")):
            flag_response(r, "relevant_id_duplicate", "RelevantID marks a duplicate.")
        fraud = decimal_or_none(f.get("Q_RelevantIDFraudScore", ""))
        if fraud is not None and fraud >= rules.fraud_score_at_least:
            flag_response(r, "relevant_id_fraud", f"RelevantID fraud score {fraud}.")
        if truthy(f.get("Q_DuplicateRespondent", "")):
            flag_response(r, "duplicate_respondent", "Qualtrics marks a duplicate respondent.")


def flag_response(r: WorkingResponse, flag: str, sentence: str) -> None:
    """Add a flag and the sentence that explains it (the response's lists are made on its first flag)."""
    if isinstance(r.flags, tuple):
        r.flags, r.notes = [], []
    r.flags.append(flag)
    r.notes.append(sentence)  # type: ignore[union-attr]


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
    # Compared as whole microseconds: only a deadline within the day needs its datetime (for the hours).
    moments = Moments()
    now_us, day_us = moment_us(now), 24 * 3600 * 1_000_000
    pending = State.PENDING
    for it in st.items:
        if it.state != pending:
            continue
        text = it.a.review_deadline
        when_us = moments.of(text)
        if when_us is None:
            if text.strip():
                out.unreadable += 1
            continue
        if when_us <= now_us:
            it.add_flag("auto_approval_passed")
            it.add_sentence(
                f"Warning: {w.review_deadline} {text.strip()} has passed; {w.platform} has approved this "
                f"{w.submission} automatically, so it can no longer be rejected."
            )
            out.passed.append(it)
        elif when_us - now_us <= day_us:
            when = parse_timestamp(text)
            assert when is not None  # Moments read it
            it.add_flag("auto_approval_soon")
            hours = (when - now).total_seconds() / 3600
            it.add_sentence(
                f"Warning: {w.review_deadline} {text.strip()} is in {hours:.1f} hours; after that "
                f"{w.platform} approves it automatically and rejecting is impossible."
            )
            out.soon.append((when, it))
    return out
