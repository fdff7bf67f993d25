"""Golden files (beangulp style): the sample study's inputs and the exact outputs they must give.

`reconcile match` with a bonus formula and every reject rule on, then the dry run's upload CSV and
JSON summary, then a payout against the emulator whose ledger keys are compared too. Any change to a
decision, a reason, a sentence, an amount, a byte of the upload or a ledger key shows up here.
To accept a deliberate change: RECONCILE_UPDATE_GOLDEN=1 pytest tests/test_golden.py, then review
the diff of tests/golden/ like code.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import SAMPLE_DATA, run_cli
from emulator_helpers import start_emulator
from test_executor_support import FAKE_ENV

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("RECONCILE_UPDATE_GOLDEN") == "1"
# The sample study's own "now" (sample_data/make_sample.py REFERENCE_NOW): deadlines judged as of then.
SAMPLE_NOW = "2036-03-06T16:00:00Z"


def check(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(data)
    assert path.is_file(), f"no golden file {name}; run with RECONCILE_UPDATE_GOLDEN=1 to create it"
    want = path.read_bytes()
    if data != want:
        got = data.decode("utf-8-sig", "replace").splitlines()
        exp = want.decode("utf-8-sig", "replace").splitlines()
        first = next((i for i, (a, b) in enumerate(zip(got, exp)) if a != b), min(len(got), len(exp)))
        pytest.fail(f"{name} differs from its golden file at line {first + 1}:\n  got:  {got[first] if first < len(got) else '<end>'}\n"
                    f"  want: {exp[first] if first < len(exp) else '<end>'}")


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("golden")
    for name in ("qualtrics_export.csv", "mturk_batch_results.csv"):
        shutil.copy(SAMPLE_DATA / name, d / name)
    shutil.copy(GOLDEN / "rules.toml", d / "rules.toml")
    env = {"RECONCILE_NOW": SAMPLE_NOW}
    m = run_cli("match", "--qualtrics", "qualtrics_export.csv", "--mturk", "mturk_batch_results.csv", "--rules", "rules.toml",
                "--bonus", "score / 100 * 1.25", "--max-bonus", "1.10", "--json", cwd=d, env=env)
    assert m.returncode == 0, m.stderr
    return d, m, env


def test_match_outputs_are_golden(golden_run):
    d, m, _ = golden_run
    check("match.json", m.stdout.encode())
    check("reconcile-plan.csv", (d / "reconcile-plan.csv").read_bytes())
    check("reconcile-plan.responses.csv", (d / "reconcile-plan.responses.csv").read_bytes())


def workbook_text(path: Path) -> bytes:
    """Every sheet's cells as tab-separated text (values as read back by openpyxl), minus the time of writing."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    lines = []
    for ws in wb.worksheets:
        lines.append(f"## {ws.title}")
        for row in ws.iter_rows(values_only=True):
            cells = ["" if v is None else str(v) for v in row]
            if cells and cells[0] == "Written":
                cells[1] = "<time>"
            lines.append("\t".join(cells).rstrip("\t"))
    wb.close()
    return ("\n".join(lines) + "\n").encode()


def test_workbook_is_golden(golden_run):
    d, _, _ = golden_run
    check("reconcile-report.txt", workbook_text(d / "reconcile-report.xlsx"))


def test_dry_run_and_upload_are_golden(golden_run):
    d, _, env = golden_run
    r = run_cli("pay", "reconcile-plan.csv", "--upload-csv", "approve.csv", "--json", cwd=d, env=env)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    summary.pop("plan"), summary.pop("uploads")  # absolute paths of this run
    check("dry-run.json", (json.dumps(summary, indent=1, sort_keys=True) + "\n").encode())
    check("approve.csv", (d / "approve.csv").read_bytes())


def test_ledger_keys_are_golden(golden_run):
    """What identifies each action (and so what a later run recognises as done) never changes by accident."""
    d, _, env = golden_run
    assert run_cli("pay", "reconcile-plan.csv", cwd=d, env=env).returncode == 0
    with start_emulator([str(d / "mturk_batch_results.csv")], as_of=SAMPLE_NOW) as emu:
        r = run_cli("pay", "reconcile-plan.csv", "--execute", "--endpoint-url", emu.url, "--rate", "200", "--concurrency", "8",
                    cwd=d, env={**env, **FAKE_ENV, "XDG_CACHE_HOME": str(d / "cache")})
        assert r.returncode in (0, 1), r.stderr  # some sample rows are meant to fail (already decided on MTurk)
        port = emu.url.rsplit(":", 1)[1]
    db = sqlite3.connect(d / "reconcile-plan.ledger.sqlite")
    keys = sorted(k.replace(f"loopback:{port}", "loopback:PORT") for (k,) in db.execute("SELECT key FROM actions"))
    db.close()
    check("ledger-keys.txt", ("\n".join(keys) + "\n").encode())
