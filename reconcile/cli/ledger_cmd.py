"""`reconcile ledger [--ledger FILE] [PLAN]`: what was paid, when, and what is still pending."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from . import app


@app.command()
def ledger(
    plan: Optional[Path] = typer.Argument(None, help="The plan CSV (default: reconcile-plan.csv here); its ledger is found beside it, and its actions not yet done are listed."),
    ledger_path: Optional[Path] = typer.Option(None, "--ledger", help="The ledger file, when it is not beside the plan (as given to `pay --ledger`)."),
    show_all: bool = typer.Option(False, "--all", help="List every action with the time of its first attempt and last change."),
    json_output: bool = typer.Option(False, "--json", help="Print everything as one JSON object on stdout."),
) -> None:
    """Show what `reconcile pay --execute` did: runs, actions done / already done / failed / in
    flight (a run stopped mid-call), bonuses paid, and - given the plan - what is not done yet.
    Reads the ledger only; never calls MTurk."""
    from ..executor import format_ledger_status, ledger_status

    status = ledger_status(ledger_path, plan)
    if json_output:
        typer.echo(json.dumps(status, indent=1))
    else:
        typer.echo(format_ledger_status(status, show_all=show_all))
