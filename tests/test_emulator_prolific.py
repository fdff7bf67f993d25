"""The Prolific emulator, exercised over real HTTP with plain `requests` speaking Prolific's documented
wire format (no client of ours is involved: the project's Prolific client will be tested against this)."""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import threading
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from prolific_helpers import (
    participant_id,
    prolific_audit,
    prolific_process_stderr,
    prolific_reset_stats,
    prolific_session,
    prolific_set_faults,
    prolific_settle,
    prolific_state,
    prolific_stats,
    start_prolific_emulator,
    start_prolific_process,
    stop_prolific_process,
    submission_id,
    synthetic_rows,
    write_prolific_export,
)
from reconcile.emulators.prolific_state import decimal_json_text, dumps

STUDY = "5e0000000000000000000001"
# 25 submissions (more than one default page of 20): index -> status.
STATUSES = ["AWAITING REVIEW"] * 12 + ["APPROVED"] * 5 + ["RETURNED"] * 3 + ["REJECTED", "TIMED-OUT", "SCREENED OUT", "AWAITING REVIEW", "APPROVED"]
AWAITING = [i for i, s in enumerate(STATUSES) if s == "AWAITING REVIEW"]
RETURNED, REJECTED, SCREENED_OUT = 17, 20, 22
SIBLING = 24  # a second, later submission of participant 3
MESSAGE_100 = "Your submission did not include the completion code shown at the end of the survey, so we cannot approve it. Sorry."[:100]
BULK_APPROVE_ANSWER = "The request to bulk approve has been made successfully."
LAOLS = "laols574__ec_sd_survey/prolific_export.csv"
CHEUNG = "Alex-J-Cheung__Qualtrics-Survey/prolific_export_demographic.csv"
MACHNOWSKI = "matthewmachnowski__experimental-philosophy/prolific.csv"
TRIMMED = "dparra2399__Indirect-Direct-ToF/prolific_export_298bd5580c5380ce692e1855.csv"


def study_rows() -> list[dict[str, str]]:
    rows = synthetic_rows(STATUSES)
    rows[SIBLING]["participant_id"] = participant_id(3)
    return rows


@pytest.fixture
def export_file(tmp_path) -> Path:
    return write_prolific_export(tmp_path / "prolific_export.csv", study_rows())


@pytest.fixture
def emu(export_file):
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY]) as running:
        yield running


@pytest.fixture
def api():
    with prolific_session() as session:
        yield session


def error_of(answer: requests.Response, status: int) -> dict:
    """The error envelope of an answer, checked: {"error": {status, error_code, title, detail}}."""
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    err = answer.json()["error"]
    assert set(err) == {"status", "error_code", "title", "detail"}
    assert err["status"] == status and isinstance(err["error_code"], int) and err["title"]
    return err


def detail(emu, api, i: int) -> dict:
    answer = api.get(f"{emu.url}/api/v1/submissions/{submission_id(i)}/")
    assert answer.status_code == 200
    return answer.json()


def money(answer: requests.Response):
    """The JSON body with every non-integer number as Decimal (money is never float, in tests too)."""
    return json.loads(answer.text, parse_float=Decimal)


def set_up_bonus(emu, api, csv_bonuses: str, study: str = STUDY) -> dict:
    answer = api.post(f"{emu.url}/api/v1/submissions/bonus-payments/", json={"study_id": study, "csv_bonuses": csv_bonuses})
    assert answer.status_code == 201, answer.text
    return money(answer)


def pay(emu, api, bid: str) -> requests.Response:
    return api.post(f"{emu.url}/api/v1/bulk-bonus-payments/{bid}/pay/", json={})


def payouts(url: str) -> list[dict]:
    return [e for e in prolific_audit(url) if e["kind"] == "bonus_payout"]


def pay_calls(url: str) -> list[dict]:
    return [e for e in prolific_audit(url) if e["kind"] == "pay_call"]


def every_submission(emu, api, study: str, limit: int = 100) -> list[dict]:
    """Page through GET /studies/{id}/submissions/ by following _links.next."""
    out, href = [], f"{emu.url}/api/v1/studies/{study}/submissions/?limit={limit}"
    while href:
        page = api.get(href).json()
        out += page["results"]
        href = page["_links"]["next"]["href"]
    assert len(out) == page["meta"]["count"]
    return out


# ---------------------------------------------------------------- seeding


def test_seeded_study_has_every_submission_as_exported(emu, api):
    study = api.get(f"{emu.url}/api/v1/studies/{STUDY}/").json()
    assert study["id"] == STUDY and study["number_of_submissions"] == 25 and study["status"] == "AWAITING REVIEW"
    assert study["currency_code"] == "GBP" and study["reward"] == 100
    # The most common code typed on submitted rows (NOCODE and blanks ignored).
    assert study["completion_codes"] == [{"code": "C0DE1234", "code_type": "COMPLETED", "actions": [{"action": "MANUALLY_REVIEW"}], "actor": "participant"}]
    counts = api.get(f"{emu.url}/api/v1/studies/{STUDY}/submissions/counts/").json()
    assert counts == {
        "ACTIVE": 0, "APPROVED": 6, "AWAITING REVIEW": 13, "REJECTED": 1, "RESERVED": 0, "RETURNED": 3,
        "TIMED-OUT": 1, "PARTIALLY APPROVED": 0, "SCREENED OUT": 1, "TOTAL": 25,
    }
    items = {s["id"]: s for s in every_submission(emu, api, STUDY)}
    assert [items[submission_id(i)]["status"] for i in range(25)] == STATUSES
    first = items[submission_id(0)]
    assert first == {
        "id": submission_id(0), "participant_id": participant_id(0), "status": "AWAITING REVIEW",
        "started_at": "2024-07-01T00:00:00.000000Z", "completed_at": "2024-07-01T00:07:30.500000Z",
        "study_code": "C0DE1234", "time_taken": 450, "is_complete": True, "reward": 100,
        "bonus_payments": [], "has_siblings": False, "return_requested": None,
    }
    returned = items[submission_id(RETURNED)]
    assert returned["completed_at"] is None and returned["study_code"] is None and returned["time_taken"] is None
    assert returned["is_complete"] is False
    assert items[submission_id(4)]["study_code"] == "NOCODE"
    assert items[submission_id(3)]["has_siblings"] and items[submission_id(SIBLING)]["has_siblings"]
    # The detail shape differs from the list shape: `participant`, `entered_code`, `parent_study_id`.
    assert detail(emu, api, 1) == {
        "id": submission_id(1), "study_id": STUDY, "participant": participant_id(1), "status": "AWAITING REVIEW",
        "started_at": "2024-07-01T01:00:00.000000Z", "completed_at": "2024-07-01T01:07:30.500000Z",
        "entered_code": "C0DE1234", "bonus_payments": [], "return_requested": None, "parent_study_id": None,
    }


