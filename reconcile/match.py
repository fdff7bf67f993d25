"""The matcher: Qualtrics responses + MTurk assignments + rules -> one decision per assignment and
one outcome per response. Pure: no I/O, no clock (the caller passes `now`).

The result never depends on input order: every choice is made over sorted candidates, and the
rows come out sorted by their source (file, row).
"""

from __future__ import annotations

import os
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import Any, Iterable, Sequence

from .records import frozen_record, paused_gc
from .models import Submission, DuplicateRow, PlanRow, Response, ResponseOutcome
from .normalize import (
    code_tokens,
    excel_damage,
    excel_damage_prefix,
    near_misses,
    normalize_code,
)
from .platform import ParticipantIds
from .rules import DEFAULT_RULES, Rules
from .times import parse_timestamp

# Reasons under which the assignment's response is really *its* response (the response is "matched").
MATCH_REASONS = frozenset(
    {"code_match", "code_in_text", "already_approved", "already_rejected", "reject_too_fast", "reject_attention_check"}
)
_MAX_SUGGESTIONS = 3
_MISSING: Any = object()
_FRAUD_COLUMNS = ("Q_RecaptchaScore", "Q_RelevantIDDuplicate", "Q_RelevantIDFraudScore", "Q_DuplicateRespondent")
_SUGGEST_FIRST = frozenset({"worker_id_as_code", "near_miss", "no_match"})


@dataclass(frozen=True)
class MatchResult:
    rows: tuple[PlanRow, ...]  # one per assignment, bonus None (plan.build_plan adds bonuses)
    responses: tuple[ResponseOutcome, ...]  # one per response
    warnings: tuple[str, ...] = ()
    # Parallel to rows: the response each row is matched to (None for none), so build_plan can
    # compute bonuses without looking responses up again.
    matched: tuple[Response | None, ...] = ()


# ---------------------------------------------------------------- reading raw fields

_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}


def response_exclusion(status: str) -> str | None:
    """Preview / test / spam responses are never paid. Text or the numeric codes of older exports."""
    s = status.strip().lower()
    if not s:
        return None
    if s.isdigit():
        n = int(s)
        # Qualtrics response types: 0 normal, 1 preview, 2 test, 4 imported, 8 spam, 9 preview spam,
        # 12 imported spam, 16 offline, 17 offline preview.
        if n in (8, 9, 12):
            return "spam"
        if n in (1, 17):
            return "survey_preview"
        if n == 2:
            return "survey_test"
        return None
    if "spam" in s:
        return "spam"
    if "preview" in s:
        return "survey_preview"
    if "test" in s:
        return "survey_test"
    return None


def response_finished(r: Response) -> bool:
    """Finished True/TRUE/1; when the column is absent, Progress 100; when both are absent, finished."""
    f = r.finished.strip().lower()
    if f in _TRUE:
        return True
    if f in _FALSE:
        return False
    p = r.progress.strip()
    if p:
        try:
            return Decimal(p) >= 100
        except InvalidOperation:
            return False
    return True


def _decimal(text: str) -> Decimal | None:
    t = (text or "").strip()
    if not t:
        return None
    try:
        d = Decimal(t)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _truthy(text: str) -> bool:
    return (text or "").strip().lower() in _TRUE


# ---------------------------------------------------------------- working records


class _R:
    """A response while matching (a plain class: 100k of these are built per run)."""

    __slots__ = ("resp", "key", "excluded", "finished", "worker", "duration", "flags", "notes")

    def __init__(self, resp: Response, key: str, excluded: str | None, finished: bool, worker: str) -> None:
        self.resp = resp
        self.key = key  # normalized code
        self.excluded = excluded
        self.finished = finished
        self.worker = worker  # normalized worker ID ("" when none)
        self.duration = _decimal(resp.duration_seconds)
        self.flags: list[str] = []
        self.notes: list[str] = []

    @property
    def label(self) -> str:
        """"R_abc (export.csv:5)" for sentences."""
        return f"{self.resp.response_id or '(no ResponseId)'} ({_where(self.resp.source)})"


