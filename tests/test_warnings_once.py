"""Issue 11, item 5: each warning is said once (a reader and the matcher both see damaged codes),
and the same assignment from a file and from the API is one identical duplicate, not a conflict."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import run_cli
from emulator_helpers import DUMMY_KEY_ID, DUMMY_SECRET, start_emulator
from reconcile.notices import DAMAGED_CODES, Notice, once_each, relabel

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
SAMPLE_BATCH = "4812345"


def test_match_says_each_damaged_code_file_once(tmp_path):
    # The sample study holds one damaged code on each side: '84719265.0' in the export, '2.95061E+08' in the batch.
    q, m = tmp_path / "export.csv", tmp_path / "batch.csv"
    shutil.copy(SAMPLE / "qualtrics_export.csv", q)
    shutil.copy(SAMPLE / "mturk_batch_results.csv", m)
    proc = run_cli("match", "--qualtrics", q, "--mturk", m, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    said = [line for line in (proc.stdout + proc.stderr).splitlines() if "look damaged" in line or "looks damaged" in line]
    assert len(said) == 2, said
    assert sum("'84719265.0'" in line and f"{q}:" in line for line in said) == 1
    assert sum("'2.95061E+08'" in line and f"{m}:" in line for line in said) == 1
    # The rows themselves still say why they go to review.
    plan = (tmp_path / "reconcile-plan.csv").read_text(encoding="utf-8")
    assert plan.count("excel_damaged_code") >= 2


def test_once_each_keeps_the_first_notice_of_each_fact_and_plain_sentences_once():
    a = Notice("reader: 3 codes damaged in a.csv", kind=DAMAGED_CODES, subject="a.csv")
    b = Notice("reader: 1 code damaged in b.csv", kind=DAMAGED_CODES, subject="b.csv")
    again = Notice("matcher: 3 response codes damaged (a.csv:4)", kind=DAMAGED_CODES, subject="a.csv")
    assert once_each(["plain", a, b, again, "plain", "other"]) == ("plain", a, b, "other")
    moved = relabel(a, "a.csv", "qualtrics-api:SV_1")
    assert isinstance(moved, Notice) and moved.subject == "qualtrics-api:SV_1" and "qualtrics-api:SV_1" in moved
    assert relabel("plain a.csv", "a.csv", "z") == "plain z"


def test_assignment_from_file_and_from_api_is_an_identical_duplicate(tmp_path):
    """The batch file writes times as `Sun Mar 02 23:34:03 PST 2036`, the API listing as
    `2036-03-03 07:34:03 UTC`: the same instants, so the rows are identical duplicates (and the
    approval-rate columns only the website's download fills are no conflict)."""
    from reconcile.platforms.mturk import PLATFORM
    from reconcile.platforms.mturk.endpoints import resolve_mturk_endpoint
    from reconcile.sources import load_submissions

    batch = SAMPLE / "mturk_batch_results.csv"
    assert "PST 20" in batch.read_text(encoding="utf-8")  # the file really uses the older style
    os.environ.setdefault("AWS_ACCESS_KEY_ID", DUMMY_KEY_ID)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET)
    with start_emulator([str(batch)]) as emu:
        ep = resolve_mturk_endpoint(emu.url, False, False)
        data = load_submissions(PLATFORM, [str(batch)], batch_ids=(SAMPLE_BATCH,), endpoint=ep, show_progress=False)
    assert data.duplicates, "the API listing should repeat the file's assignments"
    assert len(data.duplicates) == len(data.submissions)
    conflicting = [d for d in data.duplicates if not d.identical]
    assert conflicting == []