@pytest.mark.parametrize("era, participant_column", [("old", None), ("2023", None), ("2024", None), ("2026", None), ("2024", "PROLIFIC_PID"), ("old", "PROLIFIC_PID")])
def test_every_export_era_is_read_by_content(tmp_path, api, era, participant_column):
    path = write_prolific_export(tmp_path / "export.csv", study_rows(), era=era, participant_column=participant_column)
    with start_prolific_emulator([str(path)]) as emu:
        (study,) = emu.study_ids
        assert re.fullmatch(r"[0-9a-f]{24}", study)  # derived from the file's content
        items = every_submission(emu, api, study, limit=7)
        assert [(s["id"], s["participant_id"], s["status"]) for s in items] == [
            (r["submission_id"], r["participant_id"], r["status"]) for r in study_rows()
        ]
        assert items[0]["started_at"] == "2024-07-01T00:00:00.000000Z"  # old "2024-07-01 00:00:00.000000" read as UTC
        assert items[0]["time_taken"] == (451 if era == "old" else 450)  # old "450.619" s, rounded half-up to the API's integer
        assert api.get(f"{emu.url}/api/v1/studies/{study}/").json()["completion_codes"][0]["code"] == "C0DE1234"


def test_sentinels_are_text_and_mean_no_value_in_time_columns(tmp_path, api):
    rows = synthetic_rows(["APPROVED", "APPROVED"])
    rows[0].update({"reviewed_at": "CONSENT_REVOKED", "time_taken": "DATA_EXPIRED", "Age": "DATA EXPIRED"})
    rows[1].update({"completed_at": "Not Applicable"})
    path = write_prolific_export(tmp_path / "sentinels.csv", rows)
    with start_prolific_emulator([str(path)], study_ids=[STUDY]) as emu:
        first, second = every_submission(emu, api, STUDY)
        assert first["time_taken"] is None and second["completed_at"] is None
        exported = list(csv.DictReader(io.StringIO(api.post(f"{emu.url}/api/v1/studies/{STUDY}/demographic-export/").text, newline="")))
        assert exported[0]["Age"] == "DATA EXPIRED"
    junk = synthetic_rows(["APPROVED"])
    junk[0]["started_at"] = "last Tuesday"
    result = run_cli("emulator", "prolific", "--export", str(write_prolific_export(tmp_path / "junk.csv", junk)))
    assert result.returncode == 2 and "row 2, column Started at: 'last Tuesday' is not a date and time" in result.stderr


def test_the_study_id_is_stable_for_the_same_content(tmp_path):
    a = write_prolific_export(tmp_path / "a.csv", study_rows())
    b = write_prolific_export(tmp_path / "b.csv", study_rows())
    c = write_prolific_export(tmp_path / "c.csv", study_rows()[:-1])
    with start_prolific_emulator([str(a)]) as one, start_prolific_emulator([str(b)]) as two, start_prolific_emulator([str(c)]) as three:
        assert one.study_ids == two.study_ids != three.study_ids


def test_several_exports_are_several_studies(tmp_path, api):
    first = write_prolific_export(tmp_path / "first.csv", study_rows())
    second = write_prolific_export(tmp_path / "second.csv", synthetic_rows(["AWAITING REVIEW"] * 3, start=100, code="OTHER999"))
    with start_prolific_emulator([str(first), str(second)], study_ids=[STUDY]) as emu:
        studies = api.get(f"{emu.url}/api/v1/studies/").json()
        assert studies["meta"]["count"] == 2
        assert [s["id"] for s in studies["results"]][0] == STUDY
        other = emu.study_ids[1]
        assert api.get(f"{emu.url}/api/v1/submissions/?study={other}").json()["meta"]["count"] == 3
        assert api.get(f"{emu.url}/api/v1/studies/{other}/").json()["completion_codes"][0]["code"] == "OTHER999"
        # A bonus line naming a submission of the other study is refused.
        answer = api.post(f"{emu.url}/api/v1/submissions/bonus-payments/", json={"study_id": other, "csv_bonuses": f"{submission_id(0)},1.00"})
        assert submission_id(0) in str(error_of(answer, 400)["detail"])


def test_status_overrides_and_explicit_completion_codes(export_file, api):
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], status_overrides=["APPROVED=AWAITING_REVIEW", "rejected=awaiting review"], completion_codes=["ABC", "XYZ"]) as emu:
        counts = api.get(f"{emu.url}/api/v1/studies/{STUDY}/submissions/counts/").json()
        assert counts["AWAITING REVIEW"] == 13 + 6 + 1 and counts["APPROVED"] == 0 and counts["REJECTED"] == 0
        codes = api.get(f"{emu.url}/api/v1/studies/{STUDY}/").json()["completion_codes"]
        assert [(c["code"], c["code_type"]) for c in codes] == [("ABC", "COMPLETED"), ("XYZ", "OTHER")]


def test_screened_out_submissions_list_the_screen_out_reward(export_file, api):
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], screen_out_reward="0.25") as emu:
        assert detail(emu, api, SCREENED_OUT)["bonus_payments"] == [25]
        assert detail(emu, api, 0)["bonus_payments"] == []
        bid = set_up_bonus(emu, api, f"{submission_id(SCREENED_OUT)},1.50")["id"]
        assert pay(emu, api, bid).status_code == 202
        assert detail(emu, api, SCREENED_OUT)["bonus_payments"] == [25, 150]
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY]) as emu:
        listed = {s["id"]: s for s in every_submission(emu, api, STUDY)}
        assert listed[submission_id(SCREENED_OUT)]["bonus_payments"] == [10]  # default 0.10, in pence


# ---------------------------------------------------------------- real exports


@pytest.mark.parametrize(
    "name, total, statuses",
    [
        (LAOLS, 253, {"APPROVED": 153, "RETURNED": 76, "REJECTED": 19, "TIMED-OUT": 4, "SCREENED OUT": 1}),
        (CHEUNG, 25, {"APPROVED": 25}),
        (MACHNOWSKI, 219, {"APPROVED": 200, "RETURNED": 12, "TIMED-OUT": 7}),
    ],
)
def test_seeded_from_real_exports(realdata, api, name, total, statuses):
    path = realdata / name
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    code_column = rows[0].index("entered_code" if name == MACHNOWSKI else "Completion code")
    with start_prolific_emulator([str(path)]) as emu:
        (study,) = emu.study_ids
        counts = api.get(f"{emu.url}/api/v1/studies/{study}/submissions/counts/").json()
        assert counts["TOTAL"] == total
        assert {k: v for k, v in counts.items() if v and k != "TOTAL"} == statuses
        items = every_submission(emu, api, study)
        # Every submission keeps its ID, participant, status and typed code, in file order.
        assert [(s["id"], s["participant_id"], s["status"], s["study_code"] or "") for s in items] == [
            (r[0], r[1], r[2], r[code_column]) for r in rows[1:]
        ]
        screened = [s for s in items if s["status"] == "SCREENED OUT"]
        assert all(s["bonus_payments"] == [10] for s in screened)


