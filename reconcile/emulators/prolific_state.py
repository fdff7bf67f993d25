"""The Prolific emulator's workspace: studies, submissions, bulk bonuses, the balance, queued
asynchronous work, the audit trail, and the JSON shapes the API answers with.

Money is Decimal in minor units (pence/cents) throughout and reaches the wire through `dumps`,
which writes Decimals as exact JSON numbers without passing through float.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from http import HTTPStatus
from typing import Any

from ..errors import InputError
from .prolific_export import ExportedSubmission, ProlificExport, format_api_time

FEE_ROUNDINGS = {"half-up": ROUND_HALF_UP, "up": ROUND_UP}
HUNDREDTH = Decimal("0.01")
COMPLETE_STATUSES = frozenset({"AWAITING REVIEW", "APPROVED", "PARTIALLY APPROVED", "REJECTED", "SCREENED OUT"})
# Internal error codes: invented (the spec says only "integer"); one per HTTP status.
ERROR_CODES = {400: 140100, 401: 140101, 403: 140103, 404: 140104, 405: 140105, 410: 140110, 429: 140129, 500: 140500, 502: 140502, 503: 140503}


def fixed_id(label: str) -> str:
    # The account's own IDs are constants, so runs and processes agree on them.
    return hashlib.sha256(f"prolific-emulator:{label}".encode()).hexdigest()[:24]


USER_ID = fixed_id("user")
WORKSPACE_ID = fixed_id("workspace")
PROJECT_ID = fixed_id("project")


# ---------------------------------------------------------------- JSON with exact money


def decimal_json_text(value: Decimal) -> str:
    """A Decimal as a JSON number: 850 -> "850", 283.3400 -> "283.34". Never via float."""
    if not value.is_finite():
        raise ValueError(f"{value} cannot be a JSON number")
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def dumps(obj: Any) -> bytes:
    """json.dumps that writes Decimals as exact JSON numbers (placeholders swapped for their text)."""
    nonce = uuid.uuid4().hex
    texts: list[str] = []

    def walk(o: Any) -> Any:
        if isinstance(o, Decimal):
            texts.append(decimal_json_text(o))
            return f"{nonce}:{len(texts) - 1}"
        if isinstance(o, float):
            raise TypeError("a float reached the emulator's JSON output; money must stay Decimal")
        if isinstance(o, dict):
            return {k: walk(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [walk(v) for v in o]
        return o

    text = json.dumps(walk(obj))
    if texts:
        text = re.sub(f'"{nonce}:(\\d+)"', lambda m: texts[int(m.group(1))], text)
    return text.encode()


# ---------------------------------------------------------------- errors and answers


class ApiError(Exception):
    """An error answer in Prolific's envelope: {"error": {status, error_code, title, detail}}."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail

    def body(self) -> dict:
        return {
            "error": {
                "status": self.status,
                "error_code": ERROR_CODES.get(self.status, self.status * 1000),
                "title": HTTPStatus(self.status).phrase,
                "detail": self.detail,
            }
        }


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found.")


@dataclass
class Answer:
    status: int
    body: Any  # JSON-able (Decimals allowed), or str for text bodies
    content_type: str = "application/json"


# ---------------------------------------------------------------- state


@dataclass
class BonusEntry:
    cents: Decimal
    visible_at: float  # monotonic time from which bonus_payments shows it (the settle lag)
    source: str  # "screen-out reward" or the bulk bonus ID
    pay_call: int | None = None


@dataclass
class Submission:
    id: str
    study_id: str
    participant_id: str
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    reviewed_at: datetime | None
    time_taken: Decimal | None
    entered_code: str
    exported: ExportedSubmission
    bonus_entries: list[BonusEntry] = field(default_factory=list)


@dataclass
class Study:
    id: str
    export: ProlificExport
    completion_codes: tuple[str, ...]
    submission_ids: list[str]
    reward_cents: Decimal
    settled_bonus: dict[str, Decimal] = field(default_factory=lambda: {"rewards": Decimal(0), "fees": Decimal(0), "tax": Decimal(0)})


