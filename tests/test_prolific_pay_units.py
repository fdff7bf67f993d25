"""The Prolific payer's pure parts: which endpoint, amounts as Prolific takes and gives them, the
error envelope as one sentence, the plan's rejection category (Prolific's plans only), rules with a
category. The wire itself is tested against the emulator (test_prolific_pay*.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reconcile.errors import ReconcileError
from reconcile.models import Plan, PlanRow
from reconcile.planfile import plan_digest, read_plan, write_plan
from reconcile.platform import BonusItem, CallFailed, PaidBonus
from reconcile.platforms.prolific import CAPABILITIES
from reconcile.platforms.prolific.bonus_csv import bonus_lines
from reconcile.platforms.prolific.client import account_hash, classify_status, detail_of
from reconcile.platforms.prolific.endpoints import PRODUCTION_URL, resolve_prolific_endpoint
from reconcile.platforms.prolific.payer import ProlificPayer, bonus_csv_text, from_minor, major_text
from reconcile.rules import parse_rules


def test_endpoints_production_local_and_never_prolific_by_url():
    assert resolve_prolific_endpoint(None, False, True).url == PRODUCTION_URL
    assert resolve_prolific_endpoint(None, False, True).is_production
    local = resolve_prolific_endpoint("http://localhost:8444/", False, False)
    assert local.name == "local" and not local.is_production
    for url in ("https://api.prolific.com", "HTTPS://API.PROLIFIC.COM.:443/api/v1", "https://api.prolific.co",
                "https://x.prolific.ac"):
        with pytest.raises(ReconcileError, match="is Prolific itself; use --production"):
            resolve_prolific_endpoint(url, False, False)
    with pytest.raises(ReconcileError, match="Prolific has no sandbox"):
        resolve_prolific_endpoint(None, True, False)
    with pytest.raises(ReconcileError, match="no Prolific endpoint chosen"):
        resolve_prolific_endpoint(None, False, False)
    with pytest.raises(ReconcileError, match="not both"):
        resolve_prolific_endpoint("http://127.0.0.1:1", False, True)
    with pytest.raises(ReconcileError, match="not an http"):
        resolve_prolific_endpoint("ftp://127.0.0.1", False, False)


def test_amounts_go_in_major_units_with_two_decimals_and_come_back_from_minor_units():
    assert major_text(Decimal("4.25")) == "4.25" and major_text(Decimal("30")) == "30.00" and major_text(Decimal("1.5")) == "1.50"
    for bad in (Decimal("0.975"), Decimal("0"), Decimal("-1.00"), Decimal("NaN")):
        with pytest.raises(CallFailed):
            major_text(bad)
    assert from_minor(850) == Decimal("8.5") and from_minor(Decimal("283.34")) == Decimal("2.8334")
    with pytest.raises(CallFailed):
        from_minor(8.5)  # a float never stands for money
    items = [BonusItem("5b01", "9a01", "S", Decimal("1.5"), "t1", ""), BonusItem("5b02", "9a02", "S", Decimal("12"), "t2", "")]
    assert bonus_csv_text(items) == "5b01,1.50\n5b02,12.00"


def test_the_error_envelope_becomes_one_sentence_and_a_kind():
    body = {"error": {"status": 400, "error_code": 1, "title": "Bad Request",
                      "detail": {"message": ["A rejection needs a message of at least 100 characters."],
                                 "rejection_category": ["'X' is not a valid choice."]}}}
    assert detail_of(body) == "message: A rejection needs a message of at least 100 characters; rejection_category: 'X' is not a valid choice"
    assert detail_of({"detail": "workspace not found"}) == "workspace not found"
    assert detail_of({"error": {"detail": ["one.", "two\n  lines"]}}) == "one; two lines"
    assert classify_status(400, body, transition=True).kind == "refused"  # the request itself is wrong
    state = {"error": {"status": 400, "detail": "Submission 5b is APPROVED; only a submission AWAITING REVIEW can be rejected."}}
    assert classify_status(400, state, transition=True).kind == "conflict"
    assert classify_status(429, {}).kind == "throttled"
    five = classify_status(502, {"error": {"detail": "An error occurred"}})
    assert five.kind == "transient" and five.sent
    refused = classify_status(401, {"error": {"detail": "Authentication credentials were not provided"}})
    assert refused.kind == "refused" and "the Prolific token was refused" in refused.message


def test_the_token_is_never_part_of_what_leaves_the_client(monkeypatch):
    monkeypatch.setenv("PROLIFIC_API_TOKEN", "s3cret-token-value")
    payer = ProlificPayer("http://127.0.0.1:9", CAPABILITIES)
    assert payer.account_identity() == account_hash("s3cret-token-value")
    assert "s3cret" not in payer.account_identity() and "s3cret" not in repr(vars(payer))
    # Same participant and amount: the plan's own (bonus_payments says nothing more).
    item = BonusItem("5b01", "9a01", "S", Decimal("1.50"), "t", "")
    assert payer.is_own_payment(PaidBonus("9a01", Decimal("1.5")), item)
    assert not payer.is_own_payment(PaidBonus("9a01", Decimal("1.49")), item)
    monkeypatch.delenv("PROLIFIC_API_TOKEN")
    with pytest.raises(ReconcileError, match="PROLIFIC_API_TOKEN is not set"):
        ProlificPayer("http://127.0.0.1:9", CAPABILITIES)


def _row(decision: str, category: str = "", bonus: Decimal | None = None) -> PlanRow:
    return PlanRow("5b01", "9a01", "5f01", decision, "r", "", "C", "R_1", bonus, "x" * 120 if decision == "reject" else "",
                   "export.csv:2", category=category)


def test_rejection_category_is_a_prolific_column_and_part_of_the_digest(tmp_path):
    path = tmp_path / "plan.csv"
    write_plan(Plan(rows=(_row("reject", "NO_CODE"),), platform="prolific", currency="GBP"), path)
    header = path.read_bytes().decode("utf-8-sig").splitlines()[0]
    assert header == ("submission_id,participant_id,study_id,decision,reason,detail,code,response_id,bonus,feedback,"
                      "rejection_category,source,flags,status,reward")
    cells = read_plan(path).rows[0].cells
    assert cells["category"] == "NO_CODE"
    assert plan_digest([cells]) != plan_digest([{**cells, "category": "BAD_CODE"}])
    # A row without a category hashes as rows always did (MTurk plans' recorded digests stay valid).
    plain = {k: v for k, v in cells.items() if k != "category"}
    assert plan_digest([plain]) == plan_digest([{**plain, "category": ""}])
    write_plan(Plan(rows=(_row("reject", "NO_CODE"),), platform="mturk"), tmp_path / "m.csv")
    assert "category" not in (tmp_path / "m.csv").read_bytes().decode("utf-8-sig").splitlines()[0]


def test_reject_rules_may_carry_a_category():
    rules = parse_rules('[reject.no_code]\nfeedback = "You did not submit a completion code at all."\ncategory = "no_code"\n')
    assert rules.reject_rule("no_code").category == "NO_CODE"
    with pytest.raises(ReconcileError, match="category must be text"):
        parse_rules('[reject.no_code]\nfeedback = "You did not submit a completion code at all."\ncategory = 3\n')


def test_bonus_lines_refuse_two_bonuses_for_one_participant():
    rows = [_row("approve", bonus=Decimal("1.00")), PlanRow("5b02", "9a01", "5f01", "approve", "r", "", "C", "R_2", Decimal("2"), "",
                                                             "export.csv:3")]
    with pytest.raises(ReconcileError, match="participant 9a01 has two bonuses"):
        bonus_lines(rows)
    assert bonus_lines(rows[:1]) == ["9a01,1.00"]
