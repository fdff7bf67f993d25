"""The Prolific API's routes: request parsing, both pagination models, and one handler per endpoint.

Handlers run with the state lock held and answer an Answer or raise ApiError (Prolific's error
envelope). Status codes, shapes and validation follow PROLIFIC.md §1 and §7.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Callable
from urllib.parse import urlencode

from .prolific_export import STATUSES, normalise_status, write_export_2024
from .prolific_state import (
    USER_ID,
    WORKSPACE_ID,
    Answer,
    ApiError,
    BulkBonus,
    Pending,
    ProlificState,
    Study,
    Submission,
    fixed_id,
    not_found,
    decimal_json_text,
)

DEFAULT_PAGE_SIZE = 20
REJECT_MESSAGE_MIN = 100
REJECTION_CATEGORIES = (
    "TOO_QUICKLY",
    "TOO_SLOWLY",
    "FAILED_INSTRUCTIONS",
    "INCOMP_LONGITUDINAL",
    "FAILED_CHECK",
    "LOW_EFFORT",
    "MALINGERING",
    "NO_CODE",
    "BAD_CODE",
    "NO_DATA",
    "UNSUPP_DEVICE",
    "OTHER",
)
ORDERING_FIELDS = ("started_at", "completed_at", "status", "ip", "time_taken", "participant_id", "study_code")
COUNT_KEYS = (
    "ACTIVE",
    "APPROVED",
    "AWAITING REVIEW",
    "REJECTED",
    "RESERVED",
    "RETURNED",
    "TIMED-OUT",
    "PARTIALLY APPROVED",
    "SCREENED OUT",
)
TERMINAL_BY_ACTION = {"APPROVE": "APPROVED", "REJECT": "REJECTED"}
BULK_APPROVE_ANSWER = "The request to bulk approve has been made successfully."
PAY_ANSWER = "Bulk bonus payment with ID {bid} is being processed asynchronously. Payments will be completed shortly."
_AMOUNT_RE = re.compile(r"^\d+(?:\.\d{1,2})?$")  # csv_bonuses: major units, no sign, no exponent


@dataclass
class Request:
    method: str
    params: dict[str, str]
    query: dict[str, list[str]]
    raw_body: bytes
    path: str  # canonical, with a trailing slash
    base_url: str
    now: float
    pay_entry: dict | None = None  # a pay call's audit entry, which its handler fills in
    effective: bool = False  # set by a handler whose call changed something

    def json(self) -> Any:
        if not self.raw_body.strip():
            return {}
        try:
            return json.loads(self.raw_body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(400, "JSON parse error: the request body is not valid JSON.") from None

    def json_object(self) -> dict:
        body = self.json()
        if not isinstance(body, dict):
            raise ApiError(400, "Invalid data. Expected a dictionary (a JSON object).")
        return body

    def one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


def _int_param(req: Request, name: str, default: int, minimum: int) -> int:
    text = req.one(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, {name: ["A valid integer is required."]}) from None
    if value < minimum:
        raise ApiError(400, {name: [f"Ensure this value is greater than or equal to {minimum}."]})
    return value


def _link(href: str | None, title: str) -> dict:
    return {"href": href, "title": title}


def _href(req: Request, **changes: Any) -> str:
    query = {k: v[-1] for k, v in req.query.items()}
    query.update({k: str(v) for k, v in changes.items()})
    return f"{req.base_url}{req.path}?{urlencode(query)}"


def _offset_page(req: Request, items: list, shape: Callable[[Any], dict]) -> Answer:
    limit = _int_param(req, "limit", DEFAULT_PAGE_SIZE, 1)
    offset = _int_param(req, "offset", 0, 0)
    count = len(items)
    last = ((count - 1) // limit) * limit if count else 0
    return Answer(
        200,
        {
            "results": [shape(x) for x in items[offset : offset + limit]],
            "_links": {
                "self": _link(_href(req, limit=limit, offset=offset), "Current"),
                "next": _link(_href(req, limit=limit, offset=offset + limit) if offset + limit < count else None, "Next"),
                "previous": _link(_href(req, limit=limit, offset=max(0, offset - limit)) if offset > 0 else None, "Previous"),
                "last": _link(_href(req, limit=limit, offset=last), "Last"),
            },
            "meta": {"count": count},
        },
    )


def _numbered_page(req: Request, items: list, shape: Callable[[Any], dict]) -> Answer:
    size = _int_param(req, "page_size", DEFAULT_PAGE_SIZE, 1)
    page = _int_param(req, "page", 1, 1)
    count = len(items)
    last = max(1, -(-count // size))
    if page > last:
        raise ApiError(404, "Invalid page.")  # what Django REST framework answers past the end
    start = (page - 1) * size
    return Answer(
        200,
        {
            "results": [shape(x) for x in items[start : start + size]],
            "_links": {
                "self": _link(_href(req, page=page, page_size=size), "Current"),
                "next": _link(_href(req, page=page + 1, page_size=size) if page < last else None, "Next"),
                "previous": _link(_href(req, page=page - 1, page_size=size) if page > 1 else None, "Previous"),
                "last": _link(_href(req, page=last, page_size=size), "Last"),
            },
            "meta": {"count": count},
        },
    )


def _study(state: ProlificState, sid: str) -> Study:
    study = state.studies.get(sid)
    if study is None:
        raise not_found("Study")
    return study


def _sorted_submissions(subs: list[Submission], ordering: str | None) -> list[Submission]:
    if not ordering:
        return subs
    descending = ordering.startswith("-")
    name = ordering[1:] if descending else ordering
    if name not in ORDERING_FIELDS:
        raise ApiError(400, {"ordering": [f"Ordering by {name!r} is not supported; use one of {', '.join(ORDERING_FIELDS)} (prefix - for descending)."]})
    keys: dict[str, Callable[[Submission], Any]] = {
        "started_at": lambda s: s.started_at,
        "completed_at": lambda s: s.completed_at,
        "status": lambda s: s.status,
        "ip": lambda s: None,
        "time_taken": lambda s: s.time_taken,
        "participant_id": lambda s: s.participant_id,
        "study_code": lambda s: s.entered_code or None,
    }
    key = keys[name]
    # Nulls last ascending and first descending (as PostgreSQL orders them); ties keep file order.
    return sorted(subs, key=lambda s: (key(s) is None, key(s) if key(s) is not None else 0), reverse=descending)


# -- handlers (called with the state lock held)


def h_me(state: ProlificState, req: Request) -> Answer:
    return Answer(
        200,
        {
            "id": USER_ID,
            "email": "researcher@emulator.invalid",
            "first_name": "Emulated",
            "last_name": "Researcher",
            "name": "Emulated Researcher",
            "username": "emulated-researcher",
            "user_type": "researcher",
            "currency_code": state.settings.currency,
            "balance": state.balance.to_integral_value(rounding=ROUND_FLOOR),
            "available_balance": state.available().to_integral_value(rounding=ROUND_FLOOR),
        },
    )


def h_workspaces(state: ProlificState, req: Request) -> Answer:
    workspace = {"id": WORKSPACE_ID, "title": "Emulated workspace", "description": "", "wallet": fixed_id("wallet"), "owner": USER_ID}
    return _offset_page(req, [workspace], lambda w: w)


def h_balance(state: ProlificState, req: Request) -> Answer:
    if req.params["wid"] != WORKSPACE_ID:
        raise not_found("Workspace")
    # Integers in minor units (spec). Fractional cents of fees stay in the exact balance and are
    # floored here, so a client never sees money it does not have.
    total = state.balance.to_integral_value(rounding=ROUND_FLOOR)
    available = state.available().to_integral_value(rounding=ROUND_FLOOR)
    return Answer(
        200,
        {
            "currency_code": state.settings.currency,
            "total_balance": total,
            "balance_breakdown": {"rewards": total, "fees": 0, "vat": 0},
            "available_balance": available,
            "available_balance_breakdown": {"rewards": available, "fees": 0, "vat": 0},
        },
    )


def h_studies(state: ProlificState, req: Request) -> Answer:
    return _offset_page(req, list(state.studies.values()), lambda s: state.study_shape(s, full=False))


def h_study(state: ProlificState, req: Request) -> Answer:
    return Answer(200, state.study_shape(_study(state, req.params["sid"]), full=True))


def h_study_submissions(state: ProlificState, req: Request) -> Answer:
    study = _study(state, req.params["sid"])
    subs = _sorted_submissions([state.submissions[s] for s in study.submission_ids], req.one("ordering"))
    return _offset_page(req, subs, lambda s: state.list_item(s, req.now))


def h_counts(state: ProlificState, req: Request) -> Answer:
    study = _study(state, req.params["sid"])
    counts = {k: 0 for k in COUNT_KEYS}
    for sid in study.submission_ids:
        counts[state.submissions[sid].status] = counts.get(state.submissions[sid].status, 0) + 1
    counts["TOTAL"] = len(study.submission_ids)
    return Answer(200, counts)


def h_cost(state: ProlificState, req: Request) -> Answer:
    study = _study(state, req.params["sid"])
    cur = state.settings.currency
    approved = sum(1 for sid in study.submission_ids if state.submissions[sid].status in ("APPROVED", "PARTIALLY APPROVED"))
    rewards = study.reward_cents * approved
    fees, tax = state.fees_for(rewards)
    b = study.settled_bonus

    def leaf(amount: Decimal) -> dict:
        return {"amount": amount, "currency": cur}

    return Answer(
        200,
        {
            "rewards": {"rewards": leaf(rewards), "fees": leaf(fees), "tax": leaf(tax)},
            "bonuses": {"rewards": leaf(b["rewards"]), "fees": leaf(b["fees"]), "tax": leaf(b["tax"])},
            "_links": {},
        },
    )


def h_demographic_export(state: ProlificState, req: Request) -> Answer:
    study = _study(state, req.params["sid"])
    body = req.json_object()
    filters = body.get("filters", [])
    if not isinstance(filters, list) or len(filters) > 15:
        raise ApiError(400, {"filters": ["Expected a list of at most 15 filters."]})
    return Answer(200, write_export_2024(state.export_rows(study), study.export.other_columns), "text/csv")


def h_export_gone(state: ProlificState, req: Request) -> Answer:
    _study(state, req.params["sid"])
    raise ApiError(410, "This endpoint was sunset after the 14th of April 2026; use POST /api/v1/studies/{id}/demographic-export/.")


def h_submissions(state: ProlificState, req: Request) -> Answer:
    subs = list(state.submissions.values())
    study_id = req.one("study")
    if study_id:
        subs = [s for s in subs if s.study_id == study_id]
    status_text = req.one("status")
    if status_text:
        status = normalise_status(status_text)
        if status is None:
            raise ApiError(400, {"status": [f"{status_text!r} is not a valid status; use one of {', '.join(STATUSES)}."]})
        subs = [s for s in subs if s.status == status]
    return _numbered_page(req, subs, lambda s: state.list_item(s, req.now))


def _submission(state: ProlificState, sub_id: str) -> Submission:
    sub = state.submissions.get(sub_id)
    if sub is None:
        raise not_found("Submission")
    return sub


def h_submission(state: ProlificState, req: Request) -> Answer:
    return Answer(200, state.detail(_submission(state, req.params["id"]), req.now))


def h_transition(state: ProlificState, req: Request) -> Answer:
    sub = _submission(state, req.params["id"])
    body = req.json_object()
    action = body.get("action")
    if action not in ("APPROVE", "REJECT", "COMPLETE"):
        raise ApiError(400, {"action": [f"{action!r} is not a valid choice; use APPROVE, REJECT or COMPLETE."]})
    if action == "COMPLETE":
        # Only researcher-actor completion codes can complete a submission; seeded studies have none.
        raise ApiError(400, {"completion_code": ["This study has no completion code with the researcher actor."]})
    if action == "REJECT":
        problems: dict[str, list[str]] = {}
        message = body.get("message")
        if not isinstance(message, str) or len(message) < REJECT_MESSAGE_MIN:
            problems["message"] = [f"A rejection needs a message of at least {REJECT_MESSAGE_MIN} characters."]
        category = body.get("rejection_category")
        if not isinstance(category, str) or category not in REJECTION_CATEGORIES:
            problems["rejection_category"] = [f"{category!r} is not a valid choice; use one of {', '.join(REJECTION_CATEGORIES)}."]
        if problems:
            raise ApiError(400, problems)
    target = TERMINAL_BY_ACTION[action]
    if sub.status == target:
        return Answer(200, state.transition_shape(sub))  # idempotent: the repeat is ignored
    if sub.status != "AWAITING REVIEW":
        raise ApiError(400, f"Submission {sub.id} is {sub.status}; only a submission AWAITING REVIEW can be {target.lower()}, and once changed a status cannot be restored.")
    sub.status = target
    sub.reviewed_at = datetime.now(timezone.utc)
    req.effective = True
    return Answer(200, state.transition_shape(sub))


def _string_list(body: dict, name: str) -> list[str]:
    value = body[name]
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ApiError(400, {name: ["Expected a list of ID strings."]})
    if not value:
        raise ApiError(400, {name: ["This list may not be empty."]})
    return value


def h_bulk_approve(state: ProlificState, req: Request) -> Answer:
    body = req.json_object()
    by_submission = "submission_ids" in body
    by_participant = "study_id" in body or "participant_ids" in body
    if by_submission == by_participant:
        raise ApiError(400, "Give either submission_ids, or study_id with participant_ids; not both, not neither.")
    change = Pending(due=req.now + state.settings.settle_ms / 1000.0, seq=state.next_seq(), kind="bulk_approve")
    if by_submission:
        ids = _string_list(body, "submission_ids")
        change.submission_ids = tuple(ids)
    else:
        if not isinstance(body.get("study_id"), str) or "participant_ids" not in body:
            raise ApiError(400, {"study_id": ["study_id and participant_ids go together."]})
        ids = _string_list(body, "participant_ids")
        _study(state, body["study_id"])
        change.study_id, change.participant_ids = body["study_id"], tuple(ids)
    if len(ids) > state.settings.bulk_max:
        raise ApiError(400, f"At most {state.settings.bulk_max} IDs per bulk approval; this request has {len(ids)}. Send sequential batches.")
    state.schedule(change)
    req.effective = True
    return Answer(200, BULK_APPROVE_ANSWER)


def h_bonus_setup(state: ProlificState, req: Request) -> Answer:
    body = req.json_object()
    problems: dict[str, list[str]] = {}
    if not isinstance(body.get("study_id"), str):
        problems["study_id"] = ["This field is required (a study ID string)."]
    if not isinstance(body.get("csv_bonuses"), str):
        problems["csv_bonuses"] = ["This field is required (text of lines <participant or submission ID>,<amount>)."]
    if problems:
        raise ApiError(400, problems)
    study = _study(state, body["study_id"])
    lines = _bonus_lines(body["csv_bonuses"])
    by_participant = _latest_by_participant(state, study)
    rows: list[tuple[str, Decimal]] = []
    unknown: list[str] = []
    for ident, cents in lines:
        sub = state.submissions.get(ident)
        if sub is None or sub.study_id != study.id:
            sub = by_participant.get(ident)
        if sub is None:
            unknown.append(ident)
        else:
            rows.append((sub.id, cents))
    if unknown:
        raise ApiError(400, {"csv_bonuses": [f"These IDs did not take part in study {study.id}: {', '.join(unknown)}."]})
    amount = sum((c for _, c in rows), Decimal(0))
    fees, vat = state.fees_for(amount)
    bid = _new_bulk_id(state)
    state.bulks[bid] = BulkBonus(bid, study.id, rows, amount, fees, vat, amount + fees + vat)
    req.effective = True
    return Answer(201, {"id": bid, "study": study.id, "amount": amount, "fees": fees, "vat": vat, "total_amount": amount + fees + vat})


def _latest_by_participant(state: ProlificState, study: Study) -> dict[str, Submission]:
    """Participant ID -> their latest submission of the study (by start time; a missing start
    time counts as earliest; later rows win ties): what a participant ID in csv_bonuses pays."""
    latest: dict[str, Submission] = {}
    for sid in study.submission_ids:
        sub = state.submissions[sid]
        held = latest.get(sub.participant_id)
        if held is None or _start_key(sub) >= _start_key(held):
            latest[sub.participant_id] = sub
    return latest


def _start_key(sub: Submission) -> tuple[bool, datetime]:
    return (sub.started_at is not None, sub.started_at or datetime.min.replace(tzinfo=timezone.utc))


def _bonus_lines(text: str) -> list[tuple[str, Decimal]]:
    """csv_bonuses -> [(ID, cents)], strictly: every bad line is named; blank lines are skipped."""
    out: list[tuple[str, Decimal]] = []
    problems: list[str] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(",")
        if len(parts) != 2 or not parts[0].strip():
            problems.append(f"Line {n}: expected <participant or submission ID>,<amount>, got {line.strip()[:80]!r}.")
            continue
        ident, amount_text = parts[0].strip(), parts[1].strip()
        if not _AMOUNT_RE.match(amount_text) or Decimal(amount_text) <= 0:
            problems.append(
                f"Line {n}: amount {amount_text[:40]!r} is not a positive decimal amount in the study currency with at most two decimal places (like 1.50)."
            )
            continue
        out.append((ident, Decimal(amount_text) * 100))
    if problems:
        raise ApiError(400, {"csv_bonuses": problems})
    if not out:
        raise ApiError(400, {"csv_bonuses": ["No bonus lines: expected lines <participant or submission ID>,<amount>."]})
    return out


def _new_bulk_id(state: ProlificState) -> str:
    while True:
        if state.settings.bonus_id_format == "uuid":
            bid = str(uuid.UUID(int=state.id_rng.getrandbits(128), version=4))
        else:
            bid = "".join(state.id_rng.choice("0123456789abcdef") for _ in range(24))
        if bid not in state.bulks:
            return bid


def h_pay(state: ProlificState, req: Request) -> Answer:
    entry = req.pay_entry if req.pay_entry is not None else {}
    bulk = state.bulks.get(req.params["bid"])
    if bulk is None:
        entry["outcome"] = "unknown bulk bonus"
        raise not_found("Bulk bonus payment")
    if state.available() < bulk.total_amount:
        entry["outcome"] = "insufficient balance"
        raise ApiError(
            400,
            f"Insufficient balance: this bulk bonus needs {decimal_json_text(bulk.total_amount)} (minor units) but the available balance is "
            f"{decimal_json_text(state.available())}.",
        )
    # NOT idempotent (Prolific's documented behaviour): every accepted call pays every row again.
    bulk.times_paid += 1
    state.reserved += bulk.total_amount
    state.schedule(Pending(due=req.now + state.settings.settle_ms / 1000.0, seq=state.next_seq(), kind="payout", bulk_id=bulk.id, pay_call=bulk.times_paid))
    entry.update({"outcome": "accepted", "accepted": True, "pay_call": bulk.times_paid})
    req.effective = True
    return Answer(202, PAY_ANSWER.format(bid=bulk.id))


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    template: str  # for stats: the path with {ids}
    handler: Callable[[ProlificState, Request], Answer]


def _route(method: str, template: str, handler: Callable[[ProlificState, Request], Answer]) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template.rstrip("/"))
    return Route(method, re.compile(regex), template, handler)


# Literal paths before the {id} paths they would otherwise match.
ROUTES = (
    _route("GET", "/api/v1/users/me/", h_me),
    _route("GET", "/api/v1/workspaces/", h_workspaces),
    _route("GET", "/api/v1/workspaces/{wid}/balance/", h_balance),
    _route("GET", "/api/v1/studies/", h_studies),
    _route("GET", "/api/v1/studies/{sid}/", h_study),
    _route("GET", "/api/v1/studies/{sid}/submissions/", h_study_submissions),
    _route("GET", "/api/v1/studies/{sid}/submissions/counts/", h_counts),
    _route("GET", "/api/v1/studies/{sid}/cost/", h_cost),
    _route("POST", "/api/v1/studies/{sid}/demographic-export/", h_demographic_export),
    _route("GET", "/api/v1/studies/{sid}/export/", h_export_gone),
    _route("GET", "/api/v1/submissions/", h_submissions),
    _route("POST", "/api/v1/submissions/bulk-approve/", h_bulk_approve),
    _route("POST", "/api/v1/submissions/bonus-payments/", h_bonus_setup),
    _route("GET", "/api/v1/submissions/{id}/", h_submission),
    _route("POST", "/api/v1/submissions/{id}/transition/", h_transition),
    _route("POST", "/api/v1/bulk-bonus-payments/{bid}/pay/", h_pay),
)
PAY_TEMPLATE = "/api/v1/bulk-bonus-payments/{bid}/pay/"


def match_route(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, path parameters, whether the path exists for some other method)."""
    bare = path.rstrip("/") or "/"
    other_method = False
    for route in ROUTES:
        m = route.pattern.fullmatch(bare)
        if m is None:
            continue
        if route.method == method:
            return route, m.groupdict(), False
        other_method = True
    return None, {}, other_method

