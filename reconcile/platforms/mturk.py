"""The MTurk platform: the one place the boto3 client that pays lives.

A thin layer: each method is one API call (or one paginated listing) and every failure comes out
as a `CallFailed` with a `kind` the executor can act on:

- "throttled":  ThrottlingException / Rate exceeded. Retry after slowing down.
- "transient":  ServiceFault, HTTP 5xx, a dropped connection, a timeout. The call may or may not
                have taken effect; retry (bonuses carry an idempotency token, approvals are checked).
- "token_used": SendBonus answered that its UniqueRequestToken was already processed: the bonus
                was paid by an earlier attempt.
- "request":    RequestError / validation: the service refused this call; retrying will not help.
(The executor adds "interrupted" for a call abandoned during Ctrl-C.)

boto3's own retries are off (total_max_attempts=1): the executor decides when to retry, with its own
pacing. Messages are kept as the service wrote them, minus the trailing timestamp, and never
contain credentials (boto3 does not echo them) or our request tokens (removed here).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..endpoints import REGION
from ..errors import ReconcileError
from ..money import AmountError, parse_amount

THROTTLE_CODES = frozenset(
    {"ThrottlingException", "Throttling", "ThrottledException", "RequestThrottled", "TooManyRequestsException", "RequestLimitExceeded"}
)
_TIMESTAMP_TAIL = re.compile(r"\s*\(\d{10,}\)\s*$")
_TOKEN_USED = re.compile(r"idempotency token .* has already been processed", re.IGNORECASE)
_WRONG_STATUS = re.compile(r"can be called with a status of", re.IGNORECASE)
_HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


class CallFailed(Exception):
    def __init__(self, kind: str, message: str, code: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code

    @property
    def wrong_status(self) -> bool:
        return self.kind == "request" and bool(_WRONG_STATUS.search(self.message))


@dataclass(frozen=True)
class BonusPayment:
    assignment_id: str
    worker_id: str
    amount: str  # as MTurk reports it, normalised to "1.50"
    reason: str


def _clean(message: str) -> str:
    message = _TIMESTAMP_TAIL.sub("", message or "").strip()
    # Our request tokens are 64 hex digits; keep them out of every message we pass on.
    return _HEX64.sub("<token>", message)


def _classify(exc: BaseException) -> CallFailed:
    from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {}) or {}
        code = str(err.get("Code", ""))
        message = str(err.get("Message", "")) or str(code)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in THROTTLE_CODES or "rate exceeded" in message.lower():
            return CallFailed("throttled", "throttled (" + _clean(message) + ")", code)
        if code == "ServiceFault" or status >= 500:
            return CallFailed("transient", f"{code or 'server error'}: {_clean(message)}", code)
        if _TOKEN_USED.search(message):
            return CallFailed("token_used", "already paid (idempotency token already processed)", code)
        return CallFailed("request", _clean(message), code)
    if isinstance(exc, (ConnectionError, HTTPClientError)):
        return CallFailed("transient", f"connection problem: {type(exc).__name__}")
    if isinstance(exc, BotoCoreError):
        return CallFailed("request", _clean(str(exc)), type(exc).__name__)
    raise exc


class MTurkPlatform:
    """MTurk requester API calls used to carry out a plan."""

    name = "mturk"

    def __init__(self, endpoint_url: str, *, max_pool_connections: int = 10, connect_timeout: float = 10.0, read_timeout: float = 60.0) -> None:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, NoCredentialsError, PartialCredentialsError, ProfileNotFound

        self.endpoint_url = endpoint_url
        try:
            session = boto3.session.Session()
            creds = session.get_credentials()
            access_key = creds.access_key if creds is not None else ""
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise ReconcileError(f"AWS credentials are incomplete ({type(exc).__name__}).",
                                 hint="Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE.") from None
        except ProfileNotFound:
            raise ReconcileError("the AWS profile named by AWS_PROFILE does not exist.",
                                 hint="Check ~/.aws/config and ~/.aws/credentials, or unset AWS_PROFILE.") from None
        except BotoCoreError as exc:  # the message may quote config files, never secrets; keep only the kind
            raise ReconcileError(f"AWS credentials could not be loaded ({type(exc).__name__}).",
                                 hint="Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or your AWS profile.") from None
        # Which requester account pays (for the one-payout-per-account lock): a hash, never the key itself.
        self._account = hashlib.sha256(("mturk-account\x1f" + (access_key or "")).encode("utf-8")).hexdigest()
        if creds is None:
            raise ReconcileError(
                "no AWS credentials found for MTurk.",
                hint="Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (for a local emulator any values do).",
            )
        config = Config(
            region_name=REGION,
            # total_max_attempts=1: no botocore retries at all ("max_attempts" would still allow one).
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=max(10, max_pool_connections),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            user_agent_extra="reconcile",
        )
        try:
            self._client = session.client("mturk", region_name=REGION, endpoint_url=endpoint_url, config=config)
        except ValueError:
            raise ReconcileError(
                f"{endpoint_url!r} is not a usable MTurk endpoint URL.",
                hint="Give a full URL such as http://127.0.0.1:8443 (what `reconcile emulator mturk` prints).",
            ) from None

    def _call(self, operation: str, **kwargs: Any) -> dict:
        try:
            return getattr(self._client, operation)(**kwargs)
        except Exception as exc:  # classified below; anything unexpected is re-raised
            raise _classify(exc) from None

    # ------------------------------------------------------------ reads

    def account_identity(self) -> str:
        return self._account

    def account_balance(self) -> Decimal:
        resp = self._call("get_account_balance")
        text = str(resp.get("AvailableBalance", ""))
        try:
            return parse_amount(text)
        except AmountError:
            raise ReconcileError(f"MTurk reported an account balance that is not an amount ({text!r}).") from None

    def assignment_status(self, assignment_id: str) -> str:
        return self.assignment_info(assignment_id)[0]

    def assignment_info(self, assignment_id: str) -> tuple[str, str, str]:
        """(AssignmentStatus, HITId, WorkerId) as MTurk has them."""
        a = self._call("get_assignment", AssignmentId=assignment_id).get("Assignment", {}) or {}
        return str(a.get("AssignmentStatus", "")), str(a.get("HITId", "")), str(a.get("WorkerId", ""))

    def qualification_type_name(self, qualification_id: str) -> str:
        resp = self._call("get_qualification_type", QualificationTypeId=qualification_id)
        return str(resp.get("QualificationType", {}).get("Name", ""))

    def bonus_payments_for_assignment(self, assignment_id: str) -> list[BonusPayment]:
        return self._bonus_payments(AssignmentId=assignment_id)

    def _bonus_payments(self, **selector: str) -> list[BonusPayment]:
        out: list[BonusPayment] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = dict(selector, MaxResults=100)
            if token:
                kwargs["NextToken"] = token
            resp = self._call("list_bonus_payments", **kwargs)
            for p in resp.get("BonusPayments", []) or []:
                amount = str(p.get("BonusAmount", ""))
                try:
                    amount = f"{parse_amount(amount):.2f}"
                except AmountError:
                    pass
                out.append(BonusPayment(str(p.get("AssignmentId", "")), str(p.get("WorkerId", "")), amount, str(p.get("Reason", ""))))
            token = resp.get("NextToken")
            if not token:
                return out

    # ------------------------------------------------------------ side effects

    def approve(self, assignment_id: str, feedback: str = "") -> None:
        kwargs: dict[str, Any] = {"AssignmentId": assignment_id}
        if feedback:
            kwargs["RequesterFeedback"] = feedback
        self._call("approve_assignment", **kwargs)

    def reject(self, assignment_id: str, feedback: str) -> None:
        self._call("reject_assignment", AssignmentId=assignment_id, RequesterFeedback=feedback)

    def send_bonus(self, *, worker_id: str, assignment_id: str, amount: str, reason: str, token: str) -> None:
        """`amount` is text like "1.50" (never a float); `token` the UniqueRequestToken (1-64 chars)."""
        if not 1 <= len(token) <= 64:
            raise ValueError("UniqueRequestToken must be 1-64 characters")
        self._call(
            "send_bonus",
            WorkerId=worker_id,
            AssignmentId=assignment_id,
            BonusAmount=amount,
            Reason=reason,
            UniqueRequestToken=token,
        )

    def grant_qualification(self, qualification_id: str, worker_id: str, value: int = 1) -> None:
        self._call(
            "associate_qualification_with_worker",
            QualificationTypeId=qualification_id,
            WorkerId=worker_id,
            IntegerValue=value,
            SendNotification=False,
        )
