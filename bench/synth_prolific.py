#!/usr/bin/env python3
"""A Prolific study of N submissions in the real export formats, written as a stream (for `inspect` at scale).

    python bench/synth_prolific.py --n 1000000 --dir DIR

writes DIR/prolific_export_<study>.csv (the 2024 Title-case export of sample_data/prolific, its
header and cell styles: times ...000000Z, "Not Applicable", CONSENT_REVOKED in demographic columns,
CRLF-free LF lines as the sample) and DIR/qualtrics_export.csv (the sample's three header rows:
PROLIFIC_PID, STUDY_ID and SESSION_ID captured, Q1 "What is your Prolific ID?" typed; CRLF records).
Every ID is a bijection of the row number (24 hex digits), so nothing is held; one submission in
100 is exported twice (a repeated row, as a second download appended would give) and the statuses
cycle through Prolific's, so the duplicate and status counts have something to count.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "prolific"
STUDY = "6a1f00c0ffee5eed0b57d1e5"
START = datetime(2036, 3, 9, 14, 0, 0, tzinfo=timezone.utc)
STATUSES = ("AWAITING REVIEW", "AWAITING REVIEW", "APPROVED", "RETURNED", "TIMED-OUT", "REJECTED", "SCREENED OUT")
_MOD = 1 << 96


def hex24(p: int, salt: int) -> str:
    """A distinct 24-hex-digit ID for each p (an odd multiplier is a bijection mod 2**96)."""
    return f"{((p + 1) * 0x9E3779B97F4A7C15F39CC061 + salt) % _MOD:024x}"


def _time(p: int, seconds: int) -> str:
    return (START + timedelta(seconds=p * 7 + seconds)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def export_row(p: int) -> str:
    taken = 300 + p % 600
    status = STATUSES[p % len(STATUSES)]
    sex = ("Male", "Female", "CONSENT_REVOKED")[p % 3]
    return (f"{hex24(p, 1)},{hex24(p, 2)},{status},Not Applicable,{_time(p, 0)},{_time(p, taken)},,"
            f"{_time(p, taken + 2)},{taken},C7Q2M4PK,{100 + p % 900},{18 + p % 60},{sex},White,United Kingdom,"
            f"United Kingdom,United Kingdom,English,No,Full-Time")


def survey_row(p: int) -> str:
    local = (START - timedelta(hours=7) + timedelta(seconds=p * 7)).strftime("%Y-%m-%d %H:%M:%S")
    end = (START - timedelta(hours=7) + timedelta(seconds=p * 7 + 240)).strftime("%Y-%m-%d %H:%M:%S")
    pid = hex24(p, 2)
    typed = pid if p % 5 else f"my id is {pid.upper()}"
    return (f"{local},{end},IP Address,192.0.2.{p % 250 + 1},100,240,True,{end},R_{hex24(p, 3)[:15]},anonymous,EN,"
            f"{typed},Nice study.,{p % 20},{pid},{STUDY},{hex24(p, 1)}")


def write(n: int, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / f"prolific_export_{STUDY}.csv"
    survey = folder / "qualtrics_export.csv"
    with open(SAMPLE / f"prolific_export_{STUDY}.csv", encoding="utf-8", newline="") as fh:
        export_header = fh.readline().rstrip("\r\n")
    with open(SAMPLE / "qualtrics_export.csv", encoding="utf-8", newline="") as fh:
        survey_header = [fh.readline().rstrip("\r\n") for _ in range(3)]
    with open(export, "w", encoding="utf-8", newline="") as out:
        out.write(export_header + "\n")
        for p in range(n):
            out.write(export_row(p) + "\n")
            if p % 100 == 99:
                out.write(export_row(p - 50) + "\n")
    with open(survey, "w", encoding="utf-8", newline="") as out:
        for line in survey_header:
            out.write(line + "\r\n")
        for p in range(n):
            out.write(survey_row(p) + "\r\n")
    return export, survey


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--dir", type=Path, required=True)
    args = ap.parse_args()
    for path in write(args.n, args.dir):
        print(path, path.stat().st_size)


if __name__ == "__main__":
    main()
