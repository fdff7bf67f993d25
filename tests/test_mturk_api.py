"""Listing assignments through the MTurk API (real boto3 against the local MTurk emulator, no mocks)."""

from __future__ import annotations

import csv
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_cli
from emulator_helpers import DUMMY_KEY_ID, DUMMY_SECRET, STUDY_DAYS, start_emulator
from reconcile.platforms.mturk.endpoints import resolve_mturk_endpoint
from reconcile.errors import InputError, ServiceError
from reconcile.platforms.mturk.batch_csv import read_mturk_csv as read_mturk
from reconcile.platforms.mturk import api as mturk_api
from reconcile.platforms.mturk.api import batch_annotation_id, format_reward, list_assignments, parse_answer

AWS_ENV = {"AWS_ACCESS_KEY_ID": DUMMY_KEY_ID, "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET, "AWS_EC2_METADATA_DISABLED": "true"}
MAIN_BATCH = "3006652"
TIME_COLUMNS = ("CreationTime", "Expiration", "AcceptTime", "SubmitTime", "AutoApprovalTime", "ApprovalTime", "RejectionTime")
# Not in the API's answers: the website computes them per worker. Written empty.
NOT_LISTED = ("LifetimeApprovalRate", "Last30DaysApprovalRate", "Last7DaysApprovalRate", "Approve", "Reject")


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    for k, v in AWS_ENV.items():
        monkeypatch.setenv(k, v)


@pytest.fixture
def chuc(realdata) -> tuple[Path, Path]:
    d = realdata / "Chucooleg__Field_Experiment_Human_Image_Classification"
    return d / "20171112_mturk_results_order1_0.40.csv", d / "20171112_mturk_results_order1_0.40_supplementary.csv"


_TZ = {"UTC": 0, "PST": -8, "PDT": -7}


def instant(text: str) -> datetime | None:
    """Both batch time styles -> an aware datetime (test-side parser, independent of the code under test)."""
    text = text.strip()
    if not text:
        return None
    parts = text.split()
    if len(parts) == 6:
        naive = datetime.strptime(f"{parts[1]} {parts[2]} {parts[5]} {parts[3]}", "%b %d %Y %H:%M:%S")
        return naive.replace(tzinfo=timezone(timedelta(hours=_TZ[parts[4]])))
    naive = datetime.strptime(f"{parts[0]} {parts[1]}", "%Y-%m-%d %H:%M:%S")
    return naive.replace(tzinfo=timezone(timedelta(hours=_TZ[parts[2]])))


def rows_by_assignment(path: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        records = list(csv.reader(fh))
    header = records[0]
    out = {}
    for rec in records[1:]:
        rec = rec + [""] * (len(header) - len(rec))
        row = dict(zip(header, rec))
        out.setdefault(row["AssignmentId"], row)
    return header, out


def assert_same_batch(original: Path, fetched: Path) -> None:
    """The fetched file carries every column of every assignment of the original (times as instants)."""
    o_header, o_rows = rows_by_assignment(original)
    f_header, f_rows = rows_by_assignment(fetched)
    assert set(f_rows) == set(o_rows) and len(f_rows) > 0
    listable = [c for c in o_header if not c.startswith("Input.") and c not in NOT_LISTED]
    assert [c for c in f_header if c in listable] == listable  # the real column order
    for aid, o in o_rows.items():
        f = f_rows[aid]
        for col in listable:
            if col in TIME_COLUMNS:
                assert instant(f[col]) == instant(o[col]), (aid, col)
                assert not f[col] or f[col].endswith(" UTC")
            else:
                assert f[col] == o[col], (aid, col)


def fetch(url: str, out: Path, *args: str) -> subprocess.CompletedProcess:
    proc = run_cli("fetch", "mturk", *args, "-o", str(out), "--endpoint-url", url, env=AWS_ENV)
    assert DUMMY_SECRET not in proc.stdout + proc.stderr
    return proc


def assert_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


# ---------------------------------------------------------------- the fetched file is the batch


def test_fetch_batch_writes_the_batch_results_format(chuc, tmp_path):
    main, supp = chuc
    with start_emulator([str(main), str(supp)], as_of=STUDY_DAYS) as emu:
        out = tmp_path / "fetched.csv"
        proc = fetch(emu.url, out, "--batch", MAIN_BATCH)
        assert proc.returncode == 0, proc.stderr
        assert "wrote 100 assignments" in proc.stdout
    assert_same_batch(main, out)
    raw = out.read_bytes()
    assert raw.startswith(b'"HITId","HITTypeId","Title"') and b"\r\n" in raw
    # ... and the project's importer reads it like a downloaded batch.
    fetched, direct = read_mturk([str(out)]), read_mturk([str(main)])
    assert fetched.files[0].code_column == direct.files[0].code_column == "Answer.surveycode"
    assert [(a.submission_id, a.participant_id, a.group_id, a.status, a.reward, a.code, a.duration_seconds) for a in fetched.submissions] == [
        (a.submission_id, a.participant_id, a.group_id, a.status, a.reward, a.code, a.duration_seconds) for a in direct.submissions
    ]


def test_fetch_by_hit_ids(chuc, tmp_path):
    main, supp = chuc
    _h, supp_rows = rows_by_assignment(supp)
    hits = sorted({r["HITId"] for r in supp_rows.values()})
    with start_emulator([str(main), str(supp)], as_of=STUDY_DAYS) as emu:
        out = tmp_path / "supp.csv"
        proc = fetch(emu.url, out, *[a for h in hits for a in ("--hit", h)], "--hit", hits[0])  # a repeat is listed once
        assert proc.returncode == 0, proc.stderr
        assert emu.stats()["calls"].get("ListHITs", 0) == 0  # HIT IDs need no search
    assert_same_batch(supp, out)


def test_every_page_of_hits_and_assignments(realdata, chuc, tmp_path):
    # 500 HITs in one real batch (with the big HIT, 6 pages of ListHITs), plus one HIT with 250 assignments (3 pages).
    ielab = realdata / "ielab__CLEF2017_AMT" / "final_after_review__Batch_3171474_batch_results.csv"
    main, _supp = chuc
    header, rows = rows_by_assignment(main)
    first = next(iter(rows.values()))
    big = tmp_path / "big.csv"
    with open(big, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(header)
        for i in range(250):
            row = dict(first, AssignmentId=f"3BIGASSIGNMENT{i:016d}", WorkerId=f"A{i:013d}", **{"Answer.surveycode": str(1000000 + i)})
            w.writerow([row[c] for c in header])
    with start_emulator([str(ielab), str(big)], as_of=STUDY_DAYS) as emu:
        out = tmp_path / "ielab.csv"
        proc = fetch(emu.url, out, "--batch", "3171474", "--hit", first["HITId"])
        assert proc.returncode == 0, proc.stderr
        calls = emu.stats()["calls"]
    assert calls["ListHITs"] == 6  # 501 HITs on the account, 100 a page
    assert calls["ListAssignmentsForHIT"] == 500 + 3
    _h, fetched = rows_by_assignment(out)
    assert len(fetched) == 560 + 250
    assert_same_batch(ielab, _subset(out, tmp_path / "just-ielab.csv", "3171474"))
    assert sorted(r["Answer.surveycode"] for r in fetched.values() if r["HITId"] == first["HITId"]) == sorted(
        str(1000000 + i) for i in range(250)
    )


def _subset(path: Path, to: Path, batch: str) -> Path:
    with open(path, encoding="utf-8", newline="") as fh:
        records = list(csv.reader(fh))
    with open(to, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(records[0])
        col = records[0].index("RequesterAnnotation")
        w.writerows(r for r in records[1:] if f"BatchId:{batch};" in r[col])
    return to


def test_server_faults_are_retried(chuc, tmp_path):
    main, _ = chuc
    with start_emulator([str(main)], as_of=STUDY_DAYS, fault_rate=0.5, seed=3) as emu:
        out = tmp_path / "f.csv"
        proc = fetch(emu.url, out, "--batch", MAIN_BATCH)
        assert proc.returncode == 0, proc.stderr
        assert emu.stats()["faults"] > 0
    assert_same_batch(main, out)


def test_load_mturk_reads_files_and_api_together(chuc):
    from reconcile.platforms.mturk import PLATFORM
    from reconcile.sources import load_submissions

    def load_mturk(paths, *, hit_ids=(), **kw):
        return load_submissions(PLATFORM, paths, group_ids=hit_ids, **kw)

    main, supp = chuc
    with start_emulator([str(main), str(supp)], as_of=STUDY_DAYS) as emu:
        ep = resolve_mturk_endpoint(emu.url, False, False)
        data = load_mturk([str(supp)], batch_ids=(MAIN_BATCH,), endpoint=ep, show_progress=False)
        both = load_mturk([], batch_ids=(MAIN_BATCH,), hit_ids=tuple({a.group_id for a in read_mturk([str(supp)]).submissions}), endpoint=ep, show_progress=False)
    assert len(data.submissions) == 104 and not data.duplicates
    api = [a for a in data.submissions if a.source.path != str(supp)]
    assert len(api) == 100
    assert all(a.source.path == f"mturk-api:batch-{MAIN_BATCH}" for a in api)
    assert [a.source.row for a in api] == list(range(2, 102))
    assert {a.code for a in api} == {a.code for a in read_mturk([str(main)]).submissions}
    assert len(both.submissions) == 104 and both.files[0].path.startswith("mturk-api:batch-")


def test_listing_the_same_assignments_as_a_file_reports_duplicates(chuc):
    from reconcile.platforms.mturk import PLATFORM
    from reconcile.sources import load_submissions

    def load_mturk(paths, *, hit_ids=(), **kw):
        return load_submissions(PLATFORM, paths, group_ids=hit_ids, **kw)

    main, _ = chuc
    with start_emulator([str(main)], as_of=STUDY_DAYS) as emu:
        ep = resolve_mturk_endpoint(emu.url, False, False)
        data = load_mturk([str(main)], batch_ids=(MAIN_BATCH,), endpoint=ep, show_progress=False)
    assert len(data.submissions) == 100 and len(data.duplicates) == 100
    assert all(d.source.path.startswith("mturk-api:") and d.duplicate_of.path == str(main) for d in data.duplicates)


# ---------------------------------------------------------------- errors: one sentence, exit 2


def test_unknown_hit(chuc, tmp_path):
    with start_emulator([str(chuc[0])], as_of=STUDY_DAYS) as emu:
        proc = fetch(emu.url, tmp_path / "x.csv", "--hit", "3ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ")
    assert_error(proc, "has no HIT 3ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ")
    assert list(tmp_path.iterdir()) == []


def test_unknown_batch(chuc, tmp_path):
    with start_emulator([str(chuc[0])], as_of=STUDY_DAYS) as emu:
        proc = fetch(emu.url, tmp_path / "x.csv", "--batch", "42")
    assert_error(proc, "BatchId:42")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--hit", "not-a-hit"], "not an MTurk HIT ID"),
        (["--batch", "abc"], "not a batch ID"),
        ([], "pass --hit HITID or --batch BATCHID"),
        (["--batch", "1", "--sandbox"], "choose one of --endpoint-url, --sandbox"),
    ],
)
def test_user_errors(tmp_path, args, needle):
    proc = fetch("http://127.0.0.1:9", tmp_path / "x.csv", *args)
    assert_error(proc, needle)
    assert list(tmp_path.iterdir()) == []


def test_no_endpoint(tmp_path):
    proc = run_cli("fetch", "mturk", "--batch", "1", "-o", str(tmp_path / "x.csv"), env=AWS_ENV)
    assert_error(proc, "no MTurk endpoint chosen")


@pytest.mark.parametrize("profile,needle", [(None, "no AWS credentials"), ("nosuchprofile", "AWS profile 'nosuchprofile' is not")])
def test_no_credentials(tmp_path, monkeypatch, profile, needle):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true"}
    if profile:
        env["AWS_PROFILE"] = profile
    out = tmp_path / "out"
    out.mkdir()
    proc = run_cli("fetch", "mturk", "--batch", "1", "-o", str(out / "x.csv"), "--endpoint-url", "http://127.0.0.1:9", env=env)
    assert_error(proc, needle)
    assert list(out.iterdir()) == []


def test_unreachable_endpoint(monkeypatch):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.setattr(mturk_api, "MAX_ATTEMPTS", 1)  # keep the test short: nobody listens there
    ep = resolve_mturk_endpoint(f"http://127.0.0.1:{port}", False, False)
    with pytest.raises(ServiceError) as err:
        list_assignments(ep, batch_ids=["1"])
    assert "could not reach MTurk" in str(err.value)


# ---------------------------------------------------------------- pieces, and properties


def test_answer_xml_shapes():
    xml = (
        '<?xml version="1.0" encoding="ASCII"?><QuestionFormAnswers xmlns="http://mechanicalturk.amazonaws.com/'
        'AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"><Answer><QuestionIdentifier>taskAnswers'
        '</QuestionIdentifier><FreeText>[{"surveycode":"123 456","agree":{"on":true},"box":[{"h":1}]}]</FreeText></Answer>'
        "<Answer><QuestionIdentifier>colour</QuestionIdentifier><SelectionIdentifier>red</SelectionIdentifier>"
        "<SelectionIdentifier>blue</SelectionIdentifier></Answer></QuestionFormAnswers>"
    )
    assert parse_answer(xml) == [("surveycode", "123 456"), ("agree.on", "true"), ("box", '[{"h":1}]'), ("colour", "red|blue")]
    assert parse_answer("") == []


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)


@settings(max_examples=200)
@given(pairs=st.lists(st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9_.]{0,20}", fullmatch=True).filter(lambda n: n != "taskAnswers"), _text), max_size=6))
def test_answer_xml_round_trip(pairs):
    from reconcile.emulators.mturk import answer_xml  # the service's side of the wire, written independently

    assert parse_answer(answer_xml(pairs)) == pairs


@given(ann=st.text(max_size=30), batch=st.integers(min_value=0, max_value=10**9))
def test_batch_id_found_only_as_a_whole_field(ann, batch):
    assert batch_annotation_id(f"BatchId:{batch};{ann}") == str(batch)
    assert batch_annotation_id(f"XBatchId:{batch};") is None
    assert batch_annotation_id(f"BatchId:{batch}9x;") is None


@given(cents=st.integers(min_value=0, max_value=10**7))
def test_reward_text_keeps_its_cents(cents):
    from decimal import Decimal

    from reconcile.money import parse_amount

    text = f"{Decimal(cents) / 100:.2f}"
    assert format_reward(text) == "$" + text
    assert parse_amount(format_reward(text)) == Decimal(text)


def test_hit_and_batch_ids_are_checked_before_any_call():
    ep = resolve_mturk_endpoint("http://127.0.0.1:9", False, False)
    with pytest.raises(InputError):
        list_assignments(ep, hit_ids=["lower-case"])
    with pytest.raises(InputError):
        list_assignments(ep)
