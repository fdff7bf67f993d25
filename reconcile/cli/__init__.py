"""The `reconcile` command line. Each command parses options, calls one library function, and
turns ReconcileError into one sentence on stderr with its exit code (never a traceback).

Command modules register themselves on `app` when imported below. Nothing imports `cli`.
"""

from __future__ import annotations

import sys

import typer

from ..errors import ReconcileError
from .once import OnceGroup  # every app below: a single-value option given twice is refused

app = typer.Typer(
    cls=OnceGroup,
    name="reconcile",
    help=(
        "Close out a paid Qualtrics + MTurk study: match completion codes, decide every assignment, "
        "show the PI a workbook, then pay exactly once.\n\n"
        "Typical use: `reconcile match --qualtrics export.csv --mturk batch.csv`, send the workbook to "
        "the PI, then `reconcile pay reconcile-plan.csv` (a dry run) and `... --execute`."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)
emulator_app = typer.Typer(
    cls=OnceGroup,
    help="Local servers that speak the real MTurk / Qualtrics / Prolific wire protocols (tests, offline rehearsal).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
fetch_app = typer.Typer(
    cls=OnceGroup,
    help="Download data straight from the services into files the rest of the tool reads.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(emulator_app, name="emulator")
app.add_typer(fetch_app, name="fetch")


# Only main() below runs the console script's own process; a command run inside another program
# (CliRunner in tests, a notebook) never sees this set, so it never ends that program.
_REAL_PROCESS = False
_LEFT_FOR_EXIT: list = []


def skip_teardown() -> list | None:
    """For a command that builds millions of objects (`match` at a million rows): in the console
    script's own process, a list whose contents are never freed one by one: once the command has
    succeeded, main() flushes stdout and stderr and ends the process with os._exit (seconds saved
    at a million rows; the OS takes the memory back at once). The cyclic GC stays off until then.
    None anywhere else, where nothing changes."""
    if not _REAL_PROCESS:
        return None
    import gc

    gc.disable()
    return _LEFT_FOR_EXIT


def _end_without_teardown() -> None:
    """After a successful command that asked for it (skip_teardown): every file is closed by now."""
    if not _LEFT_FOR_EXIT:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # the ordinary exit reports what went wrong with the streams
    import os

    os._exit(0)


def main() -> None:
    """Console-script entry point."""
    from .progress import shown_progress

    global _REAL_PROCESS
    _REAL_PROCESS = True
    try:
        with shown_progress():  # long reading, matching, listing and exporting show how far they are
            app()
        _end_without_teardown()
    except SystemExit as done:
        if not done.code:
            _end_without_teardown()
        raise
    except ReconcileError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:  # before or after a command runs (OnceGroup.invoke covers the command)
        typer.echo("interrupted.", err=True)
        sys.exit(130)


# Register commands (imported for their side effect on `app`).
from . import (  # noqa: E402,F401
    emulator_cmd,
    emulator_prolific_cmd,
    emulator_qualtrics_cmd,
    fetch_cmd,
    inspect_cmd,
    ledger_cmd,
    match_cmd,
    pay_cmd,
)