def test_real_completion_codes(realdata, api):
    with start_prolific_emulator([str(realdata / CHEUNG), str(realdata / MACHNOWSKI), str(realdata / LAOLS)]) as emu:
        codes = [api.get(f"{emu.url}/api/v1/studies/{sid}/").json()["completion_codes"] for sid in emu.study_ids]
    assert [c[0]["code"] for c in codes[:2]] == ["CGBAT70K", "2B73928C"]
    assert codes[2] == []  # laols574 used NOCODE; the other typed codes tie at one each: no single winner


def test_real_trimmed_export_without_participants_is_refused(realdata):
    result = run_cli("emulator", "prolific", "--export", str(realdata / TRIMMED))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "no participant ID column" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "listening on" not in result.stdout


def test_real_export_survives_the_demographic_export_round_trip(realdata, tmp_path, api):
    with start_prolific_emulator([str(realdata / MACHNOWSKI)]) as emu:
        (study,) = emu.study_ids
        before = every_submission(emu, api, study)
        csv_text = api.post(f"{emu.url}/api/v1/studies/{study}/demographic-export/", json={"filters": []}).text
    saved = tmp_path / "export_2024.csv"
    saved.write_bytes(csv_text.encode())
    with start_prolific_emulator([str(saved)]) as again:
        after = every_submission(again, api, again.study_ids[0])
    assert after == before


# ---------------------------------------------------------------- refusals at start


REFUSALS = [
    (["--export", "{tmp}/nope.csv"], "nope.csv: no such export file"),
    (["--export", "{mturk}"], "is not a Prolific submissions export"),
    (["--export", "{trimmed}"], "no participant ID column"),
    (["--export", "{bad_status}"], "row 3, column Status: 'IP Address' is not a Prolific submission status"),
    (["--export", "{export}", "--balance", "12.345"], "--balance:"),
    (["--export", "{export}", "--balance", "lots"], "--balance:"),
    (["--export", "{export}", "--study-id", "not-an-id"], "is not a Prolific ID"),
    (["--export", "{export}", "--export", "{export}"], "same study ID"),
    (["--export", "{export}", "--study-id", STUDY, "--study-id", STUDY], "--study-id options for 1 --export"),
    (["--export", "{export}", "--status-override", "APPROVED"], "--status-override 'APPROVED' is not FROM=TO"),
    (["--export", "{export}", "--currency", "EUR"], "--currency must be GBP or USD"),
    (["--export", "{export}", "--fault-rate", "1.5"], "--fault-rate must be a probability"),
    (["--export", "{export}", "--fee-rate", "a third"], "--fee-rate 'a third' is not a rate"),
    (["--export", "{export}", "--bulk-max", "0"], "--bulk-max must be at least 1"),
    ([], "give at least one --export file"),
]


@pytest.mark.parametrize("args, expected", REFUSALS, ids=[e for _, e in REFUSALS])
def test_bad_options_and_files_are_refused_with_one_sentence(tmp_path, export_file, args, expected):
    mturk = tmp_path / "batch.csv"
    mturk.write_text("HITId,AssignmentId,WorkerId,AssignmentStatus\r\nH1,A1,W1,Submitted\r\n")
    trimmed = tmp_path / "trimmed.csv"
    trimmed.write_text("Submission id,Age,Sex\r\n5b0000000000000000000001,30,Male\r\n")
    bad_status = write_prolific_export(tmp_path / "bad_status.csv", synthetic_rows(["APPROVED", "IP Address"]))
    names = {"tmp": tmp_path, "mturk": mturk, "trimmed": trimmed, "bad_status": bad_status, "export": export_file}
    result = run_cli("emulator", "prolific", *[a.format(**names) for a in args])
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and expected in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "listening on" not in result.stdout


# ---------------------------------------------------------------- pagination


def test_study_submissions_page_by_limit_and_offset(emu, api):
    first = api.get(f"{emu.url}/api/v1/studies/{STUDY}/submissions").json()  # no trailing slash: accepted too
    assert len(first["results"]) == 20 and first["meta"]["count"] == 25  # default limit 20
    links = first["_links"]
    assert links["previous"]["href"] is None and set(links) == {"self", "next", "previous", "last"}
    assert all(set(link) == {"href", "title"} for link in links.values())
    second = api.get(links["next"]["href"]).json()
    assert [s["id"] for s in second["results"]] == [submission_id(i) for i in range(20, 25)]
    assert second["_links"]["next"]["href"] is None
    assert api.get(second["_links"]["previous"]["href"]).json()["results"] == first["results"]
    assert api.get(links["last"]["href"]).json()["results"] == second["results"]
    small = api.get(f"{emu.url}/api/v1/studies/{STUDY}/submissions/", params={"limit": 10, "offset": 10}).json()
    assert [s["id"] for s in small["results"]] == [submission_id(i) for i in range(10, 20)]
    newest = api.get(f"{emu.url}/api/v1/studies/{STUDY}/submissions/", params={"ordering": "-started_at", "limit": 3}).json()
    assert [s["id"] for s in newest["results"]] == [submission_id(i) for i in (24, 23, 22)]
    by_status = api.get(f"{emu.url}/api/v1/studies/{STUDY}/submissions/", params={"ordering": "-status", "limit": 6}).json()
    assert [s["id"] for s in by_status["results"]] == [submission_id(i) for i in (21, 22, 17, 18, 19, 20)]  # ties in file order
    assert "ordering=-status" in by_status["_links"]["next"]["href"]
    by_code = api.get(f"{emu.url}/api/v1/studies/{STUDY}/submissions/", params={"ordering": "study_code", "limit": 100}).json()["results"]
    assert [s["study_code"] for s in by_code][-5:] == ["NOCODE"] + [None] * 4  # returned and timed out: no code, last
    error_of(api.get(f"{emu.url}/api/v1/studies/{STUDY}/submissions/", params={"ordering": "reward"}), 400)
    assert "limit" in error_of(api.get(f"{emu.url}/api/v1/studies/{STUDY}/submissions/", params={"limit": "ten"}), 400)["detail"]


