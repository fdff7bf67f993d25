"""sample_data/: the generator reproduces the committed files byte for byte, the importers read them,
and every case cases.json claims is really in the files (the matcher's tests rely on it)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from conftest import SAMPLE_DATA, run_cli
from reconcile.importers import require_columns
from reconcile.platforms.mturk import PLATFORM as MTURK
from reconcile.platforms.mturk.batch_csv import read_mturk_csv as read_mturk

from reconcile.importers import read_qualtrics as _read_qualtrics
from reconcile.platforms.mturk.ids import WorkerIds


def read_qualtrics(path, **kw):
    """An MTurk study's survey export, read with MTurk's worker-ID rules."""
    return _read_qualtrics(path, ids=WorkerIds(), **kw)


OUTPUTS = ["qualtrics_export.csv", "mturk_batch_results.csv", "cases.json", "README.md"]


@pytest.fixture(scope="module")
def sample():
    q = read_qualtrics(SAMPLE_DATA / "qualtrics_export.csv")
    m = read_mturk([SAMPLE_DATA / "mturk_batch_results.csv"])
    doc = json.loads((SAMPLE_DATA / "cases.json").read_text(encoding="utf-8"))
    by_row_q = {r.source.row: r for r in q.responses}
    by_row_m = {a.source.row: a for a in m.submissions}
    return q, m, doc, by_row_q, by_row_m


def test_generator_reproduces_committed_files(tmp_path):
    proc = subprocess.run([sys.executable, str(SAMPLE_DATA / "make_sample.py"), "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in OUTPUTS:
        assert (tmp_path / name).read_bytes() == (SAMPLE_DATA / name).read_bytes(), f"{name} differs: re-run sample_data/make_sample.py and commit"


def test_sample_reads_as_a_real_study(sample):
    q, m, doc, _, _ = sample
    assert len(q.responses) == len(doc["responses"]) == 148
    assert len(m.submissions) == len(doc["assignments"]) == 131 and m.duplicates == ()
    assert (q.code_column, q.participant_column) == ("mTurkCode", "worker_id")
    assert (m.files[0].code_column, m.files[0].participant_column) == ("Answer.surveycode", "WorkerId")
    require_columns(q, need_participant=True)
    MTURK.require_columns(m)
    assert "3 header rows, JSON ImportIds" in q.format
    fmt = m.files[0].format
    assert "CRLF" in fmt and "131 short rows" in fmt and "no final newline" in fmt
    assert [w for w in q.warnings if "'84719265.0'" in w] and [w for w in m.files[0].warnings if "'2.95061E+08'" in w]
    assert {a.reward for a in m.submissions} == {"$0.50"}
    assert {a.fields["RequesterAnnotation"] for a in m.submissions} == {"BatchId:4812345;OriginalHitTemplateId:928390865;"}
    assert all(r.fields["score"].isdigit() for r in q.responses if r.finished == "True")


def test_raw_layout_like_real_downloads():
    raw_m = (SAMPLE_DATA / "mturk_batch_results.csv").read_bytes()
    assert not raw_m.endswith(b"\n") and raw_m.count(b"\r\n") == 131
    records = list(csv.reader(io.StringIO(raw_m.decode(), newline="")))
    assert len(records[0]) == 30 and {len(r) for r in records[1:]} == {28}
    raw_q = (SAMPLE_DATA / "qualtrics_export.csv").read_bytes().decode()
    records = list(csv.reader(io.StringIO(raw_q, newline="")))
    multiline = [c for r in records for c in r if "\n" in c]
    assert multiline and all("\r" not in c for c in multiline)  # bare LF inside CRLF records
    assert records[2][0] == '{"ImportId":"startDate","timeZone":"America/Los_Angeles"}'


def test_cases_point_at_the_right_rows(sample):
    q, m, doc, by_row_q, by_row_m = sample
    assert sorted(a["row"] for a in doc["assignments"]) == sorted(by_row_m)
    assert sorted(r["row"] for r in doc["responses"]) == sorted(by_row_q)
    for a in doc["assignments"]:
        got = by_row_m[a["row"]]
        assert (got.submission_id, got.participant_id, got.code) == (a["assignment_id"], a["worker_id"], a["code"])
        assert a["case"] in doc["case_descriptions"]
        if a["response_row"]:
            assert by_row_q[a["response_row"]].response_id == a["response_id"]
    for r in doc["responses"]:
        assert by_row_q[r["row"]].response_id == r["response_id"]
    counts = Counter(a["expected_decision"] for a in doc["assignments"])
    assert counts == {"approve": 110, "review": 16, "skip": 5}


def _norm_worker(w):
    w = w.strip().upper()
    return w if w.startswith("A") else "A" + w


def test_every_case_is_really_in_the_files(sample):
    q, m, doc, by_row_q, by_row_m = sample
    codes = Counter(r.code for r in q.responses if r.code)
    claimed = Counter(a.code for a in m.submissions)
    cases: dict[str, list] = {}
    for a in doc["assignments"]:
        cases.setdefault(a["case"], []).append((by_row_m[a["row"]], by_row_q.get(a["response_row"])))
    rcases = Counter(r["case"] for r in doc["responses"])

    for case in ("exact", "attention_failed", "duplicate_ip", "short_duration", "shared_code_owner", "auto_approval_passed", "auto_approval_soon"):
        for a, r in cases[case]:
            assert a.code == r.code and codes[a.code] == 1 and a.status == "Submitted"
            assert r.finished == "True" and r.status == "IP Address"
            assert r.participant_id in ("", a.participant_id)
    assert sum(1 for a, r in cases["exact"] if r.participant_id == "") == 10
    assert all(r.fields["Q1"] == "Purple" for a, r in cases["exact"])
    assert all(r.fields["Q1"] != "Purple" for a, r in cases["attention_failed"])
    for case, how in (("worker_lowercase", str.lower), ("worker_spaces", None), ("worker_missing_a", lambda w: w[1:])):
        (a, r), = cases[case]
        assert a.code == r.code and r.participant_id != a.participant_id and _norm_worker(r.participant_id) == a.participant_id
        if how:
            assert r.participant_id == how(a.participant_id)
    (a, r), = cases["code_in_sentence"]
    assert r.code in a.code and a.code != r.code and " " in a.code
    (a, r), = cases["code_nbsp_zero_width"]
    assert a.code == f"\u00a0{r.code}\u200b"
    ips = {r.ip_address for a, r in cases["duplicate_ip"]}
    assert len(ips) == 1 and Counter(x.ip_address for x in q.responses)[ips.pop()] == 3
    assert Counter(x.ip_address for x in q.responses if x.ip_address).most_common(2)[1][1] == 1  # no accidental sharing
    (a, r), = cases["short_duration"]
    assert r.duration_seconds == "38"

    (owner, r), = cases["shared_code_owner"]
    (other, none), = cases["shared_code_other"]
    assert none is None and other.code == owner.code and claimed[owner.code] == 2 and other.participant_id != owner.participant_id
    for a, r in cases["workerid_as_code"]:
        assert a.code == a.participant_id and r.participant_id == a.participant_id and r.finished == "True" and claimed[r.code] == 0
    (a, r), = cases["typo_one_char"]
    assert len(a.code) == len(r.code) and sum(x != y for x, y in zip(a.code, r.code)) == 1 and a.code not in codes
    (a, r), = cases["typo_transposition"]
    diff = [i for i, (x, y) in enumerate(zip(a.code, r.code)) if x != y]
    assert len(diff) == 2 and diff[1] == diff[0] + 1 and sorted(a.code) == sorted(r.code)
    (a, r), = cases["o_for_zero"]
    assert "O" in a.code and a.code.replace("O", "0") == r.code
    (a, r), = cases["i_for_one"]
    assert "I" in a.code and a.code.replace("I", "1") == r.code
    for a, r in cases["other_survey"]:
        assert r is None and a.code.isdigit() and a.code not in codes
    (a, r), = cases["no_code"]
    assert a.code == "" and r is None
    (a, r), = cases["unfinished"]
    assert r.finished == "False" and r.code == a.code and int(r.progress) < 100
    (a, r), = cases["spam_response"]
    assert r.status == "Spam" and r.code == a.code
    (a, r), = cases["worker_mismatch"]
    assert r.code == a.code and r.participant_id and _norm_worker(r.participant_id) != a.participant_id
    (a, r), = cases["excel_damaged_mturk"]
    assert a.code == "2.95061E+08" and r.code == "295061234"
    (a, r), = cases["excel_damaged_qualtrics"]
    assert r.code == "84719265.0" and a.code == "84719265" and a.code not in codes
    (a, r), = cases["retake"]
    retakes = [x for x in q.responses if x.participant_id == a.participant_id]
    assert len(retakes) == 2 and all(x.finished == "True" for x in retakes) and r is retakes[1]
    for a, _ in cases["already_approved"]:
        assert a.status == "Approved" and a.fields["ApprovalTime"]
    for a, _ in cases["already_rejected"]:
        assert a.status == "Rejected" and a.fields["RejectionTime"] and a.fields["RequesterFeedback"]

    def when(text):  # "Thu Mar 06 03:00:00 PST 2036"
        return datetime.strptime(text.replace("PST", "-0800"), "%a %b %d %H:%M:%S %z %Y")

    now = datetime.strptime(doc["reference_now"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    (a, _), = cases["auto_approval_passed"]
    assert when(a.review_deadline) < now
    for a, _ in cases["auto_approval_soon"]:
        assert now < when(a.review_deadline) < now + timedelta(hours=24)
    far = [a for a in m.submissions if a.group_size == "130"]
    assert len(far) == 128 and all(when(a.review_deadline) > now + timedelta(days=20) for a in far)
    assert all(when(a.review_deadline) > datetime.now(timezone.utc) for a in m.submissions)

    assert rcases["survey_preview"] == 2 and rcases["survey_test"] == 2 and rcases["spam_unclaimed"] == 1
    assert Counter(r.status for r in q.responses) == {"IP Address": 142, "Survey Preview": 2, "Survey Test": 2, "Spam": 2}
    unclaimed = [by_row_q[r["row"]] for r in doc["responses"] if r["case"] == "unclaimed"]
    assert len(unclaimed) == 6 and all(x.finished == "True" and x.code and claimed[x.code] == 0 for x in unclaimed)
    assert all(by_row_q[r["row"]].code == "" for r in doc["responses"] if r["case"] == "unfinished_no_code")


def test_inspect_sample_data():
    proc = run_cli("inspect", "--json", SAMPLE_DATA / "qualtrics_export.csv", SAMPLE_DATA / "mturk_batch_results.csv")
    assert proc.returncode == 0, proc.stderr
    q, m = json.loads(proc.stdout)
    assert (q["kind"], q["rows"], m["kind"], m["rows"]) == ("qualtrics", 148, "mturk", 131)


def test_sample_batch_header_is_a_real_download_header(realdata):
    """The executor tests build batches from the sample batch's header: it must be MTurk's own."""
    import csv

    real = realdata / "Chucooleg__Field_Experiment_Human_Image_Classification" / "20171112_mturk_results_order1_0.40.csv"
    with open(real, encoding="utf-8-sig", newline="") as a, open(SAMPLE_DATA / "mturk_batch_results.csv", encoding="utf-8-sig", newline="") as b:
        assert next(csv.reader(b)) == next(csv.reader(a))
