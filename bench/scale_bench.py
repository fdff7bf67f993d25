"""`bench_match.py --memory`: the commands at scale against bare pandas, each in its own process.

See bench_match.py's docstring for what is measured, measure.py for how, synth_study.py for the
files. Every command runs in the study's folder with RECONCILE_NOW fixed, so the decisions do not
depend on the day the bench runs.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import measure
import synth_study

# Goals of issue 14 at 1,000,000 x 1,000,000.
GOAL_MATCH_RATIO = 2.0  # match time / baseline time
GOAL_MATCH_MB = 2000
GOAL_DRY_RUN_MB = 1000
GOAL_DRY_RUN_S = 10.0

# The bare pandas script: what someone with pandas would write to join the two files. It reads
# each file with the engine PROBE chose for it (pyarrow where pyarrow is installed and accepts the
# file, else pandas' C engine), so a refused attempt never counts in the baseline's time.
BASELINE = r"""
import json, sys, time
import pandas as pd
q_path, m_path, out_path, q_code, m_code, q_engine, m_engine = sys.argv[1:8]
steps = {}

def read(path, engine, extra_header_rows):
    if engine == "pyarrow":  # skiprows must be an int with pyarrow: drop the label rows after reading
        df = pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")
        return df.iloc[extra_header_rows:].reset_index(drop=True)
    return pd.read_csv(path, dtype=str, keep_default_na=False, engine="c", skiprows=range(1, 1 + extra_header_rows))

t = time.perf_counter(); q = read(q_path, q_engine, 2); steps["read qualtrics"] = time.perf_counter() - t
t = time.perf_counter(); m = read(m_path, m_engine, 0); steps["read mturk"] = time.perf_counter() - t
t = time.perf_counter()
# Responses without a code are left out: merge joins empty keys to each other (every blank code
# of the batch to every blank code of the export: 700k rows from 50k).
q = q[q[q_code] != ""]
merged = m.merge(q, how="left", left_on=m_code, right_on=q_code, suffixes=("", "_q"))
steps["merge"] = time.perf_counter() - t
t = time.perf_counter(); merged.to_csv(out_path, index=False); steps["to_csv"] = time.perf_counter() - t
matched = int((merged[q_code].fillna("") != "").sum())
print(json.dumps({"rows": len(merged), "matched": matched, "steps": steps, "pandas": pd.__version__}))
"""

# Which engine each file gets. Two refusals seen with real layouts: pyarrow rejects the MTurk
# download because its rows are two cells shorter than the header ("Expected 30 columns, got 28"),
# and rejects a large Qualtrics export when a block boundary falls inside a quoted multi-line
# answer (pandas does not pass pyarrow's newlines_in_values); small exports fit in one block.
PROBE = r"""
import json, sys
import pandas as pd
try:
    import pyarrow
except ImportError:
    print(json.dumps({"pyarrow": None, "engines": {p: ["c", "pyarrow is not installed"] for p in sys.argv[1:]}}))
    raise SystemExit
engines = {}
for path in sys.argv[1:]:
    try:
        pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")
        engines[path] = ["pyarrow", ""]
    except Exception as exc:
        engines[path] = ["c", "pyarrow refused it: " + str(exc).splitlines()[0][:70]]
