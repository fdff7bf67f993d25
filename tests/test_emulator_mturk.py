"""The MTurk emulator, exercised the way the project uses it: real boto3 over real HTTP, no mocks."""

from __future__ import annotations

import csv
import json
import re
import signal
import socket
import struct
import threading
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import botocore.exceptions
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from reconcile.errors import InputError
from emulator_helpers import (
    emulator_state,
    emulator_stderr,
    emulator_stats,
    mturk_client,
    reset_emulator_stats,
    start_emulator,
    start_emulator_process,
    stop_emulator_process,
)

CHUCOO = "Chucooleg__Field_Experiment_Human_Image_Classification"
MAIN_BATCH = f"{CHUCOO}/20171112_mturk_results_order1_0.40.csv"
SUPP_BATCH = f"{CHUCOO}/20171112_mturk_results_order1_0.40_supplementary.csv"
STAMP = re.compile(r" \(\d{13}\)$")  # messages end with a millisecond timestamp, as MTurk's do
AMOUNT_PATTERN = r"^[0-9]+(\.)?[0-9]{0,2}$"

# HIT A: reward $0.40, MaxAssignments 100 (the 10+ assignments fee applies); 3 assignments.
# HIT B: reward $1.00, MaxAssignments 3; 12 assignments (for pagination). One of B's is Approved.
HIT_A = "3PGQRAZX02KSXFVMRF51W2NSTKZSYT"
HIT_B = "3BBBBBBBBBBBBBBBBBBBBBBBBBBBB1"


def _assignment_id(i: int) -> str:
    return f"3ASG{i:026d}"


def _worker_id(i: int) -> str:
    return f"AWORKER{i:07d}"


def write_tiny_batch(path: Path) -> Path:
    """A small batch with the real header of a downloaded batch results file."""
    realdata_header = [
        "HITId", "HITTypeId", "Title", "Description", "Keywords", "Reward", "CreationTime", "MaxAssignments",
        "RequesterAnnotation", "AssignmentDurationInSeconds", "AutoApprovalDelayInSeconds", "Expiration",
        "NumberOfSimilarHITs", "LifetimeInSeconds", "AssignmentId", "WorkerId", "AssignmentStatus", "AcceptTime",
        "SubmitTime", "AutoApprovalTime", "ApprovalTime", "RejectionTime", "RequesterFeedback", "WorkTimeInSeconds",
        "LifetimeApprovalRate", "Last30DaysApprovalRate", "Last7DaysApprovalRate", "Answer.surveycode", "Approve", "Reject",
    ]
    rows = []
    for i in range(15):
        hit, reward, max_a = (HIT_A, "$0.40", "100") if i < 3 else (HIT_B, "$1.00", "3")
        status = "Approved" if i == 14 else "Submitted"
        rows.append([
            hit, "3U6C37VJ6U4IHO0X1NNM41V2S3Y1ND", "Multiple Choice Task", "A task.", "survey", reward,
            "Sun Nov 12 08:18:40 PST 2017", max_a, "BatchId:3006652;OriginalHitTemplateId:920937340;", "1200", "259200",
            "Tue Nov 14 08:18:40 PST 2017", "", "", _assignment_id(i), _worker_id(i), status, "Sun Nov 12 08:19:59 PST 2017",
            "Sun Nov 12 08:28:41 PST 2017", "Wed Nov 15 08:28:41 PST 2017",
            "Wed Nov 15 08:28:41 PST 2017" if status == "Approved" else "", "", "", "522", "0% (0/0)", "0% (0/0)",
            "0% (0/0)", f"code <{i}> & \u00e9",
        ])  # short rows: Approve/Reject omitted, as in real downloads
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writerow(realdata_header)
        w.writerows(rows)
    return path


@pytest.fixture
def tiny_batch(tmp_path) -> Path:
    return write_tiny_batch(tmp_path / "batch.csv")


# The tiny batch's assignments auto-approve on Nov 15 2017: seed as of the 13th, while they are payable.
AS_OF = "2017-11-13T00:00:00Z"


@pytest.fixture
def emu(tiny_batch):
    with start_emulator([str(tiny_batch)], balance="100.00", as_of=AS_OF) as running:
        yield running


def test_seeding_applies_auto_approval_time(tiny_batch):
    """MTurk approves a Submitted assignment when its AutoApprovalTime passes; the emulator does the
    same when seeding (as of now by default), and then refuses to reject it."""
    with start_emulator([str(tiny_batch)]) as now_emu, start_emulator([str(tiny_batch)], as_of=AS_OF) as then_emu:
        now_states = {a: x["status"] for a, x in now_emu.state()["assignments"].items()}
        then_states = {a: x["status"] for a, x in then_emu.state()["assignments"].items()}
        assert set(now_states.values()) == {"Approved"}
        assert list(then_states.values()).count("Submitted") == 14
        err = client_error(mturk_client(now_emu.url).reject_assignment, AssignmentId=_assignment_id(0), RequesterFeedback="too late now")
        assert "can be called with a status of: Submitted" in err.response["Error"]["Message"]
    with pytest.raises(InputError, match="--as-of"):
        start_emulator([str(tiny_batch)], as_of="next tuesday")


