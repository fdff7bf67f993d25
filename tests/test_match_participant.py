"""The participant join (capabilities.join == "participant"; Prolific), on records built by hand: one
test per policy case, with a platform built for the test (tests/participant_platform.py) and
Prolific's real participant-ID rules."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from participant_platform import PLATFORM, STATES, pid, presp, psub
from reconcile.match import match
from reconcile.models import DECISIONS
from reconcile.platform import State
from reconcile.rules import FLAGS, RESPONSE_REASONS, SUBMISSION_REASONS, parse_rules

NOW = datetime(2024, 7, 20, tzinfo=timezone.utc)
CODES = ("C1A2B3C4",)
P1, P2, P3 = pid(1), pid(2), pid(3)


def run(responses, submissions, *, codes=CODES, rules=None, **kw):
    kwargs = {"now": NOW, "platform": PLATFORM, "completion_codes": codes, **kw}
    if rules is not None:
        kwargs["rules"] = rules
    result = match(responses, submissions, **kwargs)
    for row in result.rows:
        assert row.reason in SUBMISSION_REASONS and set(row.flags) <= set(FLAGS), row
    for o in result.responses:
        assert o.reason in RESPONSE_REASONS, o
    return {r.submission_id: r for r in result.rows}, {o.response_id: o for o in result.responses}, result


def one(rows):
    (row,) = rows.values()
    return row


# ---------------------------------------------------------------- approve


def test_one_finished_response_with_the_id_and_a_study_code_approves():
    rows, outs, result = run([presp(4, P1)], [psub(2, P1)])
    row = one(rows)
    assert (row.decision, row.reason, row.response_id, row.flags) == ("approve", "participant_match", "R_0004", ())
    assert "one of the study's" in row.detail
    assert (outs["R_0004"].outcome, outs["R_0004"].reason, outs["R_0004"].submission_id) == ("matched", "participant_match", row.submission_id)
    assert result.matched == (result.matched[0],) and result.matched[0].response_id == "R_0004"
    assert result.warnings == ()


def test_typed_id_is_normalized_before_the_join():
    # trimmed, case-folded, pulled out of a sentence, a URL, an e-mail address
    typed = [f"  {P1.upper()} ", f"my id is {P1}", f"https://app.example/?PROLIFIC_PID={P1}&amp;STUDY_ID=x", f"{P1}@email.prolific.com"]
    for text in typed:
        rows, _, _ = run([presp(4, text)], [psub(2, P1)])
        assert one(rows).decision == "approve", text


def test_code_and_case_of_the_code_are_normalized():
    rows, _, _ = run([presp(4, P1)], [psub(2, P1, code=" c1a2b3c4\u200b")])
    assert one(rows).decision == "approve"


def test_code_inside_the_completion_url_approves_with_a_flag():
    rows, _, _ = run([presp(4, P1)], [psub(2, P1, code="https://app.prolific.com/submissions/complete?cc=C1A2B3C4")])
    row = one(rows)
    assert (row.decision, row.reason) == ("approve", "participant_match") and "code_in_text" in row.flags


def test_unfinished_attempt_beside_a_finished_response_still_approves_with_a_note():
    rows, outs, _ = run([presp(4, P1, finished="False", progress="20"), presp(5, P1)], [psub(2, P1)])
    row = one(rows)
    assert (row.decision, row.response_id) == ("approve", "R_0005") and "R_0004" in row.detail
    assert (outs["R_0004"].outcome, outs["R_0004"].reason) == ("excluded", "unfinished")


# ---------------------------------------------------------------- review, with a suggestion where there is one


def test_no_response_goes_to_review():
    rows, outs, _ = run([presp(4, P2)], [psub(2, P1)])
    row = one(rows)
    assert (row.decision, row.reason, row.response_id) == ("review", "no_response", "")
    assert (outs["R_0004"].outcome, outs["R_0004"].reason) == ("unmatched", "no_submission")


def test_no_response_suggests_an_id_one_typo_away():
    typo = P1[:-1] + ("0" if P1[-1] != "0" else "1")
    rows, outs, _ = run([presp(4, typo)], [psub(2, P1)])
    row = one(rows)
    assert (row.decision, row.reason, row.response_id) == ("review", "no_response", "R_0004")
    assert "one typo away" in row.detail
    assert outs["R_0004"].reason == "in_review"


def test_unfinished_response_goes_to_review():
    rows, outs, _ = run([presp(4, P1, finished="False", progress="60")], [psub(2, P1)])
    row = one(rows)
    assert (row.decision, row.reason, row.response_id) == ("review", "unfinished_response", "R_0004")
    assert outs["R_0004"].reason == "in_review"


def test_several_finished_responses_go_to_review():
    rows, outs, _ = run([presp(4, P1), presp(5, P1)], [psub(2, P1)])
    row = one(rows)
    assert (row.decision, row.reason) == ("review", "several_responses")
    assert {outs["R_0004"].reason, outs["R_0005"].reason} == {"in_review"}


@pytest.mark.parametrize("code", ["NOCODE", "", "  ", "nocode"])
def test_no_code_goes_to_review_when_the_codes_are_known(code):
    rows, outs, _ = run([presp(4, P1)], [psub(2, P1, code=code)])
    row = one(rows)
    assert (row.decision, row.reason, row.response_id) == ("review", "no_code", "R_0004")
    assert outs["R_0004"].reason == "in_review"


def test_a_code_not_of_the_study_goes_to_review_naming_a_near_one():
    rows, _, _ = run([presp(4, P1)], [psub(2, P1, code="C1A2B3C5")])
    row = one(rows)
    assert (row.decision, row.reason, row.response_id) == ("review", "code_not_of_study", "R_0004")
    assert "one typo away from 'C1A2B3C4'" in row.detail
    rows, _, _ = run([presp(4, P1)], [psub(2, P1, code="no code provided")])
    assert one(rows).reason == "code_not_of_study"


@pytest.mark.parametrize("pasted", [P1, P1.upper(), f"https://study.example/?PROLIFIC_PID={P1}&amp;SESSION_ID=x"])
def test_own_id_pasted_as_the_code_goes_to_review(pasted):
    rows, _, _ = run([presp(4, P1)], [psub(2, P1, code=pasted)])
    row = one(rows)
    assert (row.decision, row.reason, row.response_id) == ("review", "participant_id_as_code", "R_0004")


def test_typed_id_disagreeing_with_the_captured_one_goes_to_review():
    rows, outs, _ = run([presp(4, P1, typed=P2)], [psub(2, P1)])
    row = one(rows)
    assert (row.decision, row.reason, row.response_id) == ("review", "participant_mismatch", "R_0004")
    assert P2 in row.detail and outs["R_0004"].reason == "in_review"


def test_typed_id_agreeing_with_the_captured_one_approves():
    rows, _, _ = run([presp(4, P1, typed=f" {P1.upper()}")], [psub(2, P1)])
    assert one(rows).decision == "approve"


def test_junk_typed_beside_a_captured_id_is_no_typed_id():
    rows, _, _ = run([presp(4, P1, typed="I don't know it")], [psub(2, P1)])
    assert one(rows).decision == "approve"


def test_a_response_whose_typed_id_is_theirs_but_captured_is_another_goes_to_review():
    rows, _, _ = run([presp(4, P2, typed=P1)], [psub(2, P1)])
    row = one(rows)
    assert (row.decision, row.reason, row.response_id) == ("review", "participant_mismatch", "R_0004")


def test_only_a_preview_carries_the_id():
    rows, outs, _ = run([presp(4, P1, status="Survey Preview")], [psub(2, P1)])
    row = one(rows)
    assert (row.decision, row.reason, row.response_id) == ("review", "excluded_response", "R_0004")
    assert (outs["R_0004"].outcome, outs["R_0004"].reason) == ("excluded", "survey_preview")
    assert "carries its participant ID (sent to review)" in outs["R_0004"].detail


def test_a_participant_with_two_submissions_goes_to_review():
    rows, outs, _ = run([presp(4, P1)], [psub(2, P1), psub(3, P1)])
    assert {(r.decision, r.reason) for r in rows.values()} == {("review", "repeat_participant")}
    assert outs["R_0004"].reason == "in_review"


def test_an_unknown_status_is_never_decided():
    rows, _, _ = run([presp(4, P1)], [psub(2, P1, status="ACTIVE")])
    assert (one(rows).decision, one(rows).reason) == ("review", "unknown_status")


def test_a_submission_without_a_participant_id_goes_to_review():
    rows, _, _ = run([presp(4, P1)], [psub(2, "")])
    assert (one(rows).decision, one(rows).reason) == ("review", "no_response")


# ---------------------------------------------------------------- what the platform already decided


@pytest.mark.parametrize("status, reason", [
    ("APPROVED", "already_approved"), ("REJECTED", "already_rejected"), ("RETURNED", "returned"), ("TIMED-OUT", "timed_out"),
    ("SCREENED OUT", "screened_out"), ("PARTIALLY APPROVED", "partially_approved"), ("Timed out", "timed_out"),
])
def test_every_decided_or_closed_status_is_skipped_with_the_status_in_the_detail(status, reason):
    rows, outs, result = run([presp(4, P1)], [psub(2, P1, status=status, code="NOCODE")])
    row = one(rows)
    assert (row.decision, row.reason, row.feedback, row.bonus) == ("skip", reason, "", None)
    assert status in row.detail
    # the response is still accounted to it (what the ID alone leads to)
    assert (outs["R_0004"].outcome, outs["R_0004"].submission_id) == ("matched", row.submission_id)
    assert row.response_id == "R_0004"


def test_a_skipped_submission_never_keeps_a_response_its_id_does_not_single_out():
    rows, outs, _ = run([presp(4, P1), presp(5, P1)], [psub(2, P1, status="APPROVED")])
    assert one(rows).decision == "skip" and one(rows).response_id == ""
    assert {outs["R_0004"].reason, outs["R_0005"].reason} == {"not_joined"}


# ---------------------------------------------------------------- completion codes unknown: flags, not review


@pytest.mark.parametrize("code, flag", [("NOCODE", "no_code"), ("", "no_code"), (P1, "participant_id_as_code"), ("ANYTHING1", None)])
def test_without_completion_codes_code_checks_raise_flags_instead(code, flag):
    rows, _, result = run([presp(4, P1)], [psub(2, P1, code=code)], codes=())
    row = one(rows)
    assert (row.decision, row.reason, row.response_id) == ("approve", "participant_match", "R_0004")
    assert "not checked" in row.detail
    assert set(row.flags) == ({flag} if flag else set())


def test_without_completion_codes_the_warning_lists_the_codes_seen_and_how_to_pass_them():
    subs = [psub(2, P1, code="NOCODE"), psub(3, P2, code="NOCODE"), psub(4, P3, code=""), psub(5, pid(4), code=pid(4)),
            psub(6, pid(5), code="CBHB8QEX", status="APPROVED")]
    _, _, result = run([], subs, codes=())
    (w,) = result.warnings
    assert "'NOCODE' 2" in w and "(empty) 1" in w and "(their own Prolific ID) 1" in w and "'CBHB8QEX' 1" in w
    assert w.index("'NOCODE' 2") < w.index("(empty) 1")  # most frequent first
    assert "--completion-code CODE" in w and "--prolific-study ID" in w
    assert pid(4) not in w  # a pasted ID is counted, not shown
    _, _, known = run([], subs)
    assert known.warnings == ()


# ---------------------------------------------------------------- every response accounted for


def test_every_response_gets_an_outcome():
    responses = [
        presp(4, P1), presp(5, "", status="Survey Preview"), presp(6, ""), presp(7, P3, finished="False", progress="5"),
        presp(8, pid(9)),
    ]
    rows, outs, _ = run(responses, [psub(2, P1), psub(3, P2)])
    got = {rid: (o.outcome, o.reason) for rid, o in outs.items()}
    assert got == {
        "R_0004": ("matched", "participant_match"),
        "R_0005": ("excluded", "survey_preview"),
        "R_0006": ("unmatched", "no_participant_id"),
        "R_0007": ("excluded", "unfinished"),
        "R_0008": ("unmatched", "no_submission"),
    }


def test_flags_on_responses_work_as_for_the_code_join():
    responses = [presp(4, P1, ip="192.0.2.7"), presp(5, P2, ip="192.0.2.7")]
    rows, _, _ = run(responses, [psub(2, P1), psub(3, P2)])
    assert all("duplicate_ip" in r.flags for r in rows.values()) and {r.decision for r in rows.values()} == {"approve"}


def test_reject_rules_apply_to_the_joined_response():
    rules = parse_rules('[reject.too_fast]\nmax_seconds = 60\nfeedback = "You completed the study much too quickly."\n'
                        '[reject.no_code]\nfeedback = "You did not enter the completion code."\n')
    rows, _, _ = run([presp(4, P1, duration="20"), presp(5, P2)], [psub(2, P1), psub(3, P2, code="NOCODE")], rules=rules)
    got = {r.participant_id: (r.decision, r.reason) for r in rows.values()}
    assert got == {P1: ("reject", "reject_too_fast"), P2: ("reject", "reject_no_code")}


def test_words_are_the_platforms():
    rows, outs, _ = run([presp(4, P1, status="Survey Preview")], [psub(2, P1)])
    text = one(rows).detail + outs["R_0004"].detail
    for word in ("assignment", "worker", "MTurk", "HIT"):
        assert word not in text


# ---------------------------------------------------------------- properties

_POOL = [pid(n) for n in range(6)]


@st.composite
def participant_study(draw):
    """A small random study: IDs captured, typed, mistyped or missing; every status; codes of every kind."""
    typo = _POOL[0][:-1] + ("0" if _POOL[0][-1] != "0" else "1")
    id_choices = ["", *_POOL, _POOL[1].upper(), f"my id: {_POOL[2]}", typo, "{{%PROLIFIC_PID%}}"]
    responses = []
    for i in range(draw(st.integers(0, 12))):
        responses.append(presp(
            4 + i,
            draw(st.sampled_from(id_choices)),
            typed=draw(st.sampled_from(["", "", _POOL[0], _POOL[3], "no idea"])),
            status=draw(st.sampled_from(["IP Address", "IP Address", "Survey Preview", "Spam"])),
            finished=draw(st.sampled_from(["True", "True", "False"])),
            ip=draw(st.sampled_from(["", "192.0.2.1", "192.0.2.2"])),
            duration=str(draw(st.integers(5, 900))),
        ))
    submissions = []
    for j in range(draw(st.integers(0, 12))):
        who = draw(st.sampled_from([*_POOL, ""]))
        submissions.append(psub(
            2 + j,
            who,
            code=draw(st.sampled_from(["C1A2B3C4", "C1A2B3C4", "NOCODE", "", who, "C1A2B3C5", "done!", "cc=C1A2B3C4"])),
            status=draw(st.sampled_from([*STATES, "AWAITING REVIEW", "AWAITING REVIEW", "ACTIVE"])),
            path=draw(st.sampled_from(["a.csv", "b.csv"])),
        ))
    codes = draw(st.sampled_from([(), CODES, ("C1A2B3C4", "OTHER999")]))
    return responses, submissions, codes, draw(st.randoms(use_true_random=False))


def _result(responses, submissions, codes):
    return match(responses, submissions, now=NOW, platform=PLATFORM, completion_codes=codes)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(participant_study())
def test_property_every_submission_one_decision_every_response_one_outcome(data):
    responses, submissions, codes, _ = data
    result = _result(responses, submissions, codes)
    assert sorted(r.source for r in result.rows) == sorted(str(s.source) for s in submissions)
    assert sorted(o.source for o in result.responses) == sorted(str(r.source) for r in responses)
    by_src = {str(s.source): s for s in submissions}
    matched = {o.response_id: o.submission_id for o in result.responses if o.outcome == "matched"}
    for row, linked in zip(result.rows, result.matched):
        s = by_src[row.source]
        assert row.decision in DECISIONS and row.reason in SUBMISSION_REASONS and set(row.flags) <= set(FLAGS)
        # never decided again, never paid a reward: only a pending submission is approved
        assert (row.decision == "skip") == (s.state in (State.APPROVED, State.REJECTED, State.CLOSED))
        if row.decision == "approve":
            assert s.state == State.PENDING and linked is not None
            assert linked.response_id == row.response_id and matched[row.response_id] == row.submission_id
            assert linked.status == "IP Address" and linked.finished == "True"
            # the response carries the participant's ID: captured from the study link, or typed
            # when the link's field is empty (the only ID that response has)
            carried = PLATFORM.ids.key(linked.participant_id) or PLATFORM.ids.key(linked.typed_id)
            assert carried == s.participant_id
            if codes:
                assert "C1A2B3C4" in s.code.upper()
    # a response is matched to at most one submission
    assert len(matched) == sum(1 for o in result.responses if o.outcome == "matched")
    for o in result.responses:
        assert o.outcome in ("matched", "unmatched", "excluded") and o.reason in RESPONSE_REASONS


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(participant_study())
def test_property_input_order_does_not_change_the_plan(data):
    responses, submissions, codes, rnd = data
    result = _result(responses, submissions, codes)
    r2, s2 = list(responses), list(submissions)
    rnd.shuffle(r2)
    rnd.shuffle(s2)
    shuffled = _result(r2, s2, codes)
    assert shuffled.rows == result.rows
    assert sorted(shuffled.responses, key=repr) == sorted(result.responses, key=repr)
    assert shuffled.warnings == result.warnings
