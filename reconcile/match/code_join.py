"""The code join: a submission carries the completion code its participant saw at the end of the
survey, and the code leads to the response (capabilities.join == "code").

Stages, each over every submission: 1. candidates (exact code, a code inside pasted text, damage by
a spreadsheet, the participant's ID pasted instead); 2. near misses, indexed (never all pairs);
3. one response, one submission; 4. the response must be finished and name this participant;
5. repeat participants (retakes, also across files).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from itertools import compress

from ..notices import DAMAGED_CODES, Notice
from ..normalize import code_tokens, excel_damage, excel_damage_prefix, near_misses
from .prepare import Study
from .working import MAX_SUGGESTIONS, WorkingResponse, WorkingSubmission, first_and_repeated, src_key, suggest_text, where


def _repeated(items: list[WorkingSubmission], field: str) -> list[list[WorkingSubmission]]:
    """The submissions sharing a non-empty value of `field` (the claimed response, the participant key)
    with another, in groups in source order. Lists only for the groups: most values belong to one
    submission, and a list for each was a million lists (and a million keys by id()) per stage."""
    groups = first_and_repeated(
        (value, it) for it in items if (value := getattr(it, field)) is not None and value != ""
    )[1]
    return list(groups.values())


class CodeJoin:
    """capabilities.join == "code"."""

    matched_reason = "code_match"  # a response's outcome when a submission claims it

    def __init__(self) -> None:
        self.by_code: dict[str, list[WorkingResponse]] = {}
        self.damaged_responses: list[WorkingResponse] = []
        self.with_code = 0
        self.codes_unmatched = 0
        # code length -> the all-digit codes of that length, sorted: built on the first damaged code that needs it
        self._digit_codes: dict[int, list[str]] = {}

    # ---------------------------------------------------------------- stages 1-5

    def decide(self, st: Study) -> None:
        by_code: dict[str, list[WorkingResponse]] = defaultdict(list)
        live_codes: set[str] = set()  # codes of responses that may be paid (what near misses may suggest)
        for r in st.responses:
            if r.key:
                by_code[r.key].append(r)
                if not r.excluded:
                    live_codes.add(r.key)
        self.by_code = by_code
        # (excel_damage's own first test, inlined: a code of letters and digits alone is never damaged)
        self.damaged_responses = [r for r in st.responses if not (code := r.resp.code).isalnum() and excel_damage(code)]
        needs_near_miss = self._candidates(st)
        if needs_near_miss:
            self._near_misses(st, needs_near_miss, live_codes)
        self._one_response_one_submission(st)
        self._finished_and_same_participant(st)
        if st.rules.review_repeat_participants:
            self._repeat_participants(st)
        # Nothing after stage 5 looks a code up: the table (a list per code, 130 MB at a million
        # responses) is let go before the plan rows and outcomes are built.
        self.by_code, self._digit_codes = {}, {}

    def _candidates(self, st: Study) -> list[WorkingSubmission]:
        """Stage 1: each submission's candidate responses; those with none are returned for stage 2."""
        ids, w, by_code = st.ids, st.words, self.by_code
        # Every submission's participant key, built the first time a code looks like an ID (rarely; a
        # set of a million keys otherwise).
        known: list[set[str]] = []

        def known_participants() -> set[str]:
            if not known:
                known.append({it.participant for it in st.items if it.participant})
            return known[0]

        needs_near_miss: list[WorkingSubmission] = []
        for it in st.items:
            raw = it.a.code
            if not it.key:
                it.review("no_code", f"The {w.submission} carries no completion code.")
                continue
            cands = by_code.get(it.key)
            via_text = False
            # Spreadsheet damage is checked before looking inside text: "12345.0" must not pass as a
            # sentence around "12345" (the policy is to report damage, never repair it).
            damage = excel_damage(raw) if cands is None else None
            if damage:
                sugg = self._excel_suggestions(raw)
                it.review(
                    "excel_damaged_code",
                    f"The code {damage}; it cannot be matched safely." + (suggest_text(sugg) if sugg else ""),
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
                if not pasted and ids.agree(ids.key(raw), it.participant):
                    pasted = it.participant  # their own ID, typed with a slip the platform's rules forgive
                # An alphanumeric code can look like a participant ID; only call it one when it names a
                # participant we know (this submission's, another submission's, or one typed in a response).
                if pasted and (pasted == it.participant or pasted in known_participants() or st.responses_of(pasted)):
                    sugg = st.responses_of(pasted)
                    if ids.key(it.a.participant_id) != pasted:
                        sugg += [r for r in st.responses_of(it.participant) if r not in sugg]
                    who = f"their own {w.participant_id}" if pasted == it.participant else f"a {w.participant_id} ({pasted}), not their own"
                    it.review(
                        "participant_id_as_code",
                        f"The {w.participant} pasted {who} instead of the completion code."
                        + (suggest_text(sugg) if sugg else f" No response carries that {w.participant_id_phrase}."),
                        sugg,
                    )
                    continue
                needs_near_miss.append(it)
                continue
            it.reason = "code_in_text" if via_text else "code_match"
            if via_text:
                it.add_flag("code_in_text")
            # (one response per code is the common case: no list of one to filter)
            live = cands if len(cands) == 1 and not cands[0].excluded else [r for r in cands if not r.excluded]
            if not live:
                r0 = cands[0]
                it.review(
                    "excluded_response",
                    f"The code belongs to {r0.label}, which is a {(r0.excluded or '').replace('_', ' ')} response and is never paid.",
                    [r0],
                )
                continue
            if len(live) > 1:
                agree = [r for r in live if r.participant and ids.agree(r.participant, it.participant)]
                finished = [r for r in live if r.finished]
                if len(agree) == 1:
                    live = agree
                elif not agree and len(finished) == 1:
                    live = finished
                else:
                    it.review(
                        "code_on_several_responses",
                        f"The code belongs to {len(live)} responses and their {w.participant_id_phrase}s do not tell which "
                        f"is this {w.participant}'s." + suggest_text(live),
                        live,
                    )
                    continue
            it.chosen = live[0]
        return needs_near_miss

    def _excel_suggestions(self, raw: str) -> list[WorkingResponse]:
        """Responses whose code fits what survived of a damaged one (same length, same leading digits)."""
        got = excel_damage_prefix(raw)
        if got is None:
            return []
        prefix, length = got
        # The codes starting with the prefix are one run of the sorted codes of that length (a table
        # of responses per prefix held a list per prefix: a quarter of a GB at a million responses).
        codes = self._digit_codes.get(length)
        if codes is None:
            keys = list(self.by_code)  # (filtered at C speed: a million codes)
            codes = self._digit_codes[length] = sorted(filter(str.isdigit, compress(keys, map(length.__eq__, map(len, keys)))))
        by_code = self.by_code
        found: list[WorkingResponse] = []
        for i in range(bisect_left(codes, prefix), len(codes)):
            if not codes[i].startswith(prefix):
                break
            found.extend(r for r in by_code[codes[i]] if not r.excluded)
        return sorted(found, key=lambda r: src_key(r.resp))

    def _near_misses(self, st: Study, needs_near_miss: list[WorkingSubmission], live_codes: set[str]) -> None:
        """Stage 2: near misses, indexed (never all pairs)."""
        ids, w, by_code = st.ids, st.words, self.by_code
        near_of = near_misses([it.key for it in needs_near_miss], live_codes) if st.rules.near_misses else {}
        # Responses whose own code a spreadsheet damaged ("84719265.0", "8.47193E+07"): a submission
        # carrying the intact digits is pointed at them, for a person to compare.
        # Indexed by (digit count, kept prefix length) -> prefix: a wholly damaged export stays linear.
        damaged: dict[tuple[int, int], dict[str, list[WorkingResponse]]] = defaultdict(lambda: defaultdict(list))
        for r in self.damaged_responses:
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
                        + " and ".join(f"{r.label} holds {r.resp.code!r}" for r in hits[:MAX_SUGGESTIONS])
                        + ", damaged by a spreadsheet; compare by hand.",
                        hits,
                    )
                    continue
            near = near_of.get(it.key, [])
            sugg = sorted(
                (r for k in near for r in by_code[k] if not r.excluded),
                key=lambda r: (not ids.agree(r.participant, it.participant), src_key(r.resp)),
            )
            if sugg:
                it.review(
                    "near_miss",
                    f"The code {it.a.code!r} matches no response exactly but is one typo away from "
                    f"{'a response' if len(sugg) == 1 else str(len(sugg)) + ' responses'}." + suggest_text(sugg),
                    sugg,
                )
            else:
                own = st.responses_of(it.participant)
                it.review(
                    "no_match",
                    f"The code {it.a.code!r} matches no response (another study's code, or made up)."
                    + (f" This {w.participant}'s own response is {own[0].label} (code {own[0].resp.code!r})." if own else ""),
                    own[:1],
                )

    def _one_response_one_submission(self, st: Study) -> None:
        """Stage 3: a response claimed by several submissions goes to the one its participant ID names, if any."""
        ids, w = st.ids, st.words
        for group in _repeated(st.items, "chosen"):
            r = group[0].chosen
            assert r is not None
            agree = [it for it in group if r.participant and ids.agree(r.participant, it.participant)]
            winner = agree[0] if len(agree) == 1 else None
            # (Every member's sentence names every claimant: k members, k names each. The names are the
            # point of the sentence, so they stay; the list is built once per group.)
            claimed = ", ".join(it.a.submission_id for it in group)
            for it in group:
                if it is winner:
                    it.add_sentence(f"Other {w.submissions} submitted the same code ({claimed}); this {w.participant}'s ID is on the response.")
                    continue
                it.chosen = None
                why = (
                    f"the response names another {w.participant}"
                    if winner is not None
                    else (f"the response carries no {w.participant_id_phrase} to tell which is genuine" if not r.participant
                          else f"the response's {w.participant_id_phrase} agrees with none of them")
                )
                it.review(
                    "shared_code",
                    f"{len(group)} {w.submissions} submitted the code of {r.label} ({claimed}); {why}.",
                    [r],
                )

    def _finished_and_same_participant(self, st: Study) -> None:
        """Stage 4: the claimed response must be finished and name this participant."""
        ids, w = st.ids, st.words
        for it in st.items:
            r = it.chosen
            if r is None:
                continue
            if not r.finished:
                it.chosen = None
                it.review("unfinished_response", f"The code matches {r.label}, which is not finished (Progress {r.resp.progress or '?'}).", [r])
            elif r.participant and not ids.agree(r.participant, it.participant):
                it.chosen = None
                it.review(
                    "participant_mismatch",
                    f"The code matches {r.label}, but that response names {w.participant} {r.resp.participant_id.strip()!r}, "
                    f"not {it.a.participant_id}.",
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

    def _repeat_participants(self, st: Study) -> None:
        """Stage 5: a participant with several submissions, or several finished responses, goes to review."""
        w = st.words
        lookup_keys, finished_per = st.ids.lookup_keys, st.finished_per_participant
        per_participant = {group[0].participant: group for group in _repeated(st.items, "participant")}
        for it in st.items:
            if it.decision != "approve":
                continue
            group = per_participant.get(it.participant)  # holds `it` itself when it has a participant ID
            if group is not None:
                # Three others are named: looking at four members finds them (linear, not k per member).
                others = [o for o in group[:4] if o is not it][:3]
                r = it.chosen
                assert r is not None  # stage 5 sees only submissions that claimed a response
                it.chosen = None
                it.review(
                    "repeat_participant",
                    f"The code matches {r.label}, but {w.participant} {it.a.participant_id} has {len(group)} {w.submissions} "
                    f"(also {', '.join(f'{o.a.submission_id} ({where(o.a.source)})' for o in others)}).",
                    [r],
                )
                continue
            n_finished = 0  # the cheap count first: most participants have one response
            for k in lookup_keys(it.participant):
                n_finished += finished_per.get(k, 0)
            if n_finished < 2:
                continue
            finished_rs = [r for r in st.responses_of(it.participant) if r.finished]
            if len(finished_rs) > 1:
                r = it.chosen
                assert r is not None
                it.chosen = None
                it.review(
                    "repeat_participant",
                    f"The code matches {r.label}, but {w.participant} {it.a.participant_id} has {len(finished_rs)} finished responses "
                    f"({', '.join(x.resp.response_id for x in finished_rs[:3])}).",
                    [r],
                )

    # ---------------------------------------------------------------- what the later stages ask of a join

    def census(self, st: Study) -> None:
        """Counted after the reject rules and before the platform's own decisions rename rows: what
        matters is whether the codes belong to this export at all. A real study loses a handful (4 of
        104 in the real Chucooleg pair, codes from another survey); a wrong export or code column
        loses nearly all, and an export cut in half about half: hence a warning from a quarter on."""
        self.with_code = sum(1 for it in st.items if it.key)
        self.codes_unmatched = sum(1 for it in st.items if it.reason in ("no_match", "reject_no_match"))

    def skip_link(self, it: WorkingSubmission) -> WorkingResponse | None:
        """The response a submission the platform already decided keeps: the one matching alone chose."""
        return it.chosen if it.decision in ("approve", "reject") else None

    def claims_phrase(self, st: Study) -> str:
        return "submitted its code"

    def unclaimed(self, st: Study, r: WorkingResponse) -> tuple[str, str]:
        """(reason, detail) of a finished response no submission claims or points to."""
        w = st.words
        if not r.key:
            return "no_code", "The response has no completion code."
        return "no_submission", f"No {w.submission} submitted this code."

    def warnings(self, st: Study) -> list[str]:
        w = st.words
        warnings: list[str] = []
        bad_r = self.damaged_responses
        if bad_r:
            # The reader of that file usually said so already (same kind, same file): said once in the plan.
            warnings.append(Notice(
                f"{len(bad_r)} response code(s) look damaged by a spreadsheet (e.g. {bad_r[0].resp.code!r} at "
                f"{bad_r[0].resp.source}); download the export from Qualtrics again instead of re-saving it in Excel.",
                kind=DAMAGED_CODES, subject=bad_r[0].resp.source.path,
            ))
        bad_a = [it for it in st.items if it.excel]
        if bad_a:
            warnings.append(Notice(
                f"{len(bad_a)} {w.submission} code(s) look damaged by a spreadsheet (e.g. {bad_a[0].a.code!r} at "
                f"{bad_a[0].a.source}); download the {w.records_file} from {w.platform} again instead of re-saving them in Excel.",
                kind=DAMAGED_CODES, subject=bad_a[0].a.source.path,
            ))
        if self.codes_unmatched * 4 > self.with_code:
            options = ", ".join(o for o in ("--code-column", w.code_column_option) if o)
            warnings.append(
                f"{self.codes_unmatched} of the {self.with_code} {w.submissions} that carry a code match no response at all; "
                f"check that this is the right Qualtrics export for these {w.records_files}, that the code columns are right "
                f"({options}), and that neither file was cut short."
            )
        return warnings