@dataclass(slots=True)
class _A:
    a: Submission
    key: str
    worker: str
    status: str  # "submitted" | "approved" | "rejected" | other lower-case
    decision: str = ""
    reason: str = ""
    detail: str = ""
    chosen: _R | None = None  # the response this assignment claims (exact or in-text match)
    suggested: list[_R] = field(default_factory=list)
    feedback: str = ""
    flags: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # further sentences for detail
    excel: bool = False  # the submitted code looks damaged by a spreadsheet

    def review(self, reason: str, detail: str, suggested: Iterable[_R] = ()) -> None:
        self.decision, self.reason, self.detail = "review", reason, detail
        self.suggested = list(suggested)


def _src_key(x: Response | Submission) -> tuple:
    return (x.source.path, x.source.row)


_RESPONSE_ORDER = attrgetter("source.path", "source.row")  # _src_key, in C
_SUBMISSION_ORDER = attrgetter("source.path", "source.row", "submission_id")


_BASENAMES: dict[str, str] = {}


def _where(ref) -> str:
    """A short "file.csv:12" for sentences (the full path is in the source column)."""
    name = _BASENAMES.get(ref.path)
    if name is None:
        name = _BASENAMES[ref.path] = os.path.basename(ref.path) or ref.path
    return f"{name}:{ref.row}"


def _suggest_text(rs: Sequence[_R]) -> str:
    if not rs:
        return ""
    shown = ", ".join(f"{r.resp.response_id or '(no ResponseId)'} (code {r.resp.code!r}, {_where(r.resp.source)})" for r in rs[:_MAX_SUGGESTIONS])
    more = f" and {len(rs) - _MAX_SUGGESTIONS} more" if len(rs) > _MAX_SUGGESTIONS else ""
    return f" Suggested response{'s' if len(rs) > 1 else ''}: {shown}{more}."


def match(
    responses: Sequence[Response],
    submissions: Sequence[Submission],
    *,
    now: datetime,
    ids: ParticipantIds,
    rules: Rules = DEFAULT_RULES,
    duplicates: Sequence[DuplicateRow] = (),
) -> MatchResult:
    """Decide every submission and account for every response. See rules.ASSIGNMENT_REASONS.

    `ids` are the platform's participant-ID rules; `now` decides the review-deadline warnings
    (the CLI passes the current time).
    """
    with paused_gc():
        return _match(responses, submissions, now=now, ids=ids, rules=rules, duplicates=duplicates)


