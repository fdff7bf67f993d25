"""A local MTurk requester service that speaks the real wire protocol (AWS JSON 1.1 over HTTP).

An unmodified boto3 `mturk` client pointed at it with `endpoint_url` works: requests are POST /
with `X-Amz-Target: MTurkRequesterServiceV20170117.<Operation>`, validated against botocore's own
service model (the only thing shared with the client side: the emulator must not reuse any of our
client code, or it could not catch that code's mistakes). Errors look like the real service's:
`{"__type": "RequestError", "Message": "... (1537741087056)", "TurkErrorCode": ...}`.

State (HITs, assignments, bonuses, tokens, balance) is seeded from batch result files and kept
in memory behind one lock. Faults can be injected, all drawn from one seeded RNG so a run
reproduces: throttling (token bucket), latency, ServiceFault without the action, and
"committed but the response was lost" (the action happens, the connection is closed unanswered).

Test-only observability lives under /__emulator/ (not part of MTurk's API): GET stats, GET state,
POST reset-stats.

Public API:
    start_emulator(batch_paths=None, *, throttle=None, latency_ms=0, fault_rate=0.0,
                   drop_response_rate=0.0, balance="10000.00", seed=0, port=0) -> RunningEmulator
    serve_until_signalled(... same options ..., announce=print) -> None   (the CLI command)
"""

from __future__ import annotations

import base64
import csv
import json
import random
import re
import signal
import socket
import string
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from xml.sax.saxutils import escape as _xml_escape

from ..errors import InputError
from ..money import AmountError, parse_amount

TARGET_PREFIX = "MTurkRequesterServiceV20170117."
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
DEFAULT_PAGE_SIZE = 10  # MaxResults when the caller gives none; small, so clients must paginate
TOKEN_MEMORY_SECONDS = 24 * 3600  # MTurk forgets idempotency tokens after 24 hours
FEEDBACK_MAX_CHARS = 1024
NOTIFY_MAX_WORKERS = 100
CENT = Decimal("0.01")

MUTATING_OPERATIONS = frozenset(
    {
        "ApproveAssignment",
        "RejectAssignment",
        "SendBonus",
        "AssociateQualificationWithWorker",
        "CreateQualificationType",
        "NotifyWorkers",
    }
)

_ID_ALPHABET = string.ascii_uppercase + string.digits
_service_model_lock = threading.Lock()
_service_model = None


def service_model():
    """botocore's own model of the MTurk requester API (loaded once)."""
    global _service_model
    with _service_model_lock:
        if _service_model is None:
            import botocore.session  # heavy; only when an emulator really starts

            _service_model = botocore.session.get_session().get_service_model("mturk")
        return _service_model


# ---------------------------------------------------------------- errors as the service sends them


class ApiError(Exception):
    """An error answer: HTTP status plus the JSON body the real service would send."""

    def __init__(self, type_: str, message: str, *, status: int = 400, turk_code: str | None = None, stamp: bool = True) -> None:
        super().__init__(message)
        self.type = type_
        self.message = f"{message} ({int(time.time() * 1000)})" if stamp else message
        self.status = status
        self.turk_code = turk_code

    def body(self) -> dict:
        out: dict[str, Any] = {"__type": self.type, "Message": self.message}
        if self.turk_code:
            out["TurkErrorCode"] = self.turk_code
        return out


def request_error(message: str, turk_code: str = "AWS.MechanicalTurk.InvalidParameterValue") -> ApiError:
    return ApiError("RequestError", message, status=400, turk_code=turk_code)


def service_fault() -> ApiError:
    return ApiError(
        "ServiceFault",
        "We encountered an internal error. Please try the request again.",
        status=500,
        turk_code="AWS.MechanicalTurk.ServiceFault",
    )


# ---------------------------------------------------------------- validation against the model


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _render(value: Any) -> str:
    return "null" if value is None else f"'{value}'"


def validate_input(shape, params: Any) -> None:
    """Check `params` against the operation's input shape as AWS does; raise ApiError on the first kind of problem.

    Type mismatches are SerializationException (the service cannot even read them); constraint
    violations are collected into one ValidationException, worded like AWS's.
    """
    if shape is None:
        return
    problems: list[str] = []
    _check(shape, params, "", problems)
    if problems:
        n = len(problems)
        raise ApiError(
            "ValidationException",
            f"{n} validation error{'s' if n != 1 else ''} detected: " + "; ".join(problems),
            stamp=False,
        )


