"""Stages 9 and 10: one plan row per submission, one outcome per response, and the plan's warnings."""

from __future__ import annotations

from collections import defaultdict
from datetime import timezone

from ..models import PlanRow, Response, ResponseOutcome
from ..records import record_maker
from .decided import CLOSED_REASONS
from .flags import Deadlines
from .prepare import Study
from .working import WorkingResponse, WorkingSubmission

# Reasons under which the submission's response is really *its* response (the response is "matched").
MATCH_REASONS = frozenset(
    {"code_match", "code_in_text", "participant_match", "already_approved", "already_rejected", "closed",
     "reject_too_fast", "reject_attention_check", *CLOSED_REASONS}
)
# Reasons whose first suggestion is shown on the row even when there are several (they are sorted best first).
_SUGGEST_FIRST = frozenset({"participant_id_as_code", "near_miss", "no_match"})


def link_responses(st: Study) -> tuple[list[Response | None], dict[int, list[WorkingSubmission]]]:
    """(the response each submission's row is matched to, submissions by suggested response); each
    matched response learns its submission (WorkingResponse.matched_by). Before the rows are made:
    the response outcomes read these links, and the rows then free the working records (plan_rows)."""
    matched: list[Response | None] = []
    pointed: dict[int, list[WorkingSubmission]] = defaultdict(list)
    add_matched = matched.append
    match_reasons = MATCH_REASONS
    for it in st.items:
        link = it.chosen if it.reason in match_reasons else None
        if link is not None:
            add_matched(link.resp)
            link.matched_by = it
        else:
            add_matched(None)
            for r in it.suggested:
                pointed[id(r)].append(it)
    return matched, pointed


def unlink_responses(st: Study) -> None:
    """Undo link_responses' links once the outcomes are made: a response's link to its submission (and
    the submission's to it) is a reference cycle, which would keep every matched submission alive."""
    for r in st.responses:
        r.matched_by = None


def plan_rows(st: Study) -> list[PlanRow]:
    """One row per submission (after link_responses and unlink_responses). Each working submission is
    let go as soon as its row is made (`st.items` is emptied): a PlanRow then takes memory a working
    submission gave back, where both together were ~150 MB more at the peak of a million rows."""
    rows: list[PlanRow] = []
    make_row = record_maker(PlanRow)
    add_row = rows.append
    match_reasons, suggest_first = MATCH_REASONS, _SUGGEST_FIRST
    items = st.items
    st.items = []
    for i, it in enumerate(items):
        items[i] = None  # type: ignore[call-overload]  # (freed with `it` at the next turn)
        reason = it.reason
        link = it.chosen if reason in match_reasons else None
        suggested = it.suggested
        if link is not None:
            r_show: WorkingResponse | None = link
        else:
            # The response shown on the row: the match, else the best suggestion (suggestions are sorted
            # best first; several equally likely responses with nothing to prefer one are not guessed).
            r_show = suggested[0] if suggested and (len(suggested) == 1 or reason in suggest_first) else None
        # (the common row has no extra sentences or response flags: skip the joins for it)
        flags = it.flags
        detail = it.detail
        sentences = it.extra
        if r_show is not None:
            if r_show.flags:
                flags = list(dict.fromkeys([*flags, *r_show.flags]))
            if r_show.notes:
                sentences = [*sentences, f"Response {r_show.resp.response_id}: " + " ".join(r_show.notes)]
        if sentences:
            detail = " ".join([x for x in [detail, *sentences] if x])
        a = it.a
        src = a.source
        decision = it.decision
        add_row(make_row(
            a.submission_id,  # submission_id
            a.participant_id,  # participant_id
            a.group_id,  # group_id
            decision,
            reason,
            detail,
            a.code,  # code
            r_show.resp.response_id if r_show is not None else "",  # response_id
            None,  # bonus (plan.build_plan adds bonuses)
            it.feedback,  # feedback
            f"{src.path}:{src.row}",  # source: str(SourceRef), without a call per row
            tuple(flags),  # flags (no copy when already a tuple)
            a.status,  # status
            a.reward,  # reward
            a.group_size,  # group_size
            a.review_deadline,  # review_deadline
            it.category if decision == "reject" else "",  # category
        ))
    return rows


