"""The participant join on real Prolific + Qualtrics pairs (../shared/realdata; SOURCES.md lists the
facts each must reproduce). The Prolific exports are read here with the csv module (the Prolific
reader is not part of this test's subject); the survey exports go through the real importer with
Prolific's real participant-ID rules."""

from __future__ import annotations

import csv
import dataclasses
from collections import Counter
from datetime import datetime, timezone

import pytest

from participant_platform import PLATFORM, state_of
from reconcile.importers import read_qualtrics
from reconcile.match import match
from reconcile.models import SourceRef, Submission, frozen_mapping
from reconcile.plan import build_plan
from reconcile.platform import State
from reconcile.platforms.prolific.ids import ProlificIds

LAOLS = "laols574__ec_sd_survey"
CHEUNG = "Alex-J-Cheung__Qualtrics-Survey"
NOW = datetime(2024, 7, 20, tzinfo=timezone.utc)


def read_prolific_export(path) -> list[Submission]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    pid_col = "Participant id" if "Participant id" in rows[0] else "PROLIFIC_PID"  # one study renamed it
    return [
        Submission(
            source=SourceRef(str(path), i + 2), platform="testprolific", submission_id=r["Submission id"],
            participant_id=r[pid_col], group_id="", state=state_of(r["Status"]), status=r["Status"], reward="",
            group_size="", started_at=r["Started at"], submitted_at=r["Completed at"], review_deadline="",
            duration_seconds=r["Time taken"], code=r["Completion code"], fields=frozen_mapping(r),
        )
        for i, r in enumerate(rows)
    ]


def awaiting_review(subs: list[Submission]) -> list[Submission]:
    """The same study as it was before anyone reviewed it: every finished submission still pending."""
    return [dataclasses.replace(s, status="AWAITING REVIEW", state=State.PENDING) if s.status in ("APPROVED", "REJECTED") else s
            for s in subs]


def plan_of(export, subs, codes=()):
    result = match(export.responses, subs, now=NOW, platform=PLATFORM, completion_codes=codes)
    return build_plan(result, export.responses, platform=PLATFORM)


@pytest.fixture(scope="module")
def laols(realdata):
    export = read_qualtrics(realdata / LAOLS / "qualtrics_export_redacted.csv", ids=ProlificIds())
    return export, read_prolific_export(realdata / LAOLS / "prolific_export.csv")


@pytest.fixture(scope="module")
def cheung(realdata):
    export = read_qualtrics(realdata / CHEUNG / "Artificial_Intelligence_Raw_redacted.csv", ids=ProlificIds())
    return export, read_prolific_export(realdata / CHEUNG / "prolific_export_demographic.csv")


def test_laols_survey_has_both_id_columns(laols):
    export, _ = laols
    assert (export.participant_column, export.typed_id_column) == ("PROLIFIC_PID", "Prolific ID")
    both = [r for r in export.responses if r.participant_id and r.typed_id]
    assert len(both) == 175 and all(r.participant_id == r.typed_id for r in both)


def test_laols_joins_as_sources_md_says(laols):
    export, subs = laols
    plan = plan_of(export, subs)
    status = {s.submission_id: s.status for s in subs}
    outcomes = {o.response_id: o for o in plan.responses}
    joined = [r for r in plan.rows if r.response_id]
    # every joined row's response is matched to it, and the other way round
    assert all(outcomes[r.response_id].outcome == "matched" and outcomes[r.response_id].submission_id == r.submission_id for r in joined)
    assert len(joined) == 175
    assert Counter(status[r.submission_id] for r in joined) == {"APPROVED": 153, "REJECTED": 18, "RETURNED": 3, "SCREENED OUT": 1}
    alone = [r for r in plan.rows if not r.response_id]
    assert Counter(status[r.submission_id] for r in alone) == {"RETURNED": 73, "TIMED-OUT": 4, "REJECTED": 1}
    # nothing there is pending: every submission is skipped, with its status as the reason
    assert Counter(r.reason for r in plan.rows) == {"already_approved": 153, "already_rejected": 19, "returned": 76, "timed_out": 4, "screened_out": 1}
    assert {r.decision for r in plan.rows} == {"skip"}
    # 24 responses without a submission, all without an ID: 19 previews and 5 responses from before the study
    unjoined = [o for o in plan.responses if o.outcome != "matched"]
    assert len(unjoined) == 24 and all(not o.participant_id for o in unjoined)
    assert Counter((o.outcome, o.reason) for o in unjoined) == {("excluded", "survey_preview"): 19, ("unmatched", "no_participant_id"): 5}
    assert len(plan.responses) == len(export.responses) == 199


