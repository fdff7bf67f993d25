"""Benchmark: the matcher on 100k assignments x 100k responses, against a plain dict join.

Generates a study with the usual mess (typos one edit away, WorkerIds pasted as codes, codes inside
sentences, shared codes, retakes, unfinished and preview responses), then times in one run:

  baseline   a dict join of the raw codes (what a quick script does; decides nothing else)
  match      reconcile.match.match + plan.build_plan with a --bonus expression (the pure library path)
  cli        optionally `reconcile match` end to end on CSV files (reading, matching, plan, workbook)

and prints absolute seconds (best of --repeat runs) and the ratio to the baseline.
Target: a few seconds for 100k x 100k.

    /work/venv/bin/python bench/bench_match.py [--n 100000] [--repeat 3] [--cli]

With --memory it measures the commands at scale instead (issue 14): it streams a study of N
assignments x N responses in the real export formats (bench/synth_study.py: a three-row Qualtrics
CSV and an MTurk batch results CSV laid out like sample_data), then runs each of these as its own
child process and records wall time, CPU time and peak RSS (bench/measure.py: ru_maxrss of that
child from os.wait4, cross-checked against /proc VmHWM):

  baseline   bare pandas: read both files as text (dtype=str, the two extra Qualtrics header rows
             dropped), merge the batch onto the export on the code columns, to_csv the merged frame
             (the pyarrow engine where pyarrow is installed and accepts the file; the table says)
  match      `reconcile match` end to end: plan CSV, responses sidecar and workbook, with --bonus
  dry run    `reconcile pay PLAN` (no --execute) of the plan match wrote
  inspect    `reconcile inspect` of each input file

and prints seconds, peak MB and the ratios to the baseline, against the goals of issue 14.

    /work/venvs/NAME/bin/python bench/bench_match.py --memory --n 1000000 [--keep] [--dir DIR]
        [--skip-baseline] [--phases] [--json FILE] [--ip-pool K]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

# reconcile is imported inside the functions of the library bench only: the --memory mode must
# keep this process small (see bench/measure.py on why its size is a floor under every figure).

NOW = datetime(2024, 3, 1, tzinfo=timezone.utc)


def make_study(n: int, seed: int = 11):
    """(responses, assignments) as plain dicts of text, like a real export and batch file."""
    rnd = random.Random(seed)
    workers = [f"A{rnd.getrandbits(64):016X}"[:14] for _ in range(n)]
    codes = [str(c) for c in rnd.sample(range(10**8, 10**9), n)]
    responses = []
    for i in range(n):
        kind = rnd.random()
        responses.append({
            "ResponseId": f"R_{i:015d}",
            "Status": "Survey Preview" if kind < 0.005 else "IP Address",
            "Finished": "False" if 0.005 <= kind < 0.02 else "True",
            "Progress": "100",
            "IPAddress": f"192.0.{i % 250}.{(i * 7) % 251}",
            "Duration (in seconds)": str(rnd.randrange(60, 1500)),
            "mTurkCode": codes[i],
            "worker_id": workers[i].lower() if kind > 0.98 else workers[i],
            "score": str(rnd.randrange(0, 100)),
        })
    submissions = []
    for i in range(n):
        kind = rnd.random()
        code = codes[i]
        if kind < 0.01:  # typo: one substitution
            p = rnd.randrange(len(code))
            code = code[:p] + str((int(code[p]) + 1) % 10) + code[p + 1:]
        elif kind < 0.015:
            code = workers[i]
        elif kind < 0.02:
            code = f"Thank you! Your code is: {code}"
        elif kind < 0.025:
            code = codes[rnd.randrange(n)]  # someone else's code (shared)
        elif kind < 0.03:
            code = str(rnd.randrange(10**8, 10**9))  # another study's code
        submissions.append({
            "HITId": f"3HIT{i // 100:026d}",
            "AssignmentId": f"3ASG{i:026d}",
            "WorkerId": workers[i],
            "AssignmentStatus": "Approved" if kind > 0.99 else "Submitted",
            "Reward": "$0.40",
            "MaxAssignments": "100",
            "AutoApprovalTime": "2024-03-04 10:00:00 UTC",
            "Answer.surveycode": code,
        })
    rnd.shuffle(submissions)
    return responses, submissions


def to_records(responses, submissions):
    from reconcile.models import Response, SourceRef, Submission, frozen_mapping
    from reconcile.platforms.mturk.states import state_of

    rs = tuple(
        Response(
            source=SourceRef("export.csv", i + 4), response_id=r["ResponseId"], status=r["Status"], finished=r["Finished"],
            progress=r["Progress"], ip_address=r["IPAddress"], start_date="", end_date="",
            duration_seconds=r["Duration (in seconds)"], code=r["mTurkCode"], participant_id=r["worker_id"], fields=frozen_mapping(r),
        )
        for i, r in enumerate(responses)
    )
    asg = tuple(
        Submission(
            source=SourceRef("batch.csv", i + 2), platform="mturk", state=state_of(a["AssignmentStatus"]), submission_id=a["AssignmentId"], participant_id=a["WorkerId"], group_id=a["HITId"],
            status=a["AssignmentStatus"], reward=a["Reward"], group_size=a["MaxAssignments"],
            started_at="", submitted_at="", review_deadline=a["AutoApprovalTime"], duration_seconds="",
            code=a["Answer.surveycode"],
        )
        for i, a in enumerate(submissions)
    )
    return rs, asg


def baseline(responses, submissions) -> dict[str, str]:
    """A dict join of raw codes: assignment -> response id (or nothing)."""
    by_code = {r["mTurkCode"]: r["ResponseId"] for r in responses}
    return {a["AssignmentId"]: by_code.get(a["Answer.surveycode"], "") for a in submissions}


def write_inputs(responses, submissions, folder: Path) -> tuple[Path, Path]:
    export = folder / "export.csv"
    cols = list(responses[0])
    with open(export, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writerow(cols)
        w.writerow(cols)
        w.writerow([json.dumps({"ImportId": c}) for c in cols])
        for r in responses:
            w.writerow([r[c] for c in cols])
    batch = folder / "batch.csv"
    bcols = list(submissions[0])
    with open(batch, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writerow(bcols)
        for a in submissions:
            w.writerow([a[c] for c in bcols])
    return export, batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="assignments and responses (each)")
    ap.add_argument("--cli", action="store_true", help="also time `reconcile match` end to end on CSV files")
    ap.add_argument("--repeat", type=int, default=3, help="runs of baseline and match; the best of each is shown")
    scale = ap.add_argument_group("--memory mode (commands at scale, each in its own process)")
    scale.add_argument("--memory", action="store_true", help="measure time and peak RSS of match, the dry run and inspect against bare pandas")
    scale.add_argument("--dir", type=Path, help="write the generated study and the outputs here (default: a temporary folder)")
    scale.add_argument("--keep", action="store_true", help="keep the generated files and outputs (always kept with --dir)")
    scale.add_argument("--skip-baseline", action="store_true", help="do not run the pandas baseline")
    scale.add_argument("--phases", action="store_true", help="also print each command's progress lines with the time and RSS of each phase")
    scale.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE as JSON")
    scale.add_argument("--seed", type=int, default=20360302, help="seed of the generated study")
    scale.add_argument("--ip-pool", type=int, default=0, metavar="K",
                       help="draw every response's IP address from K addresses (762: the documentation ranges of "
                       "sample_data/make_sample.py); default: one address per response")
    args = ap.parse_args()
    if args.memory:
        from scale_bench import run_scale_bench

        run_scale_bench(args)
        return
    library_bench(args)


def library_bench(args) -> None:
    from reconcile.bonus import parse_bonus
    from reconcile.match import match
    from reconcile.plan import build_plan, summarize
    from reconcile.platforms.mturk import PLATFORM as MTURK

    responses, submissions = make_study(args.n)
    rs, asg = to_records(responses, submissions)

    # Best of --repeat runs for both sides: the machine running this is often shared, and the
    # best run is the one least disturbed by others.
    t_base = t_match = t_only = cpu = float("inf")
    bonus = parse_bonus("score / 100")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        joined = baseline(responses, submissions)
        t_base = min(t_base, time.perf_counter() - t0)

        t0 = time.perf_counter()
        c0 = time.process_time()
        result = match(rs, asg, now=NOW, platform=MTURK)
        t1 = time.perf_counter()
        plan = build_plan(result, rs, bonus=bonus, platform=MTURK)
        t2 = time.perf_counter()
        if t2 - t0 < t_match:
            t_match, t_only, cpu = t2 - t0, t1 - t0, time.process_time() - c0
    counts = summarize(plan, MTURK.words)

    print(f"{args.n} assignments x {args.n} responses")
    print(f"  decisions: {json.dumps(counts['decisions'])}")
    print(f"  reasons:   {json.dumps(counts['reasons'])}")
    print(f"  baseline dict join: {t_base:.3f} s ({sum(1 for v in joined.values() if v)} raw code hits, nothing decided)")
    print(f"  match + plan:       {t_match:.3f} s  (match {t_only:.3f} s, CPU {cpu:.3f} s; ratio to baseline {t_match / t_base:.1f}x)")

    if args.cli:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            export, batch = write_inputs(responses, submissions, folder)
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "reconcile", "match", "--qualtrics", str(export), "--mturk", str(batch),
                 "--bonus", "score / 100", "--json"],
                cwd=folder, capture_output=True, text=True,
            )
            t_cli = time.perf_counter() - t0
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                raise SystemExit(proc.returncode)
            assert json.loads(proc.stdout)["decisions"] == counts["decisions"], "CLI and library disagree"
            print(f"  reconcile match CLI (read, match, plan CSV, workbook): {t_cli:.3f} s  (ratio to baseline {t_cli / t_base:.0f}x)")


if __name__ == "__main__":
    main()
