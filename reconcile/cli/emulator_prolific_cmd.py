"""`reconcile emulator prolific`: a local Prolific API v1 serving studies seeded from export files."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import emulator_app


@emulator_app.command("prolific")
def prolific(
    export: list[Path] = typer.Option([], "--export", metavar="FILE", help="Prolific submissions export to seed a study from (repeatable; each file is one study)."),
    study_id: list[str] = typer.Option([], "--study-id", metavar="ID", help="Study ID for each --export, in order (default: 24 hex characters derived from the file's content)."),
    port: int = typer.Option(0, "--port", metavar="N", min=0, max=65535, help="Port on 127.0.0.1 (0: any free port; the chosen one is printed)."),
    token: Optional[str] = typer.Option(None, "--token", metavar="T", envvar="PROLIFIC_API_TOKEN", show_envvar=False, help="API token the emulator accepts as `Authorization: Token T` (default: $PROLIFIC_API_TOKEN, else `emulator-token`)."),
    balance: str = typer.Option("10000.00", "--balance", metavar="AMOUNT", help="Starting workspace balance in major units (pounds or dollars)."),
    currency: str = typer.Option("GBP", "--currency", metavar="GBP|USD", help="Workspace and study currency."),
    reward: str = typer.Option("1.00", "--reward", metavar="AMOUNT", help="Each study's reward per submission in major units (exports do not carry it)."),
    fee_rate: Optional[str] = typer.Option(None, "--fee-rate", metavar="R", help="Service fee on bonuses, as 0.428 or 1/3 (default exactly 1/3)."),
    vat_rate: str = typer.Option("0", "--vat-rate", metavar="R", help="VAT charged on fees (UK workspaces without a VAT number: 0.2)."),
    fee_rounding: str = typer.Option("half-up", "--fee-rounding", metavar="half-up|up", help="How fees and VAT are rounded to 0.01 of a minor unit (`up` reproduces the docs' 850 -> 283.34)."),
    completion_code: list[str] = typer.Option([], "--completion-code", metavar="CODE", help="The studies' completion code (repeatable; default: the most common code typed in each export)."),
    screen_out_reward: str = typer.Option("0.10", "--screen-out-reward", metavar="AMOUNT", help="Fixed screen-out reward listed in bonus_payments of SCREENED OUT submissions (0: none)."),
    status_override: list[str] = typer.Option([], "--status-override", metavar="FROM=TO", help="Rewrite seeded statuses, e.g. 'APPROVED=AWAITING REVIEW' (repeatable)."),
    bulk_max: int = typer.Option(1000, "--bulk-max", metavar="N", help="Most IDs one bulk-approve call may carry; more is refused with 400."),
    settle_ms: int = typer.Option(0, "--settle-ms", metavar="MS", help="Delay before bulk approvals and bonus payouts take effect (they are asynchronous)."),
    bonus_lag_ms: int = typer.Option(0, "--bonus-lag-ms", metavar="MS", help="Further delay before a settled payout shows in bonus_payments."),
    bonus_id_format: str = typer.Option("hex", "--bonus-id-format", metavar="hex|uuid", help="Shape of bulk bonus IDs: 24 hex characters, or a UUID (as in the 2026 docs)."),
    throttle: Optional[float] = typer.Option(None, "--throttle", metavar="RPS", help="Answer 429 (no Retry-After) past this many requests per second."),
    fault_rate: float = typer.Option(0.0, "--fault-rate", metavar="P", help="Answer this fraction of API calls with 500/502/503 before doing anything."),
    drop_response_rate: float = typer.Option(0.0, "--drop-response-rate", metavar="P", help="For this fraction of API calls, do the action, then close the connection without answering."),
    latency_ms: int = typer.Option(0, "--latency-ms", metavar="MS", help="Wait this long before answering each API call."),
    seed: int = typer.Option(0, "--seed", metavar="N", help="Seed for injected faults and generated IDs, so a run can be reproduced."),
) -> None:
    """Serve a local Prolific API (https://api.prolific.com/api/v1/ as JSON over HTTP) on 127.0.0.1 until Ctrl-C or SIGTERM.

    Point a client at http://127.0.0.1:PORT instead of https://api.prolific.com. Pay calls are NOT
    idempotent, as on Prolific: paying one bulk bonus twice pays twice.
    Test hooks (not Prolific's API): GET /__emulator__/audit, /__emulator__/state, /__emulator__/stats,
    /__emulator__/faults; POST /__emulator__/reset-stats, /__emulator__/settle, /__emulator__/faults.
    """
    from ..emulators.prolific import serve_until_signalled

    def announce(line: str) -> None:
        typer.echo(line)
        typer.echo("serving until Ctrl-C (SIGINT) or SIGTERM; state lives in memory only.", err=True)

    stats = serve_until_signalled(
        [str(p) for p in export],
        announce=announce,
        describe=typer.echo,
        study_ids=study_id,
        port=port,
        token=token,
        balance=balance,
        currency=currency,
        reward=reward,
        fee_rate=fee_rate,
        vat_rate=vat_rate,
        fee_rounding=fee_rounding,
        completion_codes=completion_code,
        screen_out_reward=screen_out_reward,
        status_overrides=status_override,
        bulk_max=bulk_max,
        settle_ms=settle_ms,
        bonus_lag_ms=bonus_lag_ms,
        bonus_id_format=bonus_id_format,
        throttle=throttle,
        fault_rate=fault_rate,
        drop_response_rate=drop_response_rate,
        latency_ms=latency_ms,
        seed=seed,
    )
    typer.echo(
        f"stopped after {stats['total_calls']} API calls ({stats['effective_mutations']} changes took effect; "
        f"{stats['pay_calls_accepted']} pay calls accepted, {stats['payouts_settled']} payouts settled).",
        err=True,
    )
