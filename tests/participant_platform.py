"""A platform built for tests of the participant join: joins on participant IDs with Prolific's real
ID rules (platforms/prolific/ids.py), Prolific-like words and statuses, and neutral reason codes."""

from __future__ import annotations

import hashlib

from reconcile.models import Response, SourceRef, Submission, frozen_mapping
from reconcile.platform import Capabilities, Words
from reconcile.platforms.prolific.ids import ProlificIds
from reconcile.platforms.prolific.states import state_of  # noqa: F401 - Prolific's real status rules, re-exported

# Every status Prolific's exports and API show that has a decision attached (ACTIVE etc. are unknown).
STATES = ("AWAITING REVIEW", "APPROVED", "REJECTED", "RETURNED", "TIMED-OUT", "SCREENED OUT", "PARTIALLY APPROVED")


class ParticipantPlatform:
    capabilities = Capabilities(
        name="testprolific", currency="GBP", join="participant", approve_batch=1000, approve_settles=True,
        bonus_batch=1000, bonus_pay_retry_safe=False, bonus_prepare_calls=True, bonus_reason_shown=False,
        upload_file=False, qualifications=False, review_deadline=False,
    )
    words = Words(
        platform="Prolific", submission="submission", submissions="submissions", participant="participant",
        participant_id="Prolific ID", group="study", a_submission="a submission", pending_status="AWAITING REVIEW",
        records_file="submissions export", records_files="exports", record_rows="export rows",
        completion_codes_hint="Pass them with --completion-code CODE, or --prolific-study ID to read them from the API.",
    )
    ids = ProlificIds()

    def reason_code(self, neutral: str) -> str:
        return neutral


PLATFORM = ParticipantPlatform()

STUDY = "5e0d0f1a2b3c4d5e6f708192"


def pid(n: int) -> str:
    """A Prolific-shaped participant ID (24 lower-case hex), per n; any two differ in many places."""
    return hashlib.sha256(f"participant {n}".encode()).hexdigest()[:24]


def presp(row: int, participant: str = "", *, typed: str = "", status: str = "IP Address", finished: str = "True",
          progress: str = "100", ip: str = "", duration: str = "300", rid: str | None = None, **fields) -> Response:
    return Response(
        source=SourceRef("survey.csv", row), response_id=rid or f"R_{row:04d}", status=status, finished=finished,
        progress=progress, ip_address=ip, start_date="", end_date="", duration_seconds=duration, code="",
        participant_id=participant, fields=frozen_mapping({"PROLIFIC_PID": participant, **fields}), typed_id=typed,
    )


def psub(row: int, participant: str, *, code: str = "C1A2B3C4", status: str = "AWAITING REVIEW", sid: str | None = None,
         path: str = "prolific.csv") -> Submission:
    return Submission(
        source=SourceRef(path, row), platform="testprolific", submission_id=sid or f"{row:08x}" + "f" * 16,
        participant_id=participant, group_id=STUDY, state=state_of(status), status=status, reward="£1.50",
        group_size="", started_at="", submitted_at="", review_deadline="", duration_seconds="300", code=code,
    )
