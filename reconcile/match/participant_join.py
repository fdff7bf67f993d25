"""The participant join: the survey captured (or asked for) the participant's ID, and the ID leads
from a submission to its response (capabilities.join == "participant"; Prolific).

A pending submission is approved when exactly one finished, non-excluded response carries its
participant's ID, the ID typed in the survey (when there is one beside the captured one) agrees,
and its code is one of the study's completion codes when those are known. Everything else goes to
review with a suggestion where there is one: no response (a response whose ID is one typo away is
suggested), only a preview/test/spam response, an unfinished response, several finished responses,
the typed ID disagreeing with the captured one, no code, a code not of the study, the participant's
own ID pasted as the code. When the study's codes are not known the code checks raise flags instead
(nothing is guessed), and the warnings list the codes seen. A participant with several submissions
always goes to review: an ID cannot tell which response belongs to which submission.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Sequence

from ..normalize import code_tokens, near_misses, normalize_code
from ..platform import State
from .prepare import Study
from .working import MAX_SUGGESTIONS, WorkingResponse, WorkingSubmission, src_key, where

# What a platform records when no code was entered (Prolific: NOCODE), normalized.
NO_CODE = frozenset({"", "nocode"})
_SHOWN_CODES = 8  # codes listed in the warning when the study's codes are unknown


class ParticipantJoin:
    """capabilities.join == "participant"."""

    matched_reason = "participant_match"

    def __init__(self, completion_codes: Sequence[str] = ()) -> None:
        self.codes: dict[str, str] = {}  # normalized -> as given
        for c in completion_codes:
            k = normalize_code(c)
            if k and k not in NO_CODE:
                self.codes.setdefault(k, c.strip())
        self.by_id: dict[str, list[WorkingResponse]] = {}
        self.per_participant: dict[str, list[WorkingSubmission]] = {}
        self._rev: dict[str, list[str]] | None = None  # response key -> participant keys it may name

    # ---------------------------------------------------------------- finding a participant's responses

    def _all_responses_of(self, st: Study, actual_key: str) -> list[WorkingResponse]:
        """Every response (excluded ones too) whose participant ID agrees with `actual_key`, in source order."""
        return _lookup(st, self.by_id, actual_key)

    # ---------------------------------------------------------------- the decisions

    def decide(self, st: Study) -> None:
        ids = st.ids
        by_id: dict[str, list[WorkingResponse]] = defaultdict(list)
        by_typed: dict[str, list[WorkingResponse]] = defaultdict(list)  # typed IDs that disagree with the captured one
        for r in st.responses:
            if r.participant:
                by_id[r.participant].append(r)
            if r.typed and not ids.agree(r.typed, r.participant):
                by_typed[r.typed].append(r)
        self.by_id = by_id
        per_participant: dict[str, list[WorkingSubmission]] = defaultdict(list)
        for it in st.items:
            if it.participant:
                per_participant[it.participant].append(it)
        self.per_participant = per_participant

        no_response: list[WorkingSubmission] = []
        for it in st.items:
            self._decide_one(st, it, by_typed, no_response)
        if no_response:
            self._no_response(st, no_response)
        self._one_participant_one_submission(st)

    def _decide_one(self, st: Study, it: WorkingSubmission, by_typed, no_response: list) -> None:
        ids, w = st.ids, st.words
        cands = self._all_responses_of(st, it.participant) if it.participant else []
        live = [r for r in cands if not r.excluded]
        finished = [r for r in live if r.finished]
        # What the ID alone leads to (kept when the platform already decided the submission).
        if len(self.per_participant.get(it.participant, ())) == 1:
            if len(finished) == 1:
                it.joined = finished[0]
            elif len(live) == 1:
                it.joined = live[0]
        if it.state == State.UNKNOWN:
            it.review(
                "unknown_status",
                f"{w.platform} shows this {w.submission} as {it.a.status.strip()!r}, a status reconcile does not know; "
                "decide by hand.",
                [it.joined] if it.joined else [],
            )
            return
        if not it.participant:
            it.review("no_response", f"The {w.submission} carries no {w.participant_id_phrase}, so no response can be joined to it.")
            return
        if not live:
            typed = [r for r in _lookup(st, by_typed, it.participant, key=lambda r: r.typed) if not r.excluded]
            if typed:
                r = typed[0]
                it.review(
                    "participant_mismatch",
                    f"No response captured this {w.participant}'s ID, but {r.label} has it typed in "
                    f"(the ID captured there is {r.resp.participant_id.strip()!r}).",
                    typed,
                )
            elif cands:
                r0 = cands[0]
                it.review(
                    "excluded_response",
                    f"This {w.participant}'s ID is only on {r0.label}, which is a {(r0.excluded or '').replace('_', ' ')} response "
                    "and is never paid.",
                    [r0],
                )
            else:
                no_response.append(it)
            return
        if len(finished) > 1:
            it.review(
                "several_responses",
                f"{len(finished)} finished responses carry this {w.participant}'s ID "
                f"({', '.join(r.label for r in finished[:MAX_SUGGESTIONS])}{' and more' if len(finished) > MAX_SUGGESTIONS else ''}); "
                f"a person must tell which one is this {w.submission}'s.",
                finished,
            )
            return
        if not finished:
            r = live[0]
            it.review(
                "unfinished_response",
                f"This {w.participant}'s response {r.label} is not finished (Progress {r.resp.progress.strip() or '?'})"
                + (f"; {len(live)} responses carry the ID, none finished." if len(live) > 1 else "."),
                live,
            )
            return
        r = finished[0]
        if r.typed and not ids.agree(r.typed, r.participant):
            it.review(
                "participant_mismatch",
                f"{r.label} captured the {w.participant_id_phrase} {r.resp.participant_id.strip()!r} from the study link, "
                f"but the {w.participant} typed {r.resp.typed_id.strip()!r}.",
                [r],
            )
            return
        if len(live) > 1:
            it.add_sentence(
                f"The {w.participant} also started {', '.join(x.label for x in live if x is not r)} without finishing."
            )
        self._check_code(st, it, r)

    def _check_code(self, st: Study, it: WorkingSubmission, r: WorkingResponse) -> None:
        """The joined response is the one: the code decides between approve and review (or flags)."""
        ids, w = st.ids, st.words
        raw, key = it.a.code, it.key
        own_id = key not in NO_CODE and ids.agree(ids.key(raw), it.participant)
        joined = f"Joined on the {w.participant_id_phrase} to response {r.resp.response_id}"
        if not self.codes:
            if key in NO_CODE:
                it.add_flag("no_code")
                it.add_sentence("No completion code was entered.")
            elif own_id:
                it.add_flag("participant_id_as_code")
                it.add_sentence(f"The code is the {w.participant}'s own {w.participant_id}.")
            self._approve(it, r, f"{joined}; the code is not checked (the study's completion codes were not given).")
            return
        if key in self.codes:
            self._approve(it, r, f"{joined}; the code is one of the study's.")
            return
        if key in NO_CODE:
            shown = f" ({raw.strip()!r})" if raw.strip() else ""
            it.review("no_code", f"The {w.submission} carries no completion code{shown}.", [r])
            return
        if own_id:
            it.review(
                "participant_id_as_code",
                f"The {w.participant} pasted their own {w.participant_id} instead of the completion code; "
                f"their response is {r.label}.",
                [r],
            )
            return
        inside = sorted({t for t in code_tokens(raw) if t in self.codes})
        if len(inside) == 1:
            it.add_flag("code_in_text")
            self._approve(it, r, f"{joined}; the code {self.codes[inside[0]]!r} was pulled out of the pasted text and is one of the study's.")
            return
        near = near_misses([key], self.codes).get(key, [])
        it.review(
            "code_not_of_study",
            f"The code {raw!r} is not one of the study's completion codes ({', '.join(sorted(self.codes.values()))})"
            + (f"; it is one typo away from {self.codes[near[0]]!r}" if near else "")
            + f"; the {w.participant}'s response is {r.label}.",
            [r],
        )

    @staticmethod
    def _approve(it: WorkingSubmission, r: WorkingResponse, detail: str) -> None:
        it.decision, it.reason, it.detail, it.chosen = "approve", "participant_match", detail, r

    def _no_response(self, st: Study, items: list[WorkingSubmission]) -> None:
        """No response carries the ID: suggest one whose ID is one typo away (never all pairs)."""
        w = st.words
        live_ids = {k for k, rs in self.by_id.items() if any(not r.excluded for r in rs)}
        near_of = near_misses([it.participant for it in items], live_ids) if st.rules.near_misses else {}
        for it in items:
            sugg = sorted(
                (r for k in near_of.get(it.participant, ()) for r in self.by_id[k] if not r.excluded),
                key=lambda r: (not r.finished, src_key(r.resp)),
            )
            if sugg:
                it.review(
                    "no_response",
                    f"No response carries this {w.participant}'s ID, but {sugg[0].label} carries "
                    f"{(sugg[0].resp.participant_id.strip() or sugg[0].resp.typed_id.strip())!r}, one typo away.",
                    sugg,
                )
            else:
                it.review("no_response", f"No response carries this {w.participant}'s ID.")

    def _one_participant_one_submission(self, st: Study) -> None:
        """A participant with several submissions, or a response claimed twice, goes to review: an ID
        cannot tell which response belongs to which submission."""
        w = st.words
        claims: dict[int, list[WorkingSubmission]] = defaultdict(list)
        for it in st.items:
            if it.chosen is not None:
                claims[id(it.chosen)].append(it)
        for it in st.items:
            if it.decision != "approve" or it.chosen is None:
                continue
            group = self.per_participant.get(it.participant, ())
            if len(group) < 2:
                group = claims.get(id(it.chosen), ())
                if len(group) < 2:
                    continue
            # Three others are named: looking at four members finds them (linear, not k per member).
            others = [o for o in group[:4] if o is not it][:3]
            r = it.chosen
            it.chosen = None
            it.review(
                "repeat_participant",
                f"{r.label} carries the ID of {w.participant} {it.a.participant_id}, who has {len(group)} {w.submissions} "
                f"(also {', '.join(f'{o.a.submission_id} ({where(o.a.source)})' for o in others)}); "
                "a person must tell which response belongs to which.",
                [r],
            )

    # ---------------------------------------------------------------- what the later stages ask of a join

    def census(self, st: Study) -> None:
        pass

    def skip_link(self, it: WorkingSubmission) -> WorkingResponse | None:
        """A submission the platform already decided keeps the response its ID alone leads to."""
        return it.joined

    def claims_phrase(self, st: Study) -> str:
        return f"carries its {st.words.participant_id_phrase}"

    def unclaimed(self, st: Study, r: WorkingResponse) -> tuple[str, str]:
        """(reason, detail) of a finished response no submission is joined to or points to."""
        w = st.words
        if not r.participant:
            return "no_participant_id", f"The response carries no {w.participant_id_phrase}."
        mine = self._submissions_of(st, r.participant)
        if mine:
            n_resp = len(self._all_responses_of(st, mine[0].participant))
            return "not_joined", (
                f"The {w.participant} has {len(mine)} {w.submissions if len(mine) > 1 else w.submission} and {n_resp} "
                f"response{'s' if n_resp != 1 else ''}; none was joined to this one."
            )
        return "no_submission", f"No {w.submission} carries this {w.participant_id_phrase}."

    def _submissions_of(self, st: Study, response_key: str) -> list[WorkingSubmission]:
        """The submissions whose participant a response's ID names (the rules may forgive slips)."""
        ids = st.ids
        rev = self._rev
        if rev is None:
            rev = defaultdict(list)
            for p in self.per_participant:
                for k in ids.lookup_keys(p):
                    rev[k].append(p)
            self._rev = rev
        found: list[WorkingSubmission] = []
        for p in rev.get(response_key, ()):
            if ids.agree(response_key, p):
                found += self.per_participant[p]
        return found

    def warnings(self, st: Study) -> list[str]:
        w = st.words
        if self.codes or not st.items:
            return []
        ids = st.ids
        seen: Counter[str] = Counter()
        shown: dict[str, str] = {}
        for it in st.items:  # (source order: a code is shown as first written)
            if not it.key:
                k = label = "(empty)"
            elif ids.agree(ids.key(it.a.code), it.participant):
                k = label = f"(their own {w.participant_id})"
            else:
                k, label = it.key, repr(_short(it.a.code.strip()))
            seen[k] += 1
            shown.setdefault(k, label)
        ranked = sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))
        listing = ", ".join(f"{shown[k]} {n}" for k, n in ranked[:_SHOWN_CODES])
        if len(ranked) > _SHOWN_CODES:
            listing += f" and {len(ranked) - _SHOWN_CODES} other code(s)"
        hint = w.completion_codes_hint or "Give the study's completion codes to have them checked."
        return [
            f"The study's completion codes were not given, so no code was checked (missing codes and pasted IDs are "
            f"flagged instead of sent to review). The {w.submissions} carry: {listing}. {hint}"
        ]


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _lookup(st: Study, index: dict[str, list[WorkingResponse]], actual_key: str, key=lambda r: r.participant) -> list[WorkingResponse]:
    ids = st.ids
    found: dict[int, WorkingResponse] = {}
    for k in ids.lookup_keys(actual_key):
        for r in index.get(k, ()):
            if ids.agree(key(r), actual_key):
                found[id(r)] = r
    return sorted(found.values(), key=lambda r: src_key(r.resp))
