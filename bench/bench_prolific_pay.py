"""Benchmark: approving and bonusing 1,000 Prolific submissions against the Prolific emulator.

Starts `reconcile emulator prolific` in its own process (one per approach, so each starts from the
same fresh study; the server does not share our GIL), with a little latency per call and
asynchronous approvals and payouts, then:

1. the executor (`execute_plan`: the Prolific payer over real HTTP, ledger on disk): bulk approve in
   one call, statuses re-read until they settle, bonuses looked up, one set-up, one pay call;
2. a naive per-submission loop over plain requests, the way a short script pays: for each
   submission, transition APPROVE, then set up a bonus of one line and pay it.

Prints wall time and the number of API calls the emulator received for each, both from one run,
and checks on the emulator's audit that each approach paid every bonus exactly once.

    python bench/bench_prolific_pay.py [--n 1000] [--latency-ms 5] [--concurrency 8]

The plan's rows are treated as vouched by their export (as when `match` read an export file), so the
executor does not read each submission before paying; rows listed through the API would add one
status read each.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from decimal import Decimal
from pathlib import Path

STUDY = "5f00000000000000000000b1"
TOKEN = "bench-token"
HEADER = ["Submission id", "Participant id", "Status", "Started at", "Completed at", "Reviewed at", "Archived at",
          "Time taken", "Completion code", "Total approvals", "Age", "Sex"]


def sub_id(i: int) -> str:
    return f"5b{i:022x}"


def part_id(i: int) -> str:
    return f"9a{i:022x}"


def bonus(i: int) -> Decimal:
    return Decimal("0.50") + Decimal(i % 10) * Decimal("0.25")


def write_export(path: Path, n: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(HEADER)
        for i in range(n):
            w.writerow([sub_id(i), part_id(i), "AWAITING REVIEW", "2024-07-01T10:00:00.000000Z",
                        "2024-07-01T10:07:30.500000Z", "", "", "450", "C0DE1234", "12", "30", "Female"])


def start_emulator(export: Path, latency_ms: int, settle_ms: int) -> tuple[str, subprocess.Popen]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconcile", "emulator", "prolific", "--export", str(export), "--study-id", STUDY,
         "--token", TOKEN, "--port", "0", "--latency-ms", str(latency_ms), "--settle-ms", str(settle_ms), "--balance", "100000"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("listening on "):
            url = line.strip()[len("listening on "):]
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
            return url, proc
    raise SystemExit("the emulator did not start")


def hook(url: str, name: str, method: str = "GET") -> dict:
    req = urllib.request.Request(f"{url}/__emulator__/{name}", method=method)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read(), parse_float=Decimal)


def check_paid_once(url: str, n: int) -> None:
    hook(url, "settle", "POST")
    paid = Counter((e["submission_id"], Decimal(e["cents"])) for e in hook(url, "audit")["events"] if e["kind"] == "bonus_payout")
    want = Counter({(sub_id(i), bonus(i) * 100): 1 for i in range(n)})
    assert paid == want, "a bonus was not paid exactly once"
    state = hook(url, "state")["submissions"]
    assert all(state[sub_id(i)]["status"] == "APPROVED" for i in range(n)), "not every submission was approved"


def run_executor(url: str, n: int, concurrency: int, workdir: Path) -> dict:
    from reconcile.models import CheckedPlan, Plan, PlanRow
    from reconcile.planfile import write_plan
    from reconcile.payout.run import execute_plan
    from reconcile.platforms.prolific import CAPABILITIES, PLATFORM
    from reconcile.platforms.prolific.payer import ProlificPayer

    rows = tuple(PlanRow(sub_id(i), part_id(i), STUDY, "approve", "participant_match", "", "C0DE1234", f"R_{i}", bonus(i), "",
                         f"export.csv:{i + 2}", status="AWAITING REVIEW") for i in range(n))
    plan = workdir / "plan.csv"
    write_plan(Plan(rows=rows, platform="prolific", currency="GBP"), plan)
    cost = PLATFORM.fees.cost(rows)
    checked = CheckedPlan(str(plan), rows, "bench", (), cost.rewards, cost.bonuses, cost.fees, cost.total,
                          file_checked=frozenset(r.submission_id for r in rows), platform="prolific", currency="GBP",
                          drawn=cost.drawn)
    payer = ProlificPayer(url, CAPABILITIES, token=TOKEN, connections=concurrency + 2)
    start = time.perf_counter()
    summary = execute_plan(checked, platform=PLATFORM, payer=payer, endpoint_url=url, concurrency=concurrency, rate=1000.0)
    wall = time.perf_counter() - start
    assert summary.complete, summary.to_json()
    return {"wall_seconds": round(wall, 2), "engine_calls": summary.calls}


def run_naive(url: str, n: int) -> dict:
    import requests

    s = requests.Session()
    s.headers["Authorization"] = f"Token {TOKEN}"
    start = time.perf_counter()
    for i in range(n):
        r = s.post(f"{url}/api/v1/submissions/{sub_id(i)}/transition/", json={"action": "APPROVE"}, timeout=30)
        r.raise_for_status()
        r = s.post(f"{url}/api/v1/submissions/bonus-payments/", timeout=30,
                   json={"study_id": STUDY, "csv_bonuses": f"{sub_id(i)},{bonus(i):.2f}"})
        r.raise_for_status()
        r = s.post(f"{url}/api/v1/bulk-bonus-payments/{r.json()['id']}/pay/", json={}, timeout=30)
        assert r.status_code == 202, r.text
    return {"wall_seconds": round(time.perf_counter() - start, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--latency-ms", type=int, default=5)
    ap.add_argument("--settle-ms", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="bench-cache-"))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        export = work / "export.csv"
        write_export(export, args.n)
        for name in ("executor", "naive loop"):
            url, proc = start_emulator(export, args.latency_ms, args.settle_ms)
            try:
                if name == "executor":
                    out = run_executor(url, args.n, args.concurrency, work)
                else:
                    out = run_naive(url, args.n)
                stats = hook(url, "stats")
                out["api_calls"] = stats["total_calls"]
                out["calls_by_route"] = stats["calls"]
                check_paid_once(url, args.n)
                results[name] = out
            finally:
                proc.terminate()
                proc.wait(timeout=10)
    print(json.dumps({"n": args.n, "latency_ms": args.latency_ms, "settle_ms": args.settle_ms,
                      "concurrency": args.concurrency, "results": results}, indent=1))


if __name__ == "__main__":
    main()
