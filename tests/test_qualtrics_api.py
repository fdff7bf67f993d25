"""The Qualtrics v3 export API client against the local emulator, over real HTTP (no mocks)."""

from __future__ import annotations

import base64
import contextlib
import csv
import dataclasses
import filecmp
import io
import json
import os
import random
import re
import subprocess
import sys
import tracemalloc
import urllib.request
import zipfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from reconcile.emulators.qualtrics import bomb_zip, start_qualtrics_emulator
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
    from reconcile.sources import load_survey as load_qualtrics

    monkeypatch.setenv("QUALTRICS_API_TOKEN", TOKEN)
    files = real_exports(realdata)
    ids = {f"SV_real{i}": f for i, f in enumerate(files)}
    with start_qualtrics_emulator(ids, token=TOKEN) as emu:
        for sid, path in ids.items():
            direct = read_qualtrics(str(path))
            fetched = load_qualtrics(sid, datacenter=emu.url, show_progress=False)
            assert fetched.path == f"qualtrics-api:{sid}"
            assert len(fetched.responses) == len(direct.responses) > 0
            for name in ("format", "columns", "code_column", "participant_column", "code_candidates", "participant_candidates"):
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
    with emulator_process(chucooleg) as url:
        out = tmp_path / "e.csv"
        res = fetch(url, out)
        assert res.returncode == 0, res.stderr
        assert out.read_bytes() == chucooleg.read_bytes()


@contextlib.contextmanager
def emulator_process(export: Path, *flags: str):
    """`reconcile emulator qualtrics` as its own process (its CLI flags are what is tested); yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconcile", "emulator", "qualtrics", "--export", str(export), "--survey-id", SID, "--port", "0", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "QUALTRICS_API_TOKEN": TOKEN},
    )
    try:
        url = None
        for _ in range(10):
            line = proc.stdout.readline()
            assert TOKEN not in line
            if "listening on" in line:
                url = line.split("listening on ")[1].split()[0]
                break
        assert url and url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else "no URL printed"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=4000))
def test_any_bytes_come_back_exactly_or_are_refused_in_one_sentence(tmp_path, content):
    src = tmp_path / "export.csv"
    src.write_bytes(content)
    with start_qualtrics_emulator(src, token=TOKEN, survey_id=SID) as emu:
        try:
            got = export_responses(SID, datacenter=emu.url, token=TOKEN, sleep=lambda s: None)
        except ServiceError as err:
            msg = str(err)
            assert "is not a Qualtrics CSV export" in msg and "\n" not in msg and TOKEN not in msg
        else:
            assert got.content == content and got.filename == "export.csv"


_MODERN_HEAD = [
    ["StartDate", "EndDate", "Status", "Finished", "ResponseId", "mTurkCode"],
    ["Start Date", "End Date", "Response Type", "Finished", "Response ID", "mTurkCode"],
    ['{"ImportId":"startDate"}', '{"ImportId":"endDate"}', '{"ImportId":"status"}', '{"ImportId":"finished"}',
     '{"ImportId":"_recordId"}', '{"ImportId":"mTurkCode"}'],
]


def qualtrics_csv(rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    """A modern Qualtrics export holding `rows` (cells of any text), as Qualtrics writes it."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows(_MODERN_HEAD + rows)
    return buf.getvalue().encode(encoding)


_cell = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_cell, min_size=6, max_size=6), max_size=8),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_any_qualtrics_export_survives_the_round_trip_byte_for_byte(tmp_path, rows, encoding):
    content = qualtrics_csv(rows, encoding=encoding, delimiter="\t" if encoding == "utf-16" else ",")
    src = tmp_path / "export.csv"
    src.write_bytes(content)
    with start_qualtrics_emulator(src, token=TOKEN, survey_id=SID) as emu:
        got = export_responses(SID, datacenter=emu.url, token=TOKEN, sleep=lambda s: None)
    assert got.content == content


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


# ---------------------------------------------------------------- hostile or broken downloads
# The server is not trusted: whatever it sends, the command ends in one sentence, exit 2, and
# nothing is written to -o.

GIB = 1024**3


