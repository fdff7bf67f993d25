"""`reconcile emulator mturk`: a local MTurk requester service for tests and offline rehearsal."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import emulator_app


@emulator_app.command("mturk")
def mturk(
    files: list[Path] = typer.Argument(None, metavar="FILE...", help="Batch results CSV(s) to seed HITs and assignments from (same as --batch)."),
    batch: list[Path] = typer.Option([], "--batch", metavar="FILE", help="Batch results CSV to seed from; repeat for several files."),
    port: int = typer.Option(0, "--port", min=0, max=65535, metavar="PORT", help="Port on 127.0.0.1 (0 = any free port; the chosen one is printed)."),
    throttle: Optional[float] = typer.Option(None, "--throttle", metavar="RPS", help="Answer ThrottlingException (\"Rate exceeded\") past this many requests per second."),
    latency_ms: int = typer.Option(0, "--latency-ms", min=0, metavar="MS", help="Wait this long before answering each API call."),
    fault_rate: float = typer.Option(0.0, "--fault-rate", min=0.0, max=1.0, metavar="P", help="Answer this fraction of calls with a ServiceFault (HTTP 500) without doing anything."),
    drop_response_rate: float = typer.Option(0.0, "--drop-response-rate", min=0.0, max=1.0, metavar="P", help="For this fraction of calls, do the action, then close the connection without answering."),
    balance: str = typer.Option("10000.00", "--balance", metavar="AMOUNT", help="Available balance in dollars, as left after the HITs were funded (MTurk is prepaid): bonuses and their fees draw on it, approvals do not."),
    seed: int = typer.Option(0, "--seed", metavar="N", help="Seed for injected faults and generated IDs, so a run can be reproduced."),
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="TIME", help="Seed as of this time (default: now): Submitted assignments whose AutoApprovalTime has passed by then start Approved, as MTurk auto-approves them."),
) -> None:
    """Serve a local MTurk API (AWS JSON 1.1, as boto3 speaks it) on 127.0.0.1 until Ctrl-C.

    Point a client at it with `--endpoint-url http://127.0.0.1:PORT` (any dummy AWS credentials).
    Test hooks (not MTurk's API): GET /__emulator/stats, GET /__emulator/state, POST /__emulator/reset-stats.

    Example: `reconcile emulator mturk batch.csv --throttle 5`, then in another terminal
    `reconcile pay reconcile-plan.csv --execute --endpoint-url http://127.0.0.1:PORT`.
    """
    from ..emulators.mturk import serve_until_signalled

    def announce(line: str) -> None:
        typer.echo(line)
        typer.echo("serving until Ctrl-C (SIGINT) or SIGTERM; state lives in memory only.", err=True)

    stats = serve_until_signalled(
        [str(p) for p in [*(files or []), *batch]],
        announce=announce,
        port=port,
        throttle=throttle,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        drop_response_rate=drop_response_rate,
        balance=balance,
        seed=seed,
        as_of=as_of,
    )
    typer.echo(f"stopped after {stats['total_calls']} API calls ({stats['effective_mutations']} changes took effect).", err=True)
