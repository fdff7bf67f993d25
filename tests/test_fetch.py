"""`match` on data fetched from the services (both emulators, real HTTP) decides exactly as on the files."""

from __future__ import annotations

import csv
import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import run_cli
from emulator_helpers import DUMMY_KEY_ID, DUMMY_SECRET, STUDY_DAYS, start_emulator
from reconcile.emulators.qualtrics import start_qualtrics_emulator

TOKEN = "tok-SECRET-fetch-77"
SID = "SV_56icaa9YAafpAqx"
BATCHES = ("3006652", "3006749")  # the main and the supplementary batch of the Chucooleg study
ENV = {"QUALTRICS_API_TOKEN": TOKEN, "AWS_ACCESS_KEY_ID": DUMMY_KEY_ID, "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET, "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture
def study(realdata):
    d = realdata / "Chucooleg__Field_Experiment_Human_Image_Classification"
    return (
        d / "20171112_qualtric_results_order1_0.40_redacted.csv",
        d / "20171112_mturk_results_order1_0.40.csv",
        d / "20171112_mturk_results_order1_0.40_supplementary.csv",
    )


@pytest.fixture
def services(study):
    export, main, supp = study
    with start_qualtrics_emulator(export, token=TOKEN, survey_id=SID, slow_polls=1) as q, start_emulator([str(main), str(supp)], as_of=STUDY_DAYS) as m:
        yield q.url, m.url


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = run_cli(*args, cwd=cwd, env=ENV)
    assert TOKEN not in proc.stdout + proc.stderr and DUMMY_SECRET not in proc.stdout + proc.stderr
    return proc


_TZ = {"UTC": 0, "PST": -8, "PDT": -7}
_TIME_RE = re.compile(r"(?:\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} (?:PST|PDT|UTC) \d{4})|(?:\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC)")


def _instant(text: str) -> str:
    parts = text.split()
    if len(parts) == 6:
        naive = datetime.strptime(f"{parts[1]} {parts[2]} {parts[5]} {parts[3]}", "%b %d %Y %H:%M:%S")
        tz = parts[4]
    else:
        naive = datetime.strptime(f"{parts[0]} {parts[1]}", "%Y-%m-%d %H:%M:%S")
        tz = parts[2]
    return naive.replace(tzinfo=timezone(timedelta(hours=_TZ[tz]))).astimezone(timezone.utc).isoformat()


def comparable(text: str) -> str:
    """Where a row came from and how a time is spelled differ between a file and a fetch; what was decided must not."""
    text = _TIME_RE.sub(lambda m: _instant(m.group(0)), text)
    return re.sub(r"[^\s(),']+:(\d+)(?=\))", r"SOURCE:\1", text)


def plan_rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    for r in rows:
        r = {k: comparable(v) for k, v in r.items()}
        del r["source"]  # checked on its own: one pseudo-file for everything listed through the API
        out[r["assignment_id"]] = r
    assert len(out) == len(rows)
    return out


def response_rows(plan: Path) -> dict[str, dict[str, str]]:
    with open(plan.with_name(plan.stem + ".responses.csv"), encoding="utf-8-sig", newline="") as fh:
        return {r["response_id"]: {k: comparable(v) for k, v in r.items() if k != "source"} for r in csv.DictReader(fh)}


def match(cwd: Path, name: str, *inputs: str) -> Path:
    plan = cwd / f"{name}.csv"
    proc = cli("match", *inputs, "--bonus", "0.50", "--plan", str(plan), "--report", str(cwd / f"{name}.xlsx"), cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return plan


def test_match_on_the_services_gives_the_plan_of_the_files(study, services, tmp_path):
    export, main, supp = study
    q_url, m_url = services
    from_files = match(tmp_path, "files", "--qualtrics", str(export), "--mturk", str(main), "--mturk", str(supp))
    from_api = match(
        tmp_path, "api", "--qualtrics", SID, "--datacenter", q_url,
        "--mturk-batch", BATCHES[0], "--mturk-batch", BATCHES[1], "--endpoint-url", m_url,
    )
    a, b = plan_rows(from_files), plan_rows(from_api)
    assert len(a) == 104 and a == b
    # The study's known facts survive the trip: 97 codes found, the 7 others left to a person.
    assert sum(r["decision"] == "approve" for r in b.values()) == 97
    assert sum(r["decision"] == "review" for r in b.values()) == 7
    assert response_rows(from_files) == response_rows(from_api)
    with open(from_api, encoding="utf-8-sig", newline="") as fh:
        sources = [r["source"].rsplit(":", 1) for r in csv.DictReader(fh)]
    assert {s[0] for s in sources} == {f"mturk-api:batch-{BATCHES[0]}+batch-{BATCHES[1]}"}
    assert sorted(int(s[1]) for s in sources) == list(range(2, 106))


def test_saved_fetches_are_files_like_the_downloads(study, services, tmp_path):
    export, main, supp = study
    q_url, m_url = services
    assert cli("fetch", "qualtrics", SID, "--datacenter", q_url, "-o", "export.csv", cwd=tmp_path).returncode == 0
    assert cli("fetch", "mturk", "--batch", BATCHES[0], "-o", "main.csv", "--endpoint-url", m_url, cwd=tmp_path).returncode == 0
    assert cli("fetch", "mturk", "--hit", _hits(supp)[0], "-o", "supp.csv", "--endpoint-url", m_url, cwd=tmp_path).returncode == 0
    assert (tmp_path / "export.csv").read_bytes() == export.read_bytes()
    from_files = match(tmp_path, "files", "--qualtrics", str(export), "--mturk", str(main), "--mturk", str(supp))
    from_fetched = match(tmp_path, "fetched", "--qualtrics", "export.csv", "--mturk", "main.csv", "--mturk", "supp.csv")
    assert plan_rows(from_files) == plan_rows(from_fetched)
    # The upload CSV for the requester website is made from the fetched batch like from a download.
    proc = cli("pay", str(from_fetched), "--upload-csv", "upload.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    uploads = sorted(tmp_path.glob("upload*.csv"))
    assert uploads
    with open(uploads[0], encoding="utf-8-sig", newline="") as fh:
        up = list(csv.DictReader(fh))
    approved = {aid for aid, r in plan_rows(from_fetched).items() if r["decision"] == "approve"}
    assert {r["AssignmentId"] for r in up if r.get("Approve") == "x"} == approved & {r["AssignmentId"] for r in up}
    assert len(approved & {r["AssignmentId"] for r in up}) > 0


def _hits(batch: Path) -> list[str]:
    with open(batch, encoding="utf-8-sig", newline="") as fh:
        return sorted({r["HITId"] for r in csv.DictReader(fh)})


def test_match_passes_service_errors_through(study, tmp_path):
    export, main, _supp = study
    with start_qualtrics_emulator(export, token="another-token", survey_id=SID) as q:
        proc = cli("match", "--qualtrics", SID, "--datacenter", q.url, "--mturk", str(main), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "did not accept the API token" in proc.stderr
    with start_emulator([str(main)], as_of=STUDY_DAYS) as m:
        proc = cli("match", "--qualtrics", str(export), "--mturk-batch", "999", "--endpoint-url", m.url, cwd=tmp_path)
    assert proc.returncode == 2 and "BatchId:999" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("reconcile-plan*")) and not list(tmp_path.glob("*.xlsx"))


@pytest.mark.parametrize(
    "fault,needle",
    [
        ({"zip_bomb": 1024**3}, "packed into"),
        ({"zip_content": "html"}, "is not a Qualtrics CSV export"),
        ({"zip_files": 2}, "holds 2 files"),
    ],
)
def test_match_refuses_a_hostile_download_in_one_sentence(study, tmp_path, fault, needle):
    export, main, _supp = study
    with start_qualtrics_emulator(export, token=TOKEN, survey_id=SID, **fault) as q:
        proc = cli("match", "--qualtrics", SID, "--datacenter", q.url, "--mturk", str(main), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and needle in errors[0] and SID in errors[0]
    assert "reconcile-qualtrics" not in proc.stderr  # no temporary file named to the user
    assert list(tmp_path.iterdir()) == []


def test_match_names_the_survey_not_a_temporary_file_in_reader_errors(study, tmp_path):
    export, main, _supp = study
    with start_qualtrics_emulator(export, token=TOKEN, survey_id=SID) as q:
        proc = cli("match", "--qualtrics", SID, "--datacenter", q.url, "--mturk", str(main), "--code-column", "NoSuchColumn", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and f"qualtrics-api:{SID} has no column named 'NoSuchColumn'" in errors[0], errors
    assert "reconcile-qualtrics" not in proc.stderr