@pytest.mark.parametrize(
    "flags,needles",
    [
        (["--zip-bomb", str(GIB)], ["as 1.0 GiB packed into 1,020.0 KiB", "more than 200 to 1", "not unpacked"]),
        (["--zip-bomb", str(GIB), "--zip-size-lie"], ["cannot be unpacked", "Bad CRC-32"]),
        (["--zip-files", "0"], ["holds no file"]),
        (["--zip-files", "2"], ["holds 2 files", "exactly one export file"]),
        (["--zip-content", "not-zip"], ["is not a zip file"]),
        (["--zip-content", "json"], ["not a Qualtrics CSV export", "looks like a JSON document"]),
        (["--zip-content", "html"], ["not a Qualtrics CSV export", "neither a Qualtrics export"]),
        (["--zip-content", "binary"], ["not a Qualtrics CSV export", "binary file"]),
        (["--zip-content", "csv"], ["not a Qualtrics CSV export", "neither a Qualtrics export (no ResponseId column)"]),
        (["--trickle", "0.5"], ["download of the Qualtrics export", "not finished after 2 seconds", "--timeout"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0].startswith("--") else None,
)
def test_every_download_fault_of_the_emulator_command_is_refused_in_one_sentence(chucooleg, tmp_path, flags, needles):
    with emulator_process(chucooleg, *flags) as url:
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        # The trickled zip (~16 KiB) would take ~8 s: 2 s stops it. The other faults get time to spare
        # (making a 1 GiB bomb takes CPU seconds on a loaded machine), so only the fault is tested.
        proc = fetch(url, out_dir / "export.csv", "--timeout", "2" if "--trickle" in flags else "120")
    assert_error(proc, SID, "Nothing was saved" if "--trickle" not in flags else "nothing was saved", *needles)
    nothing_written(out_dir)


def test_emulator_help_explains_every_download_fault():
    proc = run_cli("emulator", "qualtrics", "--help")
    assert proc.returncode == 0
    # One entry per option, its wrapped help lines joined.
    entries = re.split(r"\n  (?=-)", proc.stdout)
    lines = {e.split()[0]: " ".join(e.split()) for e in entries if e.startswith(("--zip", "--trickle"))}
    assert set(lines) == {"--zip-bomb", "--zip-size-lie", "--zip-content", "--zip-files", "--trickle"}
    assert "zip bomb" in lines["--zip-bomb"] and "declares" in lines["--zip-size-lie"]
    assert all(k in lines["--zip-content"] for k in ("json", "html", "binary", "csv", "not-zip"))
    assert "0 (an empty zip)" in lines["--zip-files"] and "slow download" in lines["--trickle"]


def test_the_bomb_is_a_small_valid_zip_holding_a_gigabyte():
    data = bomb_zip("export.csv", GIB)
    assert len(data) < 1.1 * 1024**2
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        (info,) = zf.infolist()
        assert info.file_size == GIB and info.compress_size < len(data)
    small = bomb_zip("export.csv", 20 * 1024**2 + 7)  # small enough to unpack here: it really holds what it says
    with zipfile.ZipFile(io.BytesIO(small)) as zf:
        assert zf.testzip() is None and len(zf.read("export.csv")) == 20 * 1024**2 + 7
    lying = bomb_zip("export.csv", 20 * 1024**2, declared_size=1024)
    with zipfile.ZipFile(io.BytesIO(lying)) as zf:
        assert zf.infolist()[0].file_size == 1024


def test_zip_bomb_is_refused_from_its_declared_sizes_in_the_library(chucooleg, tmp_path):
    # 64 MiB at ~1000:1: past the 8 MiB that may pack any amount, so the ratio decides.
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID, zip_bomb=64 * 1024**2) as emu:
        with pytest.raises(ServiceError) as err:
            export_responses(SID, datacenter=emu.url, token=TOKEN)
        assert "packed into" in str(err.value) and "not unpacked" in str(err.value)
        # A caller may allow more packing; then the size limit (also settable) still holds.
        with pytest.raises(ServiceError) as err:
            export_responses(SID, datacenter=emu.url, token=TOKEN, max_ratio=10_000, max_bytes=32 * 1024**2)
        assert "as 64.0 MiB, more than the 32.0 MiB an export may hold" in str(err.value)
        # With both allowed it is unpacked, and then judged by what it holds: "0,0,0,..." is no export.
        with pytest.raises(ServiceError) as err:
            export_responses(SID, datacenter=emu.url, token=TOKEN, max_ratio=10_000)
        assert "is not a Qualtrics CSV export" in str(err.value) and "neither a Qualtrics export" in str(err.value)


def test_export_size_limit_is_settable_by_the_library_call(chucooleg, tmp_path, monkeypatch):
    size = chucooleg.stat().st_size
    monkeypatch.setenv("QUALTRICS_API_TOKEN", TOKEN)
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID) as emu:
        out = tmp_path / "export.csv"
        with pytest.raises(ServiceError) as err:
            qualtrics_api.save_export(SID, out, datacenter=emu.url, max_bytes=size - 1)
        assert f"declares '{chucooleg.name}' as {size / 1024:,.1f} KiB, more than the" in str(err.value)
        nothing_written(tmp_path)
        saved = qualtrics_api.save_export(SID, out, datacenter=emu.url, max_bytes=size)
    assert saved.size == size and out.read_bytes() == chucooleg.read_bytes()