def test_laols_before_review_without_codes_approves_every_joined_submission_with_flags(laols):
    export, subs = laols
    pending = awaiting_review(subs)
    plan = plan_of(export, pending)
    captured = {r.participant_id for r in export.responses if r.participant_id}
    by_id = {s.submission_id: s for s in pending}
    expected_approve = {s.submission_id for s in pending if s.state == State.PENDING and s.participant_id in captured}
    approved = {r.submission_id for r in plan.rows if r.decision == "approve"}
    assert approved == expected_approve and len(approved) == 171  # APPROVED 153 + REJECTED 18 joined
    for r in plan.rows:
        s = by_id[r.submission_id]
        if r.decision != "approve":
            continue
        code = s.code.strip()
        assert ("no_code" in r.flags) == (code in ("", "NOCODE"))
        assert ("participant_id_as_code" in r.flags) == (s.participant_id in code)  # alone, or in the study URL
    # the one pending submission without a response goes to review
    assert Counter(r.reason for r in plan.rows if r.decision == "review") == {"no_response": 1}
    (w,) = [w for w in plan.warnings if "completion codes were not given" in w]
    nocode = sum(1 for s in pending if s.code.strip() == "NOCODE")
    assert f"'NOCODE' {nocode}" in w and "--completion-code" in w


def test_laols_before_review_with_codes_sends_code_problems_to_review(laols):
    export, subs = laols
    plan = plan_of(export, awaiting_review(subs), codes=("CBHB8QEX", "C15ROWVV"))
    by_id = {s.submission_id: s for s in subs}
    approved = [r for r in plan.rows if r.decision == "approve"]
    assert sorted(by_id[r.submission_id].code for r in approved) == ["C15ROWVV", "CBHB8QEX"]
    # What each joined submission's code should give, told from the files alone.
    captured = {r.participant_id for r in export.responses if r.participant_id}
    expected: Counter = Counter()
    for s in subs:
        if s.status not in ("APPROVED", "REJECTED") or s.participant_id not in captured:
            continue
        code = s.code.strip()
        expected["no_code" if code in ("", "NOCODE") else "participant_id_as_code" if s.participant_id in code
                 else "approve" if code in ("CBHB8QEX", "C15ROWVV") else "code_not_of_study"] += 1
    got = Counter("approve" if r.decision == "approve" else r.reason for r in plan.rows if r.decision in ("approve", "review"))
    expected["no_response"] = 1
    assert got == expected
    assert expected["participant_id_as_code"] >= 5 and expected["code_not_of_study"] >= 1  # the cases SOURCES.md names are there
    assert not [w for w in plan.warnings if "completion codes were not given" in w]


def test_cheung_typed_id_only_joins_all_25(cheung):
    export, subs = cheung
    assert (export.participant_column, export.typed_id_column) == ("Q34", None)
    plan = plan_of(export, subs)
    assert sum(1 for r in plan.rows if r.response_id) == 25
    assert Counter(r.reason for r in plan.rows) == {"already_approved": 25}
    assert Counter((o.outcome, o.reason) for o in plan.responses) == {("matched", "participant_match"): 25, ("excluded", "survey_preview"): 7}


def test_cheung_before_review_with_the_study_code(cheung):
    export, subs = cheung
    plan = plan_of(export, awaiting_review(subs), codes=("CGBAT70K",))
    assert Counter((r.decision, r.reason) for r in plan.rows) == {("approve", "participant_match"): 24, ("review", "participant_id_as_code"): 1}
    (pasted,) = [r for r in plan.rows if r.decision == "review"]
    assert pasted.code == pasted.participant_id and pasted.response_id


def test_cheung_excel_resaved_survey_reads_the_typed_column_too(realdata):
    export = read_qualtrics(realdata / CHEUNG / "dataforR_redacted.csv", ids=ProlificIds())
    assert export.participant_column == "Q34"
    subs = read_prolific_export(realdata / CHEUNG / "prolific_export_demographic.csv")
    plan = plan_of(export, subs)
    assert sum(1 for r in plan.rows if r.response_id) == 25