print(json.dumps({"pyarrow": pyarrow.__version__, "engines": engines}))
"""


def _git_commit() -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "reconcile"], cwd=root, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
    return head + (" (reconcile/ modified)" if dirty else "")


def _check(m: measure.Measured, what: str) -> None:
    if m.returncode != 0:
        sys.stderr.write(m.stderr[-4000:])
        raise SystemExit(f"{what} failed with exit code {m.returncode}: {' '.join(m.argv)}")


def run_scale_bench(args) -> None:
    n = args.n
    folder = args.dir or Path(tempfile.mkdtemp(prefix=f"scale-bench-{n}-"))
    keep = args.keep or args.dir is not None
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "RECONCILE_NOW": synth_study.NOW, "PYTHONUNBUFFERED": "1"}
    py = sys.executable
    results: dict = {
        "n": n,
        "commit": _git_commit(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "bonus": synth_study.BONUS,
        "ip_pool": args.ip_pool,
        "steps": {},
    }
    print(f"scale bench: {n:,} assignments x {n:,} responses in {folder} (commit {results['commit']})", flush=True)
    try:
        t = time.perf_counter()
        q, b = synth_study.write_study(folder, n, args.seed, ip_pool=args.ip_pool)
        gen_s = time.perf_counter() - t
        sizes = {"qualtrics_mb": q.stat().st_size / 1e6, "mturk_mb": b.stat().st_size / 1e6}
        results["generate"] = {"seconds": gen_s, **sizes}
        print(f"  generated in {gen_s:.1f} s: {q.name} {sizes['qualtrics_mb']:.0f} MB, {b.name} {sizes['mturk_mb']:.0f} MB", flush=True)

        steps: list[tuple[str, measure.Measured]] = []

        def step(name: str, argv: list[str]) -> measure.Measured:
            print(f"  running {name} ...", flush=True)
            got = measure.run(argv, cwd=folder, env=env)
            _check(got, name)
            steps.append((name, got))
            print(f"    {got.seconds:.1f} s, peak {got.peak_mb:.0f} MB", flush=True)
            return got

        if not args.skip_baseline:
            probe = measure.run([py, "-c", PROBE, q.name, b.name], cwd=folder, env=env)
            _check(probe, "the pyarrow probe")
            engines = json.loads(probe.stdout)
            base = step("pandas baseline", [py, "-c", BASELINE, q.name, b.name, "baseline-merged.csv", "mTurkCode",
                                            "Answer.surveycode", engines["engines"][q.name][0], engines["engines"][b.name][0]])
            info = json.loads(base.stdout)
            info["pyarrow"] = engines["pyarrow"]
            info["engines"] = {p: e + (f" ({why})" if why else "") for p, (e, why) in engines["engines"].items()}
            results["baseline_info"] = info
            print(f"    pandas {info['pandas']}, pyarrow {info['pyarrow']}; engines: "
                  + "; ".join(f"{p}: {e}" for p, e in info["engines"].items())
                  + f"; {info['rows']:,} rows, {info['matched']:,} with a response", flush=True)

        got = step("reconcile match", [py, "-m", "reconcile", "match", "--qualtrics", q.name, "--mturk", b.name,
                                       "--plan", "plan.csv", "--report", "report.xlsx", "--bonus", synth_study.BONUS, "--json"])
        counts = json.loads(got.stdout)
        results["match_counts"] = counts
        assert counts["assignments"] == n, f"the plan has {counts['assignments']} rows for {n} assignments"
        assert sum(counts["responses"].values()) == n, "every response has an outcome"
        print(f"    decisions {json.dumps(counts['decisions'])}", flush=True)

        got = step("reconcile pay (dry run)", [py, "-m", "reconcile", "pay", "plan.csv", "--json"])
        dry = json.loads(got.stdout)
        results["dry_run"] = {k: dry[k] for k in dry if k in ("decisions", "total", "rewards", "bonuses", "fees", "assignments")}

        for path in (q, b):
            got = step(f"reconcile inspect {path.name}", [py, "-m", "reconcile", "inspect", path.name, "--json"])
            rows = json.loads(got.stdout)[0]["rows"]
            assert rows == n, f"inspect counted {rows} rows in {path.name}"

        results["parent_peak_mb"] = measure.own_peak_mb()
        results["steps"] = {
            name: {"seconds": m.seconds, "cpu_seconds": m.cpu_seconds, "peak_mb": m.peak_mb, "hwm_mb": m.hwm_mb,
                   "phases": [{"line": ln, "start": s, "seconds": d, "rss_mb": r} for ln, s, d, r in m.phases()]}
            for name, m in steps
        }
        print()
        print(table(results))
        if args.phases:
            print()
            print(phase_table(steps))
        if args.json:
            args.json.write_text(json.dumps(results, indent=1) + "\n")
            print(f"\nwrote {args.json}")
    finally:
        if keep:
            print(f"\nfiles kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def table(results: dict) -> str:
    steps = results["steps"]
    b = steps.get("pandas baseline")
    lines = [
        f"{results['n']:,} x {results['n']:,}; commit {results['commit']}; Python {results['python']}; "
        f"{results['cpus']} CPUs; --bonus {results['bonus']!r}"
        + (f"; IP addresses from a pool of {results['ip_pool']}" if results.get("ip_pool") else ""),
        f"{'command':42s} {'seconds':>9s} {'CPU s':>8s} {'peak MB':>9s} {'VmHWM MB':>9s} {'time/base':>10s} {'CPU/base':>9s} {'mem/base':>9s}",
    ]
    for name, s in steps.items():
        rt = f"{s['seconds'] / b['seconds']:.1f}x" if b else "-"
        # CPU seconds too: on a shared machine a command's wall time includes waiting for a core.
        rc = f"{s['cpu_seconds'] / b['cpu_seconds']:.1f}x" if b else "-"
        rm = f"{s['peak_mb'] / b['peak_mb']:.1f}x" if b else "-"
        lines.append(
            f"{name:42s} {s['seconds']:9.1f} {s['cpu_seconds']:8.1f} {s['peak_mb']:9.0f} {s['hwm_mb']:9.0f} {rt:>10s} {rc:>9s} {rm:>9s}"
        )
    lines.append(f"(peak MB: ru_maxrss of each child via os.wait4; this process peaked at {results['parent_peak_mb']:.0f} MB, "
                 "the floor under every figure; VmHWM sampled from /proc every 0.1 s)")
    if b:
        info = results["baseline_info"]
        lines.append("baseline steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in info["steps"].items())
                     + "; engines: " + "; ".join(f"{p}: {e}" for p, e in info["engines"].items()))
    m, d = steps["reconcile match"], steps["reconcile pay (dry run)"]
    goals = []
    if b:
        r = m["seconds"] / b["seconds"]
        goals.append(f"match time {r:.1f}x the baseline (goal <= {GOAL_MATCH_RATIO:g}x): {'met' if r <= GOAL_MATCH_RATIO else 'NOT met'}"
                     f" (CPU time {m['cpu_seconds'] / b['cpu_seconds']:.1f}x)")
    goals.append(f"match peak {m['peak_mb']:.0f} MB (goal < {GOAL_MATCH_MB} MB): {'met' if m['peak_mb'] < GOAL_MATCH_MB else 'NOT met'}")
    ok = d["peak_mb"] < GOAL_DRY_RUN_MB and d["seconds"] < GOAL_DRY_RUN_S
    goals.append(f"dry run {d['seconds']:.1f} s, {d['peak_mb']:.0f} MB (goal < {GOAL_DRY_RUN_S:g} s and < {GOAL_DRY_RUN_MB} MB): {'met' if ok else 'NOT met'}")
    lines.append("goals of issue 14 (stated for 1M x 1M): " + "; ".join(goals))
    return "\n".join(lines)


def phase_table(steps) -> str:
    lines = ["phases (stderr lines of each command; RSS sampled every 0.1 s):"]
    for name, m in steps:
        lines.append(f"  {name}")
        for line, start, dur, rss in m.phases():
            lines.append(f"    {start:8.1f} s  +{dur:7.1f} s  {rss:7.0f} MB  {line[:90]}")
    return "\n".join(lines)
