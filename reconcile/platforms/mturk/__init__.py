"""Amazon Mechanical Turk as a platform of the seam (reconcile.platform).

MTurk closed on 2026-09-30; it is still served for archived studies. Workers paste a completion code
into MTurk, so submissions join responses on the code; approvals, rejections and bonuses go one per
call; SendBonus is deduplicated by its UniqueRequestToken (so a pay call is safe to retry); HITs
made on the requester website are approved there with an upload CSV.
"""

from __future__ import annotations

import os
from typing import Sequence

from ...platform import Capabilities, Endpoint, Words
from .fees import MTurkFees
from .ids import WorkerIds
from .states import state_of
from .verifier import API_SOURCE_PREFIX, BatchVerifier

NAME = "mturk"

CAPABILITIES = Capabilities(
    name=NAME,
    currency="USD",
    join="code",
    approve_batch=1,
    approve_settles=False,
    bonus_batch=1,
    bonus_pay_retry_safe=True,
    bonus_prepare_calls=False,
    bonus_reason_shown=True,
    upload_file=True,
    qualifications=True,
    review_deadline=True,
    reject_min_chars=10,
    reject_max_chars=1024,
)

WORDS = Words(
    platform="MTurk",
    submission="assignment",
    submissions="assignments",
    participant="worker",
    participant_id="WorkerId",
    group="HIT",
    review_deadline="AutoApprovalTime",
    fees="MTurk fees",
    a_submission="an assignment",
    pending_status="Submitted",
    deadline_column="Auto-approval time",
    fees_explained="20% of rewards and bonuses, +20% of rewards on HITs with 10+ assignments, $0.01 minimum each",
    account="requester account",
    records_file="batch results",
    records_files="batches",
    record_rows="batch rows",
    checked_file="batch file",
    checked_files="batch files",
    code_column_option="--mturk-code-column",
    id_column_option="--worker-column",
)

# The matcher's neutral reason codes as MTurk plans have always written them (stable: files people keep).
REASON_CODES = {
    "participant_id_as_code": "worker_id_as_code",
    "participant_mismatch": "worker_mismatch",
    "repeat_participant": "repeat_worker",
    "no_submission": "no_assignment",
}


