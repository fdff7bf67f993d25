"""`reconcile match`: decide every assignment and write the plan the PI reviews."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from . import app


@app.command()
def match(
    qualtrics: str = typer.Option(..., "--qualtrics", metavar="FILE_OR_SURVEY_ID", help="Qualtrics export file (CSV/TSV, any variant), or a survey ID SV_... to fetch through the API (needs QUALTRICS_API_TOKEN)."),
    mturk: List[Path] = typer.Option([], "--mturk", metavar="FILE", help="MTurk batch results CSV; repeat for several batches."),
    prolific: List[Path] = typer.Option([], "--prolific", metavar="FILE", help="Prolific submissions export (any era); repeat for several."),
    prolific_study: Optional[str] = typer.Option(None, "--prolific-study", metavar="ID", help="The Prolific study: names the study of exports whose file name does not; with --endpoint-url/--production, its completion codes (and, without --prolific, its submissions) are read through the API (token from PROLIFIC_API_TOKEN)."),
    currency: Optional[str] = typer.Option(None, "--currency", metavar="GBP|USD", help="Prolific: the workspace's currency for bonuses and the workbook (default GBP; exports do not say it)."),
    completion_code: List[str] = typer.Option([], "--completion-code", metavar="CODE", help="A completion code of the Prolific study (repeatable); entered codes are checked against them."),
    mturk_hit: List[str] = typer.Option([], "--mturk-hit", metavar="HITID", help="Also list this HIT's assignments through the MTurk API; repeatable."),
    mturk_batch: List[str] = typer.Option([], "--mturk-batch", metavar="BATCHID", help="Also list the assignments of this requester-website batch through the API; repeatable."),
    endpoint_url: Optional[str] = typer.Option(None, "--endpoint-url", metavar="URL", help="MTurk endpoint for --mturk-hit/--mturk-batch, e.g. a local `reconcile emulator mturk`."),
    sandbox: bool = typer.Option(False, "--sandbox", help="List --mturk-hit/--mturk-batch in the MTurk sandbox."),
    production: bool = typer.Option(False, "--production", help="List --mturk-hit/--mturk-batch in real MTurk (read-only here)."),
    datacenter: Optional[str] = typer.Option(None, "--datacenter", metavar="DC", help="Qualtrics datacenter ID (e.g. ca1) or base URL, for a survey ID."),
    plan: Path = typer.Option(Path("reconcile-plan.csv"), "--plan", metavar="PLAN.csv", help="Where to write the plan CSV (a .responses.csv sidecar is written beside it)."),
    report: Path = typer.Option(Path("reconcile-report.xlsx"), "--report", metavar="REPORT.xlsx", help="Where to write the workbook for the PI (must end in .xlsx)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --plan even if it holds edits the tool has not seen (or is not a plan)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object of counts on stdout (messages go to stderr)."),
    rules: Optional[Path] = typer.Option(None, "--rules", metavar="FILE", help="TOML rules file: opt-in reject rules with feedback, flag thresholds (see sample_data/rules.example.toml)."),
    bonus: Optional[str] = typer.Option(None, "--bonus", metavar="EXPR", help="Bonus per approved assignment: an amount (0.50), a Qualtrics column (score), or arithmetic over columns (score / 100 * 2). Rounded to cents, half-up."),
    max_bonus: Optional[str] = typer.Option(None, "--max-bonus", metavar="AMOUNT", help="Cap each bonus at this amount (capped rows are flagged)."),
    code_column: Optional[str] = typer.Option(None, "--code-column", metavar="COL", help="Qualtrics completion-code column, when detection is ambiguous."),
    mturk_code_column: Optional[str] = typer.Option(None, "--mturk-code-column", metavar="COL", help="MTurk column holding the code (default: detected, usually Answer.surveycode)."),
    participant_column: Optional[str] = typer.Option(None, "--worker-column", metavar="COL", help="Qualtrics column holding the worker ID (captured or typed)."),
    id_column: Optional[str] = typer.Option(None, "--id-column", metavar="COL", help="Qualtrics column holding the participant's Prolific ID (captured or typed)."),
    confirm_rejections: bool = typer.Option(False, "--confirm-rejections", help="Go ahead when a reject rule would reject more than half as many assignments as matched (otherwise asked on a terminal, refused without one)."),
) -> None:
    """Match completion codes and decide every assignment: approve, reject (only by opt-in rules),
    review (a person decides; suggestions in `detail`) or skip (already done on MTurk).

    Writes the plan CSV and the workbook; nothing is paid. Exit 0 when the plan was written.
    No output may be an input or another output; an edited plan is kept unless --force.
    """
    from ..errors import InputError
    from ..platforms import get
    from ..study import run_match
    from . import skip_teardown

    chosen = _platform_inputs(mturk=bool(mturk or mturk_hit or mturk_batch), prolific=bool(prolific or prolific_study))
    if chosen == "prolific":
        platform = get("prolific").for_study(prolific_study)  # type: ignore[attr-defined]
        if currency is not None:
            platform = platform.configured(currency=currency)
        if sandbox:
            platform.resolve_endpoint(endpoint_url, sandbox, production)  # refused: Prolific has no sandbox
        files, files_option = [str(p) for p in prolific], "--prolific"
        # Without an export, the study's submissions are listed through the API.
        group_ids: tuple[str, ...] = (prolific_study,) if prolific_study and not prolific else ()
        batch_ids: tuple[str, ...] = ()
        codes = _completion_codes(platform, completion_code, prolific_study, endpoint_url, sandbox, production)
    else:
        if currency is not None:
            raise InputError("--currency: MTurk pays in USD; leave it out.")
        platform = get("mturk")
        files, files_option = [str(p) for p in mturk], "--mturk"
        group_ids, batch_ids, codes = tuple(mturk_hit), tuple(mturk_batch), ()
    summary = run_match(
        qualtrics,
        files,
        platform=platform,
        files_option=files_option,
        group_ids=group_ids,
        batch_ids=batch_ids,
        endpoint_url=endpoint_url,
        sandbox=sandbox,
        production=production,
        completion_codes=codes,
        datacenter=datacenter,
        plan_path=plan,
        force=force,
        report_path=report,
        rules_path=rules,
        bonus=bonus,
        max_bonus=max_bonus,
        code_column=code_column,
        platform_code_column=mturk_code_column,
        participant_column=id_column or participant_column,
        confirm_rejections=confirm_rejections,
        confirm=_ask_on_terminal(),
        keep=skip_teardown(),  # a million rows' objects are left for the process's end, not freed one by one
    )
    if json_output:
        typer.echo(json.dumps(summary.counts))
        return
    typer.echo(format_summary(summary))


def _platform_inputs(*, mturk: bool, prolific: bool) -> str:
    """The platform whose options were given (one per run)."""
    from ..errors import InputError

    if mturk and prolific:
        raise InputError("both MTurk and Prolific inputs given; match one platform's study at a time.")
    if not mturk and not prolific:
        raise InputError("no MTurk input given, nor a Prolific one.",
                         hint="Pass --mturk BATCH.csv (or --mturk-hit / --mturk-batch), or --prolific EXPORT.csv.")
    return "prolific" if prolific else "mturk"


def _completion_codes(platform, given, study, endpoint_url, sandbox, production) -> tuple[str, ...]:
    """The study's completion codes: as given, else read from the study through the API when an
    endpoint is named, else none (the join then flags instead of checking)."""
    codes = tuple(c.strip() for c in given if c.strip())
    if codes or not study or not (endpoint_url or sandbox or production):
        return codes
    from ..platforms.prolific.api import study_completion_codes

    return tuple(study_completion_codes(platform.resolve_endpoint(endpoint_url, sandbox, production), study))


def _ask_on_terminal():
    """A yes/no question on the terminal (stderr, so --json output stays one object), or None
    when nobody is there to answer (a script, a pipe): then run_match refuses instead."""
    if not sys.stdin.isatty():
        return None
    return lambda question: typer.confirm(question, default=False, err=True)


def format_summary(summary) -> str:
    c = summary.counts
    d = c["decisions"]
    r = c["responses"]
    noun = next(k for k in c if k not in ("decisions", "reasons", "responses"))
    lines = [
        f"{c[noun]} {noun}: {d['approve']} approve, {d['reject']} reject, {d['review']} review, {d['skip']} skip.",
        f"Qualtrics responses: {r['matched']} matched, {r['unmatched']} unmatched, {r['excluded']} excluded.",
        "Reasons: " + ", ".join(f"{k} {v}" for k, v in c["reasons"].items()) + ".",
    ]
    lines += [f"warning: {w}" for w in summary.plan.warnings]
    lines.append(f"Plan written to {summary.plan_path} (responses: {summary.responses_path}).")
    to_decide = f"decide the {d['review']} review row(s) by editing `decision`" if d["review"] else "check the decisions"
    if summary.report_path is not None:
        lines.append(f"Next: open {summary.report_path} (or send it to the PI); {to_decide} in it or in {summary.plan_path};")
        lines.append(f"then run `reconcile pay {summary.report_path}` or `reconcile pay {summary.plan_path}` "
                     "(a dry run, whichever was edited) and add --execute to pay.")
    else:
        lines.append(f"Next: {to_decide} in {summary.plan_path};")
        lines.append(f"then run `reconcile pay {summary.plan_path}` (a dry run) and add --execute to pay.")
    return "\n".join(lines)
