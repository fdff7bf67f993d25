"""The Qualtrics v3 export API client against the local emulator, over real HTTP (no mocks)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import urllib.request
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from reconcile.emulators.qualtrics import start_qualtrics_emulator
from reconcile.errors import InputError, ServiceError
from reconcile.importers import qualtrics_api
from reconcile.importers.qualtrics_api import export_responses, normalize_date, resolve_base_url

TOKEN = "tok-SECRET-5f2a9c"  # distinctive, so a leak into any output is caught
SID = "SV_3gbwq8aJgqPwQDP"


def real_exports(realdata: Path) -> list[Path]:
    files = sorted((realdata / "ropensci__qualtRics").glob("api_export_*.csv"))
    files.append(realdata / "Chucooleg__Field_Experiment_Human_Image_Classification" / "20171112_qualtric_results_order1_0.40_redacted.csv")
    assert len(files) == 3 and all(f.is_file() for f in files)
    return files


@pytest.fixture
def chucooleg(realdata) -> Path:
    return realdata / "Chucooleg__Field_Experiment_Human_Image_Classification" / "20171112_qualtric_results_order1_0.40_redacted.csv"


def no_leak(proc: subprocess.CompletedProcess) -> None:
    assert TOKEN not in proc.stdout and TOKEN not in proc.stderr


def fetch(url: str, out: Path, *extra: str, survey: str = SID, token: str | None = TOKEN) -> subprocess.CompletedProcess:
    env = {"QUALTRICS_API_TOKEN": token} if token is not None else {"QUALTRICS_API_TOKEN": ""}
    proc = run_cli("fetch", "qualtrics", survey, "--datacenter", url, "-o", str(out), *extra, env=env)
    no_leak(proc)
    return proc


def assert_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def nothing_written(folder: Path) -> None:
    assert [p.name for p in folder.iterdir()] == [], "a failed fetch must leave nothing behind"


# ---------------------------------------------------------------- a fetched export is the file


def test_fetched_export_reads_like_the_file_record_for_record(realdata, monkeypatch):
    from reconcile.importers import read_qualtrics
    from reconcile.sources import load_qualtrics

    monkeypatch.setenv("QUALTRICS_API_TOKEN", TOKEN)
    files = real_exports(realdata)
    ids = {f"SV_real{i}": f for i, f in enumerate(files)}
    with start_qualtrics_emulator(ids, token=TOKEN) as emu:
        for sid, path in ids.items():
            direct = read_qualtrics(str(path))
            fetched = load_qualtrics(sid, datacenter=emu.url, show_progress=False)
            assert fetched.path == f"qualtrics-api:{sid}"
            assert len(fetched.responses) == len(direct.responses) > 0
            for name in ("format", "columns", "code_column", "worker_column", "code_candidates", "worker_candidates"):
                assert getattr(fetched, name) == getattr(direct, name), name
            for a, b in zip(fetched.responses, direct.responses):
                assert a.source.path == f"qualtrics-api:{sid}"
                assert a.source.row == b.source.row
                assert a == dataclasses.replace(b, source=a.source)
                assert dict(a.fields) == dict(b.fields)
    # The Chucooleg export is the one that matters for matching: its code column must survive.
    assert direct.code_column == "mTurkCode"


def test_fetch_command_saves_the_exact_bytes(chucooleg, tmp_path):
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID, slow_polls=2) as emu:
        out = tmp_path / "export.csv"
        proc = fetch(emu.url, out)
        assert proc.returncode == 0, proc.stderr
        assert out.read_bytes() == chucooleg.read_bytes()
        assert "complete" in proc.stderr  # progress shown while the export ran
        start = [e for e in emu.log if e["method"] == "POST"]
        assert len(start) == 1 and start[0]["body"] == {"format": "csv", "useLabels": True}
        polls = [e for e in emu.log if e["method"] == "GET" and not e["path"].endswith("/file")]
        assert len(polls) == 3  # two inProgress answers, then complete: waited on status


def test_fetch_sends_labels_choice_and_date_window(chucooleg, tmp_path):
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID) as emu:
        out = tmp_path / "export.csv"
        proc = fetch(emu.url, out, "--no-use-labels", "--start-date", "2017-11-01", "--end-date", "2017-11-30T12:00:00+01:00")
        assert proc.returncode == 0, proc.stderr
        body = [e for e in emu.log if e["method"] == "POST"][0]["body"]
        assert body == {"format": "csv", "useLabels": False, "startDate": "2017-11-01T00:00:00Z", "endDate": "2017-11-30T11:00:00Z"}


def test_datacenter_from_environment(chucooleg, tmp_path):
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID) as emu:
        out = tmp_path / "e.csv"
        proc = run_cli("fetch", "qualtrics", SID, "-o", str(out), env={"QUALTRICS_API_TOKEN": TOKEN, "QUALTRICS_DATACENTER": emu.url + "/API/v3/"})
        assert proc.returncode == 0, proc.stderr
        assert out.read_bytes() == chucooleg.read_bytes()


# ---------------------------------------------------------------- retries


def test_429_with_retry_after_and_500_are_retried(chucooleg, tmp_path):
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID, throttle=2, retry_after=1, server_errors=2) as emu:
        out = tmp_path / "export.csv"
        proc = fetch(emu.url, out)
        assert proc.returncode == 0, proc.stderr
        assert out.read_bytes() == chucooleg.read_bytes()
        statuses = [e["status"] for e in emu.log]
        assert statuses[:4] == [429, 429, 500, 500]
        assert statuses[4:] and all(s == 200 for s in statuses[4:])
        # The client waited as long as Retry-After asked (a lower bound: sleeping never ends early).
        assert emu.log[1]["time"] - emu.log[0]["time"] >= 0.95
        assert emu.log[2]["time"] - emu.log[1]["time"] >= 0.95


def test_persistent_server_errors_give_up_with_a_sentence(chucooleg, tmp_path, monkeypatch):
    slept: list[float] = []
    monkeypatch.setenv("QUALTRICS_API_TOKEN", TOKEN)
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID, server_errors=100) as emu:
        with pytest.raises(ServiceError) as err:
            export_responses(SID, datacenter=emu.url, sleep=slept.append)
        assert len(emu.log) == qualtrics_api.MAX_ATTEMPTS
    msg = str(err.value)
    assert SID in msg and "500" in msg and TOKEN not in msg
    assert slept == sorted(slept) and slept[0] >= qualtrics_api.FIRST_BACKOFF_S  # backoff grows


# ---------------------------------------------------------------- every error path: one sentence, exit 2


def test_wrong_token_is_401_sentence(chucooleg, tmp_path):
    with start_qualtrics_emulator(chucooleg, token="the-right-one", survey_id=SID) as emu:
        proc = fetch(emu.url, tmp_path / "x.csv")
    assert_error(proc, "did not accept the API token", "Unrecognized X-API-TOKEN", "QUALTRICS_API_TOKEN")
    nothing_written(tmp_path)


def test_unknown_survey_is_404_sentence(chucooleg, tmp_path):
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID) as emu:
        proc = fetch(emu.url, tmp_path / "x.csv", survey="SV_doesNotExist")
    assert_error(proc, "no survey SV_doesNotExist", "404")
    nothing_written(tmp_path)


def test_forbidden_is_403_sentence(chucooleg, tmp_path):
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID, forbidden=True) as emu:
        proc = fetch(emu.url, tmp_path / "x.csv")
    assert_error(proc, "refused", "403", SID)
    nothing_written(tmp_path)


def test_bad_request_is_400_sentence(chucooleg, tmp_path):
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID, bad_request=True) as emu:
        proc = fetch(emu.url, tmp_path / "x.csv")
    assert_error(proc, "rejected the request to start an export", "400", "Invalid request")
    nothing_written(tmp_path)


def test_failed_export_sentence(chucooleg, tmp_path):
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID, fail_export=True, slow_polls=1) as emu:
        proc = fetch(emu.url, tmp_path / "x.csv")
    assert_error(proc, f"export of {SID} as failed")
    nothing_written(tmp_path)


def test_export_that_never_finishes_times_out(chucooleg, tmp_path):
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID, slow_polls=10_000) as emu:
        proc = fetch(emu.url, tmp_path / "x.csv", "--timeout", "1")
        polls = [e for e in emu.log if e["method"] == "GET"]
    assert_error(proc, "still running after 1 seconds", "--timeout")
    assert 1 <= len(polls) <= 4  # polled politely, not in a tight loop
    nothing_written(tmp_path)


def test_unreachable_server_sentence(tmp_path, monkeypatch):
    # A port nobody listens on: take a free one and close it again.
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.setattr(qualtrics_api, "MAX_ATTEMPTS", 2)
    with pytest.raises(ServiceError) as err:
        export_responses(SID, datacenter=f"http://127.0.0.1:{port}", token=TOKEN, sleep=lambda s: None)
    assert "could not reach" in str(err.value) and TOKEN not in str(err.value)


@pytest.mark.parametrize(
    "args,env,needle",
    [
        (["SV_x1", "--datacenter", "http://127.0.0.1:9"], {"QUALTRICS_API_TOKEN": ""}, "no Qualtrics API token"),
        (["SV_x1"], {"QUALTRICS_API_TOKEN": TOKEN, "QUALTRICS_DATACENTER": ""}, "no Qualtrics datacenter"),
        (["SV_x1", "--datacenter", "not a dc!"], {"QUALTRICS_API_TOKEN": TOKEN}, "not a Qualtrics datacenter"),
        (["survey.csv", "--datacenter", "ca1"], {"QUALTRICS_API_TOKEN": TOKEN}, "not a Qualtrics survey ID"),
        (["SV_x1", "--datacenter", "ca1", "--start-date", "31/01/2020"], {"QUALTRICS_API_TOKEN": TOKEN}, "--start-date"),
        (["SV_x1", "--datacenter", "ca1", "--start-date", "2020-02-01", "--end-date", "2020-01-01"], {"QUALTRICS_API_TOKEN": TOKEN}, "not before --end-date"),
    ],
)
def test_user_errors_before_any_request(tmp_path, args, env, needle):
    proc = run_cli("fetch", "qualtrics", *args, "-o", str(tmp_path / "x.csv"), env=env)
    no_leak(proc)
    assert_error(proc, needle)
    nothing_written(tmp_path)


def test_missing_output_folder(chucooleg, tmp_path):
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID) as emu:
        proc = fetch(emu.url, tmp_path / "nope" / "x.csv")
    assert_error(proc, "does not exist")


# ---------------------------------------------------------------- the emulator on its own


def _call(url: str, method: str = "GET", body: bytes | None = None, token: str | None = TOKEN):
    req = urllib.request.Request(url, data=body, method=method)
    if token is not None:
        req.add_header("X-API-TOKEN", token)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_emulator_answers_in_the_recorded_shapes(chucooleg, realdata):
    recorded_start = json.loads((realdata / "ropensci__qualtRics" / "api_v3_export_responses_start_POST.json").read_text())
    recorded_401 = json.loads((realdata / "deddyss__qualtrics-response-exporter" / "unauthorized.json").read_text())
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID) as emu:
        root = f"{emu.url}/API/v3/surveys/{SID}/export-responses"
        status, body = _call(root, "POST", b'{"format": "csv"}')
        assert status == 200
        assert set(body) == set(recorded_start) and set(body["result"]) == set(recorded_start["result"])
        assert set(body["meta"]) == set(recorded_start["meta"]) and body["meta"]["httpStatus"] == "200 - OK"
        status, body = _call(root, "POST", b'{"format": "csv"}', token="wrong")
        assert status == 401 and body["meta"]["error"] == recorded_401["meta"]["error"]
        assert body["meta"]["httpStatus"] == recorded_401["meta"]["httpStatus"]
        for bad in (b'{"format": "xlsx"}', b'{"useLabels": true}', b'{"format": "csv", "useLabels": "yes"}',
                    b'{"format": "csv", "startDate": "2020-01-01"}', b"[1]", b"not json", b'{"format": "csv", "typo": 1}'):
            status, body = _call(root, "POST", bad)
            assert status == 400 and body["meta"]["error"]["errorMessage"], bad
        status, body = _call(root + "/ES_unknown")
        assert status == 404 and body["meta"]["error"]["errorMessage"] == "Resource not found"
        status, body = _call(root, "POST", b'{"format": "csv"}', token=None)
        assert status == 400 and body["meta"]["error"]["errorMessage"] == "An apiToken must be provided."


def test_emulator_command_serves_an_export(chucooleg, tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconcile", "emulator", "qualtrics", "--export", str(chucooleg), "--survey-id", SID, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "QUALTRICS_API_TOKEN": TOKEN},
    )
    try:
        url = None
        for _ in range(10):
            line = proc.stdout.readline()
            if "listening on" in line:
                url = line.split("listening on ")[1].split()[0]
                break
        assert url and url.startswith("http://127.0.0.1:")
        assert TOKEN not in line
        out = tmp_path / "e.csv"
        res = fetch(url, out)
        assert res.returncode == 0, res.stderr
        assert out.read_bytes() == chucooleg.read_bytes()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=4000))
def test_any_export_bytes_survive_the_round_trip(tmp_path, content):
    src = tmp_path / "export.csv"
    src.write_bytes(content)
    with start_qualtrics_emulator(src, token=TOKEN, survey_id=SID) as emu:
        got = export_responses(SID, datacenter=emu.url, token=TOKEN, sleep=lambda s: None)
    assert got.content == content and got.filename == "export.csv"


@given(dc=st.from_regex(r"[a-z]{2,4}[0-9]{0,2}", fullmatch=True))
def test_datacenter_ids_become_qualtrics_urls(dc):
    assert resolve_base_url(dc) == f"https://{dc}.qualtrics.com"
    assert resolve_base_url(f"{dc}.qualtrics.com") == f"https://{dc}.qualtrics.com"


@given(d=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)), t=st.times(), offset=st.integers(min_value=-12 * 60, max_value=14 * 60))
def test_dates_are_sent_in_utc(d, t, offset):
    from datetime import datetime, timedelta, timezone

    dt = datetime.combine(d, t.replace(microsecond=0), tzinfo=timezone(timedelta(minutes=offset)))
    expected = dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert normalize_date(dt.isoformat(), option="--start-date") == expected
    assert normalize_date(d.isoformat(), option="--start-date") == f"{d.isoformat()}T00:00:00Z"


def test_datacenter_errors():
    with pytest.raises(InputError):
        resolve_base_url("ca1/../evil")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(throttle=st.integers(0, 2), errors=st.integers(0, 3), slow=st.integers(0, 4), retry_after=st.integers(0, 30))
def test_any_mix_of_faults_costs_exactly_one_retry_each(chucooleg, throttle, errors, slow, retry_after):
    waits: list[float] = []
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID, throttle=throttle, retry_after=retry_after,
                                  server_errors=errors, slow_polls=slow) as emu:
        got = export_responses(SID, datacenter=emu.url, token=TOKEN, sleep=waits.append)
        log = list(emu.log)
    assert got.content == chucooleg.read_bytes()
    # start + (slow + 1) progress checks + download, plus one extra request per injected fault
    # (at most 5 in a row here: MAX_ATTEMPTS is 6)
    assert len(log) == 1 + (slow + 1) + 1 + throttle + errors
    assert [e["status"] for e in log].count(429) == throttle
    assert waits.count(float(retry_after)) >= throttle  # each 429 waited what Retry-After said
    assert all(w <= qualtrics_api.MAX_POLL_S * 1.25 or w == retry_after for w in waits)
