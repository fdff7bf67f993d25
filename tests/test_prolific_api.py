"""Reading a Prolific study through the API (platforms/prolific/api.py, http.py) against the project's
emulator: paginated listing, completion codes, `reconcile fetch prolific`, `match --prolific-study`,
and a wrong token / an unknown study each stopping with one sentence and exit 2."""

from __future__ import annotations

import csv
import io
import json

import pytest

from conftest import run_cli
from prolific_helpers import (
    participant_id,
    prolific_stats,
    start_prolific_emulator,
    start_prolific_process,
    stop_prolific_process,
    submission_id,
    synthetic_rows,
    write_prolific_export,
)
from reconcile.errors import InputError, ReconcileError, ServiceError
from reconcile.platforms.prolific.api import (
    check_study_id,
    list_study_submissions,
    read_prolific_api,
    study_completion_codes,
)
from reconcile.platforms.prolific.endpoints import resolve_prolific_endpoint
from reconcile.platforms.prolific.http import ProlificHttp

STUDY = "5e0d0f1a2b3c4d5e6f708192"
UNKNOWN = "0123456789abcdef01234567"
STATUSES = ["AWAITING REVIEW"] * 9 + ["APPROVED", "RETURNED", "TIMED-OUT", "REJECTED", "SCREENED OUT"]


@pytest.fixture
def export_file(tmp_path):
    return write_prolific_export(tmp_path / "seed.csv", synthetic_rows(STATUSES))


@pytest.fixture
def emulator(export_file):
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], completion_codes=["C0DE1234", "FAIL9999"]) as running:
        yield running


def endpoint_of(emu):
    return resolve_prolific_endpoint(emu.url, False, False)


def test_listing_follows_every_page(emulator, monkeypatch):
    monkeypatch.setenv("PROLIFIC_API_TOKEN", emulator.token)
    seen = []
    items = list_study_submissions(endpoint_of(emulator), STUDY, page_size=4, progress=seen.append)
    assert [i["id"] for i in items] == [submission_id(n) for n in range(len(STATUSES))]
    assert [i["status"] for i in items] == STATUSES
    assert len(seen) == 4 and seen[-1].endswith(f"{len(STATUSES)} of {len(STATUSES)} submissions listed")
    calls = prolific_stats(emulator.url)
    assert json.dumps(calls).count("submissions") >= 1


def test_completion_codes_of_the_study(emulator, monkeypatch):
    monkeypatch.setenv("PROLIFIC_API_TOKEN", emulator.token)
    assert study_completion_codes(endpoint_of(emulator), STUDY) == ["C0DE1234", "FAIL9999"]


def test_api_listing_reads_like_the_export(emulator, export_file, monkeypatch):
    monkeypatch.setenv("PROLIFIC_API_TOKEN", emulator.token)
    listed = read_prolific_api([], endpoint_of(emulator), [STUDY])
    subs = listed.submissions
    assert [s.submission_id for s in subs] == [submission_id(n) for n in range(len(STATUSES))]
    assert [s.participant_id for s in subs] == [participant_id(n) for n in range(len(STATUSES))]
    assert {s.group_id for s in subs} == {STUDY}
    assert subs[0].source.path == f"prolific-api:study={STUDY}" and subs[0].source.row == 2
    assert [s.code for s in subs] == [r["code"] for r in synthetic_rows(STATUSES)]
    # the export file and the listing of the same study: every row a duplicate, identical
    named = export_file.with_name(f"prolific_export_{STUDY}.csv")  # the study in its name, as Prolific names it
    named.write_bytes(export_file.read_bytes())
    both = read_prolific_api([str(named)], endpoint_of(emulator), [STUDY])
    assert len(both.submissions) == len(STATUSES)
    assert len(both.duplicates) == len(STATUSES) and all(d.identical for d in both.duplicates)


def test_wrong_token_is_one_sentence(emulator, monkeypatch):
    monkeypatch.setenv("PROLIFIC_API_TOKEN", "not-the-token")
    with pytest.raises(ServiceError) as err:
        list_study_submissions(endpoint_of(emulator), STUDY)
    said = str(err.value)
    assert "401" in said and "PROLIFIC_API_TOKEN" in said and "not-the-token" not in said


