"""`reconcile pay PLAN.csv`: the dry run by default; `--upload-csv` for the requester website;
`--execute` to pay through the platform's API.

The dry run and the real run share `check_plan` (one validation, one plan), so they cannot diverge.
The plan says which platform it is for (its header); this command asks and prints, the library pays.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import RefusedError
from ..money import format_money
from . import app
from .progress import Progress


@app.command()
def pay(
    plan: Path = typer.Argument(..., metavar="PLAN", help="The plan CSV, or the workbook (.xlsx), written by `reconcile match` (possibly edited by the PI)."),
    execute: bool = typer.Option(False, "--execute", help="Really call the platform's API. Without it, nothing is sent anywhere (dry run)."),
    upload_csv: Optional[Path] = typer.Option(None, "--upload-csv", metavar="FILE", help="MTurk: write the approve/reject CSV the requester website accepts (one per batch when several)."),
    batch: list[Path] = typer.Option([], "--batch", metavar="FILE", help="The platform's file(s) the plan came from, when the paths in its source column have moved."),
    report: Optional[Path] = typer.Option(None, "--report", metavar="REPORT.xlsx", help="Also write a dry-run workbook of exactly what would happen (must end in .xlsx)."),
    max_bonus: Optional[str] = typer.Option(None, "--max-bonus", metavar="AMOUNT", help="Refuse any bonus above this amount (e.g. 5.00)."),
    budget: Optional[str] = typer.Option(None, "--budget", metavar="AMOUNT", help="Refuse the plan when its total cost (rewards, bonuses, fees) exceeds this amount."),
    endpoint_url: Optional[str] = typer.Option(None, "--endpoint-url", metavar="URL", help="API endpoint URL, e.g. a local `reconcile emulator mturk` (never a real service: use --production)."),
    sandbox: bool = typer.Option(False, "--sandbox", help="Use the platform's sandbox (MTurk; Prolific has none)."),
    production: bool = typer.Option(False, "--production", help="Use the real service (real money). Asks for confirmation unless --yes."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation (for scripts)."),
    ledger: Optional[Path] = typer.Option(None, "--ledger", metavar="FILE", help="The SQLite ledger of every action (default: beside the plan)."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=64, metavar="N", help="How many API calls may be in flight at once (1-64)."),
    rate: Optional[float] = typer.Option(None, "--rate", min=0.1, metavar="RPS", help="A ceiling on calls per second (default: none; pacing starts low, grows until the service throttles, then adapts)."),
    grant_qualification: Optional[str] = typer.Option(None, "--grant-qualification", metavar="QUAL_ID", help="MTurk: grant this qualification to every approved worker (to block retakes)."),
    masters: bool = typer.Option(False, "--masters", help="MTurk: the HITs required Masters (5% more fees on rewards; batch files do not say so)."),
    platform_name: Optional[str] = typer.Option(None, "--platform", metavar="NAME", help="The platform the plan pays on (mturk or prolific); default: recognised from the plan's header."),
    fee_rate: Optional[str] = typer.Option(None, "--fee-rate", metavar="RATE", help="Prolific: the workspace's service fee on bonuses (default 33.33%; corporate 42.8%), as 42.8%, 0.428 or 1/3."),
    vat_rate: Optional[str] = typer.Option(None, "--vat-rate", metavar="RATE", help="Prolific: VAT on the service fee (default 0; UK workspaces without a VAT number 20%)."),
    currency: Optional[str] = typer.Option(None, "--currency", metavar="GBP|USD", help="Prolific: the workspace's currency (default GBP; exports do not say it). --execute refuses when Prolific's differs."),
    bonus_csv: Optional[Path] = typer.Option(None, "--bonus-csv", metavar="FILE", help="Prolific: write the headerless participant_id,amount text the study's bulk-bonus dialog accepts."),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Check the plan and show what would happen (the default: a dry run that calls no service),
    or carry it out exactly once with --execute.

    The dry run lists every problem of a hand-edited plan at once (with line and column) and prints
    counts, rewards, bonuses, the platform's fees and the total. --upload-csv writes MTurk's
    approve/reject file for the requester website (Manage > Results > Upload CSV); --report writes a
    dry-run workbook.
    """
    from ..payment import dry_run, plan_platform

    checked, platform = dry_run(
        plan,
        platform=plan_platform(plan, platform_name) if platform_name else None,
        masters=masters,
        fee_rate=fee_rate,
        vat_rate=vat_rate,
        currency=currency,
        bonus_csv=bonus_csv,
        max_bonus=max_bonus,
        budget=budget,
        batch_paths=[str(b) for b in batch],
        upload_csv=upload_csv,
        report=report,
        ledger=ledger,
        json_output=json_output,
        quiet_summary=execute,
        summary_only=not execute,  # the plan is not used after the summary: its rows need not be kept
    )
    if not execute:
        return
    _execute(checked, platform, endpoint_url=endpoint_url, sandbox=sandbox, production=production, yes=yes, ledger=ledger,
             concurrency=concurrency, rate=rate, grant_qualification=grant_qualification, max_bonus=max_bonus, budget=budget,
             json_output=json_output)


