"""`reconcile pay PLAN.csv`: the dry run by default; `--upload-csv` for the requester website;
`--execute` to call the MTurk API.

The dry run and the real run share `check_plan` (one validation, one plan), so they cannot diverge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app


@app.command()
def pay(
    plan: Path = typer.Argument(..., help="The plan CSV written by `reconcile match` (possibly edited by the PI)."),
    execute: bool = typer.Option(False, "--execute", help="Really call the MTurk API. Without it, nothing is sent anywhere (dry run)."),
    upload_csv: Optional[Path] = typer.Option(None, "--upload-csv", help="Write the approve/reject CSV the MTurk requester website accepts (one per batch when several)."),
    batch: list[Path] = typer.Option([], "--batch", help="Batch results file(s) the plan came from, when the paths in its source column have moved."),
    report: Optional[Path] = typer.Option(None, "--report", help="Also write a dry-run workbook of exactly what would happen (must end in .xlsx)."),
    max_bonus: Optional[str] = typer.Option(None, "--max-bonus", help="Refuse any bonus above this amount (dollars, e.g. 5.00)."),
    budget: Optional[str] = typer.Option(None, "--budget", help="Refuse the plan when its total cost (rewards, bonuses, fees) exceeds this amount."),
    endpoint_url: Optional[str] = typer.Option(None, "--endpoint-url", help="MTurk endpoint URL, e.g. a local `reconcile emulator mturk`."),
    sandbox: bool = typer.Option(False, "--sandbox", help="Use the MTurk requester sandbox."),
    production: bool = typer.Option(False, "--production", help="Use real MTurk (real money). Asks for confirmation unless --yes."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation (for scripts)."),
    ledger: Optional[Path] = typer.Option(None, "--ledger", help="The SQLite ledger of every action (default: beside the plan)."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=64, help="Parallel API calls."),
    rate: float = typer.Option(3.0, "--rate", min=0.1, help="Calls per second at most (MTurk throttles bursts; pacing adapts down on throttling)."),
    grant_qualification: Optional[str] = typer.Option(None, "--grant-qualification", metavar="QUAL_ID", help="Grant this qualification to every approved worker (to block retakes)."),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Check the plan and show what would happen (the default: a dry run that calls no service),
    or carry it out exactly once with --execute.

    The dry run lists every problem of a hand-edited plan at once (with line and column) and prints
    counts, rewards, bonuses, MTurk fees and the total. --upload-csv writes the approve/reject file
    for the requester website (Manage > Results > Upload CSV); --report writes a dry-run workbook.
    """
    from ..payment import dry_run

    checked = dry_run(
        plan,
        max_bonus=max_bonus,
        budget=budget,
        batch_paths=[str(b) for b in batch],
        upload_csv=upload_csv,
        report=report,
        ledger=ledger,
        json_output=json_output,
        quiet_summary=execute,
    )
    if not execute:
        return
    from ..executor import execute_from_cli

    execute_from_cli(
        checked,
        endpoint_url=endpoint_url,
        sandbox=sandbox,
        production=production,
        yes=yes,
        ledger_path=ledger,
        concurrency=concurrency,
        rate=rate,
        grant_qualification=grant_qualification,
        max_bonus=max_bonus,
        budget=budget,
        json_output=json_output,
    )