@dataclass
class BulkBonus:
    id: str
    study_id: str
    rows: list[tuple[str, Decimal]]  # (submission ID, cents) in csv order
    amount: Decimal
    fees: Decimal
    vat: Decimal
    total_amount: Decimal
    times_paid: int = 0  # accepted pay calls
    times_settled: int = 0


@dataclass
class Pending:
    due: float
    seq: int
    kind: str  # "bulk_approve" | "payout"
    submission_ids: tuple[str, ...] = ()
    study_id: str = ""
    participant_ids: tuple[str, ...] = ()
    bulk_id: str = ""
    pay_call: int = 0


@dataclass(frozen=True)
class Settings:
    token: str
    balance_cents: Decimal
    currency: str
    fee_rate: Decimal
    vat_rate: Decimal
    fee_rounding: str
    settle_ms: int
    bonus_lag_ms: int
    bulk_max: int
    screen_out_cents: Decimal
    reward_cents: Decimal
    bonus_id_format: str



def now_iso() -> str:
    return format_api_time(datetime.now(timezone.utc)) or ""


class ProlificState:
    """Everything the emulated workspace knows. Every method is called with `lock` held."""

    def __init__(self, settings: Settings, seed: int) -> None:
        self.lock = threading.Lock()
        self.settings = settings
        self.fault_rng = random.Random(seed)
        self.id_rng = random.Random(f"ids:{seed}")  # separate, so faults do not shift generated IDs
        self.balance = settings.balance_cents
        self.reserved = Decimal(0)  # accepted payouts not yet settled
        self.studies: dict[str, Study] = {}
        self.submissions: dict[str, Submission] = {}
        self.bulks: dict[str, BulkBonus] = {}
        self.pending: list[Pending] = []
        self.audit: list[dict] = []
        self.calls: dict[str, int] = {}
        self.effective: dict[str, int] = {}
        self.counters = {"throttled": 0, "faulted": 0, "dropped": 0, "errors": 0}
        self._seq = 0

    # -- seeding

    def add_study(self, study_id: str, export: ProlificExport, codes: tuple[str, ...], overrides: dict[str, str]) -> Study:
        study = Study(study_id, export, codes, [], self.settings.reward_cents)
        for row in export.submissions:
            if row.submission_id in self.submissions:
                other = self.studies[self.submissions[row.submission_id].study_id].export.path
                raise InputError(f"{export.path}: row {row.row}: submission {row.submission_id} is also in {other}; a submission belongs to one study.")
            status = overrides.get(row.status, row.status)
            sub = Submission(
                id=row.submission_id,
                study_id=study_id,
                participant_id=row.participant_id,
                status=status,
                started_at=row.started_at,
                completed_at=row.completed_at,
                reviewed_at=row.reviewed_at if status in ("APPROVED", "REJECTED", "PARTIALLY APPROVED") else None,
                time_taken=row.time_taken,
                entered_code=row.entered_code,
                exported=row,
            )
            if status == "SCREENED OUT" and self.settings.screen_out_cents > 0:
                # Prolific lists the fixed screen-out reward in bonus_payments (PsyNet, verified live).
                sub.bonus_entries.append(BonusEntry(self.settings.screen_out_cents, 0.0, "screen-out reward"))
            self.submissions[sub.id] = sub
            study.submission_ids.append(sub.id)
        self.studies[study_id] = study
        return study

    # -- time and asynchronous work

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def schedule(self, change: Pending) -> None:
        self.pending.append(change)
        self.pending.sort(key=lambda c: (c.due, c.seq))

    def apply_due(self, now: float) -> int:
        """Apply every queued change whose time has come, in due order."""
        applied = 0
        while self.pending and self.pending[0].due <= now:
            change = self.pending.pop(0)
            self._apply(change, visible_at=change.due + self.settings.bonus_lag_ms / 1000.0)
            applied += 1
        return applied

    def settle_all(self, now: float) -> int:
        """The test hook: every queued change now, and every settled bonus visible now."""
        applied = 0
        while self.pending:
            self._apply(self.pending.pop(0), visible_at=now)
            applied += 1
        for sub in self.submissions.values():
            for entry in sub.bonus_entries:
                entry.visible_at = min(entry.visible_at, now)
        return applied

    def _apply(self, change: Pending, *, visible_at: float) -> None:
        if change.kind == "bulk_approve":
            targets = list(change.submission_ids)
            if change.study_id:
                wanted = set(change.participant_ids)
                study = self.studies.get(change.study_id)
                targets = [sid for sid in (study.submission_ids if study else []) if self.submissions[sid].participant_id in wanted]
            for sid in targets:
                sub = self.submissions.get(sid)
                if sub is not None and sub.status == "AWAITING REVIEW":  # GUESS §6 #3: others skipped silently
                    sub.status = "APPROVED"
                    sub.reviewed_at = datetime.now(timezone.utc)
            return
        bulk = self.bulks[change.bulk_id]
        bulk.times_settled += 1
        self.reserved -= bulk.total_amount
        self.balance -= bulk.total_amount
        stamp = now_iso()
        for sid, cents in bulk.rows:
            sub = self.submissions[sid]
            sub.bonus_entries.append(BonusEntry(cents, visible_at, bulk.id, change.pay_call))
            self.audit.append(
                {
                    "kind": "bonus_payout",
                    "bulk_id": bulk.id,
                    "pay_call": change.pay_call,
                    "study_id": bulk.study_id,
                    "submission_id": sid,
                    "participant_id": sub.participant_id,
                    "cents": cents,
                    "time": stamp,
                }
            )
        self.audit.append(
            {
                "kind": "balance_debit",
                "bulk_id": bulk.id,
                "pay_call": change.pay_call,
                "amount": bulk.total_amount,
                "balance_after": self.balance,
                "time": stamp,
            }
        )
        settled = self.studies[bulk.study_id].settled_bonus
        settled["rewards"] += bulk.amount
        settled["fees"] += bulk.fees
        settled["tax"] += bulk.vat

    # -- money

    def round_money(self, value: Decimal) -> Decimal:
        return value.quantize(HUNDREDTH, rounding=FEE_ROUNDINGS[self.settings.fee_rounding])

    def fees_for(self, amount: Decimal) -> tuple[Decimal, Decimal]:
        fees = self.round_money(amount * self.settings.fee_rate)
        return fees, self.round_money(fees * self.settings.vat_rate)

    def available(self) -> Decimal:
        return self.balance - self.reserved

    # -- shapes

    def visible_bonuses(self, sub: Submission, now: float) -> list[Decimal]:
        return [e.cents for e in sub.bonus_entries if e.visible_at <= now]

    def list_item(self, sub: Submission, now: float) -> dict:
        siblings = sum(1 for sid in self.studies[sub.study_id].submission_ids if self.submissions[sid].participant_id == sub.participant_id)
        return {
            "id": sub.id,
            "participant_id": sub.participant_id,
            "status": sub.status,
            "started_at": format_api_time(sub.started_at),
            "completed_at": format_api_time(sub.completed_at),
            "study_code": sub.entered_code or None,
            "time_taken": _whole_seconds(sub.time_taken),
            "is_complete": sub.status in COMPLETE_STATUSES,
            "reward": self.studies[sub.study_id].reward_cents,
            "bonus_payments": self.visible_bonuses(sub, now),  # GUESS §6 #4: list items carry it too
            "has_siblings": siblings > 1,
            "return_requested": None,
        }

    def detail(self, sub: Submission, now: float) -> dict:
        return {
            **self.transition_shape(sub),
            "bonus_payments": self.visible_bonuses(sub, now),
            "return_requested": None,
            "parent_study_id": None,
        }

    def transition_shape(self, sub: Submission) -> dict:
        return {
            "id": sub.id,
            "study_id": sub.study_id,
            "participant": sub.participant_id,
            "status": sub.status,
            "started_at": format_api_time(sub.started_at),
            "completed_at": format_api_time(sub.completed_at),
            "entered_code": sub.entered_code or None,
        }

    def study_shape(self, study: Study, *, full: bool) -> dict:
        subs = [self.submissions[sid] for sid in study.submission_ids]
        statuses = {s.status for s in subs}
        if statuses & {"ACTIVE", "RESERVED"}:
            status = "ACTIVE"
        elif "AWAITING REVIEW" in statuses:
            status = "AWAITING REVIEW"
        else:
            status = "COMPLETED"
        places_taken = sum(1 for s in subs if s.status not in ("RETURNED", "REJECTED", "TIMED-OUT"))
        started = [s.started_at for s in subs if s.started_at is not None]
        created = format_api_time(min(started)) if started else None
        out = {
            "id": study.id,
            "name": study.export.name.rsplit(".", 1)[0],
            "internal_name": study.export.name,
            "status": status,
            "reward": study.reward_cents,
            "currency_code": self.settings.currency,
            "total_available_places": places_taken,
            "places_taken": places_taken,
            "number_of_submissions": len(subs),
            "date_created": created,
            "published_at": created,
        }
        if full:
            out["completion_codes"] = [
                {
                    "code": code,
                    "code_type": "COMPLETED" if i == 0 else "OTHER",
                    "actions": [{"action": "MANUALLY_REVIEW"}],
                    "actor": "participant",
                }
                for i, code in enumerate(study.completion_codes)
            ]
            out["workspace"] = WORKSPACE_ID
            out["project"] = PROJECT_ID
        return out

    def export_rows(self, study: Study) -> list[dict[str, str]]:
        rows = []
        for sid in study.submission_ids:
            sub = self.submissions[sid]
            row = dict(sub.exported.cells)
            row.update(
                {
                    "Submission id": sub.id,
                    "Participant id": sub.participant_id,
                    "Status": sub.status,
                    "Custom study tncs accepted at": sub.exported.tncs_accepted_at or "Not Applicable",
                    "Started at": format_api_time(sub.started_at) or "",
                    "Completed at": format_api_time(sub.completed_at) or "",
                    "Reviewed at": format_api_time(sub.reviewed_at) or "",
                    "Archived at": sub.exported.archived_at,
                    "Time taken": "" if sub.time_taken is None else str(_whole_seconds(sub.time_taken)),
                    "Completion code": sub.entered_code,
                    "Total approvals": sub.exported.total_approvals,
                }
            )
            rows.append(row)
        return rows

    # -- observability (not Prolific's API)

    def stats(self) -> dict:
        return {
            "calls": dict(self.calls),
            "effective": dict(self.effective),
            "total_calls": sum(self.calls.values()),
            "effective_mutations": sum(self.effective.values()),
            **self.counters,
        }

    def reset_stats(self) -> None:
        self.calls.clear()
        self.effective.clear()
        for k in self.counters:
            self.counters[k] = 0

    def snapshot(self, now: float) -> dict:
        return {
            "balance": self.balance,
            "available_balance": self.available(),
            "currency": self.settings.currency,
            "studies": {
                s.id: {
                    "export": s.export.path,
                    "era": s.export.era,
                    "completion_codes": list(s.completion_codes),
                    "submission_ids": list(s.submission_ids),
                }
                for s in self.studies.values()
            },
            "submissions": {
                sub.id: {
                    "study_id": sub.study_id,
                    "participant_id": sub.participant_id,
                    "status": sub.status,
                    "bonus_payments": [e.cents for e in sub.bonus_entries],  # settled, visible or not
                    "visible_bonus_payments": self.visible_bonuses(sub, now),
                }
                for sub in self.submissions.values()
            },
            "bulk_bonuses": {
                b.id: {
                    "study_id": b.study_id,
                    "rows": [{"submission_id": sid, "cents": cents} for sid, cents in b.rows],
                    "amount": b.amount,
                    "fees": b.fees,
                    "vat": b.vat,
                    "total_amount": b.total_amount,
                    "times_paid": b.times_paid,
                    "times_settled": b.times_settled,
                }
                for b in self.bulks.values()
            },
            "pending": [{"kind": c.kind, "bulk_id": c.bulk_id or None, "pay_call": c.pay_call or None} for c in self.pending],
        }


def _whole_seconds(value: Decimal | None) -> int | None:
    # The API's time_taken is an integer; old exports have fractional seconds.
    return None if value is None else int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))