def test_submissions_page_by_number_with_status_filter(emu, api):
    url = f"{emu.url}/api/v1/submissions/"
    pages = [api.get(url, params={"study": STUDY, "page": n, "page_size": 10}).json() for n in (1, 2, 3)]
    assert [len(p["results"]) for p in pages] == [10, 10, 5] and pages[0]["meta"]["count"] == 25
    assert "page=2" in pages[0]["_links"]["next"]["href"] and pages[2]["_links"]["next"]["href"] is None
    assert "page=3" in pages[0]["_links"]["last"]["href"]
    assert [s["id"] for p in pages for s in p["results"]] == [submission_id(i) for i in range(25)]
    assert api.get(url, params={"study": STUDY}).json()["_links"]["next"]["href"].endswith("page=2&page_size=20")
    assert error_of(api.get(url, params={"study": STUDY, "page": 4, "page_size": 10}), 404)["detail"] == "Invalid page."
    # AWAITING_REVIEW, awaiting review and "AWAITING REVIEW" are one filter.
    for spelling in ("AWAITING_REVIEW", "awaiting review", "AWAITING REVIEW"):
        found = api.get(url, params={"study": STUDY, "status": spelling, "page_size": 100}).json()
        assert [s["id"] for s in found["results"]] == [submission_id(i) for i in AWAITING]
    assert api.get(url, params={"status": "timed_out"}).json()["meta"]["count"] == 1
    error_of(api.get(url, params={"status": "PAID"}), 400)


# ---------------------------------------------------------------- auth, 404, 405


def test_wrong_or_missing_token_is_401_and_hooks_need_none(emu):
    url = f"{emu.url}/api/v1/users/me/"
    for headers in ({}, {"Authorization": "Token wrong"}, {"Authorization": "Bearer emulator-token"}, {"Authorization": "emulator-token"}):
        error_of(requests.get(url, headers=headers), 401)
    me = requests.get(url, headers={"Authorization": "Token emulator-token"}).json()
    assert me["currency_code"] == "GBP" and me["balance"] == 1000000  # 10000.00 in pence
    assert requests.get(f"{emu.url}/__emulator__/state").status_code == 200


def test_unknown_things_are_404_and_wrong_methods_405(emu, api):
    error_of(api.get(f"{emu.url}/api/v1/studies/{'0' * 24}/"), 404)
    error_of(api.get(f"{emu.url}/api/v1/studies/{'0' * 24}/submissions/"), 404)
    error_of(api.get(f"{emu.url}/api/v1/submissions/{'0' * 24}/"), 404)
    error_of(api.post(f"{emu.url}/api/v1/submissions/{'0' * 24}/transition/", json={"action": "APPROVE"}), 404)
    error_of(pay(emu, api, "0" * 24), 404)
    error_of(api.get(f"{emu.url}/api/v1/workspaces/{'0' * 24}/balance/"), 404)
    error_of(api.get(f"{emu.url}/api/v1/hooks/subscriptions/"), 404)
    error_of(api.post(f"{emu.url}/api/v1/submissions/bonus-payments/", json={"study_id": "0" * 24, "csv_bonuses": f"{submission_id(0)},1.00"}), 404)
    error_of(api.delete(f"{emu.url}/api/v1/studies/{STUDY}/"), 405)
    error_of(api.get(f"{emu.url}/api/v1/bulk-bonus-payments/{'0' * 24}/pay/"), 405)
    gone = error_of(api.get(f"{emu.url}/api/v1/studies/{STUDY}/export/"), 410)
    assert "demographic-export" in gone["detail"]


# ---------------------------------------------------------------- transitions


def transition(emu, api, i: int, **body) -> requests.Response:
    return api.post(f"{emu.url}/api/v1/submissions/{submission_id(i)}/transition/", json=body)


def test_approve_then_repeat_is_idempotent_and_other_actions_refused(emu, api):
    answer = transition(emu, api, 0, action="APPROVE")
    assert answer.status_code == 200
    assert answer.json() == {
        "id": submission_id(0), "study_id": STUDY, "participant": participant_id(0), "status": "APPROVED",
        "started_at": "2024-07-01T00:00:00.000000Z", "completed_at": "2024-07-01T00:07:30.500000Z", "entered_code": "C0DE1234",
    }
    again = transition(emu, api, 0, action="APPROVE")
    assert again.status_code == 200 and again.json() == answer.json()
    assert "APPROVED" in error_of(transition(emu, api, 0, action="REJECT", message=MESSAGE_100, rejection_category="BAD_CODE"), 400)["detail"]
    assert detail(emu, api, 0)["status"] == "APPROVED"
    error_of(transition(emu, api, RETURNED, action="APPROVE"), 400)  # only AWAITING REVIEW can be approved
    assert detail(emu, api, RETURNED)["status"] == "RETURNED"
    assert transition(emu, api, 12, action="APPROVE").status_code == 200  # seeded APPROVED: a repeat, ignored
    assert prolific_stats(emu.url)["effective"] == {"POST /api/v1/submissions/{id}/transition/": 1}


def test_reject_needs_a_100_character_message_and_a_category(emu, api):
    assert len(MESSAGE_100) == 100
    short = error_of(transition(emu, api, 1, action="REJECT", message=MESSAGE_100[:99], rejection_category="BAD_CODE"), 400)
    assert set(short["detail"]) == {"message"} and isinstance(short["detail"]["message"], list)
    as_list = error_of(transition(emu, api, 1, action="REJECT", message=MESSAGE_100, rejection_category=["BAD_CODE"]), 400)
    assert set(as_list["detail"]) == {"rejection_category"}  # Mephisto's tuple bug, refused
    unknown = error_of(transition(emu, api, 1, action="REJECT", message=MESSAGE_100, rejection_category="RUDE"), 400)
    assert set(unknown["detail"]) == {"rejection_category"}
    missing = error_of(transition(emu, api, 1, action="REJECT"), 400)
    assert set(missing["detail"]) == {"message", "rejection_category"}
    assert detail(emu, api, 1)["status"] == "AWAITING REVIEW"
    rejected = transition(emu, api, 1, action="REJECT", message=MESSAGE_100, rejection_category="BAD_CODE")
    assert rejected.status_code == 200 and rejected.json()["status"] == "REJECTED"
    assert transition(emu, api, 1, action="REJECT", message=MESSAGE_100, rejection_category="NO_CODE").status_code == 200
    error_of(transition(emu, api, 1, action="APPROVE"), 400)


def test_unknown_actions_and_bodies_are_refused(emu, api):
    for body in ({"action": "PAY"}, {"action": "approve"}, {"action": "RETURN"}, {}, {"action": "COMPLETE", "completion_code": "X"}):
        error_of(transition(emu, api, 2, **body), 400)
    error_of(api.post(f"{emu.url}/api/v1/submissions/{submission_id(2)}/transition/", data=b"{not json"), 400)
    error_of(api.post(f"{emu.url}/api/v1/submissions/{submission_id(2)}/transition/", json=["APPROVE"]), 400)
    assert detail(emu, api, 2)["status"] == "AWAITING REVIEW"


