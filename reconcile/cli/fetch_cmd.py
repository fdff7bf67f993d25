"""`reconcile fetch qualtrics|mturk|prolific`: save what the services hold as files the rest of the tool reads."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..outputs import Output, refuse_clobbering
from . import fetch_app


@fetch_app.command("qualtrics")
def fetch_qualtrics(
    survey_id: str = typer.Argument(..., help="The survey ID, like SV_1AbCdEfGh2IjKlM (Survey options > Survey IDs)."),
    # No dir_okay=False here: the library checks -o (folder, directory, writable) and says so in one sentence.
    output: Path = typer.Option(..., "-o", "--output", metavar="FILE", help="Where to save the export CSV (written atomically; checked before anything is asked of Qualtrics)."),
    datacenter: Optional[str] = typer.Option(None, "--datacenter", metavar="DC", help="Datacenter ID like ca1 / iad1 / fra1, or a full base URL (default: $QUALTRICS_DATACENTER)."),
    use_labels: bool = typer.Option(True, "--use-labels/--no-use-labels", help="Export choice text (labels) or numeric recode values."),
    start_date: Optional[str] = typer.Option(None, "--start-date", metavar="DATE", help="Only responses recorded on/after this date (2020-01-31 or 2020-01-31T13:00:00Z)."),
    end_date: Optional[str] = typer.Option(None, "--end-date", metavar="DATE", help="Only responses recorded before this date."),
    timeout: float = typer.Option(900.0, "--timeout", metavar="SECONDS", min=1.0, help="Give up when the whole job (export and download) is not done after this many seconds."),
) -> None:
    """Export a survey's responses through the Qualtrics v3 API and save the CSV exactly as Qualtrics made it.

    The token comes from QUALTRICS_API_TOKEN (never a command-line option, so it stays out of shell history).
    The download is refused unless it is a zip holding one Qualtrics CSV export of at most 2 GiB.
    """
    from ..importers.qualtrics_api import save_export, stderr_progress
    from ..platforms import claims

    saved = save_export(
        survey_id,
        output,
        datacenter=datacenter,
        use_labels=use_labels,
        start_date=start_date,
        end_date=end_date,
        timeout=timeout,
        progress=stderr_progress(survey_id),
        claims=claims(),
    )
    typer.echo(f"saved {saved.size:,} bytes of {survey_id} to {output}; next: reconcile inspect {output}")


@fetch_app.command("mturk")
def fetch_mturk(
    hit: list[str] = typer.Option([], "--hit", metavar="HITID", help="A HIT whose assignments to list (repeatable)."),
    batch: list[str] = typer.Option([], "--batch", metavar="BATCHID", help="A requester-website batch ID: every HIT whose RequesterAnnotation says BatchId:BATCHID (repeatable)."),
    output: Path = typer.Option(..., "-o", "--output", metavar="FILE", help="Where to write the batch-results CSV (written atomically)."),
    endpoint_url: Optional[str] = typer.Option(None, "--endpoint-url", metavar="URL", help="MTurk endpoint URL, e.g. a local `reconcile emulator mturk`."),
    sandbox: bool = typer.Option(False, "--sandbox", help="Use the MTurk requester sandbox."),
    production: bool = typer.Option(False, "--production", help="Use real MTurk (this only reads; nothing is paid)."),
) -> None:
    """List assignments through the MTurk API and write them in the requester website's batch-results format.

    The file works wherever a downloaded batch CSV does (`match --mturk`, `pay --upload-csv`).
    Credentials come from the standard AWS chain (environment, ~/.aws profiles).
    """
    from ..platforms.mturk.endpoints import resolve_mturk_endpoint
    from ..platforms.mturk.api import save_batch_csv, stderr_progress

    refuse_clobbering((), [Output("-o", output)])  # before the service is called: not a directory
    endpoint = resolve_mturk_endpoint(endpoint_url, sandbox, production)
    n = save_batch_csv(output, endpoint=endpoint, hit_ids=tuple(hit), batch_ids=tuple(batch), progress=stderr_progress())
    typer.echo(f"wrote {n} assignment{'s' if n != 1 else ''} to {output}; next: reconcile inspect {output}")


@fetch_app.command("prolific")
def fetch_prolific(
    study: str = typer.Option(..., "--study", metavar="ID", help="The study ID (24 hex digits, in the study's URL)."),
    output: Path = typer.Option(..., "-o", "--output", metavar="FILE", help="Where to write the submissions export CSV (written atomically); name it prolific_export_<ID>.csv so the study travels with it."),
    endpoint_url: Optional[str] = typer.Option(None, "--endpoint-url", metavar="URL", help="Prolific API URL, e.g. a local `reconcile emulator prolific`."),
    production: bool = typer.Option(False, "--production", help="Use the real Prolific API (this only reads; nothing is paid)."),
    sandbox: bool = typer.Option(False, "--sandbox", hidden=True, help="Refused: Prolific has no sandbox."),
) -> None:
    """Save a study's submissions export (Prolific's own export format) through the Prolific API.

    The file works wherever a downloaded export does (`match --prolific`). The token comes from
    PROLIFIC_API_TOKEN (never a command-line option) and is never printed.
    """
    from ..platforms.prolific.api import check_study_id, save_study_export, stderr_progress
    from ..platforms.prolific.endpoints import resolve_prolific_endpoint

    refuse_clobbering((), [Output("-o", output)])  # before the service is called: not a directory
    study_id = check_study_id(study, "--study")
    endpoint = resolve_prolific_endpoint(endpoint_url, sandbox, production)
    n = save_study_export(output, endpoint=endpoint, study_id=study_id, progress=stderr_progress())
    typer.echo(f"wrote {n} submission{'s' if n != 1 else ''} of study {study_id} to {output}; next: reconcile inspect {output}")
    if study_id not in output.name.lower():
        typer.echo(f"note: the file name does not hold the study ID; pass --prolific-study {study_id} to `reconcile match`.", err=True)