def test_unknown_study_is_one_sentence(emulator, monkeypatch):
    monkeypatch.setenv("PROLIFIC_API_TOKEN", emulator.token)
    with pytest.raises(ServiceError, match=f"study {UNKNOWN} was not found .*404"):
        study_completion_codes(endpoint_of(emulator), UNKNOWN)


def test_missing_token_and_bad_ids(monkeypatch):
    monkeypatch.delenv("PROLIFIC_API_TOKEN", raising=False)
    with pytest.raises(InputError, match="PROLIFIC_API_TOKEN is not set"):
        ProlificHttp(resolve_prolific_endpoint("http://127.0.0.1:9", False, False))
    with pytest.raises(InputError, match="not a Prolific study ID"):
        check_study_id("SV_abc")


@pytest.mark.parametrize("args,said", [
    (("https://api.prolific.com", False, False), "use --production"),
    (("https://API.Prolific.CO.", False, False), "use --production"),
    ((None, True, False), "no sandbox"),
    ((None, False, False), "no Prolific endpoint"),
    (("ftp://127.0.0.1", False, False), "not an http"),
])
def test_endpoint_refusals(args, said):
    with pytest.raises(ReconcileError, match=said):
        resolve_prolific_endpoint(*args)


def test_endpoint_choices():
    assert resolve_prolific_endpoint(None, False, True).url == "https://api.prolific.com"
    assert resolve_prolific_endpoint(None, False, True).is_production
    local = resolve_prolific_endpoint("http://127.0.0.1:8480/", False, False)
    assert (local.url, local.name, local.is_production) == ("http://127.0.0.1:8480", "local", False)


# ---------------------------------------------------------------- through the real commands, the emulator in its own process


@pytest.fixture
def emulator_process(export_file):
    url, proc = start_prolific_process("--export", str(export_file), "--study-id", STUDY, "--completion-code", "C0DE1234")
    try:
        yield url
    finally:
        stop_prolific_process(proc)


def test_fetch_prolific_writes_the_export(emulator_process, tmp_path):
    out = tmp_path / f"prolific_export_{STUDY}.csv"
    proc = run_cli("fetch", "prolific", "--study", STUDY, "-o", out, "--endpoint-url", emulator_process,
                   env={"PROLIFIC_API_TOKEN": "emulator-token"})
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {len(STATUSES)} submissions" in proc.stdout
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert [r["Submission id"] for r in rows] == [submission_id(n) for n in range(len(STATUSES))]
    assert [r["Status"] for r in rows] == STATUSES
    inspected = json.loads(run_cli("inspect", "--json", out).stdout)
    assert inspected[0]["kind"] == "prolific" and inspected[0]["study_id"] == STUDY