# ---------------------------------------------------------------- bulk approve


def bulk_approve(emu, api, body) -> requests.Response:
    return api.post(f"{emu.url}/api/v1/submissions/bulk-approve/", json=body)


def test_bulk_approve_is_asynchronous_and_skips_ineligible_ids(export_file, api):
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], settle_ms=600_000) as emu:
        ids = [submission_id(i) for i in (0, 1, RETURNED, REJECTED)] + ["f" * 24]
        answer = bulk_approve(emu, api, {"submission_ids": ids})
        assert answer.status_code == 200 and answer.json() == BULK_APPROVE_ANSWER
        assert detail(emu, api, 0)["status"] == "AWAITING REVIEW"  # accepted, not yet done
        assert prolific_settle(emu.url) == 1
        statuses = [detail(emu, api, i)["status"] for i in (0, 1, RETURNED, REJECTED)]
        assert statuses == ["APPROVED", "APPROVED", "RETURNED", "REJECTED"]
        by_participant = bulk_approve(emu, api, {"study_id": STUDY, "participant_ids": [participant_id(2), participant_id(3)]})
        assert by_participant.status_code == 200
        prolific_settle(emu.url)
        assert [detail(emu, api, i)["status"] for i in (2, 3, 5, SIBLING)] == ["APPROVED", "APPROVED", "AWAITING REVIEW", "APPROVED"]


def test_bulk_approve_with_no_settle_delay_shows_on_the_next_read(emu, api):
    assert bulk_approve(emu, api, {"submission_ids": [submission_id(5)]}).status_code == 200
    assert detail(emu, api, 5)["status"] == "APPROVED"


def test_bulk_approve_bodies_are_checked(export_file, api):
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], bulk_max=3) as emu:
        for body in (
            {},
            {"submission_ids": []},
            {"submission_ids": [submission_id(0)], "study_id": STUDY, "participant_ids": [participant_id(1)]},
            {"study_id": STUDY},
            {"participant_ids": [participant_id(1)]},
            {"submission_ids": submission_id(0)},
            {"submission_ids": [submission_id(i) for i in range(4)]},  # more than --bulk-max
        ):
            error_of(bulk_approve(emu, api, body), 400)
        error_of(bulk_approve(emu, api, {"study_id": "0" * 24, "participant_ids": [participant_id(1)]}), 404)
        assert bulk_approve(emu, api, {"submission_ids": [submission_id(i) for i in range(3)]}).status_code == 200
        assert [detail(emu, api, i)["status"] for i in range(4)] == ["APPROVED"] * 3 + ["AWAITING REVIEW"]


# ---------------------------------------------------------------- bonus set-up


def test_bonus_set_up_answers_in_minor_units_with_fees_and_moves_no_money(emu, api):
    raw = api.post(
        f"{emu.url}/api/v1/submissions/bonus-payments/",
        json={"study_id": STUDY, "csv_bonuses": f"{submission_id(0)},4.25\n{participant_id(1)},4.25\n"},
    )
    assert raw.status_code == 201
    body = money(raw)
    assert re.fullmatch(r"[0-9a-f]{24}", body["id"]) and body["study"] == STUDY
    # 850 pence; fees = 850 x 1/3 = 283.333... rounded half-up to 0.01 pence = 283.33 (the rule
    # stated in reconcile/emulators/prolific.py; the docs' example shows 283.34, see the next test).
    assert (body["amount"], body["fees"], body["vat"], body["total_amount"]) == (850, Decimal("283.33"), 0, Decimal("1133.33"))
    # JSON numbers, written from Decimal: exactly these texts.
    assert '"amount": 850' in raw.text and '"fees": 283.33' in raw.text and '"total_amount": 1133.33' in raw.text
    assert prolific_state(emu.url)["balance"] == 1000000  # set-up moves no money
    assert detail(emu, api, 0)["bonus_payments"] == []


def test_fee_rounding_vat_and_rate_knobs(export_file, api):
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], fee_rounding="up", vat_rate="0.2") as emu:
        body = set_up_bonus(emu, api, f"{submission_id(0)},8.50")
        # Rounding up reproduces the docs' 283.34; VAT 20% of that is 56.668 -> 56.67 (up).
        assert (body["amount"], body["fees"], body["vat"], body["total_amount"]) == (850, Decimal("283.34"), Decimal("56.67"), Decimal("1190.01"))
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], fee_rate="0.428", currency="USD") as emu:
        body = set_up_bonus(emu, api, f"{submission_id(0)},1.00\n{submission_id(1)},0.01")
        assert (body["amount"], body["fees"], body["total_amount"]) == (101, Decimal("43.23"), Decimal("144.23"))  # 43.228 -> 43.23
        assert api.get(f"{emu.url}/api/v1/studies/{STUDY}/").json()["currency_code"] == "USD"


def test_a_participant_id_pays_the_participants_latest_submission(emu, api):
    bid = set_up_bonus(emu, api, f"{participant_id(3)},2.00")["id"]
    assert pay(emu, api, bid).status_code == 202
    assert detail(emu, api, SIBLING)["bonus_payments"] == [200] and detail(emu, api, 3)["bonus_payments"] == []


@pytest.mark.parametrize("amount", ["0.975", "-1", "+1", "1e2", "0", "0.00", "abc", "1.", ".5", "1,5", "£1.00", "", "NaN", "1 000"])
def test_bonus_amounts_are_strict(emu, api, amount):
    csv_bonuses = f"{submission_id(0)},1.00\n{submission_id(1)},{amount}\n"
    answer = api.post(f"{emu.url}/api/v1/submissions/bonus-payments/", json={"study_id": STUDY, "csv_bonuses": csv_bonuses})
    problems = error_of(answer, 400)["detail"]["csv_bonuses"]
    assert len(problems) == 1 and problems[0].startswith("Line 2:")
    assert prolific_state(emu.url)["bulk_bonuses"] == {}


def test_bonus_lines_naming_strangers_are_refused_with_their_ids(emu, api):
    strangers = ["e" * 24, "not-an-id"]
    csv_bonuses = f"{submission_id(0)},1.00\n{strangers[0]},1.00\n{strangers[1]},2.00"
    problems = error_of(api.post(f"{emu.url}/api/v1/submissions/bonus-payments/", json={"study_id": STUDY, "csv_bonuses": csv_bonuses}), 400)["detail"]["csv_bonuses"]
    assert all(s in problems[0] for s in strangers) and submission_id(0) not in problems[0]
    for body in ({"study_id": STUDY}, {"csv_bonuses": f"{submission_id(0)},1.00"}, {"study_id": STUDY, "csv_bonuses": "\n\n"}, {"study_id": STUDY, "csv_bonuses": 5}):
        error_of(api.post(f"{emu.url}/api/v1/submissions/bonus-payments/", json=body), 400)
    assert prolific_state(emu.url)["bulk_bonuses"] == {}


