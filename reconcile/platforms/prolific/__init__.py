"""Prolific as a platform of the seam (reconcile.platform).

Prolific knows each participant's ID (Qualtrics captures it as PROLIFIC_PID), so submissions join
responses on the participant ID and the entered completion code is only checked. Approvals go in
bulk (up to 1,000 IDs a call) and take effect later; a single transition is idempotent. Bonuses are
set up in one call (which returns a bulk ID) and paid with another that is NOT idempotent: paying
one ID twice pays twice. Rewards were funded when the study was published, so a payout draws only
bonuses, their fees and VAT. Facts and their sources: ../shared/PROLIFIC.md.

Modules (one job each): states (status words), export_csv (the submissions export, every header
era), api (listing, completion codes, `fetch`), client (requests, the token, the error envelope),
payer, fees, verifier (the dry run's file authority), endpoints, ids, bonus_csv (the website's
bulk-bonus text).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Sequence

from ...platform import Capabilities, Endpoint, Words
from .ids import ProlificIds

NAME = "prolific"

# Prolific's 12 rejection categories (2025 spec SubmissionTransition; PROLIFIC.md §1.5).
REJECTION_CATEGORIES = (
    "TOO_QUICKLY", "TOO_SLOWLY", "FAILED_INSTRUCTIONS", "INCOMP_LONGITUDINAL", "FAILED_CHECK", "LOW_EFFORT",
    "MALINGERING", "NO_CODE", "BAD_CODE", "NO_DATA", "UNSUPP_DEVICE", "OTHER",
)

CAPABILITIES = Capabilities(
    name=NAME,
    currency="GBP",  # the workspace's; a study's export or the API may say USD (CheckedPlan.currency)
    join="participant",
    approve_batch=1000,  # "We recommend a maximum of 1,000" (bulk-approve docs)
    approve_settles=True,  # bulk approve is asynchronous: statuses are re-read until they settle
    bonus_batch=1000,  # GUESS: no documented maximum of rows per set-up; 1,000 keeps one call's blast radius small
    bonus_pay_retry_safe=False,  # "Sending multiple requests with the same bulk bonus payment ID will result in ... paid multiple times"
    bonus_prepare_calls=True,  # the set-up call returns the bulk ID that pay takes
    bonus_reason_shown=False,  # bonus_payments lists amounts only
    upload_file=False,
    qualifications=False,
    review_deadline=True,  # "Any submissions Awaiting Review 21 days after completion will be auto-approved"
    reject_categories=REJECTION_CATEGORIES,
    reject_min_chars=100,  # "It must be at least 100 chars long."
    reject_max_chars=1000,  # GUESS: no maximum is documented
)

WORDS = Words(
    platform="Prolific",
    submission="submission",
    submissions="submissions",
    participant="participant",
    participant_id="participant ID",
    group="study",
    review_deadline="auto-approval date",
    fees="Prolific fees",
    a_submission="a submission",
    pending_status="AWAITING REVIEW",
    deadline_column="Auto-approved on",
    fees_explained="a service fee on bonuses (33.33% by default; --fee-rate), plus VAT where it applies (--vat-rate)",
    account="workspace",
    records_file="submissions export",
    records_files="submissions exports",
    record_rows="export rows",
    checked_file="submissions export",
    checked_files="submissions exports",
    code_column_option="",
    id_column_option="--id-column",
    completion_codes_hint="Pass them with --completion-code CODE (repeatable), or --prolific-study ID with --endpoint-url URL "
                          "or --production to read them from the API.",
)

# The plan's reason codes are the matcher's neutral ones: Prolific plans have no history to keep.
REASON_CODES: dict[str, str] = {}

DEFAULT_FEE_RATE = Decimal(1) / Decimal(3)  # PROLIFIC.md §1.12: "~33.33%" academic; corporate workspaces pay 42.8%
DEFAULT_VAT_RATE = Decimal("0")  # VAT on fees where it applies (UK workspaces without a VAT number: 0.20)


CURRENCIES = ("GBP", "USD")  # "All participants are paid in GBP and/or USD" (payment principles)


def parse_currency(text: str) -> str:
    from ...errors import InputError

    code = (text or "").strip().upper()
    if code not in CURRENCIES:
        raise InputError(f"--currency {text!r}: a Prolific workspace pays in {' or '.join(CURRENCIES)}; give one of them.")
    return code


class Prolific:
    """The Prolific platform object (platform.Platform)."""

    capabilities = CAPABILITIES
    words = WORDS
    ids = ProlificIds()
    reason_codes = REASON_CODES

    def __init__(self, *, fee_rate: Decimal = DEFAULT_FEE_RATE, vat_rate: Decimal = DEFAULT_VAT_RATE,
                 currency: str = CAPABILITIES.currency) -> None:
        from .fees import ProlificFees

        self.fee_rate = fee_rate
        self.vat_rate = vat_rate
        self.fees = ProlificFees(fee_rate=fee_rate, vat_rate=vat_rate)
        # The workspace's currency (exports do not say it): the payer refuses to pay when Prolific's differs.
        self.capabilities = replace(CAPABILITIES, currency=currency)

    def configured(self, *, fee_rate: Decimal | str | None = None, vat_rate: Decimal | str | None = None,
                   currency: str | None = None) -> "Prolific":
        """This platform with the workspace's own rates (a corporate fee, VAT on fees) and currency; text as
        the command line gives it ("42.8%", "0.2", "1/3", "usd") is parsed, one sentence when it is not valid."""
        from .fees import parse_rate

        if isinstance(fee_rate, str):
            fee_rate = parse_rate(fee_rate, "--fee-rate")
        if isinstance(vat_rate, str):
            vat_rate = parse_rate(vat_rate, "--vat-rate")
        if currency is not None:
            currency = parse_currency(currency)
        copy = Prolific(fee_rate=self.fee_rate if fee_rate is None else fee_rate,
                        vat_rate=self.vat_rate if vat_rate is None else vat_rate,
                        currency=self.capabilities.currency if currency is None else currency)
        copy.study_id = self.study_id
        return copy

    study_id = ""  # the study of exports whose file name does not say it (--prolific-study)

    def for_study(self, study_id: str | None) -> "Prolific":
        """This platform reading exports as the given study's when their file names do not name one."""
        copy = self.configured()
        copy.study_id = (study_id or "").strip()
        return copy

    @property
    def verifier(self):
        from .verifier import ExportVerifier

        return ExportVerifier()

    @property
    def api_source_prefix(self) -> str:
        from .api import API_SOURCE_PREFIX

        return API_SOURCE_PREFIX

    def state_of(self, status: str) -> str:
        from .states import state_of

        return state_of(status)

    def reason_code(self, neutral: str) -> str:
        return REASON_CODES.get(neutral, neutral)

    # ---------------------------------------------------------------- reading

    def claims_table(self, table) -> bool:
        """This is a Prolific submissions export (by its columns; importers.sniff.kind_of asks every platform)."""
        from .export_csv import claims_table

        return claims_table(table)

    def inspect_table(self, table) -> dict:
        from .export_csv import inspect_table

        return inspect_table(table)

    def inspect_path(self, path: str, claims) -> dict | None:
        """inspect_table's answer for an export read as a stream (memory independent of its rows), or
        None when the file is not an export or must be read whole (see inspect_stream)."""
        from .inspect_stream import inspect_streamed

        return inspect_streamed(path, claims)

    def require_columns(self, data) -> None:
        from .export_csv import require_columns

        require_columns(data)

    def read_files(self, paths: Sequence[str], *, code_column: str | None = None, participant_column: str | None = None,
                   keep: Sequence[str] | None = None):
        # Every cell is read (`keep` is a permission, not a request): the caller narrows the rows after.
        from .export_csv import read_prolific_csv

        return read_prolific_csv(list(paths), participant_column=participant_column, study_id=self.study_id)

    def read_table(self, table, *, code_column: str | None = None, participant_column: str | None = None):
        from .export_csv import read_export_table

        return read_export_table(table, participant_column=participant_column, study_id=self.study_id)

    def list_submissions(self, paths: Sequence[str], endpoint: Endpoint, *, group_ids: Sequence[str] = (),
                         batch_ids: Sequence[str] = (), code_column: str | None = None,
                         participant_column: str | None = None, progress=None):
        """Files plus the API listing of studies, read together."""
        from .api import read_prolific_api

        return read_prolific_api(list(paths), endpoint=endpoint, study_ids=tuple(group_ids),
                                 participant_column=participant_column, progress=progress)

    # ---------------------------------------------------------------- files for the website

    def upload_paths(self, out, files: Sequence[str]) -> list:
        from ...errors import InputError

        raise InputError("Prolific has no approve/reject upload file; pay through the API with --execute, "
                         "or write the website's bulk-bonus text with --bonus-csv FILE.")

    def prepare_upload(self, out, check) -> list:
        return self.upload_paths(out, ())

    def write_upload(self, prepared: list) -> list[dict]:
        return []

    def write_bonus_csv(self, path, rows, currency: str = "GBP") -> dict:
        """The website's bulk-bonus text (bonus_csv): `participant_id,amount` lines, written atomically."""
        from .bonus_csv import write_bonus_csv

        return write_bonus_csv(path, rows, currency)

    def next_steps(self, plan: str, *, uploaded: bool) -> list[str]:
        return [
            f"  - through the Prolific API: reconcile pay {plan} --execute --endpoint-url URL (a local emulator) "
            "or --production (real money; the token from PROLIFIC_API_TOKEN)",
            f"  - or pay bonuses on the website: reconcile pay {plan} --bonus-csv bonuses.csv, then paste it "
            "into the study's bulk bonus dialog (approve and reject there too)",
        ]

    # ---------------------------------------------------------------- paying

    def resolve_endpoint(self, endpoint_url: str | None, sandbox: bool, production: bool) -> Endpoint:
        from .endpoints import resolve_prolific_endpoint

        return resolve_prolific_endpoint(endpoint_url, sandbox, production)

    def payer(self, endpoint: Endpoint, *, connections: int = 10):
        from .payer import ProlificPayer

        return ProlificPayer(endpoint.url, self.capabilities, connections=connections)


PLATFORM = Prolific()
