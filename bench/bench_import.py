"""Benchmark: the importers on 100k-row files made by repeating real rows, against plain csv parsing.

The MTurk batch and the Qualtrics export of shared/realdata/Chucooleg__Field_Experiment_Human_Image_Classification
are repeated up to --n data rows (each copy gets its own AssignmentId / ResponseId, so no row is a
duplicate), then timed in one run:

  baseline   decode the bytes and `list(csv.reader(...))` the same text (what any importer must do)
  importer   reconcile.importers.read_mturk / read_qualtrics (sniffing, header detection, column
             detection, shaping rows, building the records, the damaged-code check)

and prints the median seconds of --repeat runs and the ratio importer / baseline.

    /work/venv/bin/python bench/bench_import.py [--n 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import tempfile
import time
from pathlib import Path

from reconcile.importers import read_qualtrics
from reconcile.platforms.mturk.batch_csv import read_mturk_csv as read_mturk

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "Chucooleg__Field_Experiment_Human_Image_Classification"
MTURK = "20171112_mturk_results_order1_0.40.csv"
QUALTRICS = "20171112_qualtric_results_order1_0.40_redacted.csv"


def repeat_rows(src: Path, dst: Path, *, header_rows: int, id_column: str, n: int) -> None:
    """Write header rows + n data rows cycled from src, each with a unique id_column value."""
    with open(src, encoding="utf-8-sig", newline="") as fh:
        records = list(csv.reader(fh))
    header, data = records[:header_rows], [r for r in records[header_rows:] if any(c.strip() for c in r)]
    j = header[0].index(id_column)
    with open(dst, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerows(header)
        for i in range(n):
            row = list(data[i % len(data)])
            row[j] = f"{row[j]}X{i}"
            w.writerow(row)


def csv_baseline(path: Path) -> int:
    text = path.read_bytes().decode("utf-8-sig")
    return len(list(csv.reader(io.StringIO(text, newline=""))))


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="data rows in each generated file")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side; the median is shown")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        batch, export = Path(tmp) / "batch.csv", Path(tmp) / "export.csv"
        repeat_rows(REALDATA / MTURK, batch, header_rows=1, id_column="AssignmentId", n=args.n)
        repeat_rows(REALDATA / QUALTRICS, export, header_rows=3, id_column="ResponseId", n=args.n)

        got_m = read_mturk([batch])
        got_q = read_qualtrics(export)
        assert len(got_m.submissions) == args.n and not got_m.duplicates, "every repeated row is its own assignment"
        assert len(got_q.responses) == args.n, "every repeated row is a response"

        print(f"{args.n} data rows per file, median of {args.repeat} runs")
        for name, path, read in (
            ("MTurk batch", batch, lambda: read_mturk([batch])),
            ("Qualtrics export", export, lambda: read_qualtrics(export)),
        ):
            t_base = median_time(lambda path=path: csv_baseline(path), args.repeat)
            t_read = median_time(read, args.repeat)
            size = path.stat().st_size / 1e6
            print(
                f"  {name:17s} ({size:.0f} MB): csv.reader {t_base:.3f} s, importer {t_read:.3f} s "
                f"(ratio {t_read / t_base:.1f}x)"
            )


if __name__ == "__main__":
    main()