def _check(shape, value: Any, path: str, problems: list[str]) -> None:
    t = shape.type_name
    meta = shape.metadata
    where = path or "input"
    if t == "structure":
        if not isinstance(value, dict):
            raise ApiError("SerializationException", f"Expected a structure at '{where}'", stamp=False)
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(
                    f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null"
                )
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is not None and member_value is not None:
                _check(member, member_value, _join(path, name), problems)
        return
    if t == "list":
        if not isinstance(value, list):
            raise ApiError("SerializationException", f"Expected a list at '{where}'", stamp=False)
        _check_length(len(value), meta, value, path, problems)
        for i, item in enumerate(value, 1):
            _check(shape.member, item, f"{path}.{i}.member", problems)
        return
    if t == "string":
        if not isinstance(value, str):
            raise ApiError("SerializationException", f"Expected a string at '{where}'", stamp=False)
        if "enum" in meta and value not in meta["enum"]:
            problems.append(
                f"Value {_render(value)} at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(meta['enum'])}]"
            )
        _check_length(len(value), meta, value, path, problems)
        pattern = meta.get("pattern")
        if pattern and re.fullmatch(pattern, value) is None:
            problems.append(
                f"Value {_render(value)} at '{path}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {pattern}"
            )
        return
    if t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError("SerializationException", f"Expected a number at '{where}'", stamp=False)
        if "min" in meta and value < meta["min"]:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {meta['min']}"
            )
        if "max" in meta and value > meta["max"]:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value less than or equal to {meta['max']}"
            )
        return
    if t in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ApiError("SerializationException", f"Expected a number at '{where}'", stamp=False)
        return
    if t == "boolean":
        if not isinstance(value, bool):
            raise ApiError("SerializationException", f"Expected a boolean at '{where}'", stamp=False)
        return
    if t == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ApiError("SerializationException", f"Expected a timestamp at '{where}'", stamp=False)
        return
    if t == "map":
        if not isinstance(value, dict):
            raise ApiError("SerializationException", f"Expected a map at '{where}'", stamp=False)
        for k, v in value.items():
            _check(shape.value, v, f"{path}.{k}", problems)
        return


def _join(path: str, name: str) -> str:
    return f"{path}.{_lower_camel(name)}" if path else _lower_camel(name)


def _check_length(n: int, meta: dict, value: Any, path: str, problems: list[str]) -> None:
    shown = _render(value) if isinstance(value, str) else "'[...]'"
    if "min" in meta and n < meta["min"]:
        problems.append(
            f"Value {shown} at '{path}' failed to satisfy constraint: "
            f"Member must have length greater than or equal to {meta['min']}"
        )
    if "max" in meta and n > meta["max"]:
        problems.append(
            f"Value {shown} at '{path}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {meta['max']}"
        )


# ---------------------------------------------------------------- seeding from batch files

_TZ_OFFSETS = {"UTC": 0, "GMT": 0, "Z": 0, "PST": -8, "PDT": -7, "MST": -7, "MDT": -6, "CST": -6, "CDT": -5, "EST": -5, "EDT": -4}


