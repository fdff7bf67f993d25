"""The MTurk payer (platform.Payer): the one place the boto3 client that pays is used.

Each method is one API call (or one paginated listing). boto3's own retries are off
(total_max_attempts=1): the payout engine decides when to retry, with its own pacing, because
boto3 would resend a SendBonus after a timeout on its own. Every failure is a platform.CallFailed.

Bonuses: MTurk deduplicates SendBonus by its UniqueRequestToken (for 24 hours), so the reference a
bonus is paid under is derived from the action with no call (prepare) and the pay call is safe to
retry; the reason the worker reads ends with a short reference to the token, which is how a later
ListBonusPayments (which returns reasons, not tokens) tells the plan's payment from any other.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Sequence

from ...errors import ReconcileError
from ...money import AmountError, parse_amount
from ...platform import BonusItem, CallFailed, Capabilities, PaidBonus, SubmissionStatus
from .client import classify, make_client
from .states import state_of

# What runs of the schema-v1 ledger sent, with no reference: still recognised as the plan's own.
LEGACY_BONUS_REASON = "A bonus for your work on our study. Thank you!"


class MTurkPayer:
    """platform.Payer for the MTurk requester API."""

    def __init__(self, endpoint_url: str, capabilities: Capabilities, *, connections: int = 10) -> None:
        self.capabilities = capabilities
        self.endpoint_url = endpoint_url
        self._client = make_client(endpoint_url, max_attempts=1, pool=connections)

    def _call(self, operation: str, **kwargs: Any) -> dict:
        try:
            return getattr(self._client.boto, operation)(**kwargs)
        except Exception as exc:  # classified below; anything unexpected is re-raised
            raise classify(exc) from None

    # ------------------------------------------------------------ reads

    def account_identity(self) -> str:
        return self._client.account

    def balance(self) -> Decimal:
        text = str(self._call("get_account_balance").get("AvailableBalance", ""))
        try:
            return parse_amount(text)
        except AmountError:
            raise ReconcileError(f"MTurk reported an account balance that is not an amount ({text!r}).") from None

    def status(self, submission_id: str) -> SubmissionStatus:
        a = self._call("get_assignment", AssignmentId=submission_id).get("Assignment", {}) or {}
        raw = str(a.get("AssignmentStatus", ""))
        return SubmissionStatus(state_of(raw) if raw else "unknown", raw, str(a.get("HITId", "")), str(a.get("WorkerId", "")))

    def qualification_name(self, qualification_id: str) -> str:
        resp = self._call("get_qualification_type", QualificationTypeId=qualification_id)
        return str(resp.get("QualificationType", {}).get("Name", ""))

    def paid_bonuses(self, submission_id: str) -> list[PaidBonus]:
        out: list[PaidBonus] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"AssignmentId": submission_id, "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            resp = self._call("list_bonus_payments", **kwargs)
            for p in resp.get("BonusPayments", []) or []:
                text = str(p.get("BonusAmount", ""))
                try:
                    amount = parse_amount(text)
                except AmountError:
                    amount = Decimal("-1")  # never equal to a plan's amount: counts as some other payment
                out.append(PaidBonus(str(p.get("WorkerId", "")), amount, str(p.get("Reason", ""))))
            token = resp.get("NextToken")
            if not token:
                return out

    def is_own_payment(self, paid: PaidBonus, item: BonusItem) -> bool:
        """Same worker and amount, and the item's reference in the reason (or the reason schema-v1
        runs sent, which carried none). Amount alone is not enough: a manual $0.50 thank-you is not
        the plan's $0.50."""
        if paid.participant_id != item.participant_id or paid.amount != item.amount:
            return False
        reference = item.reason[item.reason.rfind("(ref "):] if "(ref " in item.reason else item.reason
        return reference in paid.reason or paid.reason.strip() == LEGACY_BONUS_REASON

    # ------------------------------------------------------------ side effects

    def approve(self, submission_ids: Sequence[str], feedback: str = "") -> None:
        (aid,) = submission_ids  # capabilities.approve_batch is 1
        kwargs: dict[str, Any] = {"AssignmentId": aid}
        if feedback:
            kwargs["RequesterFeedback"] = feedback
        self._call("approve_assignment", **kwargs)

    def reject(self, submission_id: str, feedback: str, category: str = "") -> None:
        self._call("reject_assignment", AssignmentId=submission_id, RequesterFeedback=feedback)

    def prepare_bonuses(self, items: Sequence[BonusItem]) -> str:
        """No call: MTurk deduplicates by token, so the token (derived from the action) is the reference."""
        (item,) = items  # capabilities.bonus_batch is 1
        return item.token

    def pay_bonuses(self, reference: str, items: Sequence[BonusItem]) -> None:
        (item,) = items
        if not 1 <= len(reference) <= 64:
            raise ValueError("UniqueRequestToken must be 1-64 characters")
        # BonusAmount as text with exactly two decimals, from Decimal (never a float).
        amount = f"{item.amount.quantize(Decimal('0.01')):.2f}"
        if Decimal(amount) != item.amount:
            raise CallFailed("refused", f"{item.amount} has more than two decimals")
        self._call("send_bonus", WorkerId=item.participant_id, AssignmentId=item.submission_id, BonusAmount=amount,
                   Reason=item.reason, UniqueRequestToken=reference)

    def grant(self, qualification_id: str, participant_id: str) -> None:
        self._call("associate_qualification_with_worker", QualificationTypeId=qualification_id, WorkerId=participant_id,
                   IntegerValue=1, SendNotification=False)
