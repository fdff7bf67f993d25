"""The Prolific payer (platform.Payer): each method is one call to the Prolific API v1.

Approvals go through bulk approve (up to 1,000 submission IDs a call; asynchronous: the engine
re-reads statuses until they settle, capabilities.approve_settles). Rejections are single
transitions with Prolific's message and category. Bonuses are two calls: a set-up
(`POST /api/v1/submissions/bonus-payments/`, no money moves) that returns a bulk ID, and a pay
(`POST /api/v1/bulk-bonus-payments/{id}/pay/`) that is NOT idempotent. This payer never retries
anything itself; the engine journals the pay intent first and never sends a pay call twice
(capabilities.bonus_pay_retry_safe is False). Amounts go to Prolific in major units with exactly two
decimals, from Decimal; everything Prolific returns is in minor units (pence/cents).
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any, Callable, Sequence

from ...platform import BonusItem, CallFailed, Capabilities, PaidBonus, State, SubmissionStatus
from .client import Client, call, make_client
from .states import canonical_status, state_of

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
SCREENED_OUT = "SCREENED OUT"

def major_text(amount: Decimal) -> str:
    """A bonus as Prolific's csv_bonuses takes it: major units, exactly two decimals ("4.25");
    refused (never rounded) when the amount has more decimals or is not positive."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or amount.quantize(CENT) != amount:
        raise CallFailed("refused", f"the bonus {amount} is not a positive amount with at most two decimals")
    return f"{amount.quantize(CENT):.2f}"