@pytest.fixture
def client(emu):
    return mturk_client(emu.url, retries={"total_max_attempts": 1})


def client_error(call, *args, **kwargs) -> botocore.exceptions.ClientError:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call(*args, **kwargs)
    return info.value


def balance(client) -> Decimal:
    return Decimal(client.get_account_balance()["AvailableBalance"])


# ---------------------------------------------------------------- happy paths


def test_account_balance_starts_at_the_given_amount(client):
    answer = client.get_account_balance()
    assert answer["AvailableBalance"] == "100.00"
    assert answer["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.1"


def test_list_hits_paginates_and_shapes_match_the_model(client):
    first = client.list_hits(MaxResults=1)
    assert first["NumResults"] == 1 and "NextToken" in first
    second = client.list_hits(MaxResults=1, NextToken=first["NextToken"])
    assert second["NumResults"] == 1 and "NextToken" not in second
    hits = {h["HITId"]: h for h in first["HITs"] + second["HITs"]}
    assert set(hits) == {HIT_A, HIT_B}
    a = hits[HIT_A]
    assert a["Reward"] == "0.40" and a["MaxAssignments"] == 100
    assert a["RequesterAnnotation"].startswith("BatchId:3006652")
    # Timestamps travel as epoch numbers; botocore turns them into datetimes.
    assert a["CreationTime"].timestamp() == pytest.approx(1510503520)  # 08:18:40 PST = 16:18:40 UTC
    assert a["HITStatus"] in {"Assignable", "Unassignable", "Reviewable", "Reviewing", "Disposed"}


def test_paginator_lists_every_assignment_of_a_hit(client):
    pages = list(client.get_paginator("list_assignments_for_hit").paginate(HITId=HIT_B, PaginationConfig={"PageSize": 5}))
    assert [p["NumResults"] for p in pages] == [5, 5, 2]
    ids = [a["AssignmentId"] for p in pages for a in p["Assignments"]]
    assert ids == [_assignment_id(i) for i in range(3, 15)]


def test_assignment_status_filter(client):
    approved = client.list_assignments_for_hit(HITId=HIT_B, AssignmentStatuses=["Approved"])
    assert [a["AssignmentId"] for a in approved["Assignments"]] == [_assignment_id(14)]
    submitted = client.list_assignments_for_hit(HITId=HIT_B, AssignmentStatuses=["Submitted"], MaxResults=100)
    assert submitted["NumResults"] == 11


def test_get_assignment_returns_assignment_hit_and_answer_xml(client):
    got = client.get_assignment(AssignmentId=_assignment_id(1))
    a, hit = got["Assignment"], got["HIT"]
    assert (a["WorkerId"], a["HITId"], a["AssignmentStatus"]) == (_worker_id(1), HIT_A, "Submitted")
    assert a["SubmitTime"] > a["AcceptTime"]
    assert hit["HITId"] == HIT_A
    # The Answer.* column comes back as QuestionFormAnswers XML, escaped, ASCII-declared.
    assert "<QuestionIdentifier>surveycode</QuestionIdentifier>" in a["Answer"]
    assert "<FreeText>code &lt;1&gt; &amp; &#233;</FreeText>" in a["Answer"]
    import xml.etree.ElementTree as ET

    root = ET.fromstring(a["Answer"].encode("ascii"))
    ns = "{http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd}"
    assert root.find(f"{ns}Answer/{ns}FreeText").text == "code <1> & \u00e9"


def test_approve_changes_status_and_draws_nothing_more(client):
    """MTurk is prepaid: a HIT's rewards and fees left the balance when it was published."""
    before = balance(client)
    client.approve_assignment(AssignmentId=_assignment_id(0), RequesterFeedback="Thanks!")
    got = client.get_assignment(AssignmentId=_assignment_id(0))["Assignment"]
    assert got["AssignmentStatus"] == "Approved" and "ApprovalTime" in got
    assert got["RequesterFeedback"] == "Thanks!"
    client.approve_assignment(AssignmentId=_assignment_id(3))
    assert balance(client) == before


def test_reject_sets_status_and_feedback_without_charging(client):
    before = balance(client)
    client.reject_assignment(AssignmentId=_assignment_id(4), RequesterFeedback="The code did not match.")
    got = client.get_assignment(AssignmentId=_assignment_id(4))["Assignment"]
    assert got["AssignmentStatus"] == "Rejected"
    assert got["RequesterFeedback"] == "The code did not match."
    assert balance(client) == before


def test_override_rejection_approves_a_rejected_assignment(client):
    client.reject_assignment(AssignmentId=_assignment_id(5), RequesterFeedback="no")
    err = client_error(client.approve_assignment, AssignmentId=_assignment_id(5))
    assert err.response["Error"]["Code"] == "RequestError"
    client.approve_assignment(AssignmentId=_assignment_id(5), OverrideRejection=True)
    assert client.get_assignment(AssignmentId=_assignment_id(5))["Assignment"]["AssignmentStatus"] == "Approved"


def test_send_bonus_and_list_bonus_payments(client):
    before = balance(client)
    client.send_bonus(WorkerId=_worker_id(3), AssignmentId=_assignment_id(3), BonusAmount="1.5", Reason="Great work", UniqueRequestToken="tok-1")
    client.send_bonus(WorkerId=_worker_id(4), AssignmentId=_assignment_id(4), BonusAmount="0.03", Reason="Thanks", UniqueRequestToken="tok-2")
    # Fee: 20% with a $0.01 minimum: 1.50 -> 0.30, 0.03 -> 0.01.
    assert before - balance(client) == Decimal("1.80") + Decimal("0.04")
    by_assignment = client.list_bonus_payments(AssignmentId=_assignment_id(3))
    assert by_assignment["NumResults"] == 1
    (payment,) = by_assignment["BonusPayments"]
    assert payment["BonusAmount"] == "1.50" and payment["WorkerId"] == _worker_id(3) and payment["Reason"] == "Great work"
    assert payment["GrantTime"].year >= 2024
    by_hit = client.list_bonus_payments(HITId=HIT_B)
    assert sorted(p["AssignmentId"] for p in by_hit["BonusPayments"]) == [_assignment_id(3), _assignment_id(4)]
    assert client.list_bonus_payments(HITId=HIT_A)["NumResults"] == 0


def test_list_bonus_payments_paginates(client):
    for i in range(7):
        client.send_bonus(WorkerId=_worker_id(6), AssignmentId=_assignment_id(6), BonusAmount="0.10", Reason=f"r{i}", UniqueRequestToken=f"p{i}")
    pages = list(client.get_paginator("list_bonus_payments").paginate(AssignmentId=_assignment_id(6), PaginationConfig={"PageSize": 3}))
    assert [p["NumResults"] for p in pages] == [3, 3, 1]
    assert [b["Reason"] for p in pages for b in p["BonusPayments"]] == [f"r{i}" for i in range(7)]
    assert client.list_bonus_payments(AssignmentId=_assignment_id(6))["NumResults"] == 7  # default page is 10


def test_qualifications_and_notifications(client, emu):
    q = client.create_qualification_type(Name="did-study-1", Description="Took part", QualificationTypeStatus="Active")["QualificationType"]
    assert re.fullmatch(r"[A-Z0-9]{30}", q["QualificationTypeId"]) and q["QualificationTypeStatus"] == "Active"
    err = client_error(client.create_qualification_type, Name="did-study-1", Description="again", QualificationTypeStatus="Active")
    assert err.response["Error"]["Code"] == "RequestError"
    client.associate_qualification_with_worker(QualificationTypeId=q["QualificationTypeId"], WorkerId=_worker_id(2), IntegerValue=1, SendNotification=False)
    err = client_error(client.associate_qualification_with_worker, QualificationTypeId="3NOSUCHQUAL", WorkerId=_worker_id(2))
    assert err.response["Error"]["Code"] == "RequestError"
    answer = client.notify_workers(Subject="Hi", MessageText="Thanks", WorkerIds=[_worker_id(1), "ASTRANGER1"])
    assert [f["WorkerId"] for f in answer["NotifyWorkersFailureStatuses"]] == ["ASTRANGER1"]
    state = emu.state()
    assert state["qualification_grants"][q["QualificationTypeId"]] == {_worker_id(2): 1}
    assert [n["WorkerId"] for n in state["notifications"]] == [_worker_id(1)]


# ---------------------------------------------------------------- state rules and error shapes


def test_approving_twice_fails_with_the_submitted_message(client):
    client.approve_assignment(AssignmentId=_assignment_id(0))
    before = balance(client)
    err = client_error(client.approve_assignment, AssignmentId=_assignment_id(0))
    assert err.response["Error"]["Code"] == "RequestError"
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    message = err.response["Error"]["Message"]
    assert message.startswith("This operation can be called with a status of: Submitted")
    assert STAMP.search(message)
    assert balance(client) == before  # nothing charged for the failed call


def test_already_approved_in_the_batch_cannot_be_approved_or_rejected(client):
    for call, kwargs in ((client.approve_assignment, {}), (client.reject_assignment, {"RequesterFeedback": "no"})):
        err = client_error(call, AssignmentId=_assignment_id(14), **kwargs)
        assert "can be called with a status of: Submitted" in err.response["Error"]["Message"]


def test_unknown_assignment(client):
    for call in (client.get_assignment, client.approve_assignment):
        err = client_error(call, AssignmentId="3NOSUCHASSIGNMENT")
        assert err.response["Error"]["Code"] == "RequestError"
        assert err.response["Error"]["Message"].startswith("Assignment 3NOSUCHASSIGNMENT does not exist. (")


def test_raw_error_body_carries_turk_error_code(emu):
    status, body = raw_call(emu.url, "GetAssignment", {"AssignmentId": "3NOSUCH"})
    assert status == 400
    assert body["__type"] == "RequestError" and body["TurkErrorCode"] == "AWS.MechanicalTurk.AssignmentDoesNotExist"


def test_reject_without_feedback_fails_validation(emu):
    # boto3 catches it before sending ...
    with pytest.raises(botocore.exceptions.ParamValidationError):
        mturk_client(emu.url).reject_assignment(AssignmentId=_assignment_id(1))
    # ... and a client that skips its own checks gets the service's answer.
    unchecked = mturk_client(emu.url, parameter_validation=False, retries={"total_max_attempts": 1})
    err = client_error(unchecked.reject_assignment, AssignmentId=_assignment_id(1))
    assert err.response["Error"]["Code"] == "ValidationException"
    assert "Value null at 'requesterFeedback' failed to satisfy constraint: Member must not be null" in err.response["Error"]["Message"]
    assert emu.state()["assignments"][_assignment_id(1)]["status"] == "Submitted"


def test_malformed_bonus_amount_is_a_validation_exception(client, emu):
    for amount in ("0.9752", "$1.00", "-1", "1,00", "1.2.3"):
        err = client_error(client.send_bonus, WorkerId=_worker_id(1), AssignmentId=_assignment_id(1), BonusAmount=amount, Reason="x", UniqueRequestToken=f"t{amount}")
        assert err.response["Error"]["Code"] == "ValidationException"
        assert err.response["Error"]["Message"] == (
            f"1 validation error detected: Value '{amount}' at 'bonusAmount' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {AMOUNT_PATTERN}"
        )
    assert emu.state()["bonuses"] == []


def test_token_longer_than_64_is_rejected_by_the_service(client):
    # botocore checks only the minimum length; the maximum is the service's to enforce.
    err = client_error(client.send_bonus, WorkerId=_worker_id(1), AssignmentId=_assignment_id(1), BonusAmount="1.00", Reason="x", UniqueRequestToken="t" * 65)
    assert err.response["Error"]["Code"] == "ValidationException"
    assert "Member must have length less than or equal to 64" in err.response["Error"]["Message"]


def test_bonus_to_a_worker_who_does_not_own_the_assignment_fails(client, emu):
    err = client_error(client.send_bonus, WorkerId=_worker_id(2), AssignmentId=_assignment_id(1), BonusAmount="1.00", Reason="x", UniqueRequestToken="t")
    assert err.response["Error"]["Code"] == "RequestError"
    assert STAMP.search(err.response["Error"]["Message"])
    assert emu.state()["bonuses"] == []


def test_token_replay_does_not_pay_twice(client, emu):
    kwargs = dict(WorkerId=_worker_id(1), AssignmentId=_assignment_id(1), BonusAmount="2.00", Reason="x", UniqueRequestToken="study1:3ASG1:bonus:2.00")
    client.send_bonus(**kwargs)
    after_first = balance(client)
    err = client_error(client.send_bonus, **kwargs)
    assert err.response["Error"]["Code"] == "RequestError"
    assert err.response["Error"]["Message"].startswith('The idempotency token "study1:3ASG1:bonus:2.00" has already been processed. (')
    assert balance(client) == after_first
    assert client.list_bonus_payments(AssignmentId=_assignment_id(1))["NumResults"] == 1
    # A fresh token is a fresh payment.
    client.send_bonus(**{**kwargs, "UniqueRequestToken": "other"})
    assert client.list_bonus_payments(AssignmentId=_assignment_id(1))["NumResults"] == 2


def test_insufficient_balance_refuses_and_pays_nothing(tiny_batch):
    with start_emulator([str(tiny_batch)], as_of=AS_OF, balance="1.00") as emu:
        c = mturk_client(emu.url, retries={"total_max_attempts": 1})
        err = client_error(c.send_bonus, WorkerId=_worker_id(1), AssignmentId=_assignment_id(1), BonusAmount="0.90", Reason="x", UniqueRequestToken="t")
        assert err.response["Error"]["Code"] == "RequestError" and "insufficient funds" in err.response["Error"]["Message"]
        c.send_bonus(WorkerId=_worker_id(1), AssignmentId=_assignment_id(1), BonusAmount="0.80", Reason="x", UniqueRequestToken="t")
        assert balance(c) == Decimal("0.04")  # the failed call's token was not spent
        c.approve_assignment(AssignmentId=_assignment_id(3))  # prepaid: approving needs no balance
        assert emu.state()["assignments"][_assignment_id(3)]["status"] == "Approved" and balance(c) == Decimal("0.04")


def test_concurrent_approvals_of_one_assignment_succeed_once(client, emu):
    outcomes: list[str] = []

    def approve() -> None:
        c = mturk_client(emu.url, retries={"total_max_attempts": 1})
        try:
            c.approve_assignment(AssignmentId=_assignment_id(7))
            outcomes.append("ok")
        except botocore.exceptions.ClientError as err:
            outcomes.append(err.response["Error"]["Code"])

    threads = [threading.Thread(target=approve) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["RequestError"] * 7 + ["ok"]
    assert emu.stats()["effective"] == {"ApproveAssignment": 1}


# ---------------------------------------------------------------- protocol edges (raw HTTP)


def raw_call(url: str, target_op: str | None, payload, *, auth: bool = True, target_prefix: str = "MTurkRequesterServiceV20170117.") -> tuple[int, dict]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target_op is not None:
        headers["X-Amz-Target"] = target_prefix + target_op
    if auth:
        headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/mturk-requester/aws4_request, SignedHeaders=host, Signature=abc"
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    req = urllib.request.Request(url + "/", data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_unknown_operation_and_missing_auth_and_bad_json(emu):
    status, body = raw_call(emu.url, "MakeMeRich", {})
    assert status == 400 and body["__type"] == "UnknownOperationException"
    status, body = raw_call(emu.url, "GetAccountBalance", {}, auth=False)
    assert status == 400 and body["__type"] == "MissingAuthenticationTokenException"
    status, body = raw_call(emu.url, "GetAccountBalance", b"{not json")
    assert status == 400 and body["__type"] == "SerializationException"
    status, body = raw_call(emu.url, "ApproveAssignment", {"AssignmentId": 42})
    assert status == 400 and body["__type"] == "SerializationException"
    status, body = raw_call(emu.url, "ListHITs", {"MaxResults": 101})
    assert status == 400 and body["__type"] == "ValidationException"
    assert "Member must have value less than or equal to 100" in body["Message"]
    status, body = raw_call(emu.url, "ListHITs", {"NextToken": "garbage"})
    assert status == 400 and body["__type"] == "RequestError"


def test_unknown_operation_through_boto3_is_a_client_error(emu):
    # An operation in the model that the emulator does not implement answers like an unknown one.
    c = mturk_client(emu.url, retries={"total_max_attempts": 1})
    err = client_error(c.create_worker_block, WorkerId="AWORKER1", Reason="spam")
    assert err.response["Error"]["Code"] == "UnknownOperationException"


def test_authorization_header_never_appears_in_output(tiny_batch, capfd):
    with start_emulator([str(tiny_batch)], as_of=AS_OF) as emu:
        mturk_client(emu.url).get_account_balance()
        raw_call(emu.url, "GetAccountBalance", {})
    out, err = capfd.readouterr()
    assert "Signature" not in out + err and "AKID" not in out + err


def assert_shaped_like(shape, value, path="") -> None:
    """The raw JSON answer uses only members the model knows, with the model's wire types."""
    t = shape.type_name
    if t == "structure":
        assert isinstance(value, dict), path
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{path}: members not in the model: {unknown}"
        for name, v in value.items():
            assert_shaped_like(shape.members[name], v, f"{path}.{name}")
    elif t == "list":
        assert isinstance(value, list), path
        for i, item in enumerate(value):
            assert_shaped_like(shape.member, item, f"{path}[{i}]")
    elif t == "string":
        assert isinstance(value, str), path
        if "enum" in shape.metadata:
            assert value in shape.metadata["enum"], path
        if "pattern" in shape.metadata:
            assert re.fullmatch(shape.metadata["pattern"], value), f"{path}: {value!r}"
    elif t in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), path
    elif t == "boolean":
        assert isinstance(value, bool), path
    elif t == "timestamp":
        # AWS JSON sends epoch seconds as numbers, never formatted text.
        assert isinstance(value, (int, float)) and not isinstance(value, bool), path
    else:  # pragma: no cover - no other types in these outputs
        raise AssertionError(f"{path}: unexpected type {t}")


def test_raw_answers_are_shaped_per_the_service_model(emu, client):
    from reconcile.emulators.mturk import service_model

    client.approve_assignment(AssignmentId=_assignment_id(3))
    client.send_bonus(WorkerId=_worker_id(3), AssignmentId=_assignment_id(3), BonusAmount="1.25", Reason="x", UniqueRequestToken="s")
    client.reject_assignment(AssignmentId=_assignment_id(4), RequesterFeedback="no")
    q = client.create_qualification_type(Name="q", Description="d", QualificationTypeStatus="Active")["QualificationType"]
    calls = [
        ("GetAccountBalance", {}),
        ("ListHITs", {"MaxResults": 1}),
        ("GetHIT", {"HITId": HIT_B}),
        ("ListAssignmentsForHIT", {"HITId": HIT_B, "MaxResults": 100}),
        ("GetAssignment", {"AssignmentId": _assignment_id(3)}),
        ("GetAssignment", {"AssignmentId": _assignment_id(4)}),
        ("GetAssignment", {"AssignmentId": _assignment_id(14)}),
        ("ListBonusPayments", {"HITId": HIT_B}),
        ("GetQualificationType", {"QualificationTypeId": q["QualificationTypeId"]}),
        ("NotifyWorkers", {"Subject": "s", "MessageText": "m", "WorkerIds": ["ANOBODY1"]}),
        ("ApproveAssignment", {"AssignmentId": _assignment_id(5)}),
    ]
    model = service_model()
    for op, params in calls:
        status, body = raw_call(emu.url, op, params)
        assert status == 200, (op, body)
        assert_shaped_like(model.operation_model(op).output_shape, body, op)
    status, body = raw_call(emu.url, "ApproveAssignment", {"AssignmentId": _assignment_id(5)})
    assert status == 400
    assert_shaped_like(model.shape_for("RequestError"), {k: v for k, v in body.items() if k != "__type"}, "RequestError")


# ---------------------------------------------------------------- fault injection


def test_throttling_is_recognised_by_botocore(tiny_batch):
    from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

    with start_emulator([str(tiny_batch)], as_of=AS_OF, throttle=2) as emu:
        c = mturk_client(emu.url, retries={"total_max_attempts": 1})
        errors = []
        for _ in range(10):
            try:
                c.get_account_balance()
            except botocore.exceptions.ClientError as err:
                errors.append(err)
        assert errors, "10 calls in a burst against --throttle 2 should be throttled"
        err = errors[0]
        assert err.response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        context = RetryContext(attempt_number=1, operation_model=c.meta.service_model.operation_model("GetAccountBalance"), parsed_response=err.response)
        assert ThrottledRetryableChecker().is_retryable(context)
        assert emu.stats()["throttled"] == len(errors)

        # And botocore's own retry loop treats it as retryable: it retries, then gives up.
        retrying = mturk_client(emu.url, retries={"total_max_attempts": 2, "mode": "standard"})
        attempts = []
        for _ in range(10):
            try:
                attempts.append(retrying.get_account_balance()["ResponseMetadata"]["RetryAttempts"])
            except botocore.exceptions.ClientError as e:
                assert e.response["Error"]["Code"] == "ThrottlingException"
                attempts.append(e.response["ResponseMetadata"]["RetryAttempts"])
        assert max(attempts) == 1


def test_service_fault_does_not_act(tiny_batch):
    with start_emulator([str(tiny_batch)], as_of=AS_OF, fault_rate=1.0) as emu:
        c = mturk_client(emu.url, retries={"total_max_attempts": 1})
        err = client_error(c.approve_assignment, AssignmentId=_assignment_id(1))
        assert err.response["Error"]["Code"] == "ServiceFault"
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert STAMP.search(err.response["Error"]["Message"])
        assert emu.state()["assignments"][_assignment_id(1)]["status"] == "Submitted"
        assert emu.stats()["effective"] == {} and emu.stats()["faults"] == 1


def test_dropped_response_really_commits(tiny_batch):
    with start_emulator([str(tiny_batch)], as_of=AS_OF, drop_response_rate=1.0) as emu:
        c = mturk_client(emu.url, retries={"total_max_attempts": 1})
        with pytest.raises((botocore.exceptions.ConnectionClosedError, botocore.exceptions.EndpointConnectionError)):
            c.approve_assignment(AssignmentId=_assignment_id(1))
        assert emu.state()["assignments"][_assignment_id(1)]["status"] == "Approved"
        assert emu.stats()["dropped"] == 1 and emu.stats()["effective"] == {"ApproveAssignment": 1}


def test_lost_responses_make_boto3_pay_twice_without_a_token_and_once_with_one(tiny_batch):
    # The trap the executor must avoid: boto3 retries a SendBonus whose answer was lost.
    with start_emulator([str(tiny_batch)], as_of=AS_OF, drop_response_rate=1.0) as emu:
        c = mturk_client(emu.url, retries={"total_max_attempts": 3, "mode": "standard"})
        with pytest.raises(botocore.exceptions.ConnectionClosedError):
            c.send_bonus(WorkerId=_worker_id(1), AssignmentId=_assignment_id(1), BonusAmount="1.00", Reason="x")
        assert len(emu.state()["bonuses"]) == 3
    with start_emulator([str(tiny_batch)], as_of=AS_OF, drop_response_rate=1.0) as emu:
        c = mturk_client(emu.url, retries={"total_max_attempts": 3, "mode": "standard"})
        with pytest.raises(botocore.exceptions.ConnectionClosedError):
            c.send_bonus(WorkerId=_worker_id(1), AssignmentId=_assignment_id(1), BonusAmount="1.00", Reason="x", UniqueRequestToken="once")
        assert len(emu.state()["bonuses"]) == 1


def outcome_sequence(batch: Path, seed: int) -> list[str]:
    with start_emulator([str(batch)], as_of=AS_OF, fault_rate=0.3, drop_response_rate=0.3, seed=seed) as emu:
        c = mturk_client(emu.url, retries={"total_max_attempts": 1})
        seq = []
        for _ in range(30):
            try:
                c.get_account_balance()
                seq.append("ok")
            except botocore.exceptions.ClientError as err:
                seq.append(err.response["Error"]["Code"])
            except botocore.exceptions.ConnectionClosedError:
                seq.append("dropped")
        return seq


def test_faults_reproduce_with_the_same_seed(tiny_batch):
    first = outcome_sequence(tiny_batch, seed=7)
    assert first == outcome_sequence(tiny_batch, seed=7)
    assert {"ok", "ServiceFault", "dropped"} <= set(first)
    assert first != outcome_sequence(tiny_batch, seed=8)


def test_latency_is_added_before_answering(tiny_batch):
    import time

    with start_emulator([str(tiny_batch)], as_of=AS_OF, latency_ms=200) as emu:
        c = mturk_client(emu.url)
        started = time.monotonic()
        c.get_account_balance()
        # A lower bound only (sleeping can only make it longer): the latency really is injected.
        assert time.monotonic() - started >= 0.2


# ---------------------------------------------------------------- observability


def test_stats_state_and_reset_over_http(emu, client):
    assert emulator_stats(emu.url)["total_calls"] == 0
    client.get_account_balance()
    client.approve_assignment(AssignmentId=_assignment_id(2))
    client_error(client.approve_assignment, AssignmentId=_assignment_id(2))
    stats = emulator_stats(emu.url)
    assert stats["calls"] == {"GetAccountBalance": 1, "ApproveAssignment": 2}
    assert stats["mutating_calls"] == 2 and stats["effective_mutations"] == 1
    assert stats == emu.stats()
    state = emulator_state(emu.url)
    assert state["assignments"][_assignment_id(2)]["status"] == "Approved"
    assert state["balance"] == "100.00"  # approving draws nothing: the HIT was prepaid
    reset_emulator_stats(emu.url)
    assert emulator_stats(emu.url)["total_calls"] == 0
    assert emulator_state(emu.url)["assignments"][_assignment_id(2)]["status"] == "Approved"  # state survives a reset


# ---------------------------------------------------------------- real data


def test_seeded_from_real_batches(realdata):
    with start_emulator([str(realdata / MAIN_BATCH), str(realdata / SUPP_BATCH)], as_of=AS_OF) as emu:
        c = mturk_client(emu.url)
        hit_ids = [h["HITId"] for p in c.get_paginator("list_hits").paginate() for h in p["HITs"]]
        assignments = [
            a
            for hit in hit_ids
            for p in c.get_paginator("list_assignments_for_hit").paginate(HITId=hit)
            for a in p["Assignments"]
        ]
        with open(realdata / MAIN_BATCH, newline="", encoding="utf-8-sig") as fh:
            main_rows = list(csv.DictReader(fh))
        assert len(main_rows) == 100
        assert len(assignments) == 104
        by_id = {a["AssignmentId"]: a for a in assignments}
        for row in main_rows:
            a = by_id[row["AssignmentId"]]
            assert a["WorkerId"] == row["WorkerId"] and a["AssignmentStatus"] == row["AssignmentStatus"]
            assert f"<FreeText>{row['Answer.surveycode']}</FreeText>" in a["Answer"] or "&" in row["Answer.surveycode"]
        some = main_rows[0]
        c.approve_assignment(AssignmentId=some["AssignmentId"])
        c.send_bonus(WorkerId=some["WorkerId"], AssignmentId=some["AssignmentId"], BonusAmount="0.25", Reason="bonus", UniqueRequestToken="real-1")
        assert c.list_bonus_payments(HITId=some["HITId"])["NumResults"] == 1


# ---------------------------------------------------------------- the command


def test_cli_prints_listening_line_serves_and_stops_on_sigterm(realdata):
    url, proc = start_emulator_process("--as-of", AS_OF, "--batch", str(realdata / MAIN_BATCH), "--balance", "50.00", "--seed", "3", "--latency-ms", "100")
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        c = mturk_client(url)
        assert c.get_account_balance()["AvailableBalance"] == "50.00"
        assert sum(p["NumResults"] for p in c.get_paginator("list_hits").paginate()) == 1
        assert emulator_stats(url)["total_calls"] == 2  # the stats endpoint itself is not an API call
        # A client that hangs up while the emulator is still answering (a killed payer) is routine.
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            body = b'{"AssignmentId": "3NOSUCH"}'
            sock.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=a, Signature=b\r\n"
                b"X-Amz-Target: MTurkRequesterServiceV20170117.GetAssignment\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not a polite close
        c.get_account_balance()
    finally:
        code = stop_emulator_process(proc)
    assert code == 0
    err = emulator_stderr(proc)
    assert "stopped after 4 API calls" in err
    assert "Traceback" not in err


def test_cli_stops_cleanly_on_sigint(tiny_batch):
    url, proc = start_emulator_process("--as-of", AS_OF, str(tiny_batch))  # batch files may also be given without --batch
    try:
        assert mturk_client(url).get_assignment(AssignmentId=_assignment_id(0))["Assignment"]["WorkerId"] == _worker_id(0)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        stop_emulator_process(proc)
    assert "Traceback" not in emulator_stderr(proc)


def test_cli_rejects_bad_options_with_one_sentence(tmp_path):
    result = run_cli("emulator", "mturk", "--balance", "12.345")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --balance:") and "Traceback" not in result.stderr
    missing = run_cli("emulator", "mturk", "--batch", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "nope.csv" in missing.stderr and "Traceback" not in missing.stderr
    assert "listening on" not in missing.stdout
    with start_emulator() as taken:
        busy = run_cli("emulator", "mturk", "--port", str(taken.port))
    assert busy.returncode == 2 and "Address already in use" in busy.stderr and "Traceback" not in busy.stderr


def test_cli_help_lists_the_fault_options():
    result = run_cli("emulator", "mturk", "--help")
    assert result.returncode == 0
    for option in ("--throttle", "--latency-ms", "--fault-rate", "--drop-response-rate", "--balance", "--seed", "--port", "--batch"):
        assert option in result.stdout


# ---------------------------------------------------------------- properties


@pytest.fixture(scope="module")
def shared_emu(tmp_path_factory):
    batch = write_tiny_batch(tmp_path_factory.mktemp("shared") / "batch.csv")
    with start_emulator([str(batch)], as_of=AS_OF, balance="1000000.00") as running:
        yield running


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=st.one_of(st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{0,3})?\Z"), st.text(max_size=8)))
def test_bonus_amount_accepted_exactly_when_it_matches_the_pattern(shared_emu, amount):
    c = mturk_client(shared_emu.url, retries={"total_max_attempts": 1})
    before = len(shared_emu.state()["bonuses"])
    valid = re.fullmatch(AMOUNT_PATTERN, amount) is not None
    try:
        c.send_bonus(WorkerId=_worker_id(1), AssignmentId=_assignment_id(1), BonusAmount=amount, Reason="p", UniqueRequestToken=f"h{before}-{amount!r}"[:64])
        accepted = True
    except botocore.exceptions.ClientError as err:
        accepted = False
        code = err.response["Error"]["Code"]
        if valid:
            # Only a zero amount may be refused by the business rule rather than the pattern.
            assert code == "RequestError" and Decimal(amount) == 0
        else:
            assert code == "ValidationException"
    except botocore.exceptions.ParamValidationError:
        accepted = False
        assert amount == ""  # botocore itself refuses an empty required string
    assert accepted == (valid and Decimal(amount) > 0)
    assert len(shared_emu.state()["bonuses"]) == before + accepted


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["bonus", "approve", "reject"]), st.integers(0, 14), st.integers(1, 300), st.integers(0, 5)),
        max_size=12,
    )
)
def test_money_is_conserved_and_tokens_pay_once(tiny_batch, ops):
    """Whatever sequence of calls, balance = start - sum(amount + fee) over what took effect,
    and each token pays at most once."""
    with start_emulator([str(tiny_batch)], as_of=AS_OF, balance="500.00") as emu:
        c = mturk_client(emu.url, retries={"total_max_attempts": 1})
        for kind, i, cents, token in ops:
            try:
                if kind == "bonus":
                    c.send_bonus(WorkerId=_worker_id(i), AssignmentId=_assignment_id(i), BonusAmount=f"{cents / 100:.2f}", Reason="p", UniqueRequestToken=f"tok{token}")
                elif kind == "approve":
                    c.approve_assignment(AssignmentId=_assignment_id(i))
                else:
                    c.reject_assignment(AssignmentId=_assignment_id(i), RequesterFeedback="no")
            except botocore.exceptions.ClientError as err:
                assert err.response["Error"]["Code"] == "RequestError"
        state = emu.state()
        tokens = [b["token"] for b in state["bonuses"]]
        assert len(tokens) == len(set(tokens))
        spent = Decimal(0)
        for b in state["bonuses"]:
            amount = Decimal(b["amount"])
            spent += amount + max(Decimal("0.01"), (amount * Decimal("0.2")).quantize(Decimal("0.01")))
        # Approvals draw nothing: MTurk is prepaid (rewards left the balance when the HITs were published).
        assert Decimal(state["balance"]) == Decimal("500.00") - spent