def test_a_zip_larger_than_any_export_may_be_is_not_downloaded_further(tmp_path):
    src = tmp_path / "export.csv"
    src.write_bytes(qualtrics_csv([]) + base64.encodebytes(random.Random(3).randbytes(3 * 1024**2)))  # packs ~1.3:1
    with start_qualtrics_emulator(src, token=TOKEN, survey_id=SID) as emu:
        with pytest.raises(ServiceError) as err:
            export_responses(SID, datacenter=emu.url, token=TOKEN, max_bytes=1000)
    assert "is larger than 1.0 MiB" in str(err.value) and "not downloaded further" in str(err.value)


def test_zip_that_lies_about_its_size_is_refused_and_nothing_is_written(chucooleg, tmp_path):
    # The directory says 1 KiB; the file holds the whole export. Unpacking stops at what was declared
    # and the checksum then fails: counting on the declared size alone would have let it through.
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID, zip_size_lie=True) as emu:
        proc = fetch(emu.url, tmp_path / "export.csv")
    assert_error(proc, "cannot be unpacked", "Bad CRC-32", "Nothing was saved")
    nothing_written(tmp_path)


def test_an_mturk_file_served_as_the_export_is_refused(realdata, tmp_path):
    batch = realdata / "Chucooleg__Field_Experiment_Human_Image_Classification" / "20171112_mturk_results_order1_0.40.csv"
    with start_qualtrics_emulator(batch, token=TOKEN, survey_id=SID) as emu:
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        proc = fetch(emu.url, out_dir / "export.csv")
    assert_error(proc, "not a Qualtrics CSV export", "is a mturk file")
    nothing_written(out_dir)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_exports_larger_than_the_sniffed_head_are_saved_byte_for_byte(tmp_path, encoding):
    # Cells with line breaks everywhere, so the head is cut inside a quoted cell; in UTF-16 too.
    rng = random.Random(5)
    rows = [[f"2020-01-01 0{i % 10}:00", "x\ny", "IP Address", "True", f"R_{i}", f"{rng.randrange(10**6)}\nline 2\n"] for i in range(60_000)]
    content = qualtrics_csv(rows, encoding=encoding, delimiter="\t" if encoding == "utf-16" else ",")
    assert len(content) > 4 * qualtrics_api.SNIFF_BYTES
    src = tmp_path / "export.csv"
    src.write_bytes(content)
    with start_qualtrics_emulator(src, token=TOKEN, survey_id=SID) as emu:
        proc = fetch(emu.url, tmp_path / "saved.csv")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "saved.csv").read_bytes() == content