def _ask(question: str) -> bool:
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _execute(checked, platform, *, endpoint_url, sandbox, production, yes, ledger, concurrency, rate, grant_qualification,
             max_bonus, budget, json_output) -> None:
    """Checks, confirmations, the run, the summary, the exit code."""
    from ..payout.run import ExecutionIncomplete, ExecutionInterrupted, check_limits, execute_plan
    from ..planfile import was_shown

    words = platform.words
    endpoint = platform.resolve_endpoint(endpoint_url, sandbox, production)
    check_limits(checked, max_bonus, budget)
    money = lambda v: format_money(v, checked.currency)  # noqa: E731
    # Asked before anything is sent anywhere (not even a read): production is not touched unconfirmed.
    reasons = []
    if endpoint.is_production:
        reasons.append(f"this pays REAL money on production {words.platform}")
    if not was_shown(checked.path, checked.digest):
        reasons.append("the plan changed since its last dry run (or was never shown)")
    if reasons and not yes:
        n_approve = sum(1 for r in checked.rows if r.decision == "approve")
        n_reject = sum(1 for r in checked.rows if r.decision == "reject")
        n_bonus = sum(1 for r in checked.rows if r.bonus is not None and r.bonus > 0)
        sys.stderr.write(
            f"About to execute {checked.path} on {endpoint.name} {words.platform} ({endpoint.shown}):\n"
            f"  {n_approve} approvals, {n_reject} rejections, {n_bonus} bonuses\n"
            f"  rewards {money(checked.rewards)}, bonuses {money(checked.bonuses)}, fees {money(checked.fees)}, "
            f"total {money(checked.total)} (anything already done is skipped)\n"
            f"  Note: {'; '.join(reasons)}.\n"
        )
        if not _ask("Proceed? Type 'yes' to continue: "):
            raise RefusedError(
                f"not confirmed; nothing was sent to {words.platform}.",
                hint=f"Review the plan with `reconcile pay {checked.path}`, then run the same --execute command again (or add --yes).",
            )
    payer = platform.payer(endpoint, connections=concurrency + 2)
    progress = Progress("paying")
    try:
        summary = execute_plan(
            checked, platform=platform, payer=payer, endpoint_url=endpoint.url, ledger_path=ledger, concurrency=concurrency,
            rate=rate, grant_qualification=grant_qualification,
            on_start=progress.start, on_result=lambda r: progress.step(r.outcome == "failed"),
        )
    except KeyboardInterrupt:
        # Before the payout proper (checks, balance): no approval, rejection or bonus was sent.
        # (Once it runs, Ctrl-C is handled inside and a summary of what was done is printed.)
        raise ExecutionInterrupted(
            "interrupted before the payout started; nothing was approved, rejected or paid.",
            hint="Run the same command again when ready.",
        ) from None
    finally:
        progress.close()
    if json_output:
        sys.stdout.write(json.dumps(summary.to_json(), indent=1) + "\n")
    else:
        sys.stdout.write(format_summary(summary, str(checked.path), words) + "\n")
    sys.stdout.flush()
    if summary.interrupted:
        done = summary.count("done")
        raise ExecutionInterrupted(
            f"interrupted: {done} action{'s' if done != 1 else ''} done in this run (listed above), the rest not attempted.",
            hint="Re-run the same command to finish: finished actions are never repeated.",
        )
    if not summary.complete:
        n, d = len(summary.failures), len(summary.in_doubt)
        parts = ([f"{n} action{'s' if n != 1 else ''} failed"] if n else []) + ([f"{d} in doubt"] if d else [])
        raise ExecutionIncomplete(
            f"{' and '.join(parts)} (listed above); everything else is done.",
            hint="Fix what the reasons name if needed, then re-run the same command: finished actions are never repeated"
                 + ("; settle what is in doubt with `reconcile ledger --resolve KEY paid|unpaid`." if d else "."),
        )


def format_summary(summary, plan_path: str, words) -> str:
    from ..payout.actions import KIND_ORDER

    head = "Interrupted (Ctrl-C) while executing" if summary.interrupted else "Executed"
    lines = [f"{head} {plan_path} against {summary.endpoint}:"]
    kinds = sorted({r.action.kind for r in summary.results}, key=KIND_ORDER.index)
    for k in kinds:
        doubt = summary.count("in_doubt", k)
        lines.append(
            f"  {k:<8} {summary.count('done', k):>5} done, {summary.count('already_done', k):>5} already done, "
            f"{summary.count('failed', k):>5} failed" + (f", {doubt:>5} in doubt" if doubt else "")
        )
    if not summary.results:
        lines.append("  nothing to do: the plan has no approvals, rejections or bonuses.")
    paid = format_money(summary.bonuses_paid, summary.currency)
    lines.append(f"  bonuses paid in this run: {paid}; API calls: {summary.calls} ({summary.throttled} throttled)")
    failures = [r for r in summary.failures
                if not (summary.interrupted and r.detail.startswith("not attempted: the run was interrupted"))]
    skipped = len(summary.failures) - len(failures)
    if skipped:
        lines.append(f"Not attempted because of the interruption: {skipped} action{'s' if skipped != 1 else ''}.")
    if failures:
        lines.append(f"Failed ({len(failures)}):")
        for r in failures[:50]:
            lines.append(f"  {r.action.describe(words)}: {r.detail}")
        if len(failures) > 50:
            lines.append(f"  ... and {len(failures) - 50} more (see `reconcile ledger {plan_path}`)")
    if summary.in_doubt:
        lines.append(f"In doubt ({len(summary.in_doubt)}): a pay call that may have gone through; never sent again on its own:")
        for r in summary.in_doubt[:50]:
            lines.append(f"  {r.action.describe(words)}: {r.detail} [key {r.action.key}]")
    if not failures and not skipped and not summary.in_doubt:
        lines.append("Everything in the plan is done.")
    lines.append(f"Ledger: {summary.ledger_path}")
    return "\n".join(lines)