def _match(responses, submissions, *, now, ids, rules, duplicates) -> MatchResult:
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)

    rs: list[_R] = []
    excl_cache: dict[str, str | None] = {}
    fin_cache: dict[tuple[str, str], bool] = {}
    for resp in sorted(responses, key=_RESPONSE_ORDER):
        excluded = excl_cache.get(resp.status, "?")
        if excluded == "?":
            excluded = excl_cache[resp.status] = response_exclusion(resp.status)
        fk = (resp.finished, resp.progress)
        finished = fin_cache.get(fk)
        if finished is None:
            finished = fin_cache[fk] = response_finished(resp)
        # An unpiped Qualtrics placeholder ("${e://Field/workerId}") is no worker ID at all.
        worker = "" if "${" in resp.participant_id else ids.key(resp.participant_id)
        rs.append(_R(resp, normalize_code(resp.code), excluded, finished, worker))
    items: list[_A] = []
    for a in sorted(submissions, key=_SUBMISSION_ORDER):
        items.append(_A(a=a, key=normalize_code(a.code), worker=ids.key(a.participant_id), status=a.status.strip().lower()))

    known_workers = {it.worker for it in items if it.worker}
    by_code: dict[str, list[_R]] = defaultdict(list)
    by_worker: dict[str, list[_R]] = defaultdict(list)
    finished_per_worker: dict[str, int] = defaultdict(int)
    live_codes: set[str] = set()  # codes of responses that may be paid (what near misses may suggest)
    for r in rs:
        if r.key:
            by_code[r.key].append(r)
            if not r.excluded:
                live_codes.add(r.key)
        if r.worker and not r.excluded:
            by_worker[r.worker].append(r)
            if r.finished:
                finished_per_worker[r.worker] += 1

    def responses_of_worker(actual_key: str) -> list[_R]:
        found: dict[int, _R] = {}
        for k in ids.lookup_keys(actual_key):
            for r in by_worker.get(k, ()):
                if ids.agree(r.worker, actual_key):
                    found[id(r)] = r
        return sorted(found.values(), key=lambda r: _src_key(r.resp))

    prefix_index: dict[tuple[int, int], dict[str, list[_R]]] = {}

    def excel_suggestions(raw: str) -> list[_R]:
        """Responses whose code fits what survived of a damaged one (same length, same leading digits)."""
        got = excel_damage_prefix(raw)
        if got is None:
            return []
        prefix, length = got
        table = prefix_index.get((length, len(prefix)))
        if table is None:
            table = defaultdict(list)
            for k, lst in by_code.items():
                if len(k) == length and k.isdigit():
                    table[k[: len(prefix)]].extend(r for r in lst if not r.excluded)
            prefix_index[(length, len(prefix))] = table
        return sorted(table.get(prefix, ()), key=lambda r: _src_key(r.resp))

    damaged_responses = [r for r in rs if excel_damage(r.resp.code)]

    # ---- 1. find each assignment's candidate responses
    needs_near_miss: list[_A] = []
    for it in items:
        raw = it.a.code
        if not it.key:
            it.review("no_code", "The assignment carries no completion code.")
            continue
        cands = by_code.get(it.key)
        via_text = False
        # Spreadsheet damage is checked before looking inside text: "12345.0" must not pass as a
        # sentence around "12345" (the policy is to report damage, never repair it).
        damage = excel_damage(raw) if cands is None else None
        if damage:
            sugg = excel_suggestions(raw)
            it.review(
                "excel_damaged_code",
                f"The code {damage}; it cannot be matched safely." + (_suggest_text(sugg) if sugg else ""),
                sugg,
            )
            it.excel = True
            continue
        if cands is None:
            toks = [t for t in code_tokens(raw) if t in by_code]
            if len(toks) == 1:
                cands, via_text = by_code[toks[0]], True
            elif len(toks) > 1:
                it.review(
                    "ambiguous_text",
                    f"The pasted text {raw!r} contains several codes that match responses ({', '.join(toks)}).",
                    [r for t in toks for r in by_code[t]],
                )
                continue
        if cands is None:
            pasted = ids.key(raw) if ids.looks_like(raw) else ""
            if not pasted and ids.agree(ids.key(raw), it.worker):
                pasted = it.worker  # their own ID, typed without the leading "A"
            # An alphanumeric code can look like a WorkerId; only call it one when it names a worker
            # we know (this assignment's, another assignment's, or one typed in a response).
            if pasted and (pasted == it.worker or pasted in known_workers or responses_of_worker(pasted)):
                sugg = responses_of_worker(pasted)
                if ids.key(it.a.participant_id) != pasted:
                    sugg += [r for r in responses_of_worker(it.worker) if r not in sugg]
                who = "their own WorkerId" if pasted == it.worker else f"a WorkerId ({pasted}), not their own"
                it.review(
                    "worker_id_as_code",
                    f"The worker pasted {who} instead of the completion code."
                    + (_suggest_text(sugg) if sugg else " No response carries that worker ID."),
                    sugg,
                )
                continue
            needs_near_miss.append(it)
            continue
        it.reason = "code_in_text" if via_text else "code_match"
        if via_text:
            it.flags.append("code_in_text")
        live = [r for r in cands if not r.excluded]
        if not live:
            r0 = cands[0]
            it.review(
                "excluded_response",
                f"The code belongs to {r0.label}, which is a {r0.excluded.replace('_', ' ')} response and is never paid.",
                [r0],
            )
            continue
        if len(live) > 1:
            agree = [r for r in live if r.worker and ids.agree(r.worker, it.worker)]
            finished = [r for r in live if r.finished]
            if len(agree) == 1:
                live = agree
            elif not agree and len(finished) == 1:
                live = finished
            else:
                it.review(
                    "code_on_several_responses",
                    f"The code belongs to {len(live)} responses and their worker IDs do not tell which is this worker's."
                    + _suggest_text(live),
                    live,
                )
                continue
        it.chosen = live[0]

    # ---- 2. near misses, indexed (never all pairs)
    if needs_near_miss:
        near_of = (
            near_misses([it.key for it in needs_near_miss], live_codes)
            if rules.near_misses
            else {}
        )
        # Responses whose own code a spreadsheet damaged ("84719265.0", "8.47193E+07"): an assignment
        # carrying the intact digits is pointed at them, for a person to compare.
        # Indexed by (digit count, kept prefix length) -> prefix: a wholly damaged export stays linear.
        damaged: dict[tuple[int, int], dict[str, list[_R]]] = defaultdict(lambda: defaultdict(list))
        for r in damaged_responses:
            if not r.excluded:
                got = excel_damage_prefix(r.resp.code)
                if got is not None:
                    damaged[(got[1], len(got[0]))][got[0]].append(r)
        for it in needs_near_miss:
            if damaged and it.key.isdigit():
                n = len(it.key)
                hits = [r for (length, plen), table in sorted(damaged.items()) if length == n for r in table.get(it.key[:plen], ())]
                if hits:
                    it.review(
                        "excel_damaged_code",
                        f"No response has the code {it.a.code!r} exactly, but "
                        + " and ".join(f"{r.label} holds {r.resp.code!r}" for r in hits[:_MAX_SUGGESTIONS])
                        + ", damaged by a spreadsheet; compare by hand.",
                        hits,
                    )
                    continue
            near = near_of.get(it.key, [])
            sugg = sorted(
                (r for k in near for r in by_code[k] if not r.excluded),
                key=lambda r: (not ids.agree(r.worker, it.worker), _src_key(r.resp)),
            )
            if sugg:
                it.review(
                    "near_miss",
                    f"The code {it.a.code!r} matches no response exactly but is one typo away from "
                    f"{'a response' if len(sugg) == 1 else str(len(sugg)) + ' responses'}." + _suggest_text(sugg),
                    sugg,
                )
            else:
                own = [r for r in responses_of_worker(it.worker)]
                it.review(
                    "no_match",
                    f"The code {it.a.code!r} matches no response (another study's code, or made up)."
                    + (f" This worker's own response is {own[0].label} (code {own[0].resp.code!r})." if own else ""),
                    own[:1],
                )

    # ---- 3. one response, one assignment
    claims: dict[int, list[_A]] = defaultdict(list)
    for it in items:
        if it.chosen is not None:
            claims[id(it.chosen)].append(it)
    for group in claims.values():
        if len(group) < 2:
            continue
        r = group[0].chosen
        assert r is not None
        agree = [it for it in group if r.worker and ids.agree(r.worker, it.worker)]
        winner = agree[0] if len(agree) == 1 else None
        claimed = ", ".join(it.a.submission_id for it in group)
        for it in group:
            if it is winner:
                it.extra.append(f"Other assignments submitted the same code ({claimed}); this worker's ID is on the response.")
                continue
            it.chosen = None
            why = (
                "the response names another worker"
                if winner is not None
                else ("the response carries no worker ID to tell which is genuine" if not r.worker else "the response's worker ID agrees with none of them")
            )
            it.review(
                "shared_code",
                f"{len(group)} assignments submitted the code of {r.label} ({claimed}); {why}.",
                [r],
            )

    # ---- 4. the claimed response must be finished and name this worker
    for it in items:
        r = it.chosen
        if r is None:
            continue
        if not r.finished:
            it.chosen = None
            it.review("unfinished_response", f"The code matches {r.label}, which is not finished (Progress {r.resp.progress or '?'}).", [r])
        elif r.worker and not ids.agree(r.worker, it.worker):
            it.chosen = None
            it.review(
                "worker_mismatch",
                f"The code matches {r.label}, but that response names worker {r.resp.participant_id.strip()!r}, not {it.a.participant_id}.",
                [r],
            )
        else:
            it.decision = "approve"
            how = "pulled out of the pasted text" if it.reason == "code_in_text" else "matches"
            # The response's file and row are in the responses sidecar; keep the common sentence short.
            it.detail = (
                f"The code {how} response {r.resp.response_id} exactly."
                if it.reason == "code_match"
                else f"The code {r.key!r} was {how} and matches response {r.resp.response_id}."
            )

    # ---- 5. repeat workers (retakes, also across batches)
    if rules.review_repeat_workers:
        per_worker: dict[str, list[_A]] = defaultdict(list)
        for it in items:
            if it.worker:
                per_worker[it.worker].append(it)
        for it in items:
            if it.decision != "approve":
                continue
            group = per_worker.get(it.worker, ())  # holds `it` itself when it has a worker
            if len(group) > 1:
                others = [o for o in group if o is not it]
                r = it.chosen
                it.chosen = None
                it.review(
                    "repeat_worker",
                    f"The code matches {r.label}, but worker {it.a.participant_id} has {len(others) + 1} assignments "
                    f"(also {', '.join(f'{o.a.submission_id} ({_where(o.a.source)})' for o in others[:3])}).",
                    [r],
                )
                continue
            n_finished = 0  # the cheap count first: most workers have one response
            for k in ids.lookup_keys(it.worker):
                n_finished += finished_per_worker.get(k, 0)
            if n_finished < 2:
                continue
            finished_rs = [r for r in responses_of_worker(it.worker) if r.finished]
            if len(finished_rs) > 1:
                r = it.chosen
                it.chosen = None
                it.review(
                    "repeat_worker",
                    f"The code matches {r.label}, but worker {it.a.participant_id} has {len(finished_rs)} finished responses "
                    f"({', '.join(x.resp.response_id for x in finished_rs[:3])}).",
                    [r],
                )

    # ---- 6. opt-in reject rules
    rule_no_code = rules.reject_rule("no_code")
    rule_no_match = rules.reject_rule("no_match")
    rule_fast = rules.reject_rule("too_fast")
    rule_attention = rules.reject_rule("attention_check")
    for it in items:
        if it.decision == "review" and it.reason == "no_code" and rule_no_code:
            it.decision, it.reason, it.feedback = "reject", "reject_no_code", rule_no_code.feedback
            it.detail = "No completion code was submitted (rule reject.no_code)."
        elif it.decision == "review" and it.reason == "no_match" and not it.suggested and rule_no_match:
            it.decision, it.reason, it.feedback = "reject", "reject_no_match", rule_no_match.feedback
            it.detail = f"The code {it.a.code!r} matches no response (rule reject.no_match)."
        elif it.decision == "approve" and it.chosen is not None:
            r = it.chosen
            if rule_attention is not None:
                answer = r.resp.fields.get(rule_attention.column, "")
                accepted = {e.strip().casefold() for e in rule_attention.expected}
                if answer.strip().casefold() not in accepted:
                    it.decision, it.reason, it.feedback = "reject", "reject_attention_check", rule_attention.feedback
                    it.detail = (
                        f"{r.label} answered {answer.strip()!r} to {rule_attention.column}, expected "
                        f"{' or '.join(repr(e) for e in rule_attention.expected)} (rule reject.attention_check)."
                    )
                    continue
            if rule_fast is not None and rule_fast.max_seconds is not None:
                dur = _decimal(r.resp.duration_seconds)
                if dur is not None and dur < rule_fast.max_seconds:
                    it.decision, it.reason, it.feedback = "reject", "reject_too_fast", rule_fast.feedback
                    it.detail = f"{r.label} took {dur} seconds, under {rule_fast.max_seconds} (rule reject.too_fast)."

    # Counted before stage 7 renames rows MTurk already decided: what matters is whether the codes
    # belong to this export at all. A real study loses a handful (4 of 104 in the real Chucooleg
    # pair, codes from another survey); a wrong export or code column loses nearly all, and an
    # export cut in half about half: hence a warning from a quarter on.
    with_code = sum(1 for it in items if it.key)
    codes_unmatched = sum(1 for it in items if it.reason in ("no_match", "reject_no_match"))

    # ---- 7. conflicting batch rows, and what MTurk already decided
    conflicts: dict[str, list[DuplicateRow]] = defaultdict(list)
    identical: dict[str, list[DuplicateRow]] = defaultdict(list)
    for d in sorted(duplicates, key=lambda d: (d.source.path, d.source.row)):
        (identical if d.identical else conflicts)[d.submission_id].append(d)
    for it in items:
        aid = it.a.submission_id
        if aid in identical:
            it.flags.append("duplicate_row")
            it.extra.append(f"Also in {', '.join(_where(d.source) for d in identical[aid])} (identical, counted once).")
        if it.status in ("approved", "rejected"):
            linked = it.chosen if it.decision in ("approve", "reject") else None
            before = it.detail
            it.decision = "skip"
            it.reason = f"already_{it.status}"
            it.feedback = ""
            it.chosen = linked
            it.suggested = []
            it.detail = f"MTurk already shows this assignment as {it.a.status.strip()}; nothing to do." + (
                f" (Matching alone: {before})" if before else ""
            )
            continue
        if aid in conflicts:
            rows = ", ".join(_where(d.source) for d in conflicts[aid])
            before = it.detail
            keep = it.chosen or (it.suggested[0] if it.suggested else None)
            it.chosen = None
            it.review(
                "conflicting_rows",
                f"This assignment also appears in {rows} with different content; check which row is current."
                + (f" (Matching alone: {before})" if before else ""),
                [keep] if keep else [],
            )
            it.feedback = ""

    # ---- 8. informative flags
    ip_count: dict[str, list[_R]] = defaultdict(list)
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
    fraud_cols = {c for c in _FRAUD_COLUMNS if any(c in r.resp.fields for r in rs)}
    for r in rs:
        ip = r.resp.ip_address.strip()
        if ip and len(ip_count.get(ip, ())) > 1:
            r.flags.append("duplicate_ip")
            others = [o.resp.response_id for o in ip_count[ip] if o is not r]
            r.notes.append(f"Same IP address as {', '.join(others[:3])}{' and more' if len(others) > 3 else ''}.")
        dur = r.duration
        if short_limit is not None and dur is not None and r.finished and dur < short_limit:
            r.flags.append("short_duration")
            r.notes.append(f"Took only {r.resp.duration_seconds.strip()} seconds.")
        if not fraud_cols:
            continue
        f = r.resp.fields
        score = _decimal(f.get("Q_RecaptchaScore", ""))
        if score is not None and score < rules.recaptcha_below:
            r.flags.append("recaptcha_low")
            r.notes.append(f"reCAPTCHA score {score}.")
        if _truthy(f.get("Q_RelevantIDDuplicate", "")):
            r.flags.append("relevant_id_duplicate")
            r.notes.append("RelevantID marks a duplicate.")
        fraud = _decimal(f.get("Q_RelevantIDFraudScore", ""))
        if fraud is not None and fraud >= rules.fraud_score_at_least:
            r.flags.append("relevant_id_fraud")
            r.notes.append(f"RelevantID fraud score {fraud}.")
        if _truthy(f.get("Q_DuplicateRespondent", "")):
            r.flags.append("duplicate_respondent")
            r.notes.append("Qualtrics marks a duplicate respondent.")

    passed: list[_A] = []
    soon: list[tuple[datetime, _A]] = []
    unreadable_times = 0
    time_cache: dict[str, datetime | None] = {}
    day = timedelta(hours=24)
    for it in items:
        if it.status not in ("submitted", ""):
            continue
        if not it.a.review_deadline.strip():
            continue
        when = time_cache.get(it.a.review_deadline, _MISSING)
        if when is _MISSING:
            when = time_cache[it.a.review_deadline] = parse_timestamp(it.a.review_deadline)
        if when is None:
            unreadable_times += 1
            continue
        if when <= now:
            it.flags.append("auto_approval_passed")
            it.extra.append(
                f"Warning: AutoApprovalTime {it.a.review_deadline.strip()} has passed; MTurk has approved this "
                "assignment automatically, so it can no longer be rejected."
            )
            passed.append(it)
        elif when - now <= day:
            it.flags.append("auto_approval_soon")
            hours = (when - now).total_seconds() / 3600
            it.extra.append(
                f"Warning: AutoApprovalTime {it.a.review_deadline.strip()} is in {hours:.1f} hours; after that "
                "MTurk approves it automatically and rejecting is impossible."
            )
            soon.append((when, it))

    # ---- 9. rows and response outcomes
    rows: list[PlanRow] = []
    matched: list[Response | None] = []
    matched_by: dict[int, _A] = {}
    pointed: dict[int, list[_A]] = defaultdict(list)
    for it in items:
        link = it.chosen if it.reason in MATCH_REASONS else None
        matched.append(link.resp if link is not None else None)
        if link is not None:
            matched_by[id(link)] = it
        else:
            for r in it.suggested:
                pointed[id(r)].append(it)
        # The response shown on the row: the match, else the best suggestion (suggestions are sorted
        # best first; several equally likely responses with nothing to prefer one are not guessed).
        r_show = link
        if r_show is None and it.suggested and (len(it.suggested) == 1 or it.reason in _SUGGEST_FIRST):
            r_show = it.suggested[0]
        # (the common row has no extra sentences or response flags: skip the joins for it)
        flags = it.flags
        detail = it.detail
        sentences = it.extra
        if r_show is not None:
            if r_show.flags:
                flags = tuple(dict.fromkeys(flags + r_show.flags))
            if r_show.notes:
                sentences = sentences + [f"Response {r_show.resp.response_id}: " + " ".join(r_show.notes)]
        if sentences:
            detail = " ".join([x for x in [detail, *sentences] if x])
        a = it.a
        src = a.source
        rows.append(
            frozen_record(
                PlanRow,
                submission_id=a.submission_id,
                participant_id=a.participant_id,
                group_id=a.group_id,
                decision=it.decision,
                reason=it.reason,
                detail=detail,
                code=a.code,
                response_id=r_show.resp.response_id if r_show is not None else "",
                bonus=None,
                feedback=it.feedback,
                source=f"{src.path}:{src.row}",  # str(SourceRef), without a call per row
                flags=tuple(flags),  # (no copy when already a tuple)
                status=a.status,
                reward=a.reward,
                group_size=a.group_size,
                review_deadline=a.review_deadline,
            )
        )

    outcomes: list[ResponseOutcome] = []
    for r in rs:
        resp = r.resp
        m = matched_by.get(id(r))
        aid = ""
        if r.excluded:
            outcome, reason = "excluded", r.excluded
            detail = f"Status {resp.status.strip()!r}: never paid."
            ptr = ([m] if m else []) + pointed.get(id(r), [])
            if ptr:
                detail += f" Assignment {', '.join(p.a.submission_id for p in ptr)} submitted its code (sent to review)."
        elif m is not None:
            outcome, reason, aid = "matched", "code_match", m.a.submission_id
            detail = f"Assignment {m.a.submission_id}: {m.decision} ({m.reason})."
        elif pointed.get(id(r)):
            ptr = pointed[id(r)]
            outcome, reason = "unmatched", "in_review"
            detail = "Pointed to by " + ", ".join(f"{p.a.submission_id} ({p.reason})" for p in ptr) + ", sent to review."
        elif not r.finished:
            outcome, reason = "excluded", "unfinished"
            detail = f"Not finished (Progress {resp.progress.strip() or '?'}) and no assignment claims it."
        elif not r.key:
            outcome, reason = "unmatched", "no_code"
            detail = "The response has no completion code."
        else:
            outcome, reason = "unmatched", "no_assignment"
            detail = "No assignment submitted this code."
        if r.flags and outcome != "excluded":
            detail += " " + " ".join(r.notes)
        src = resp.source
        outcomes.append(
            frozen_record(
                ResponseOutcome,
                response_id=resp.response_id,
                outcome=outcome,
                reason=reason,
                detail=detail,
                code=resp.code,
                participant_id=resp.participant_id,
                submission_id=aid,
                source=f"{src.path}:{src.row}",
            )
        )

    # ---- 10. warnings for the whole plan
    warnings: list[str] = []
    if passed:
        warnings.append(
            f"{len(passed)} submitted assignment{'s have' if len(passed) > 1 else ' has'} passed AutoApprovalTime: "
            f"MTurk has approved {'them' if len(passed) > 1 else 'it'} automatically; download fresh batch results "
            "to see the real status."
        )
    if soon:
        first = min(soon, key=lambda x: x[0])[0]
        warnings.append(
            f"{len(soon)} assignment{'s' if len(soon) > 1 else ''} auto-approve within 24 hours (the first at "
            f"{first.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC); decide and pay before then."
        )
    if unreadable_times:
        warnings.append(f"{unreadable_times} AutoApprovalTime value(s) could not be read; their deadlines are not checked.")
    bad_r = damaged_responses
    if bad_r:
        warnings.append(
            f"{len(bad_r)} response code(s) look damaged by a spreadsheet (e.g. {bad_r[0].resp.code!r} at "
            f"{bad_r[0].resp.source}); download the export from Qualtrics again instead of re-saving it in Excel."
        )
    bad_a = [it for it in items if it.excel]
    if bad_a:
        warnings.append(
            f"{len(bad_a)} assignment code(s) look damaged by a spreadsheet (e.g. {bad_a[0].a.code!r} at "
            f"{bad_a[0].a.source}); download the batch results from MTurk again instead of re-saving them in Excel."
        )
    if codes_unmatched * 4 > with_code:
        warnings.append(
            f"{codes_unmatched} of the {with_code} assignments that carry a code match no response at all; check that "
            "this is the right Qualtrics export for these batches, that the code columns are right (--code-column, "
            "--mturk-code-column), and that neither file was cut short."
        )
    n_conf = sum(1 for it in items if it.reason == "conflicting_rows")
    if n_conf:
        warnings.append(f"{n_conf} assignment(s) appear in several batch rows with different content; they are sent to review.")
    return MatchResult(tuple(rows), tuple(outcomes), tuple(warnings), tuple(matched))