@pytest.fixture(scope="module")
def shared_emu(tmp_path_factory):
    path = write_prolific_export(tmp_path_factory.mktemp("shared") / "export.csv", study_rows())
    with start_prolific_emulator([str(path)], study_ids=[STUDY]) as running:
        yield running


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=st.one_of(st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{0,3})?\Z"), st.text(max_size=8)))
def test_a_bonus_amount_is_accepted_exactly_when_it_is_positive_with_two_decimals_at_most(shared_emu, amount):
    with prolific_session() as api:
        answer = api.post(f"{shared_emu.url}/api/v1/submissions/bonus-payments/", json={"study_id": STUDY, "csv_bonuses": f"{submission_id(0)},{amount}"})
    text = amount.strip()
    valid = re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", text) is not None and Decimal(text) > 0 and "\n" not in amount and "\r" not in amount
    if valid:
        assert answer.status_code == 201 and answer.json()["amount"] == int(Decimal(text) * 100)
    else:
        assert answer.status_code == 400


# ---------------------------------------------------------------- pay: not idempotent


def test_paying_one_bulk_bonus_twice_pays_twice(emu, api):
    bulk = set_up_bonus(emu, api, f"{submission_id(0)},4.25\n{submission_id(1)},1.00")
    for _ in range(2):
        answer = pay(emu, api, bulk["id"])
        assert answer.status_code == 202
        assert answer.json() == f"Bulk bonus payment with ID {bulk['id']} is being processed asynchronously. Payments will be completed shortly."
    rows = payouts(emu.url)
    assert [(p["pay_call"], p["submission_id"], p["participant_id"], p["cents"]) for p in rows] == [
        (1, submission_id(0), participant_id(0), 425), (1, submission_id(1), participant_id(1), 100),
        (2, submission_id(0), participant_id(0), 425), (2, submission_id(1), participant_id(1), 100),
    ]
    assert all(p["bulk_id"] == bulk["id"] for p in rows)
    assert detail(emu, api, 0)["bonus_payments"] == [425, 425]
    state = prolific_state(emu.url)
    assert state["bulk_bonuses"][bulk["id"]]["times_paid"] == 2
    assert state["balance"] == Decimal(1000000) - 2 * Decimal("700.00")  # 525 + 175 fees, twice
    assert [c["accepted"] for c in pay_calls(emu.url)] == [True, True]


def test_pay_settles_after_the_delay_and_bonus_payments_lag(export_file, api):
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], settle_ms=600_000) as emu:
        bid = set_up_bonus(emu, api, f"{submission_id(0)},3.00")["id"]
        assert pay(emu, api, bid).status_code == 202
        assert detail(emu, api, 0)["bonus_payments"] == [] and payouts(emu.url) == []
        balance = api.get(f"{emu.url}/api/v1/workspaces/{workspace(emu, api)}/balance/").json()
        assert balance["total_balance"] == 1000000 and balance["available_balance"] == 1000000 - 400  # reserved
        prolific_settle(emu.url)
        assert detail(emu, api, 0)["bonus_payments"] == [300]
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], bonus_lag_ms=600_000) as emu:
        bid = set_up_bonus(emu, api, f"{submission_id(0)},3.00")["id"]
        assert pay(emu, api, bid).status_code == 202
        assert len(payouts(emu.url)) == 1  # settled (money moved) ...
        assert detail(emu, api, 0)["bonus_payments"] == []  # ... but not yet shown
        assert prolific_state(emu.url)["submissions"][submission_id(0)]["bonus_payments"] == [300]
        prolific_settle(emu.url)
        assert detail(emu, api, 0)["bonus_payments"] == [300]


def workspace(emu, api) -> str:
    (ws,) = api.get(f"{emu.url}/api/v1/workspaces/").json()["results"]
    return ws["id"]


def test_balance_is_debited_by_total_amount_and_a_short_balance_refuses_pay(export_file, api):
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], balance="20.00") as emu:
        bid = set_up_bonus(emu, api, f"{submission_id(0)},8.50")["id"]  # total 1133.33 pence
        assert pay(emu, api, bid).status_code == 202
        balance = api.get(f"{emu.url}/api/v1/workspaces/{workspace(emu, api)}/balance/").json()
        assert balance["currency_code"] == "GBP"
        assert (balance["total_balance"], balance["available_balance"]) == (866, 866)  # 866.67, floored on the wire
        assert prolific_state(emu.url)["balance"] == Decimal("866.67")
        refused = error_of(pay(emu, api, bid), 400)
        assert "Insufficient balance" in refused["detail"]
        assert [(c["outcome"], c["accepted"], c["status"]) for c in pay_calls(emu.url)] == [("accepted", True, 202), ("insufficient balance", False, 400)]
        assert len(payouts(emu.url)) == 1
        debits = [e for e in prolific_audit(emu.url) if e["kind"] == "balance_debit"]
        assert [(d["amount"], d["balance_after"]) for d in debits] == [(Decimal("1133.33"), Decimal("866.67"))]


def test_study_cost_counts_settled_bonuses_only(export_file, api):
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], settle_ms=600_000) as emu:
        cost = money(api.get(f"{emu.url}/api/v1/studies/{STUDY}/cost/"))
        assert cost["rewards"]["rewards"] == {"amount": 600, "currency": "GBP"}  # 6 approved x 100
        assert cost["bonuses"]["rewards"]["amount"] == 0 and cost["_links"] == {}
        bid = set_up_bonus(emu, api, f"{submission_id(0)},8.50")["id"]
        pay(emu, api, bid)
        assert money(api.get(f"{emu.url}/api/v1/studies/{STUDY}/cost/"))["bonuses"]["rewards"]["amount"] == 0
        prolific_settle(emu.url)
        bonuses = money(api.get(f"{emu.url}/api/v1/studies/{STUDY}/cost/"))["bonuses"]
        assert (bonuses["rewards"]["amount"], bonuses["fees"]["amount"], bonuses["tax"]["amount"]) == (850, Decimal("283.33"), 0)


def test_bulk_bonus_ids_can_be_uuids(export_file, api):
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], bonus_id_format="uuid") as emu:
        bid = set_up_bonus(emu, api, f"{submission_id(0)},1.00")["id"]
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", bid)
        assert pay(emu, api, bid).status_code == 202


