"""Where `reconcile match` spends time and memory, stage by stage, in this process.

Runs study.run_match on the files in --dir (as written by `bench_match.py --memory --keep`) with
each stage wrapped, and prints per stage: seconds, RSS at its end, and the peak RSS inside it
(VmHWM, reset before each stage through /proc/self/clear_refs). With --tracemalloc it also prints,
at the end of each stage, the largest live allocations grouped by file:line, and what the stage
added. tracemalloc slows the stages several times, and grouping each snapshot by line takes about a
minute per five million live blocks (200k x 200k holds twenty million, and took 12 minutes
here): use it at 50k, where the proportions are the same. Its bookkeeping adds to RSS, not to its own figures.

    python bench/trace_match.py --dir DIR [--tracemalloc] [--top 12] [--frames 1]

The stages are found by name (STAGES below); a name that no longer exists (the modules are being
moved into packages) is reported and skipped, so update the list after such a move.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth_study  # noqa: E402  (for the file names and the bonus expression)

STAGES = (
    ("reconcile.sources", "load_survey"),
    ("reconcile.sources", "load_submissions"),
    ("reconcile.match", "match"),
    ("reconcile.plan", "build_plan"),
    ("reconcile.planfile", "write_plan"),
    ("reconcile.planfile", "write_plan_with_digest"),  # what run_match calls since round 3
    ("reconcile.report", "write_workbook"),
)


def _status_mb(field: str) -> float:
    with open("/proc/self/status", "rb") as fh:
        for line in fh:
            if line.startswith(field.encode() + b":"):
                return int(line.split()[1]) / 1000
    return 0.0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


class Recorder:
    def __init__(self, *, trace: bool, top: int) -> None:
        self.trace, self.top = trace, top
        self.rows: list[tuple[str, float, float, float]] = []
        self.reports: list[str] = []
        self.previous: dict | None = None
        self.snapshot_seconds = 0.0

    def wrap(self, name: str, fn):
        def wrapped(*args, **kwargs):
            _reset_peak()
            if self.trace:
                tracemalloc.reset_peak()
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds = time.perf_counter() - t0
                self.rows.append((name, seconds, _status_mb("VmRSS"), _status_mb("VmHWM")))
                if self.trace:
                    self.snapshot(name)

        return wrapped

    def snapshot(self, name: str) -> None:
        # One grouping per stage, diffed against the previous stage's grouping by hand: a Snapshot
        # of ten million traces takes minutes to group in Python, and compare_to groups both again.
        t0 = time.perf_counter()
        current, peak = tracemalloc.get_traced_memory()
        snap = tracemalloc.take_snapshot().filter_traces((tracemalloc.Filter(False, tracemalloc.__file__),))
        stats = {}
        for st in snap.statistics("lineno"):
            fr = st.traceback[0]
            stats[f"{_short(fr.filename)}:{fr.lineno}"] = (st.size, st.count)
        del snap
        lines = [f"after {name}: traced {current / 1e6:.0f} MB live, {peak / 1e6:.0f} MB at the stage's peak"]
        lines.append(f"  live, by line (top {self.top}):")
        for where, (size, count) in sorted(stats.items(), key=lambda kv: -kv[1][0])[: self.top]:
            lines.append(f"    {size / 1e6:8.1f} MB {count:10d} blocks  {where}")
        prev = self.previous or {}
        diff = {k: (v[0] - prev.get(k, (0, 0))[0], v[1] - prev.get(k, (0, 0))[1]) for k, v in stats.items()}
        for k, v in prev.items():
            if k not in stats:
                diff[k] = (-v[0], -v[1])
        lines.append(f"  added by {name} (top {self.top}):")
        for where, (size, count) in sorted(diff.items(), key=lambda kv: -abs(kv[1][0]))[: self.top]:
            lines.append(f"    {size / 1e6:+8.1f} MB {count:+10d} blocks  {where}")
        self.previous = stats
        self.snapshot_seconds += time.perf_counter() - t0
        self.reports.append("\n".join(lines))


def _short(path: str) -> str:
    for marker in ("reconcile/", "site-packages/", "lib/python3"):
        i = path.find(marker)
        if i >= 0:
            return path[i:]
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, required=True, help="folder with the generated study (bench_match.py --memory --keep)")
    ap.add_argument("--tracemalloc", action="store_true", help="also show the live allocations by file:line after each stage")
    ap.add_argument("--frames", type=int, default=1, help="tracemalloc frames kept per allocation")
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()

    os.environ.setdefault("RECONCILE_NOW", synth_study.NOW)
    if args.tracemalloc:
        tracemalloc.start(args.frames)
    rec = Recorder(trace=args.tracemalloc, top=args.top)
    for module, name in STAGES:
        try:
            mod = importlib.import_module(module)
            setattr(mod, name, rec.wrap(f"{module.rsplit('.', 1)[-1]}.{name}", getattr(mod, name)))
        except (ImportError, AttributeError):
            print(f"note: {module}.{name} not found; that stage is not measured (update STAGES)", file=sys.stderr)
    from reconcile.study import run_match

    folder = args.dir.resolve()
    os.chdir(folder)
    t0 = time.perf_counter()
    summary = run_match(
        synth_study.QUALTRICS_FILE, [synth_study.MTURK_FILE], plan_path=folder / "trace-plan.csv",
        report_path=folder / "trace-report.xlsx", bonus=synth_study.BONUS, force=True, show_progress=False,
    )
    total = time.perf_counter() - t0
    print(f"run_match on {summary.counts['assignments']:,} assignments: {total:.1f} s, "
          f"peak RSS {_status_mb('VmHWM'):.0f} MB since the last reset" + (" (tracemalloc on)" if args.tracemalloc else ""))
    print(f"{'stage':28s} {'seconds':>8s} {'RSS at end MB':>14s} {'peak in stage MB':>17s}")
    for name, seconds, rss, hwm in rec.rows:
        print(f"{name:28s} {seconds:8.1f} {rss:14.0f} {hwm:17.0f}")
    if args.tracemalloc:
        print(f"{'(tracemalloc snapshots)':28s} {rec.snapshot_seconds:8.1f}")
    print(f"{'(rest of run_match)':28s} {total - rec.snapshot_seconds - sum(r[1] for r in rec.rows):8.1f}")
    for report in rec.reports:
        print()
        print(report)


if __name__ == "__main__":
    main()