def parse_batch_time(text: str) -> float | None:
    """Batch-file times ("Sun Nov 12 08:19:59 PST 2017", "2018-10-08 17:46:38 UTC") -> epoch seconds.

    None for blank or unrecognised text: the field is then left out of API answers, as the
    service leaves out times that do not apply.
    """
    t = (text or "").strip()
    if not t:
        return None
    parts = t.split()
    try:
        if len(parts) == 6 and parts[4].upper() in _TZ_OFFSETS:
            _dow, mon, day, hms, tz, year = parts
            naive = datetime.strptime(f"{mon} {day} {year} {hms}", "%b %d %Y %H:%M:%S")
            return (naive - timedelta(hours=_TZ_OFFSETS[tz.upper()])).replace(tzinfo=timezone.utc).timestamp()
        if len(parts) == 3 and parts[2].upper() in _TZ_OFFSETS:
            naive = datetime.strptime(f"{parts[0]} {parts[1]}", "%Y-%m-%d %H:%M:%S")
            return (naive - timedelta(hours=_TZ_OFFSETS[parts[2].upper()])).replace(tzinfo=timezone.utc).timestamp()
        parsed = datetime.fromisoformat(t.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()
    except ValueError:
        return None


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


def answer_xml(answers: Iterable[tuple[str, str]]) -> str:
    """Answer.* columns -> the QuestionFormAnswers XML the API returns as Assignment.Answer."""
    parts = [
        '<?xml version="1.0" encoding="ASCII"?>'
        '<QuestionFormAnswers xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd">'
    ]
    for name, value in answers:
        parts.append(
            f"<Answer><QuestionIdentifier>{_xml_escape(name)}</QuestionIdentifier>"
            f"<FreeText>{_xml_escape(value)}</FreeText></Answer>"
        )
    parts.append("</QuestionFormAnswers>")
    # Declared ASCII (as the service does), so anything else travels as character references.
    return "".join(parts).encode("ascii", "xmlcharrefreplace").decode("ascii")


def _batch_rows(paths: list[str]) -> list[tuple[str, int, dict[str, str]]]:
    """(path, row, column->value) for every unique assignment of the batch files.

    A plain csv read of the header and rows, on purpose: a fake shares no code with the client it
    tests (the project's importers), so a bug there cannot hide in both."""
    out: list[tuple[str, int, dict[str, str]]] = []
    seen: set[str] = set()
    for path in paths:
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                records = list(csv.reader(fh))
        except OSError as exc:
            raise InputError(f"{path}: cannot read the batch file ({exc.strerror or exc}).") from exc
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not a UTF-8 MTurk batch results CSV.") from exc
        if not records or "AssignmentId" not in records[0]:
            raise InputError(f"{path}: not an MTurk batch results CSV (no AssignmentId column).")
        header = records[0]
        for n, rec in enumerate(records[1:], start=2):
            if not any(cell.strip() for cell in rec):
                continue
            row = {col: (rec[i] if i < len(rec) else "") for i, col in enumerate(header)}
            aid = row.get("AssignmentId", "")
            if aid and aid not in seen:
                seen.add(aid)
                out.append((path, n, row))
    return out


# ---------------------------------------------------------------- state


@dataclass
class Hit:
    hit_id: str
    hit_type_id: str
    title: str
    description: str
    keywords: str
    reward: Decimal
    max_assignments: int
    requester_annotation: str
    creation_time: float | None
    expiration: float | None
    assignment_duration: int | None
    auto_approval_delay: int | None
    assignment_ids: list[str] = field(default_factory=list)


@dataclass
class AssignmentState:
    assignment_id: str
    worker_id: str
    hit_id: str
    status: str
    accept_time: float | None
    submit_time: float | None
    auto_approval_time: float | None
    approval_time: float | None
    rejection_time: float | None
    requester_feedback: str
    answer: str


@dataclass
class Bonus:
    worker_id: str
    assignment_id: str
    hit_id: str
    amount: Decimal
    reason: str
    grant_time: float
    token: str | None


def fee_for(amount: Decimal, *, is_reward: bool, max_assignments: int = 1) -> Decimal:
    """MTurk's commission: 20% (plus 20% more on rewards of HITs with 10+ assignments), at least $0.01.

    Written here independently of the client's own fee code, so the two can check each other.
    """
    if amount <= 0:
        return Decimal("0.00")
    rate = Decimal("0.20")
    if is_reward and max_assignments >= 10:
        rate += Decimal("0.20")
    return max((amount * rate).quantize(CENT, rounding=ROUND_HALF_UP), CENT)


class MTurkState:
    """Everything the emulated account knows. Every method is called with `lock` held."""

    def __init__(self, balance: Decimal, rng: random.Random) -> None:
        self.lock = threading.Lock()
        self.balance = balance
        self.rng = rng
        self.hits: dict[str, Hit] = {}
        self.assignments: dict[str, AssignmentState] = {}
        self.bonuses: list[Bonus] = []
        self.bonuses_by_assignment: dict[str, list[Bonus]] = {}
        self.bonuses_by_hit: dict[str, list[Bonus]] = {}
        self.tokens: dict[str, float] = {}
        self.qualification_types: dict[str, dict] = {}
        self.qualification_grants: dict[str, dict[str, int]] = {}
        self.notifications: list[dict] = []
        self.calls: dict[str, int] = {}
        self.effective: dict[str, int] = {}
        self.counters = {"throttled": 0, "faults": 0, "dropped": 0, "errors": 0}

    # -- seeding

    def seed_from_rows(self, rows: list[tuple[str, int, dict[str, str]]], *, now: float | None = None) -> None:
        """Create HITs and assignments as the batch files show them, as of `now` (default: the real time):
        a Submitted assignment whose AutoApprovalTime has passed by then starts Approved, because MTurk
        approves it automatically at that moment (and then refuses to reject it)."""
        now = time.time() if now is None else now
        for path, n, row in rows:
            hit_id = row.get("HITId", "").strip()
            aid = row.get("AssignmentId", "").strip()
            if not hit_id or not aid:
                continue
            hit = self.hits.get(hit_id)
            if hit is None:
                reward_text = row.get("Reward", "").strip()
                try:
                    reward = parse_amount(reward_text) if reward_text else Decimal("0.00")
                except AmountError as exc:
                    raise InputError(f"{path}: row {n}, column Reward: {exc}.") from exc
                hit = Hit(
                    hit_id=hit_id,
                    hit_type_id=row.get("HITTypeId", "").strip(),
                    title=row.get("Title", ""),
                    description=row.get("Description", ""),
                    keywords=row.get("Keywords", ""),
                    reward=reward,
                    max_assignments=_int_or_none(row.get("MaxAssignments")) or 1,
                    requester_annotation=row.get("RequesterAnnotation", ""),
                    creation_time=parse_batch_time(row.get("CreationTime", "")),
                    expiration=parse_batch_time(row.get("Expiration", "")),
                    assignment_duration=_int_or_none(row.get("AssignmentDurationInSeconds")),
                    auto_approval_delay=_int_or_none(row.get("AutoApprovalDelayInSeconds")),
                )
                self.hits[hit_id] = hit
            if aid in self.assignments:
                continue
            status = row.get("AssignmentStatus", "").strip() or "Submitted"
            if status not in ("Submitted", "Approved", "Rejected"):
                status = "Submitted"
            auto_approval = parse_batch_time(row.get("AutoApprovalTime", ""))
            approval_time = parse_batch_time(row.get("ApprovalTime", ""))
            if status == "Submitted" and auto_approval is not None and auto_approval <= now:
                status, approval_time = "Approved", auto_approval
            answers = [(col[len("Answer.") :], val) for col, val in row.items() if col.startswith("Answer.")]
            self.assignments[aid] = AssignmentState(
                assignment_id=aid,
                worker_id=row.get("WorkerId", "").strip(),
                hit_id=hit_id,
                status=status,
                accept_time=parse_batch_time(row.get("AcceptTime", "")),
                submit_time=parse_batch_time(row.get("SubmitTime", "")),
                auto_approval_time=auto_approval,
                approval_time=approval_time,
                rejection_time=parse_batch_time(row.get("RejectionTime", "")),
                requester_feedback=row.get("RequesterFeedback", ""),
                answer=answer_xml(answers),
            )
            hit.assignment_ids.append(aid)

    # -- helpers

    def new_id(self) -> str:
        return "3" + "".join(self.rng.choice(_ID_ALPHABET) for _ in range(29))

    def assignment(self, aid: str) -> AssignmentState:
        a = self.assignments.get(aid)
        if a is None:
            raise request_error(f"Assignment {aid} does not exist.", "AWS.MechanicalTurk.AssignmentDoesNotExist")
        return a

    def hit(self, hit_id: str) -> Hit:
        h = self.hits.get(hit_id)
        if h is None:
            raise request_error(f"Hit {hit_id} does not exist.", "AWS.MechanicalTurk.HITDoesNotExist")
        return h

    def charge(self, amount: Decimal) -> None:
        if amount > self.balance:
            raise request_error(
                "This Requester has insufficient funds in their account to complete this transaction. "
                "Please visit https://requester.mturk.com/account to purchase more.",
                "AWS.MechanicalTurk.InsufficientFunds",
            )
        self.balance -= amount

    def paginate(self, op: str, items: list, params: dict, key: str) -> dict:
        size = params.get("MaxResults") or DEFAULT_PAGE_SIZE
        start = 0
        token = params.get("NextToken")
        if token:
            start = _decode_token(token, op)
        page = items[start : start + size]
        out: dict[str, Any] = {"NumResults": len(page), key: page}
        if start + size < len(items):
            out["NextToken"] = _encode_token(op, start + size)
        return out

    # -- shapes of answers

    def assignment_json(self, a: AssignmentState) -> dict:
        out: dict[str, Any] = {
            "AssignmentId": a.assignment_id,
            "WorkerId": a.worker_id,
            "HITId": a.hit_id,
            "AssignmentStatus": a.status,
            "Answer": a.answer,
        }
        hit = self.hits.get(a.hit_id)
        times = {
            "AutoApprovalTime": a.auto_approval_time,
            "AcceptTime": a.accept_time,
            "SubmitTime": a.submit_time,
            "ApprovalTime": a.approval_time,
            "RejectionTime": a.rejection_time,
        }
        if a.accept_time is not None and hit is not None and hit.assignment_duration is not None:
            times["Deadline"] = a.accept_time + hit.assignment_duration
        out.update({k: v for k, v in times.items() if v is not None})
        if a.requester_feedback:
            out["RequesterFeedback"] = a.requester_feedback
        return out

    def hit_json(self, h: Hit) -> dict:
        assignments = [self.assignments[aid] for aid in h.assignment_ids]
        expired = h.expiration is not None and h.expiration <= time.time()
        out: dict[str, Any] = {
            "HITId": h.hit_id,
            "Title": h.title,
            "Description": h.description,
            "Keywords": h.keywords,
            "HITStatus": "Reviewable" if expired else "Assignable",
            "MaxAssignments": h.max_assignments,
            "Reward": f"{h.reward:.2f}",
            "RequesterAnnotation": h.requester_annotation,
            "HITReviewStatus": "NotReviewed",
            "NumberOfAssignmentsPending": 0,
            "NumberOfAssignmentsAvailable": 0 if expired else max(0, h.max_assignments - len(assignments)),
            "NumberOfAssignmentsCompleted": sum(1 for a in assignments if a.status != "Submitted"),
        }
        if h.hit_type_id:
            out["HITTypeId"] = h.hit_type_id
            out["HITGroupId"] = h.hit_type_id
        for key, value in (
            ("CreationTime", h.creation_time),
            ("Expiration", h.expiration),
            ("AssignmentDurationInSeconds", h.assignment_duration),
            ("AutoApprovalDelayInSeconds", h.auto_approval_delay),
        ):
            if value is not None:
                out[key] = value
        return out

    @staticmethod
    def bonus_json(b: Bonus) -> dict:
        return {
            "WorkerId": b.worker_id,
            "BonusAmount": f"{b.amount:.2f}",
            "AssignmentId": b.assignment_id,
            "Reason": b.reason,
            "GrantTime": b.grant_time,
        }

    # -- operations (params already validated against the model)

    def op_GetAccountBalance(self, p: dict) -> dict:
        return {"AvailableBalance": f"{self.balance:.2f}", "OnHoldBalance": "0.00"}

    def op_GetAssignment(self, p: dict) -> dict:
        a = self.assignment(p["AssignmentId"])
        return {"Assignment": self.assignment_json(a), "HIT": self.hit_json(self.hits[a.hit_id])}

    def op_GetHIT(self, p: dict) -> dict:
        return {"HIT": self.hit_json(self.hit(p["HITId"]))}

    def op_ListHITs(self, p: dict) -> dict:
        return self.paginate("ListHITs", [self.hit_json(h) for h in self.hits.values()], p, "HITs")

    def op_ListAssignmentsForHIT(self, p: dict) -> dict:
        h = self.hit(p["HITId"])
        wanted = set(p.get("AssignmentStatuses") or ("Submitted", "Approved", "Rejected"))
        items = [self.assignment_json(self.assignments[aid]) for aid in h.assignment_ids if self.assignments[aid].status in wanted]
        return self.paginate("ListAssignmentsForHIT", items, p, "Assignments")

    def op_ListBonusPayments(self, p: dict) -> dict:
        hit_id, aid = p.get("HITId"), p.get("AssignmentId")
        if bool(hit_id) == bool(aid):
            raise request_error("Exactly one of HITId or AssignmentId must be specified.")
        if aid:
            self.assignment(aid)
            items = [self.bonus_json(b) for b in self.bonuses_by_assignment.get(aid, ())]
        else:
            self.hit(str(hit_id))
            items = [self.bonus_json(b) for b in self.bonuses_by_hit.get(str(hit_id), ())]
        return self.paginate("ListBonusPayments", items, p, "BonusPayments")

    def _check_feedback(self, p: dict) -> str:
        feedback = p.get("RequesterFeedback") or ""
        if len(feedback) > FEEDBACK_MAX_CHARS:
            raise request_error(
                f"The value of RequesterFeedback is too long: it can be at most {FEEDBACK_MAX_CHARS} characters."
            )
        return feedback

    def op_ApproveAssignment(self, p: dict) -> dict:
        a = self.assignment(p["AssignmentId"])
        feedback = self._check_feedback(p)
        allowed = ("Submitted", "Rejected") if p.get("OverrideRejection") else ("Submitted",)
        if a.status not in allowed:
            raise request_error(
                f"This operation can be called with a status of: {', '.join(allowed)}",
                "AWS.MechanicalTurk.InvalidAssignmentState",
            )
        # MTurk is prepaid: the reward and its fees left the available balance when the HIT was
        # published, so approving draws nothing more (the seeded --balance is what is left after that).
        a.status = "Approved"
        a.approval_time = time.time()
        a.rejection_time = None
        if feedback:
            a.requester_feedback = feedback
        return {}

    def op_RejectAssignment(self, p: dict) -> dict:
        a = self.assignment(p["AssignmentId"])
        feedback = self._check_feedback(p)
        if a.status != "Submitted":
            raise request_error(
                "This operation can be called with a status of: Submitted",
                "AWS.MechanicalTurk.InvalidAssignmentState",
            )
        a.status = "Rejected"
        a.rejection_time = time.time()
        a.requester_feedback = feedback
        return {}

    def op_SendBonus(self, p: dict) -> dict:
        token = p.get("UniqueRequestToken")
        now = time.time()
        if token is not None:
            seen = self.tokens.get(token)
            if seen is not None and now - seen < TOKEN_MEMORY_SECONDS:
                raise request_error(
                    f'The idempotency token "{token}" has already been processed.',
                    "AWS.MechanicalTurk.DuplicateRequest",
                )
        a = self.assignment(p["AssignmentId"])
        if a.worker_id != p["WorkerId"]:
            raise request_error(
                f"Worker {p['WorkerId']} did not work on assignment {a.assignment_id}; "
                "a bonus can only be paid to the worker who submitted the assignment.",
            )
        amount = Decimal(p["BonusAmount"]).quantize(CENT)
        if amount <= 0:
            raise request_error("The bonus amount must be greater than $0.00.")
        if not p["Reason"].strip():
            raise request_error("A reason for the bonus is required.")
        self.charge(amount + fee_for(amount, is_reward=False))
        bonus = Bonus(a.worker_id, a.assignment_id, a.hit_id, amount, p["Reason"], now, token)
        self.bonuses.append(bonus)
        self.bonuses_by_assignment.setdefault(a.assignment_id, []).append(bonus)
        self.bonuses_by_hit.setdefault(a.hit_id, []).append(bonus)
        if token is not None:
            self.tokens[token] = now
        return {}

    def op_CreateQualificationType(self, p: dict) -> dict:
        if any(q["Name"] == p["Name"] for q in self.qualification_types.values()):
            raise request_error(
                "You have already created a QualificationType with this name. A QualificationType's name "
                "must be unique among all of the QualificationTypes created by the same user.",
            )
        qid = self.new_id()
        q = {
            "QualificationTypeId": qid,
            "CreationTime": time.time(),
            "Name": p["Name"],
            "Description": p["Description"],
            "Keywords": p.get("Keywords", ""),
            "QualificationTypeStatus": p["QualificationTypeStatus"],
            "IsRequestable": bool(p.get("Test")) or False,
            "AutoGranted": bool(p.get("AutoGranted", False)),
        }
        if p.get("RetryDelayInSeconds") is not None:
            q["RetryDelayInSeconds"] = p["RetryDelayInSeconds"]
        if p.get("AutoGranted") and p.get("AutoGrantedValue") is not None:
            q["AutoGrantedValue"] = p["AutoGrantedValue"]
        self.qualification_types[qid] = q
        self.qualification_grants[qid] = {}
        return {"QualificationType": dict(q)}

    def op_GetQualificationType(self, p: dict) -> dict:
        q = self.qualification_types.get(p["QualificationTypeId"])
        if q is None:
            raise request_error(f"QualificationType {p['QualificationTypeId']} does not exist.")
        return {"QualificationType": dict(q)}

    def op_AssociateQualificationWithWorker(self, p: dict) -> dict:
        qid = p["QualificationTypeId"]
        if qid not in self.qualification_types:
            raise request_error(f"QualificationType {qid} does not exist.")
        self.qualification_grants[qid][p["WorkerId"]] = p.get("IntegerValue", 1)
        return {}

    def op_NotifyWorkers(self, p: dict) -> dict:
        workers = p["WorkerIds"]
        if not workers or len(workers) > NOTIFY_MAX_WORKERS:
            raise request_error(f"WorkerIds must list between 1 and {NOTIFY_MAX_WORKERS} workers.")
        known = {a.worker_id for a in self.assignments.values()}
        failures = []
        for w in workers:
            if w in known:
                self.notifications.append({"WorkerId": w, "Subject": p["Subject"], "MessageText": p["MessageText"]})
            else:
                failures.append(
                    {
                        "NotifyWorkersFailureCode": "HardFailure",
                        "NotifyWorkersFailureMessage": f"Cannot send notification because worker {w} has not worked for you.",
                        "WorkerId": w,
                    }
                )
        return {"NotifyWorkersFailureStatuses": failures}

    # -- observability (not MTurk's API)

    def stats(self) -> dict:
        mutating = sum(n for op, n in self.calls.items() if op in MUTATING_OPERATIONS)
        return {
            "calls": dict(self.calls),
            "effective": dict(self.effective),
            "total_calls": sum(self.calls.values()),
            "mutating_calls": mutating,
            "effective_mutations": sum(self.effective.values()),
            **self.counters,
        }

    def reset_stats(self) -> None:
        self.calls.clear()
        self.effective.clear()
        for k in self.counters:
            self.counters[k] = 0

    def snapshot(self) -> dict:
        return {
            "balance": f"{self.balance:.2f}",
            "assignments": {
                a.assignment_id: {
                    "status": a.status,
                    "worker_id": a.worker_id,
                    "hit_id": a.hit_id,
                    "requester_feedback": a.requester_feedback,
                    "approval_time": a.approval_time,
                    "rejection_time": a.rejection_time,
                }
                for a in self.assignments.values()
            },
            "bonuses": [
                {
                    "assignment_id": b.assignment_id,
                    "worker_id": b.worker_id,
                    "hit_id": b.hit_id,
                    "amount": f"{b.amount:.2f}",
                    "reason": b.reason,
                    "grant_time": b.grant_time,
                    "token": b.token,
                }
                for b in self.bonuses
            ],
            "qualification_types": {qid: q["Name"] for qid, q in self.qualification_types.items()},
            "qualification_grants": {qid: dict(g) for qid, g in self.qualification_grants.items()},
            "notifications": list(self.notifications),
        }


def _encode_token(op: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{op}:{offset}".encode()).decode().rstrip("=")


def _decode_token(token: str, op: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        name, _, offset = raw.partition(":")
        if name != op or not offset.isdigit():
            raise ValueError
        return int(offset)
    except (ValueError, UnicodeDecodeError):
        raise request_error("The pagination token is invalid.") from None


# ---------------------------------------------------------------- faults


class TokenBucket:
    """`rate` requests a second, with bursts of up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True
            return False


@dataclass(frozen=True)
class FaultConfig:
    throttle: float | None = None
    latency_ms: int = 0
    fault_rate: float = 0.0
    drop_response_rate: float = 0.0


# ---------------------------------------------------------------- HTTP


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, state: MTurkState, faults: FaultConfig) -> None:
        super().__init__(addr, _Handler)
        self.state = state
        self.faults = faults
        self.bucket = TokenBucket(faults.throttle) if faults.throttle else None

    def handle_error(self, request, client_address) -> None:
        # A client that vanishes mid-call (killed payer, timeout) is routine here, not a crash.
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects
    wbufsize = 1 << 16  # headers and body leave in one write (no Nagle/delayed-ACK stalls)
    server: _Server
    server_version = "Server"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet by design: request logs would be noise, and headers carry signatures.
        pass

    def _send_json(self, status: int, body: dict, *, request_id: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("x-amzn-RequestId", request_id or str(uuid.uuid4()))
        self.send_header("Content-Type", JSON_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # -- observability endpoints

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/__emulator/stats":
            with state.lock:
                body = state.stats()
        elif self.path == "/__emulator/state":
            with state.lock:
                body = state.snapshot()
        else:
            self._send_json(404, {"message": "Not Found"})
            return
        self._send_json(200, body)

    def do_POST(self) -> None:
        body = self._read_body()
        if self.path == "/__emulator/reset-stats":
            with self.server.state.lock:
                self.server.state.reset_stats()
            self._send_json(200, {"ok": True})
            return
        if self.path != "/":
            self._send_json(404, {"__type": "UnknownOperationException", "Message": None})
            return
        self._api_call(body)

    # -- the MTurk API

    def _api_call(self, body: bytes) -> None:
        server, state, faults = self.server, self.server.state, self.server.faults
        target = self.headers.get("X-Amz-Target", "")
        op = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
        with state.lock:
            state.calls[op or "?"] = state.calls.get(op or "?", 0) + 1
            # Drawn for every call in a fixed order, so one seed gives one sequence of faults.
            fault_draw = state.rng.random()
            drop_draw = state.rng.random()

        auth = self.headers.get("Authorization", "")
        if not auth:
            return self._error(ApiError("MissingAuthenticationTokenException", "Missing Authentication Token", stamp=False))
        if not auth.startswith("AWS4-HMAC-SHA256 ") or "Signature=" not in auth or "Credential=" not in auth:
            return self._error(
                ApiError("IncompleteSignatureException", "Authorization header requires a SigV4 Credential and Signature.", stamp=False)
            )
        if server.bucket is not None and not server.bucket.take():
            with state.lock:
                state.counters["throttled"] += 1
            return self._error(ApiError("ThrottlingException", "Rate exceeded", stamp=False))
        if faults.latency_ms > 0:
            time.sleep(faults.latency_ms / 1000.0)
        if fault_draw < faults.fault_rate:
            with state.lock:
                state.counters["faults"] += 1
            return self._error(service_fault())

        result: dict | ApiError
        try:
            result = self._dispatch(op, body)
        except ApiError as err:
            result = err

        if drop_draw < faults.drop_response_rate:
            with state.lock:
                state.counters["dropped"] += 1
            # The action (if any) is done; the client never hears about it.
            self.close_connection = True
            return None
        if isinstance(result, ApiError):
            return self._error(result)
        self._send_json(200, result)
        return None

    def _dispatch(self, op: str, body: bytes) -> dict:
        model = service_model()
        if not op or op not in model.operation_names:
            raise ApiError("UnknownOperationException", f"Operation {op or '(none)'} is not supported by this service.", stamp=False)
        handler: Callable[[dict], dict] | None = getattr(self.server.state, f"op_{op}", None)
        if handler is None:
            raise ApiError("UnknownOperationException", f"The emulator does not implement {op}.", stamp=False)
        try:
            params = json.loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError("SerializationException", "The request body is not valid JSON.", stamp=False) from None
        validate_input(model.operation_model(op).input_shape, params)
        state = self.server.state
        with state.lock:
            result = handler(params)
            if op in MUTATING_OPERATIONS:
                state.effective[op] = state.effective.get(op, 0) + 1
        return result

    def _error(self, err: ApiError) -> None:
        if err.type not in ("ThrottlingException",):
            with self.server.state.lock:
                self.server.state.counters["errors"] += 1
        self._send_json(err.status, err.body())


# ---------------------------------------------------------------- running it


def build_server(
    batch_paths: list[str] | None = None,
    *,
    throttle: float | None = None,
    latency_ms: int = 0,
    fault_rate: float = 0.0,
    drop_response_rate: float = 0.0,
    balance: str = "10000.00",
    seed: int = 0,
    port: int = 0,
    as_of: str | None = None,
) -> _Server:
    """Validate options, seed the state from the batch files and bind 127.0.0.1:port (not yet serving)."""
    try:
        start_balance = parse_amount(str(balance))
    except AmountError as exc:
        raise InputError(f"--balance: {exc}.") from exc
    for name, rate in (("--fault-rate", fault_rate), ("--drop-response-rate", drop_response_rate)):
        if not 0.0 <= rate <= 1.0:
            raise InputError(f"{name} must be a probability between 0 and 1, got {rate}.")
    if throttle is not None and throttle <= 0:
        raise InputError(f"--throttle must be a positive number of requests per second, got {throttle}.")
    if latency_ms < 0:
        raise InputError(f"--latency-ms must not be negative, got {latency_ms}.")
    seed_time = None
    if as_of is not None:
        seed_time = parse_batch_time(as_of)
        if seed_time is None:
            raise InputError(f"--as-of {as_of!r} is not a time like 2017-11-13T12:00:00Z or 'Mon Nov 13 12:00:00 PST 2017'.")
    state = MTurkState(start_balance, random.Random(seed))
    if batch_paths:
        state.seed_from_rows(_batch_rows([str(p) for p in batch_paths]), now=seed_time)
    service_model()  # load now, not on the first request
    faults = FaultConfig(throttle, latency_ms, fault_rate, drop_response_rate)
    try:
        return _Server(("127.0.0.1", port), state, faults)
    except OSError as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); choose another --port or 0.") from exc


class RunningEmulator:
    """An emulator serving in a background thread. Use as a context manager, or call stop()."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self.port = server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name=f"mturk-emulator-{self.port}")
        self._thread.start()
        self._stopped = False

    def stats(self) -> dict:
        with self._server.state.lock:
            return self._server.state.stats()

    def state(self) -> dict:
        with self._server.state.lock:
            return self._server.state.snapshot()

    def reset_stats(self) -> None:
        with self._server.state.lock:
            self._server.state.reset_stats()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "RunningEmulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(
    batch_paths: list[str] | None = None,
    *,
    throttle: float | None = None,
    latency_ms: int = 0,
    fault_rate: float = 0.0,
    drop_response_rate: float = 0.0,
    balance: str = "10000.00",
    seed: int = 0,
    port: int = 0,
    as_of: str | None = None,
) -> RunningEmulator:
    """Start an emulator on 127.0.0.1 in a background thread; it is ready when this returns."""
    server = build_server(
        batch_paths,
        throttle=throttle,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        drop_response_rate=drop_response_rate,
        balance=balance,
        seed=seed,
        port=port,
        as_of=as_of,
    )
    return RunningEmulator(server)


def serve_until_signalled(
    batch_paths: list[str] | None = None,
    *,
    announce: Callable[[str], None] = print,
    **options: Any,
) -> dict:
    """Serve in the foreground until SIGINT or SIGTERM; announce the URL once ready. Returns final stats."""
    server = build_server(batch_paths, **options)
    stop = threading.Event()

    def _on_signal(signum, frame):  # noqa: ARG001 - signal handler signature
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    worker.start()
    try:
        announce(f"listening on http://127.0.0.1:{server.server_address[1]}")
        while not stop.wait(0.2):
            pass
    finally:
        server.shutdown()
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    with server.state.lock:
        return server.state.stats()
