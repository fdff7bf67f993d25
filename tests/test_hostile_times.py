"""Times a person typed or a file carries at the edges of what Python's datetime holds: a completion
time in the year 9999, an offset of 24 hours or more. They are unreadable times (no deadline, no
flag), never a traceback: found by the streamed-inspect work, where `review_deadline` raised
OverflowError and `timezone()` ValueError on such cells for `inspect` and `match`."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from conftest import run_cli
from reconcile.platforms.prolific.export_csv import review_deadline
from reconcile.times import parse_timestamp

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
PROLIFIC = SAMPLE / "prolific"
EXPORT = "prolific_export_6a1f00c0ffee5eed0b57d1e5.csv"

HOSTILE = [
    "9999-12-31T23:59:59.000000Z",  # + 21 days of review: past the last date
    "9999-12-31 23:59:59-08:00",  # its UTC moment is past the last date
    "0001-01-01 00:00:00+08:00",  # ... before the first
    "2036-03-09 14:08:17+25:00",  # an offset timezone() refuses
    "2036-03-09 14:08:17+99:99",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_unreadable_not_raised(text):
    when = parse_timestamp(text)
    assert when is None or when.year == 9999  # readable only where its UTC moment exists
    assert review_deadline(text) == ""


def test_ordinary_times_unchanged():
    assert str(parse_timestamp("2036-03-09T14:08:17.000000Z")) == "2036-03-09 14:08:17+00:00"
    assert str(parse_timestamp("Wed Nov 15 08:28:41 PST 2017")) == "2017-11-15 08:28:41-08:00"
    assert review_deadline("2036-03-09T14:08:17.000000Z") == "2036-03-30T14:08:17Z"


def _with_completed_at(tmp_path: Path, text: str) -> Path:
    with open(PROLIFIC / EXPORT, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("Completed at")
    for r in rows[1:4]:
        r[col] = text
    out = tmp_path / EXPORT
    with open(out, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    shutil.copy(PROLIFIC / "qualtrics_export.csv", tmp_path / "qualtrics_export.csv")
    return out


@pytest.mark.parametrize("text", [HOSTILE[0], HOSTILE[1], HOSTILE[3]])
def test_inspect_and_match_carry_on(tmp_path, text):
    export = _with_completed_at(tmp_path, text)
    r = run_cli("inspect", export.name, cwd=tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    r = run_cli("match", "--qualtrics", "qualtrics_export.csv", "--prolific", export.name, "--plan", "plan.csv",
                "--report", "report.xlsx", cwd=tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert (tmp_path / "plan.csv").is_file()