def response_outcomes(st: Study, join, pointed: dict[int, list[WorkingSubmission]]) -> list[ResponseOutcome]:
    w = st.words
    said = _Worded(st.platform.reason_code)  # neutral reason -> the platform's, for the sentences that name one
    claims = join.claims_phrase(st)
    matched_reason = join.matched_reason
    make_outcome = record_maker(ResponseOutcome)
    outcomes: list[ResponseOutcome] = []
    add = outcomes.append
    label = w.submission_label
    for r in st.responses:
        resp = r.resp
        m = r.matched_by
        sid = ""
        if r.excluded:
            outcome, reason = "excluded", r.excluded
            detail = f"Status {resp.status.strip()!r}: never paid."
            ptr = ([m] if m else []) + pointed.get(id(r), [])
            if ptr:
                detail += f" {label} {', '.join(p.a.submission_id for p in ptr)} {claims} (sent to review)."
        elif m is not None:
            outcome, reason, sid = "matched", matched_reason, m.a.submission_id
            detail = f"{label} {sid}: {m.decision} ({said[m.reason]})."
        elif pointed and id(r) in pointed:
            ptr = pointed[id(r)]
            outcome, reason = "unmatched", "in_review"
            detail = "Pointed to by " + ", ".join(f"{p.a.submission_id} ({said[p.reason]})" for p in ptr) + ", sent to review."
        elif not r.finished:
            outcome, reason = "excluded", "unfinished"
            detail = f"Not finished (Progress {resp.progress.strip() or '?'}) and no {w.submission} claims it."
        else:
            outcome = "unmatched"
            reason, detail = join.unclaimed(st, r)
        if r.flags and outcome != "excluded":
            detail += " " + " ".join(r.notes)
        src = resp.source
        add(make_outcome(
            resp.response_id,  # response_id
            outcome,
            reason,
            detail,
            resp.code,  # code
            resp.participant_id,  # participant_id
            sid,  # submission_id
            f"{src.path}:{src.row}",  # source
        ))
    return outcomes


class _Worded(dict):
    """reason -> Platform.reason_code(reason), asked once per reason (a plain dict lookup per response after that)."""

    def __init__(self, reason_code) -> None:
        super().__init__()
        self._reason_code = reason_code

    def __missing__(self, reason: str) -> str:
        got = self[reason] = self._reason_code(reason)
        return got


def plan_warnings(st: Study, join, deadlines: Deadlines) -> list[str]:
    w = st.words
    warnings: list[str] = []
    passed, soon = deadlines.passed, deadlines.soon
    if passed:
        many = len(passed) > 1
        warnings.append(
            f"{len(passed)} {w.pending_status.lower()} {w.submissions if many else w.submission} {'have' if many else 'has'} "
            f"passed {w.review_deadline}: {w.platform} has approved {'them' if many else 'it'} automatically; download fresh "
            f"{w.records_file} to see the real status."
        )
    if soon:
        first = min(soon, key=lambda x: x[0])[0]
        warnings.append(
            f"{len(soon)} {w.submissions if len(soon) > 1 else w.submission} auto-approve within 24 hours (the first at "
            f"{first.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC); decide and pay before then."
        )
    if deadlines.unreadable:
        warnings.append(f"{deadlines.unreadable} {w.review_deadline} value(s) could not be read; their deadlines are not checked.")
    warnings += join.warnings(st)
    n_conf = sum(1 for it in st.items if it.reason == "conflicting_rows")
    if n_conf:
        warnings.append(f"{n_conf} {w.submission}(s) appear in several {w.record_rows} with different content; they are sent to review.")
    return warnings
