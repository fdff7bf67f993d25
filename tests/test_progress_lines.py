"""Issue 11, item 4: long work says how far it is. Without a terminal (a log, CI) that is a plain
line at each quarter; here the real commands run with stderr a pipe, so those lines must appear:
reading and matching a study of over 100k rows, listing assignments through the MTurk API, and
waiting for a Qualtrics export. Work under about 100k rows prints no such lines."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from conftest import run_cli
from emulator_helpers import DUMMY_KEY_ID, DUMMY_SECRET, start_emulator
from reconcile.emulators.qualtrics import start_qualtrics_emulator

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
ENV = {"AWS_ACCESS_KEY_ID": DUMMY_KEY_ID, "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET, "AWS_EC2_METADATA_DISABLED": "true"}
LINE = r"(\d+)/(\d+) \(\d+(?:\.\d+)?/s\)$"


def _lines(stderr: str, label: str) -> list[tuple[int, int]]:
    """(done, total) of each progress line of `label`."""
    pattern = re.compile(re.escape(label) + r": " + LINE)
    return [(int(m.group(1)), int(m.group(2))) for m in map(pattern.match, stderr.splitlines()) if m]


def _synthetic_study(folder: Path, n: int) -> tuple[Path, Path]:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import synth_study
    finally:
        sys.path.remove(str(ROOT / "bench"))
    kinds = synth_study.kinds(n, 1)
    q, m = folder / synth_study.QUALTRICS_FILE, folder / synth_study.MTURK_FILE
    synth_study.write_qualtrics(q, n, kinds)
    synth_study.write_mturk(m, n, kinds, seed=1)
    return q, m


def test_match_over_100k_rows_prints_progress_lines(tmp_path):
    n = 120_000
    q, m = _synthetic_study(tmp_path, n)
    proc = run_cli("match", "--qualtrics", q.name, "--mturk", m.name, "--json", cwd=tmp_path, timeout=600,
                   env={"RECONCILE_NOW": "2036-03-06T16:00:00Z"})
    assert proc.returncode == 0, proc.stderr
    for name in (q.name, m.name):
        seen = _lines(proc.stderr, f"reading {name}")
        assert len(seen) >= 2, proc.stderr  # at least one quarter on the way, and the end
        assert seen[-1][0] == seen[-1][1] >= n  # the end: every record (header rows included) read
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    stages = _lines(proc.stderr, f"matching {n} rows (stages)")
    assert stages and stages[-1] == (8, 8), proc.stderr
    assert proc.stdout.count("\n") == 1 and proc.stdout.startswith("{")  # --json stays one object on stdout


def test_small_work_prints_no_progress_lines(tmp_path):
    q, m = tmp_path / "export.csv", tmp_path / "batch.csv"
    shutil.copy(SAMPLE / "qualtrics_export.csv", q)
    shutil.copy(SAMPLE / "mturk_batch_results.csv", m)
    proc = run_cli("match", "--qualtrics", q, "--mturk", m, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not re.search(LINE, proc.stderr, re.M), proc.stderr


def test_mturk_listing_prints_progress_lines(tmp_path):
    batch = SAMPLE / "mturk_batch_results.csv"
    with start_emulator([str(batch)]) as emu:
        proc = run_cli("fetch", "mturk", "--batch", "4812345", "--endpoint-url", emu.url, "-o", tmp_path / "fetched.csv",
                       cwd=tmp_path, env=ENV)
    assert proc.returncode == 0, proc.stderr
    (label,) = {m.group(1) for m in re.finditer(r"^(listing the assignments of \d+ HIT\(s\)): ", proc.stderr, re.M)}
    seen = _lines(proc.stderr, label)
    assert seen and seen[-1][0] == seen[-1][1], proc.stderr
    # The count replaces the line per HIT a library caller without a reporter gets.
    assert not re.search(r"^HIT \d+/\d+ ", proc.stderr, re.M)


def test_qualtrics_export_polling_prints_progress_lines(tmp_path):
    token, sid = "tok-progress-test", "SV_progress1"
    with start_qualtrics_emulator(SAMPLE / "qualtrics_export.csv", token=token, survey_id=sid, slow_polls=3) as q:
        proc = run_cli("fetch", "qualtrics", sid, "--datacenter", q.url, "-o", tmp_path / "export.csv", cwd=tmp_path,
                       env={"QUALTRICS_API_TOKEN": token})
    assert proc.returncode == 0, proc.stderr
    assert token not in proc.stdout + proc.stderr
    seen = _lines(proc.stderr, f"exporting {sid} from Qualtrics (%)")
    assert seen and seen[-1] == (100, 100), proc.stderr
    assert len(seen) >= 2  # a quarter on the way (the emulator reports inProgress percentages), and the end