def test_concurrent_calls_approve_once_but_pay_every_time(emu, api):
    bid = set_up_bonus(emu, api, f"{submission_id(0)},1.00")["id"]
    answers: list[int] = []

    def both() -> None:
        with prolific_session() as own:
            answers.append(transition(emu, own, 0, action="APPROVE").status_code)
            answers.append(pay(emu, own, bid).status_code)

    threads = [threading.Thread(target=both) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200] * 8 + [202] * 8
    stats = prolific_stats(emu.url)["effective"]
    assert stats["POST /api/v1/submissions/{id}/transition/"] == 1  # idempotent: one change
    assert stats["POST /api/v1/bulk-bonus-payments/{bid}/pay/"] == 8  # not idempotent: eight payouts
    assert detail(emu, api, 0)["bonus_payments"] == [100] * 8


@pytest.fixture(scope="module")
def module_export(tmp_path_factory) -> Path:
    return write_prolific_export(tmp_path_factory.mktemp("money") / "export.csv", study_rows())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=st.lists(st.tuples(st.sampled_from(["set-up", "pay"]), st.integers(0, 24), st.integers(1, 900), st.integers(0, 3)), max_size=10),
    settle_ms=st.sampled_from([0, 600_000]),
)
def test_money_is_conserved_and_every_accepted_pay_pays_every_row(module_export, ops, settle_ms):
    """Whatever the calls, the balance falls by total_amount per accepted pay call and never below
    zero, each accepted call pays every row of its bulk bonus once more, and nothing else moves."""
    with start_prolific_emulator([str(module_export)], study_ids=[STUDY], balance="30.00", settle_ms=settle_ms) as emu, prolific_session() as api:
        bulks: list[dict] = []
        rows: dict[str, list[tuple[str, int]]] = {}
        for kind, i, cents, which in ops:
            if kind == "set-up":
                bulk = set_up_bonus(emu, api, f"{submission_id(i)},{cents // 100}.{cents % 100:02d}\n{submission_id((i + 1) % 25)},0.01")
                bulks.append(bulk)
                rows[bulk["id"]] = [(submission_id(i), cents), (submission_id((i + 1) % 25), 1)]
                assert bulk["amount"] == cents + 1
                assert bulk["fees"] == (Decimal(cents + 1) / 3).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            elif bulks:
                assert pay(emu, api, bulks[which % len(bulks)]["id"]).status_code in (202, 400)
        prolific_settle(emu.url)
        state = prolific_state(emu.url)
        accepted = [c["bulk_id"] for c in pay_calls(emu.url) if c["accepted"]]
        totals = {b["id"]: b["total_amount"] for b in bulks}
        assert state["balance"] == Decimal(3000) - sum((totals[b] for b in accepted), Decimal(0))
        assert state["balance"] >= 0 and state["available_balance"] == state["balance"]
        paid: dict[str, int] = {}
        for bid in accepted:
            for sid, cents in rows[bid]:
                paid[sid] = paid.get(sid, 0) + cents
        for sid, sub in state["submissions"].items():
            screen_out = [10] if sub["status"] == "SCREENED OUT" else []
            assert sum(sub["bonus_payments"]) - sum(screen_out) == paid.get(sid, 0)
        assert {b: s["times_paid"] for b, s in state["bulk_bonuses"].items()} == {b["id"]: accepted.count(b["id"]) for b in bulks}


# ---------------------------------------------------------------- faults


def test_a_dropped_response_still_pays_and_a_careless_retry_pays_again(emu, api):
    bid = set_up_bonus(emu, api, f"{submission_id(0)},2.00")["id"]
    prolific_set_faults(emu.url, drop_response_rate=1.0, routes=["/pay/"])
    with pytest.raises(requests.exceptions.ConnectionError):
        pay(emu, api, bid)
    assert detail(emu, api, 0)["bonus_payments"] == [200]  # the client never heard, but it paid
    (call,) = pay_calls(emu.url)
    assert (call["outcome"], call["accepted"], call["dropped"], call["pay_call"]) == ("accepted", True, True, 1)
    with pytest.raises(requests.exceptions.ConnectionError):
        pay(emu, api, bid)  # a client that "retries" a lost pay call
    assert detail(emu, api, 0)["bonus_payments"] == [200, 200]
    assert [p["pay_call"] for p in payouts(emu.url)] == [1, 2]
    assert prolific_stats(emu.url)["dropped"] == 2


def test_a_server_fault_happens_before_anything(emu, api):
    bid = set_up_bonus(emu, api, f"{submission_id(0)},2.00")["id"]
    prolific_set_faults(emu.url, fault_rate=1.0, routes=["/pay/"])
    answer = pay(emu, api, bid)
    assert answer.status_code in (500, 502, 503)
    error_of(answer, answer.status_code)
    assert detail(emu, api, 0)["bonus_payments"] == []  # reads are not faulted (routes filter)
    prolific_settle(emu.url)
    assert payouts(emu.url) == [] and prolific_state(emu.url)["balance"] == 1000000
    assert [(c["outcome"], c["accepted"]) for c in pay_calls(emu.url)] == [("server fault", False)]
    prolific_set_faults(emu.url, fault_rate=0.0)
    assert pay(emu, api, bid).status_code == 202
    assert len(payouts(emu.url)) == 1


def test_throttling_answers_429_without_retry_after(export_file, api):
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], throttle=0.001) as emu:  # one call per 1000 s
        assert api.get(f"{emu.url}/api/v1/users/me/").status_code == 200
        throttled = api.get(f"{emu.url}/api/v1/users/me/")
        error_of(throttled, 429)
        assert "Retry-After" not in throttled.headers
        assert prolific_stats(emu.url)["throttled"] == 1  # the hook itself is never throttled


def outcomes(export_file: Path, seed: int) -> list[str]:
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], fault_rate=0.3, drop_response_rate=0.2, seed=seed) as emu:
        seq = []
        for _ in range(40):
            with prolific_session() as api:
                try:
                    seq.append(str(api.get(f"{emu.url}/api/v1/users/me/").status_code))
                except requests.exceptions.ConnectionError:
                    seq.append("dropped")
        return seq


def test_faults_reproduce_with_the_same_seed(export_file):
    first = outcomes(export_file, 7)
    assert first == outcomes(export_file, 7)
    assert "200" in first and "dropped" in first and {"500", "502", "503"} & set(first)
    assert first != outcomes(export_file, 8)


def test_latency_is_added_before_answering(export_file, api):
    import time

    with start_prolific_emulator([str(export_file)], latency_ms=100) as emu:
        started = time.monotonic()
        api.get(f"{emu.url}/api/v1/users/me/")
        assert time.monotonic() - started >= 0.1  # a lower bound only: sleeping can only add