def test_fetch_prolific_wrong_token_and_unknown_study(emulator_process, tmp_path):
    out = tmp_path / "x.csv"
    proc = run_cli("fetch", "prolific", "--study", STUDY, "-o", out, "--endpoint-url", emulator_process,
                   env={"PROLIFIC_API_TOKEN": "wrong-token-value"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "refused the token in PROLIFIC_API_TOKEN (401" in proc.stderr and "wrong-token-value" not in proc.stderr
    assert proc.stderr.count("error:") == 1
    proc = run_cli("fetch", "prolific", "--study", UNKNOWN, "-o", out, "--endpoint-url", emulator_process,
                   env={"PROLIFIC_API_TOKEN": "emulator-token"})
    assert proc.returncode == 2 and f"study {UNKNOWN} was not found" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
    proc = run_cli("fetch", "prolific", "--study", STUDY, "-o", out, "--sandbox", env={"PROLIFIC_API_TOKEN": "emulator-token"})
    assert proc.returncode == 2 and "no sandbox" in proc.stderr


def _survey(tmp_path, rows):
    """A small Qualtrics export (three-row header) whose PROLIFIC_PID is each row's participant."""
    path = tmp_path / "survey.csv"
    head = ["StartDate", "EndDate", "Status", "Progress", "Duration (in seconds)", "Finished", "RecordedDate", "ResponseId", "PROLIFIC_PID"]
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(head)
    w.writerow(["Start Date", "End Date", "Response Type", "Progress", "Duration", "Finished", "Recorded Date", "Response ID", "PROLIFIC_PID"])
    w.writerow(['{"ImportId":"%s"}' % h for h in head])
    for n, r in enumerate(rows):
        w.writerow(["2024-07-01 00:00:00", "2024-07-01 00:07:00", "IP Address", "100", "420", "True", "2024-07-01 00:07:00",
                    f"R_{n:015d}", r["participant_id"]])
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    return path


def test_match_lists_the_study_and_reads_its_codes(emulator_process, tmp_path):
    survey = _survey(tmp_path, synthetic_rows(STATUSES))
    proc = run_cli("match", "--qualtrics", survey, "--prolific-study", STUDY, "--endpoint-url", emulator_process,
                   "--plan", tmp_path / "plan.csv", "--report", tmp_path / "r.xlsx", "--json",
                   env={"PROLIFIC_API_TOKEN": "emulator-token"})
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout)
    # 9 AWAITING REVIEW: the code checked against the study's C0DE1234 (read through the API):
    # NOCODE on every fifth (row 4) goes to review, the other 8 approve; 5 decided ones are skipped.
    assert counts["decisions"] == {"approve": 8, "reject": 0, "review": 1, "skip": 5}
    plan = list(csv.DictReader(io.StringIO((tmp_path / "plan.csv").read_text(encoding="utf-8-sig"), newline="")))
    assert {r["study_id"] for r in plan} == {STUDY}
    assert {r["source"].split(":")[0] for r in plan} == {"prolific-api"}


def test_match_unknown_study_exits_2(emulator_process, tmp_path):
    survey = _survey(tmp_path, synthetic_rows(STATUSES))
    proc = run_cli("match", "--qualtrics", survey, "--prolific-study", UNKNOWN, "--endpoint-url", emulator_process,
                   "--plan", tmp_path / "plan.csv", "--report", tmp_path / "r.xlsx", env={"PROLIFIC_API_TOKEN": "emulator-token"})
    assert proc.returncode == 2 and "was not found" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "plan.csv").exists()


def test_listing_rides_out_faults_and_dropped_answers(export_file, monkeypatch):
    """Reads are safe to repeat: 5xx answers and answers lost on the way are retried (no waiting here)."""
    with start_prolific_emulator([str(export_file)], study_ids=[STUDY], fault_rate=0.2, drop_response_rate=0.1, seed=7) as emu:
        http = ProlificHttp(endpoint_of(emu), token=emu.token, sleep=lambda seconds: None)
        items = list_study_submissions(endpoint_of(emu), STUDY, http=http, page_size=3)
        assert [i["id"] for i in items] == [submission_id(n) for n in range(len(STATUSES))]
        stats = prolific_stats(emu.url)
        assert stats["faulted"] > 0 and stats["dropped"] > 0  # the faults really happened


@pytest.mark.parametrize("body,said", [
    ('{"error": {"status": 400, "title": "Bad Request", "detail": "study ID is invalid"}}', "study ID is invalid"),
    ('{"error": {"status": 400, "detail": {"filters": ["Expected a list.", "At most 15."]}}}', "filters: Expected a list. At most 15"),
    ('{"error": {"status": 400, "detail": ["one", "two"]}}', "one two"),
    ('{"detail": "workspace not found"}', "workspace not found"),
    ('{"message": "Bad thing", "detail": null}', "Bad thing"),
    ("<html>Bad gateway</html>", ""),
    ('{"error": {"detail": "' + "x" * 500 + '"}}', "x" * 197 + "..."),
    ('{"error": {"detail": "line one\\nline two"}}', "line one line two"),
])
def test_error_detail_shapes(body, said):
    from reconcile.platforms.prolific.http import error_detail

    assert error_detail(body) == said