@pytest.mark.slow
def test_download_goes_to_disk_not_memory(chucooleg, tmp_path, monkeypatch):
    # 48 MiB that packs only ~1.3:1, served by the emulator in its own process so that tracemalloc
    # sees only the client. Holding the zip or the CSV in memory would cost 35-48 MiB at once.
    src = tmp_path / "big.csv"
    rng = random.Random(11)
    with open(src, "wb") as fh:
        fh.write(chucooleg.read_bytes())
        while fh.tell() < 48 * 1024**2:
            fh.write(base64.encodebytes(rng.randbytes(4 * 1024**2)))
    size = src.stat().st_size
    monkeypatch.setenv("QUALTRICS_API_TOKEN", TOKEN)
    with emulator_process(src) as url:
        qualtrics_api.save_export(SID, tmp_path / "warm.csv", datacenter=url)  # imports happen outside the count
        tracemalloc.start()
        try:
            saved = qualtrics_api.save_export(SID, tmp_path / "saved.csv", datacenter=url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert saved.size == size and filecmp.cmp(src, tmp_path / "saved.csv", shallow=False)
    assert peak < size / 4, f"peak {peak:,} bytes of Python memory for a {size:,}-byte export"


def test_json_answers_have_a_size_limit_too(chucooleg, monkeypatch):
    monkeypatch.setattr(qualtrics_api, "MAX_ANSWER_BYTES", 50)  # the start answer is ~150 bytes
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID) as emu:
        with pytest.raises(ServiceError) as err:
            export_responses(SID, datacenter=emu.url, token=TOKEN)
    assert "sent more than 50 bytes in answer to the request to start an export" in str(err.value)


def test_timeout_covers_the_download_in_the_library(chucooleg, tmp_path):
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID, trickle=0.5) as emu:
        with pytest.raises(ServiceError) as err:
            export_responses(SID, datacenter=emu.url, token=TOKEN, timeout=2.5)  # the trickle would take ~8 s
        downloads = [e for e in emu.log if e["path"].endswith("/file")]
    assert "the download of the Qualtrics export" in str(err.value) and "after 2.5 seconds" in str(err.value)
    assert len(downloads) == 1  # a slow download is not retried


def test_a_retry_that_would_wait_past_the_deadline_gives_up_at_once(chucooleg):
    waits: list[float] = []
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID, throttle=1, retry_after=60) as emu:
        with pytest.raises(ServiceError) as err:
            export_responses(SID, datacenter=emu.url, token=TOKEN, timeout=5, sleep=waits.append)
        assert len(emu.log) == 1
    assert waits == []  # never slept towards a deadline it could not meet
    assert "within the 5 seconds of --timeout" in str(err.value) and "429" in str(err.value)


# ---------------------------------------------------------------- -o is checked before anything is asked


def _unwritable(path: Path, request) -> None:
    """Make `path` unwritable even for root (chattr +i), or by mode for anyone else; undone afterwards."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o500 if path.is_dir() else 0o400)
        request.addfinalizer(lambda: path.chmod(mode))
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root where chattr +i is not possible: cannot make a path unwritable")
    request.addfinalizer(lambda: subprocess.run(["chattr", "-i", str(path)], check=True))


@pytest.mark.parametrize("case", ["directory", "missing folder", "folder is a file", "fifo", "read-only file", "unwritable folder"])
def test_a_bad_output_costs_no_api_call(chucooleg, tmp_path, request, case):
    target = tmp_path / "export.csv"
    needle = {
        "directory": "is a folder",
        "missing folder": "does not exist",
        "folder is a file": "is a file, not a folder",
        "fifo": "is not a regular file",
        "read-only file": "cannot be overwritten",
        "unwritable folder": "cannot create files in the folder",
    }[case]
    if case == "directory":
        target.mkdir()
    elif case == "missing folder":
        target = tmp_path / "nope" / "export.csv"
    elif case == "folder is a file":
        (tmp_path / "notes.txt").write_text("x")
        target = tmp_path / "notes.txt" / "export.csv"
    elif case == "fifo":
        os.mkfifo(target)
    elif case == "read-only file":
        target.write_text("the previous export\n")
        _unwritable(target, request)
    elif case == "unwritable folder":
        target = tmp_path / "locked" / "export.csv"
        target.parent.mkdir()
        _unwritable(target.parent, request)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with start_qualtrics_emulator(chucooleg, token=TOKEN, survey_id=SID) as emu:
        proc = fetch(emu.url, target)
        assert emu.log == []  # not one request
    assert_error(proc, needle)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    if case == "read-only file":
        assert target.read_text() == "the previous export\n"
