"""`reconcile match` as a library call: load both sides, match, write the plan and the workbook.
A use-case module: it works for any platform (the one given, or the one whose files these are).

Everything a user can get wrong (rules file, --bonus, --max-bonus, endpoint flags) is checked
before any input is read, and every output is written atomically.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

from . import clock
from .errors import InputError
from .records import paused_gc
from .models import Plan, QualtricsExport, SubmissionInput
from .platform import Platform, Words

DEFAULT_PLAN = "reconcile-plan.csv"
DEFAULT_REPORT = "reconcile-report.xlsx"


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class MatchSummary:
    plan: Plan
    plan_path: Path
    responses_path: Path
    report_path: Path | None  # None when the workbook was not written
    counts: dict  # what --json prints: submissions (in the platform's word), decisions, reasons, responses


def describe_inputs(export: QualtricsExport, submissions: SubmissionInput, words: Words) -> tuple[str, ...]:
    """Plan.inputs: one line per input file with its row count and the columns used."""
    lines = [
        f"{export.path}: {export.format}; {len(export.responses)} responses; code column "
        f"{export.code_column or '(none)'}; {words.participant} column {export.participant_column or '(none)'}"
        + (f"; typed ID column {export.typed_id_column}" if export.typed_id_column else "")
    ]
    for b in submissions.files:
        lines.append(f"{b.path}: {b.format}; {len(b.submissions)} rows; code column {b.code_column or '(none)'}")
    if submissions.duplicates:
        same = sum(d.identical for d in submissions.duplicates)
        lines.append(
            f"{len(submissions.duplicates)} row(s) repeat {words.submissions} already read "
            f"({same} identical, {len(submissions.duplicates) - same} conflicting); {len(submissions.submissions)} unique {words.submissions}"
        )
    return tuple(lines)


def platform_of(files: Sequence[str]) -> Platform:
    """The platform whose files these are (by content); one platform per run."""
    from . import platforms
    from .sources import identify

    if not files:
        raise InputError("no platform given and no file to tell it from.")
    kind, _table = identify(str(files[0]))
    if kind == "qualtrics":
        raise InputError(f"{files[0]} is a Qualtrics export, not a file of a crowd-work platform.")
    return platforms.get(kind)


# One pause for the whole pipeline: each stage pausing on its own still let the collector rescan
# every record of the stages before it between stages (about a second on 100k rows).
@paused_gc()
def run_match(
    qualtrics: str,
    files: Sequence[str] = (),
    *,
    platform: Platform | None = None,
    files_option: str = "the platform's files",  # how the command line names `files`
    group_ids: Sequence[str] = (),
    batch_ids: Sequence[str] = (),
    endpoint_url: str | None = None,
    sandbox: bool = False,
    production: bool = False,
    datacenter: str | None = None,
    plan_path: str | os.PathLike = DEFAULT_PLAN,
    force: bool = False,  # replace an existing plan even when it holds edits the tool has not seen
    report_path: str | os.PathLike | None = DEFAULT_REPORT,
    rules_path: str | os.PathLike | None = None,
    bonus: str | None = None,
    max_bonus: str | None = None,
    code_column: str | None = None,
    platform_code_column: str | None = None,
    participant_column: str | None = None,
    typed_column: str | None = None,
    completion_codes: Sequence[str] = (),
    confirm_rejections: bool = False,
    confirm: Callable[[str], bool] | None = None,
    now: datetime | None = None,
    show_progress: bool = True,
    log: Callable[[str], None] = _stderr,
    keep: list | None = None,
) -> MatchSummary:
    """Match a survey export against a platform's submissions; write the plan (+ responses sidecar) and workbook.

    `platform` defaults to the one whose files `files` are (by content). The survey's participant-ID
    columns are found by the platform's rules unless `participant_column` (and, next to a captured
    column, `typed_column`) name them. `completion_codes` are the study's codes, checked by a join on
    participant IDs. A reject rule that would reject more than half as many submissions as matched
    (see rules.mass_rejections) needs `confirm_rejections`, or a yes from `confirm(question)`.
    `keep`, when given, receives what this returns (the CLI ends its process without freeing it; the inputs are let go on the way, as soon as nothing reads them).
    """
    refuse_lossy_outputs(qualtrics, files, rules_path, plan_path, report_path, force=force, files_option=files_option)
    from . import sources
    from .bonus import parse_bonus, parse_max_bonus
    from .importers import require_columns
    from .importers.csvtext import keep_only
    from .match import match
    from .match.columns_read import SUBMISSION_COLUMNS_READ, response_columns_read
    from .plan import build_plan, summarize
    from .planfile import write_plan_with_digest
    from .rules import check_rule_columns, confirm_mass_rejections, load_rules

    # Cheap checks first, so a typo in an option never costs a long download.
    rules = load_rules(rules_path)
    cap = parse_max_bonus(max_bonus)
    if bonus is not None:
        parse_bonus(bonus)  # syntax only; column names are checked against the export below
    if not files and not group_ids and not batch_ids:
        raise InputError("no submissions given: name the platform's files, or what to list through its API.")
    for option, target in (("--plan", plan_path), ("--report", report_path)):
        if target is None:
            continue
        parent = Path(target).parent
        if not parent.is_dir():
            raise InputError(f"{parent}: no such directory for {option} {target}.", hint="Create it first or choose another path.")
        if Path(target).is_dir():
            raise InputError(f"{target} is a directory; {option} needs a file name.")
    if platform is None:
        platform = platform_of(files)
    words = platform.words
    endpoint = None
    if group_ids or batch_ids:
        endpoint = platform.resolve_endpoint(endpoint_url, sandbox, production)

    if show_progress:
        log(f"reading Qualtrics {qualtrics} ...")
    export = sources.load_survey(
        str(qualtrics),
        code_column=code_column,
        participant_column=participant_column,
        datacenter=datacenter,
        show_progress=show_progress,
        typed_column=typed_column,
        ids=platform.ids,
        participant_option=words.id_column_option,
        keep=lambda columns: response_columns_read(rules, parse_bonus(bonus, columns) if bonus is not None else None),
    )
    by_code = platform.capabilities.join == "code"
    require_columns(export, need_code=by_code, need_participant=not by_code, participant_option=words.id_column_option)
    check_rule_columns(rules, export.columns, export.path)
    # Only the cells a decision still reads stay in memory (the rest served column detection).
    keep_only((r.fields for r in export.responses),
              response_columns_read(rules, parse_bonus(bonus, export.columns) if bonus is not None else None))
    if show_progress:
        log(f"reading {words.platform} {', '.join(map(str, files)) or '(API)'} ...")
    submissions = sources.load_submissions(
        platform,
        [str(p) for p in files],
        group_ids=tuple(group_ids),
        batch_ids=tuple(batch_ids),
        endpoint=endpoint,
        code_column=platform_code_column,
        show_progress=show_progress,
        keep=SUBMISSION_COLUMNS_READ,  # a batch keeps only these cells while it is read
    )
    platform.require_columns(submissions)
    keep_only((s.fields for f in submissions.files for s in f.submissions), SUBMISSION_COLUMNS_READ)

    bonus_expr = None
    if bonus is not None:
        bonus_expr = parse_bonus(bonus, export.columns)
        bonus_expr.check_columns(export.columns, export.path)

    inputs = describe_inputs(export, submissions, words)
    input_warnings = tuple(export.warnings) + tuple(w for b in submissions.files for w in b.warnings)
    duplicates = submissions.duplicates
    # The submissions given to match as a list only it holds: each record is freed as its plan row
    # is made (the files' tuples go with `submissions`), so the rows reuse its memory.
    given = list(submissions.submissions)
    del submissions
    if show_progress:
        log(f"matching {len(given)} {words.submissions} against {len(export.responses)} responses ...")
    result = match(
        export.responses,
        given,
        now=now or clock.now(),
        platform=platform,
        rules=rules,
        duplicates=duplicates,
        completion_codes=tuple(completion_codes),
        given_away=True,
    )
    del given
    input_warnings += confirm_mass_rejections(result.rows, rules, confirmed=confirm_rejections, ask=confirm, words=words)
    # The rows handed to build_plan as a list only it holds (the result keeps none): each row that
    # gets a bonus then frees the row it replaces, and the plan is never held twice.
    rows = list(result.rows)
    result = dataclasses.replace(result, rows=())
    plan = build_plan(
        result,
        export.responses,
        bonus=bonus_expr,
        max_bonus=cap,
        inputs=inputs,
        warnings=input_warnings,
        platform=platform,
        rows=rows,
    )
    del rows, result  # nothing below reads them: the plan holds every row
    # Nor are the responses read again: the plan holds every cell it writes. Let go here, the
    # writers' own transient objects reuse their memory.
    del export

    plan_path = Path(plan_path)
    try:
        sidecar, digest = write_plan_with_digest(plan, plan_path)
    except OSError as exc:
        raise InputError(f"{plan_path}: cannot write the plan ({exc.strerror or exc}).") from None
    written_report: Path | None = None
    if report_path is not None:
        from .report import write_workbook

        if show_progress:
            log(f"writing {report_path} ...")
        write_workbook(Path(report_path), plan, platform=platform, digest=digest)
        written_report = Path(report_path)
    summary = MatchSummary(plan, plan_path, sidecar, written_report, summarize(plan, words))
    if keep is not None:
        keep.append(summary)
    return summary


def refuse_lossy_outputs(
    qualtrics: str,
    files: Sequence[str],
    rules_path: str | os.PathLike | None,
    plan_path: str | os.PathLike,
    report_path: str | os.PathLike | None,
    *,
    force: bool = False,
    files_option: str = "the platform's files",
) -> None:
    """Before anything is read: no output of `match` may be one of its inputs or another of its
    outputs, the workbook must be an .xlsx, and an existing plan holding edits the tool has not
    seen (or a file that is no plan at all) is replaced only with --force."""
    from .outputs import Output, refuse_clobbering, require_xlsx
    from .planfile import refuse_unseen_edits, responses_sidecar_path, shown_path

    refuse_clobbering(
        [("the --qualtrics input", qualtrics), *((f"the {files_option} input", m) for m in files), ("the --rules file", rules_path)],
        [
            Output("--plan", plan_path),
            Output("the responses file beside --plan", responses_sidecar_path(plan_path), "--plan"),
            Output("the record file beside --plan", shown_path(plan_path), "--plan"),
            Output("--report", report_path),
        ],
    )
    require_xlsx("--report", report_path)
    refuse_unseen_edits(plan_path, force=force)
    from .workbook_plan import refuse_unseen_workbook_edits

    refuse_unseen_workbook_edits(report_path, force=force)