def from_minor(value: Any) -> Decimal:
    """Minor units as Prolific sends them (int, or Decimal via parse_float) -> a Decimal in major units."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise CallFailed("refused", f"Prolific sent an amount that is not a number ({str(value)[:40]!r})")
    return Decimal(value) / HUNDRED


def bonus_csv_text(items: Sequence[BonusItem]) -> str:
    """The set-up's csv_bonuses: one "<submission ID>,<amount>" line per bonus (a submission ID pays
    exactly that submission; a participant ID would pay their latest submission of the study)."""
    return "\n".join(f"{item.submission_id},{major_text(item.amount)}" for item in items)


class ProlificPayer:
    """platform.Payer for the Prolific API v1 (a real service or `reconcile emulator prolific`)."""

    def __init__(self, url: str, capabilities: Capabilities, *, token: str | None = None, connections: int = 10) -> None:
        self.capabilities = capabilities
        self.url = url
        self._client: Client = make_client(url, token=token, pool=connections)
        self._setups: dict[str, dict] = {}  # bulk ID -> what the set-up answered (for the ledger's detail)

    # ------------------------------------------------------------ reads

    def account_identity(self) -> str:
        return self._client.account

    def _submission(self, submission_id: str) -> dict:
        body = call(self._client, "GET", f"/api/v1/submissions/{submission_id}/")
        if not isinstance(body, dict):
            raise CallFailed("refused", f"Prolific's answer for submission {submission_id} is not a submission")
        return body

    def status(self, submission_id: str) -> SubmissionStatus:
        s = self._submission(submission_id)
        raw = str(s.get("status") or "")
        participant = s.get("participant") or s.get("participant_id") or ""
        return SubmissionStatus(state_of(raw) if raw else State.UNKNOWN, raw, str(s.get("study_id") or ""), str(participant))

    def paid_bonuses(self, submission_id: str) -> list[PaidBonus]:
        """The submission's bonus_payments, in major units, without the fixed screen-out reward that
        Prolific lists there too (PROLIFIC.md §1.7: `[20, 30]` for a 20p reward plus a 30p bonus)."""
        s = self._submission(submission_id)
        entries = list(s.get("bonus_payments") or [])
        if canonical_status(str(s.get("status") or "")) == SCREENED_OUT and entries:
            entries = entries[1:]  # the screen-out reward is recorded when the submission is screened out: first
        participant = str(s.get("participant") or s.get("participant_id") or "")
        return [PaidBonus(participant, from_minor(e)) for e in entries]

    def is_own_payment(self, paid: PaidBonus, item: BonusItem) -> bool:
        """Same participant and amount: bonus_payments lists amounts only (no reason, no bulk ID), so
        the engine counts a match as the plan's own only for a bonus it has already sent."""
        return paid.participant_id == item.participant_id and paid.amount == item.amount

    def _workspace_balance(self) -> dict | None:
        """The workspace's balance record (`available_balance`, `currency_code`), when the token has one workspace."""
        body = call(self._client, "GET", "/api/v1/workspaces/")
        results = body.get("results") if isinstance(body, dict) else None
        if isinstance(results, list) and len(results) == 1 and isinstance(results[0], dict) and results[0].get("id"):
            bal = call(self._client, "GET", f"/api/v1/workspaces/{results[0]['id']}/balance/")
            return bal if isinstance(bal, dict) else None
        return None

    def balance(self) -> Decimal:
        """The workspace's available balance (minor units in the API): what a payout may draw."""
        bal = self._workspace_balance()
        if bal is not None and "available_balance" in bal:
            return from_minor(bal["available_balance"])
        # Several workspaces (or none listed): the account's own figure, which the token's workspace shares.
        me = call(self._client, "GET", "/api/v1/users/me/")
        if isinstance(me, dict) and "available_balance" in me:
            return from_minor(me["available_balance"])
        raise CallFailed("refused", "Prolific did not say what the available balance is")

    def preflight(self, group_ids: Sequence[str]) -> list[Callable[[], object]]:
        """Reads that must succeed before any change, as steps the engine calls (and retries) one by
        one: the token is accepted and every study exists in this workspace (a 401 or 404 here stops
        the run before anything is approved or paid), and the workspace pays in the plan's currency."""
        steps: list[Callable[[], object]] = []
        if not group_ids:
            steps.append(lambda: call(self._client, "GET", "/api/v1/users/me/"))
        steps += [partial(self._study_exists, sid) for sid in group_ids]
        steps.append(self._check_currency)
        return steps

    def _study_exists(self, sid: str) -> None:
        try:
            call(self._client, "GET", f"/api/v1/studies/{sid}/")
        except CallFailed as err:
            if err.code == "404":
                raise CallFailed("refused", f"study {sid} is not in this Prolific workspace (HTTP 404)", code="404") from None
            raise

    def _check_currency(self) -> None:
        """Amounts go to Prolific as bare numbers in the workspace's currency: refuse to send them when the
        plan was shown (and checked) in another one."""
        bal = self._workspace_balance()
        code = str((bal or {}).get("currency_code") or "").strip().upper()
        want = self.capabilities.currency
        if code and code != want:
            raise CallFailed(
                "refused",
                f"the Prolific workspace pays in {code}, but this plan's amounts were shown in {want}: run the dry run "
                f"again with --currency {code}, check the amounts, then --execute with --currency {code}",
            )

    def qualification_name(self, qualification_id: str) -> str:
        raise CallFailed("refused", "Prolific has no qualifications to grant (use participant groups on the website)")

    # ------------------------------------------------------------ side effects

    def approve(self, submission_ids: Sequence[str], feedback: str = "") -> None:
        """One bulk approval (asynchronous; ineligible IDs are skipped silently, so the engine re-reads)."""
        ids = list(submission_ids)
        if not 1 <= len(ids) <= self.capabilities.approve_batch:
            raise ValueError(f"bulk approve takes 1 to {self.capabilities.approve_batch} IDs, not {len(ids)}")
        call(self._client, "POST", "/api/v1/submissions/bulk-approve/", json_body={"submission_ids": ids})

    def reject(self, submission_id: str, feedback: str, category: str = "") -> None:
        """A REJECT transition (idempotent on Prolific's side: the repeat is ignored)."""
        call(self._client, "POST", f"/api/v1/submissions/{submission_id}/transition/", transition=True,
             json_body={"action": "REJECT", "message": feedback, "rejection_category": category})

    def prepare_bonuses(self, items: Sequence[BonusItem]) -> str:
        """The set-up call: returns the bulk ID to pay. Moves no money, so a lost answer is harmless
        (the engine sets up anew; an abandoned set-up is never paid). Refused when Prolific's
        set-up does not add up to exactly the plan's bonuses (units, rows), before anything is paid."""
        studies = {item.group_id for item in items}
        if len(studies) != 1 or not next(iter(studies)):
            raise ValueError("one set-up is for the bonuses of one study")
        (study,) = studies
        body = call(self._client, "POST", "/api/v1/submissions/bonus-payments/", expect=(200, 201),
                    json_body={"study_id": study, "csv_bonuses": bonus_csv_text(items)})
        if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"].strip():
            raise CallFailed("refused", "Prolific's bonus set-up answer has no bulk bonus ID")
        bid = body["id"].strip()
        planned = sum((item.amount for item in items), Decimal(0))
        if "amount" in body and from_minor(body["amount"]) != planned:
            raise CallFailed("refused", f"Prolific set up {from_minor(body['amount'])} of bonuses for a plan of {planned}; "
                             "nothing was paid")
        self._setups[bid] = body
        return bid

    def prepared_detail(self, reference: str) -> str:
        """What the ledger keeps about a set-up: its totals in minor units, as Prolific said them."""
        body = self._setups.get(reference) or {}
        parts = [f"{k} {body[k]}" for k in ("amount", "fees", "vat", "total_amount") if k in body]
        return f"bulk bonus {reference}: " + ", ".join(parts) + " (minor units)" if parts else ""

    def pay_bonuses(self, reference: str, items: Sequence[BonusItem]) -> None:
        """Pay one set-up. NOT idempotent: sent at most once per bulk ID by the engine, never retried here."""
        if not reference or "/" in reference:
            raise ValueError("a bulk bonus ID")
        call(self._client, "POST", f"/api/v1/bulk-bonus-payments/{reference}/pay/", json_body={}, expect=(202,))

    def grant(self, qualification_id: str, participant_id: str) -> None:
        raise CallFailed("refused", "Prolific has no qualifications to grant")