class MTurk:
    """The MTurk platform object (platform.Platform)."""

    capabilities = CAPABILITIES
    words = WORDS
    ids = WorkerIds()
    verifier = BatchVerifier()

    def __init__(self, *, masters: bool = False) -> None:
        self.fees = MTurkFees(masters=masters)

    def configured(self, *, masters: bool = False) -> "MTurk":
        """This platform with the study's own settings (the HITs required Masters: 5% more fees on rewards)."""
        return MTurk(masters=masters)
    api_source_prefix = API_SOURCE_PREFIX
    reason_codes = REASON_CODES

    def state_of(self, status: str) -> str:
        return state_of(status)

    def reason_code(self, neutral: str) -> str:
        return REASON_CODES.get(neutral, neutral)

    # ---------------------------------------------------------------- reading

    def claims_table(self, table) -> bool:
        """This is a batch results file (by its columns; importers.sniff.kind_of asks every platform)."""
        from .batch_csv import claims_table

        return claims_table(table)

    def inspect_table(self, table) -> dict:
        """What `reconcile inspect --json` says of a batch results file."""
        from collections import Counter

        from .batch_csv import combine, read_batch_table

        b = read_batch_table(table)
        statuses = Counter(a.status for a in b.submissions)
        return {
            "path": b.path, "kind": NAME, "format": b.format, "rows": len(b.submissions), "columns": len(b.columns),
            "code_column": b.code_column, "participant_column": b.participant_column,
            "code_candidates": list(b.code_candidates),
            "participant_candidates": [b.participant_column] if b.participant_column else [],
            "status_counts": dict(sorted(statuses.items())), "duplicate_rows": len(combine([b]).duplicates),
            "warnings": list(b.warnings),
        }

    def inspect_path(self, path: str, claims) -> dict | None:
        """inspect_table's answer for a batch read as a stream (memory independent of its rows), or
        None when the file is not a batch or must be read whole (see inspect_stream)."""
        from .inspect_stream import inspect_streamed

        return inspect_streamed(path, claims)

    def require_columns(self, data) -> None:
        """The code column of every batch was found (ColumnDetectionError listing candidates otherwise)."""
        from ...importers.columns import detection_error

        for f in data.files:
            if f.code_column is None:
                others = [c for c in f.columns if c.startswith("Answer.")] or list(f.columns)
                raise detection_error(f.path, "completion code (MTurk side)", f.code_candidates, others, "--mturk-code-column")

    def read_files(self, paths: Sequence[str], *, code_column: str | None = None, participant_column: str | None = None,
                   keep: Sequence[str] | None = None):
        from .batch_csv import read_mturk_csv

        return read_mturk_csv(list(paths), code_column=code_column, participant_column=participant_column, keep=keep)

    def read_table(self, table, *, code_column: str | None = None, participant_column: str | None = None):
        from .batch_csv import read_batch_table

        return read_batch_table(table, code_column=code_column, participant_column=participant_column)

    def list_submissions(self, paths: Sequence[str], endpoint: Endpoint, *, group_ids: Sequence[str] = (),
                         batch_ids: Sequence[str] = (), code_column: str | None = None,
                         participant_column: str | None = None, progress=None):
        """Files plus the API listing of HITs (or requester-website batches), read together."""
        from .api import read_mturk_api

        return read_mturk_api(list(paths), endpoint=endpoint, hit_ids=tuple(group_ids), batch_ids=tuple(batch_ids),
                              code_column=code_column, participant_column=participant_column, progress=progress)

    # ---------------------------------------------------------------- files for the website

    def upload_paths(self, out, files: Sequence[str]) -> list:
        """Where --upload-csv OUT writes, one file per batch (checked against inputs before anything is written)."""
        from pathlib import Path

        from .upload import upload_paths

        return upload_paths(Path(out), list(files))

    def prepare_upload(self, out, check) -> list:
        """Everything --upload-csv will write, computed before anything is written (InputError when it cannot)."""
        from pathlib import Path

        from ...errors import InputError
        from .upload import prepare_uploads

        if check.api_listed:
            raise InputError(
                f"{check.checked.path}: {check.api_listed} assignment(s) were listed through the MTurk API, so there is no "
                "batch file to give back; write one with `reconcile fetch mturk ... -o FILE.csv` and pass --batch FILE."
            )
        if not check.files:
            raise InputError(f"{check.checked.path}: the plan names no batch file to build an upload from; pass --batch FILE.")
        return prepare_uploads(Path(out), list(check.files), check.checked.rows, dict(check.file_of))

    def write_upload(self, prepared: list) -> list[dict]:
        """Write what prepare_upload computed; one dict per file written (for the summary and --json)."""
        from .upload import write_uploads

        return [
            {"path": str(u.out_path), "batch": u.batch_path, "approve": u.approve, "reject": u.reject, "untouched": u.untouched,
             "said": f"Wrote {u.out_path} (from {os.path.basename(u.batch_path)}): {u.approve} x in Approve, "
                     f"{u.reject} reasons in Reject, {u.untouched} rows left alone."}
            for u in write_uploads(prepared)
        ]

    def next_steps(self, plan: str, *, uploaded: bool) -> list[str]:
        """What to do after a clean dry run, in this platform's terms."""
        steps = [f"  - through the MTurk API: reconcile pay {plan} --execute --sandbox (rehearsal), "
                 "--endpoint-url URL (a local emulator) or --production (real money)"]
        if not uploaded:
            steps.append(f"  - or, for HITs created on the requester website: reconcile pay {plan} --upload-csv approve.csv, "
                         "then upload it under Manage > Results (bonuses still need --execute)")
        else:
            steps.append("  - upload the CSV under Manage > Results on the requester website (bonuses still need --execute)")
        return steps

    # ---------------------------------------------------------------- paying

    def resolve_endpoint(self, endpoint_url: str | None, sandbox: bool, production: bool) -> Endpoint:
        from .endpoints import resolve_mturk_endpoint

        return resolve_mturk_endpoint(endpoint_url, sandbox, production)

    def payer(self, endpoint: Endpoint, *, connections: int = 10):
        from .payer import MTurkPayer

        return MTurkPayer(endpoint.url, CAPABILITIES, connections=connections)


PLATFORM = MTurk()
