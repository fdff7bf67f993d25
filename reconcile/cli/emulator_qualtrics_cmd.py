"""`reconcile emulator qualtrics`: a local Qualtrics v3 export API serving an export file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import emulator_app


@emulator_app.command("qualtrics")
def qualtrics(
    export: list[Path] = typer.Option(..., "--export", metavar="FILE", exists=True, dir_okay=False, readable=True, help="Export file to serve (repeatable; each is one survey)."),
    survey_id: list[str] = typer.Option([], "--survey-id", metavar="SV_ID", help="Survey ID for each --export, in order (default SV_emulator, SV_emulator2, ...)."),
    port: int = typer.Option(0, "--port", metavar="N", min=0, max=65535, help="Port on 127.0.0.1 (0: any free port, printed at start)."),
    token: Optional[str] = typer.Option(None, "--token", metavar="TOKEN", envvar="QUALTRICS_API_TOKEN", show_envvar=False, help="X-API-TOKEN the emulator accepts (default: $QUALTRICS_API_TOKEN, else `emulator-token`)."),
    throttle: int = typer.Option(0, "--throttle", metavar="N", min=0, help="Answer the first N requests with 429 Too Many Requests."),
    retry_after: int = typer.Option(1, "--retry-after", metavar="SECONDS", min=0, help="Seconds sent in Retry-After with each 429."),
    server_errors: int = typer.Option(0, "--server-errors", metavar="N", min=0, help="Answer the next N requests with 500."),
    slow_polls: int = typer.Option(0, "--slow-polls", metavar="N", min=0, help="Each export stays inProgress for N progress checks."),
    fail_export: bool = typer.Option(False, "--fail-export", help="Every export ends in status `failed`."),
    forbidden: bool = typer.Option(False, "--forbidden", help="Answer every authenticated request with 403."),
    bad_request: bool = typer.Option(False, "--bad-request", help="Answer every export start with 400."),
    zip_bomb: int = typer.Option(0, "--zip-bomb", metavar="BYTES", min=0, max=2**32 - 1, help="Download a zip bomb instead of the export: about 1 MB holding one CSV of BYTES bytes (e.g. 1073741824)."),
    zip_size_lie: bool = typer.Option(False, "--zip-size-lie", help="The downloaded zip's directory declares every file as 1024 bytes, whatever it holds."),
    zip_content: Optional[str] = typer.Option(None, "--zip-content", metavar="KIND", help="Download this instead of the export: json | html | binary | csv (a CSV that is no Qualtrics export) inside the zip, or not-zip (an HTML page, no zip at all)."),
    zip_files: int = typer.Option(1, "--zip-files", metavar="N", min=0, help="Files in the downloaded zip: 0 (an empty zip), 1 (default), 2 or more (the export and copies)."),
    trickle: float = typer.Option(0.0, "--trickle", metavar="SECONDS", min=0.0, help="Send the download 1 KiB at a time, pausing SECONDS after each piece (a slow download)."),
) -> None:
    """Serve export files through the Qualtrics v3 export-responses API on 127.0.0.1 (Ctrl-C stops it).

    Point the client at it with `--datacenter http://127.0.0.1:PORT` (or QUALTRICS_DATACENTER).
    """
    import re

    from ..emulators.qualtrics import CONTENT_KINDS, DEFAULT_SURVEY_ID, DEFAULT_TOKEN, Faults, make_server
    from ..errors import InputError

    if len(survey_id) > len(export):
        raise InputError(f"{len(survey_id)} --survey-id options for {len(export)} --export files; give one per file.")
    ids = list(survey_id) + [DEFAULT_SURVEY_ID + (str(i + 1) if i else "") for i in range(len(survey_id), len(export))]
    for sid in ids:
        if not re.fullmatch(r"SV_[A-Za-z0-9]+", sid):
            raise InputError(f"--survey-id {sid!r} is not a survey ID like SV_1AbCdEfGh2IjKlM.")
    if len(set(ids)) != len(ids):
        raise InputError("two --export files have the same survey ID; give each its own --survey-id.")
    if zip_content is not None and zip_content not in CONTENT_KINDS:
        raise InputError(f"--zip-content {zip_content!r} is not one of {', '.join(CONTENT_KINDS)}.")
    faults = Faults(
        throttle=throttle, retry_after=retry_after, server_errors=server_errors, slow_polls=slow_polls,
        fail_export=fail_export, forbidden=forbidden, bad_request=bad_request, zip_bomb=zip_bomb,
        zip_size_lie=zip_size_lie, zip_content=zip_content, zip_files=zip_files, trickle=trickle,
    )
    try:
        server, _state = make_server(dict(zip(ids, export)), token=token or DEFAULT_TOKEN, port=port, faults=faults)
    except OSError as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); choose another --port.") from None
    url = f"http://127.0.0.1:{server.server_address[1]}"
    for sid, path in zip(ids, export):
        typer.echo(f"survey {sid}: {path}")
    token_note = "the token from --token / QUALTRICS_API_TOKEN" if token else f"token `{DEFAULT_TOKEN}`"
    typer.echo(f"Qualtrics emulator listening on {url} ({token_note}).")
    typer.echo(f"Try: reconcile fetch qualtrics {ids[0]} --datacenter {url} -o export.csv   (Ctrl-C stops)", err=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped.", err=True)
    finally:
        server.server_close()