# ---------------------------------------------------------------- demographic export


def test_demographic_export_is_the_2024_csv_of_the_current_state(emu, api, tmp_path):
    transition(emu, api, 0, action="APPROVE")
    transition(emu, api, 1, action="REJECT", message=MESSAGE_100, rejection_category="NO_CODE")
    answer = api.post(f"{emu.url}/api/v1/studies/{STUDY}/demographic-export/", json={"filters": []})
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    raw = answer.content.decode("utf-8")
    assert raw.startswith("Submission id,Participant id,Status,Custom study tncs accepted at,Started at,Completed at,Reviewed at,Archived at,Time taken,Completion code,Total approvals,Age,Sex,Country of residence\r\n")
    assert raw.count("\r\n") == 26 and "\n" not in raw.replace("\r\n", "")
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert [r["Status"] for r in rows[:3]] == ["APPROVED", "REJECTED", "AWAITING REVIEW"]
    assert rows[0]["Reviewed at"].endswith("Z") and rows[2]["Reviewed at"] == ""
    assert rows[6]["Sex"] == "CONSENT_REVOKED"  # sentinels are just text
    # The file is a Prolific export the emulator (and so `reconcile fetch prolific`'s output) reads back.
    saved = tmp_path / "fetched.csv"
    saved.write_bytes(answer.content)
    with start_prolific_emulator([str(saved)], study_ids=[STUDY]) as again:
        state = prolific_state(again.url)
    assert {k: (v["participant_id"], v["status"]) for k, v in state["submissions"].items()} == {
        k: (v["participant_id"], v["status"]) for k, v in prolific_state(emu.url)["submissions"].items()
    }


def test_hostile_typed_codes_travel_as_text(tmp_path, api):
    rows = synthetic_rows(["AWAITING REVIEW"] * 2)
    rows[0]["code"] = 'C0DE"1234",\n</script>\u202e=cmd|x'
    path = write_prolific_export(tmp_path / "hostile.csv", rows)
    with start_prolific_emulator([str(path)], study_ids=[STUDY]) as emu:
        assert detail(emu, api, 0)["entered_code"] == rows[0]["code"]
        exported = api.post(f"{emu.url}/api/v1/studies/{STUDY}/demographic-export/").content.decode()
        assert list(csv.DictReader(io.StringIO(exported, newline="")))[0]["Completion code"] == rows[0]["code"]


# ---------------------------------------------------------------- observability


def test_stats_count_calls_per_route_and_reset(emu, api):
    api.get(f"{emu.url}/api/v1/users/me/")
    transition(emu, api, 0, action="APPROVE")
    transition(emu, api, 0, action="APPROVE")
    requests.get(f"{emu.url}/api/v1/users/me/")  # 401
    stats = prolific_stats(emu.url)
    assert stats["calls"] == {"GET /api/v1/users/me/": 2, "POST /api/v1/submissions/{id}/transition/": 2}
    assert stats["effective"] == {"POST /api/v1/submissions/{id}/transition/": 1}
    assert (stats["total_calls"], stats["effective_mutations"], stats["errors"]) == (4, 1, 1)
    assert stats == emu.stats()
    prolific_reset_stats(emu.url)
    assert prolific_stats(emu.url)["total_calls"] == 0
    assert prolific_state(emu.url)["submissions"][submission_id(0)]["status"] == "APPROVED"  # state survives a reset


def test_in_process_handles_match_the_hooks(emu, api):
    bid = set_up_bonus(emu, api, f"{submission_id(0)},1.00")["id"]
    pay(emu, api, bid)
    assert emu.audit() == prolific_audit(emu.url)
    state = emu.state()
    assert state["bulk_bonuses"][bid]["times_paid"] == 1 and state["balance"] == Decimal("999866.67")
    assert emu.settle() == 0


def test_money_json_never_goes_through_float():
    assert decimal_json_text(Decimal("850")) == "850" and decimal_json_text(Decimal("283.3400")) == "283.34"
    assert decimal_json_text(Decimal("0.10") * 100) == "10" and decimal_json_text(Decimal("1E+3")) == "1000"
    # A value float cannot hold survives exactly.
    assert dumps({"amount": Decimal("12345678901234567.89")}) == b'{"amount": 12345678901234567.89}'
    with pytest.raises(TypeError):
        dumps({"amount": 1.5})
    assert json.loads(dumps({"a": [Decimal("1.5"), "x"]})) == {"a": [1.5, "x"]}


# ---------------------------------------------------------------- the command


def test_cli_prints_listening_line_serves_and_stops_on_sigterm(export_file):
    url, proc = start_prolific_process("--export", str(export_file), "--study-id", STUDY, "--balance", "50.00", env={"PROLIFIC_API_TOKEN": "secret-from-env"})
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert proc.study_lines == [f"study {STUDY}: {export_file} (25 submissions, 2024 Title case export, completion code C0DE1234)"]
        with prolific_session("secret-from-env") as api:
            assert api.get(f"{url}/api/v1/users/me/").json()["balance"] == 5000
            bid = api.post(f"{url}/api/v1/submissions/bonus-payments/", json={"study_id": STUDY, "csv_bonuses": f"{submission_id(0)},1.00"}).json()["id"]
            assert api.post(f"{url}/api/v1/bulk-bonus-payments/{bid}/pay/").status_code == 202
        with prolific_session() as wrong:
            assert wrong.get(f"{url}/api/v1/users/me/").status_code == 401  # the default token is not accepted now
        assert len(payouts(url)) == 1
    finally:
        code = stop_prolific_process(proc)
    assert code == 0
    err = prolific_process_stderr(proc)
    assert "stopped after 4 API calls (2 changes took effect; 1 pay calls accepted, 1 payouts settled)." in err
    assert "Traceback" not in err and "secret-from-env" not in err + "\n".join(proc.study_lines)


def test_cli_stops_cleanly_on_sigint(export_file):
    url, proc = start_prolific_process("--export", str(export_file), "--token", "t0k")
    try:
        with prolific_session("t0k") as api:
            assert api.get(f"{url}/api/v1/studies/").json()["meta"]["count"] == 1
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        stop_prolific_process(proc)
    assert "Traceback" not in prolific_process_stderr(proc)


def test_cli_help_lists_every_option():
    result = run_cli("emulator", "prolific", "--help")
    assert result.returncode == 0
    for option in (
        "--export", "--study-id", "--port", "--token", "--balance", "--currency", "--fault-rate", "--drop-response-rate",
        "--throttle", "--latency-ms", "--settle-ms", "--bonus-lag-ms", "--fee-rate", "--vat-rate", "--completion-code",
        "--screen-out-reward", "--bulk-max", "--seed", "--status-override",
    ):
        assert option in result.stdout
