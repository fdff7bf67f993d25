"""`reconcile inspect FILE... [--json]`: what each file is and which columns were found."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..errors import ReconcileError
from . import app


@app.command()
def inspect(
    files: list[Path] = typer.Argument(..., metavar="FILE", show_default=False, help="Qualtrics exports and/or MTurk batch results files (CSV or TSV)."),
    json_output: bool = typer.Option(False, "--json", help="Print a JSON list with one object per file (path, kind, format, rows, code_column, participant_column, candidates, warnings)."),
) -> None:
    """Tell what each file is (Qualtrics export or MTurk batch), how many rows it has and which
    completion-code and worker-ID columns were detected. Use it before `reconcile match` to check
    the detection; override it there with --code-column / --mturk-code-column / --worker-column.

    Example: `reconcile inspect export.csv batch.csv`."""
    from ..inspection import inspect_file

    results: list[dict] = []
    failed = 0
    for f in files:
        try:
            results.append(inspect_file(f))
        except ReconcileError as err:
            failed += 1
            typer.echo(f"error: {err}", err=True)
            results.append({"path": str(f), "error": str(err)})
    if json_output:
        typer.echo(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for r in results:
            if "error" not in r:
                typer.echo(_describe(r))
    if failed:
        raise typer.Exit(2)


# The command line's words for each kind of file (the CLI may speak every platform's language).
STATUS_COLUMN = {"qualtrics": "Status", "mturk": "AssignmentStatus"}
# Which `match` option chooses the column; a Prolific export's columns are known by name (no option).
CODE_OPTION = {"qualtrics": "--code-column", "mturk": "--mturk-code-column"}
ID_OPTION = {"qualtrics": "--worker-column for MTurk, --id-column for Prolific", "mturk": "--worker-column"}
REPEATED_ID = {"mturk": "an AssignmentId", "prolific": "a submission ID"}


def _describe(r: dict) -> str:
    noun = {"qualtrics": "responses", "mturk": "assignments"}.get(r["kind"], "submissions")
    lines = [r["path"], f"  {r['format']}", f"  {r['rows']} {noun}, {r['columns']} columns"]
    if r.get("status_counts"):
        counts = ", ".join(f"{k or '(blank)'}: {v}" for k, v in r["status_counts"].items())
        lines.append(f"  {STATUS_COLUMN.get(r['kind'], 'Status')}: {counts}")
    if r.get("finished_counts"):
        counts = ", ".join(f"{k or '(blank)'}: {v}" for k, v in r["finished_counts"].items())
        lines.append(f"  Finished: {counts}")
    lines.append(f"  completion code: {_found(r['code_column'], r['code_candidates'], CODE_OPTION.get(r['kind']))}")
    lines.append(f"  participant ID:  {_found(r['participant_column'], r['participant_candidates'], ID_OPTION.get(r['kind']))}")
    if r.get("duplicate_rows"):
        n = r["duplicate_rows"]
        lines.append(f"  {n} {'row repeats' if n == 1 else 'rows repeat'} {REPEATED_ID.get(r['kind'], 'an ID')} seen earlier in the file")
    for w in r.get("warnings", []):
        lines.append(f"  warning: {w}")
    return "\n".join(lines) + "\n"


def _found(column, candidates, option: str | None) -> str:
    if column:
        return column
    if option is None:  # known by name only: the file does not have it
        return f"not decided between {', '.join(candidates)}" if candidates else "none in this file"
    if candidates:
        return f"not decided between {', '.join(candidates)} (choose with {option})"
    return f"none found (name it with {option} if the study has one)"
