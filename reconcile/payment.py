"""`reconcile pay PLAN.csv` without --execute: the dry run. A use-case module: it chooses the
platform (from the plan's own header, or --platform) through the registry.

Checks the plan (plan_check), shows what would happen with totals and fees, optionally writes the
platform's website file (an approve/reject upload) and a dry-run workbook, and
remembers which plan content was shown (planfile.record_shown) so the payout can tell an edited
plan from a confirmed one. It calls no service, ever: it reads the plan, its responses file and
the platform's own files.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Sequence

from .csvsafe import unescape
from .models import DECISIONS, CheckedPlan, Plan, ResponseOutcome
from .money import format_amount, format_money
from .plan_check import PlanCheck, check_plan, parse_limit
from .planfile import PLAN_ENCODING, RESPONSE_FIELDS, platform_of_header, read_plan, record_shown, response_columns, responses_sidecar_path, shown_path
from .platform import Platform
from .records import paused_gc


def plan_platform(plan_path: str | os.PathLike, name: str | None = None) -> Platform:
    """The platform a plan pays on: named, or recognised from the plan's header."""
    from . import platforms

    if name:
        return platforms.get(name)
    return platforms.get(_platform_of_header(plan_path) or read_plan(plan_path).platform)


def _platform_of_header(plan_path: str | os.PathLike) -> str | None:
    """The platform named by the plan's header alone, or None when read_plan must say what is
    wrong. (read_plan reads every row as well: 20 s for a million, before the check reads them again.)"""
    try:
        with open(plan_path, encoding=PLAN_ENCODING, newline="") as fh:
            header = next(csv.reader(fh), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if header is None:
        return None
    names = [h.strip() for h in header if h.strip()]
    if len(set(names)) != len(names):  # a repeated column: read_plan refuses the plan
        return None
    return platform_of_header(names)


def dry_run(
    plan_path: str | os.PathLike,
    *,
    platform: Platform | None = None,
    masters: bool = False,
    fee_rate: str | None = None,
    vat_rate: str | None = None,
    currency: str | None = None,
    bonus_csv: str | os.PathLike | None = None,
    max_bonus: str | None = None,
    budget: str | None = None,
    batch_paths: Sequence[str] = (),
    upload_csv: str | os.PathLike | None = None,
    report: str | os.PathLike | None = None,
    ledger: str | os.PathLike | None = None,
    json_output: bool = False,
    quiet_summary: bool = False,
    summary_only: bool = False,
) -> tuple[CheckedPlan, Platform]:
    """Check the plan and show what would happen; write only the files asked for.

    Raises PlanError (every problem, with line and column) or InputError; nothing is written then.
    `quiet_summary` (when --execute follows) prints one line instead of the full summary, on stderr
    when `json_output` is set so that stdout keeps exactly one JSON object (the payout's), and
    does not record the plan as shown (see planfile.was_shown). `ledger` (default: beside the plan)
    is only protected here: no upload or workbook may land on it. `summary_only` (the command line's
    plain dry run, whose plan is not used after the summary): a plain plan is checked as columns
    (plan_summary) and the CheckedPlan returned has no rows; the summary is the same.
    """
    plan_path = Path(plan_path)
    limit_bonus = parse_limit(max_bonus, "--max-bonus")
    limit_budget = parse_limit(budget, "--budget")
    batch_paths = [str(b) for b in batch_paths or ()]
    # Twice: first with what the command line names, before anything is read; then with the
    # files the plan itself names, which decide the upload files' names.
    refuse_lossy_outputs(None, plan_path, batch_paths, upload_csv, report, ledger, bonus_csv)
    platform = platform or plan_platform(plan_path)
    if fee_rate is not None or vat_rate is not None or currency is not None:
        if not hasattr(platform, "fee_rate"):  # a platform whose fees and currency are not set per workspace
            from .errors import InputError

            raise InputError(f"--fee-rate / --vat-rate / --currency: {platform.words.platform}'s fees and currency are "
                             "fixed; leave them out.")
        platform = platform.configured(fee_rate=fee_rate, vat_rate=vat_rate, currency=currency)  # type: ignore[attr-defined]
    if bonus_csv is not None and not hasattr(platform, "write_bonus_csv"):
        from .errors import InputError

        raise InputError(f"--bonus-csv: {platform.words.platform} has no bulk-bonus dialog to paste into; bonuses are paid with --execute.")
    if masters:
        configure = getattr(platform, "configured", None)
        if configure is None:
            from .errors import InputError

            raise InputError(f"--masters: {platform.words.platform} has no Masters fee.")
        platform = configure(masters=True)
    if _is_large(plan_path):  # tens of seconds for a million rows: say what is happening
        print(f"checking {plan_path} against the {platform.words.platform} files it names ...", file=sys.stderr, flush=True)
    # Hundreds of thousands of acyclic rows: left on, the cyclic GC rescans them again and again.
    with paused_gc():
        counts = None
        if summary_only and not quiet_summary and upload_csv is None and report is None and bonus_csv is None:
            # Nothing but the summary is wanted: the rows are checked as columns and not kept.
            from .plan_summary import summarize_plan

            try:
                summarized = summarize_plan(plan_path, platform, batch_paths=batch_paths, max_bonus=limit_bonus,
                                            budget=limit_budget, flags=not json_output)
            except Exception:  # noqa: BLE001 - a shortcut only: check_plan below says what is wrong, in its words
                summarized = None
            if summarized is not None:
                pc, counts = summarized
        if counts is None:
            pc = check_plan(plan_path, platform, batch_paths=batch_paths, max_bonus=limit_bonus, budget=limit_budget)
    checked = pc.checked
    refuse_lossy_outputs(platform, plan_path, list(checked.batch_paths), upload_csv, report, ledger, bonus_csv)

    # Everything that can fail is prepared before the first file is written.
    prepared: list = []
    if upload_csv is not None:
        if not platform.capabilities.upload_file:
            from .errors import InputError

            raise InputError(f"--upload-csv: {platform.words.platform} has no approve/reject upload file.")
        prepared = platform.prepare_upload(Path(upload_csv), pc)
    # The website's bulk-bonus text: checked and written (atomically) before the workbook.
    written = [] if bonus_csv is None else [platform.write_bonus_csv(Path(bonus_csv), checked.rows, checked.currency)]  # type: ignore[attr-defined,union-attr]
    if report is not None:
        from .report import write_workbook

        if len(checked.rows) >= 10_000:  # a few seconds: say what is happening
            print(f"writing {report} ...", file=sys.stderr, flush=True)
        write_workbook(Path(report), _plan_for_report(plan_path, pc, platform), dry_run=True, title=f"Dry run of {plan_path.name}",
                       platform=platform)
    uploads = platform.write_upload(prepared) if prepared else []
    uploads += written
    if not quiet_summary:
        # Only a standalone dry run counts as the PI having seen this content. When --execute
        # follows, the payout must still find out whether the plan changed since it was shown.
        record_shown(plan_path, checked.digest)

    if json_output and not quiet_summary:
        print(json.dumps(summary_dict(pc, platform, uploads=uploads, report=report, counts=counts), indent=1))
    elif quiet_summary:
        print(short_summary(pc), file=sys.stderr if json_output else sys.stdout)
    else:
        print(long_summary(pc, platform, uploads=uploads, report=report, counts=counts))
    return checked, platform


_LARGE_PLAN_BYTES = 2_000_000  # about 10,000 rows


def _is_large(plan_path: Path) -> bool:
    try:
        return plan_path.stat().st_size >= _LARGE_PLAN_BYTES
    except OSError:
        return False  # check_plan says what is wrong with the path


def refuse_lossy_outputs(
    platform: Platform | None,
    plan_path: Path,
    batch_paths: Sequence[str],
    upload_csv: str | os.PathLike | None,
    report: str | os.PathLike | None,
    ledger: str | os.PathLike | None,
    bonus_csv: str | os.PathLike | None = None,
) -> None:
    """No file `pay` writes (upload files, workbook, the record of what was shown) may be the plan,
    its responses file, one of the platform's files or the ledger, or another of its outputs."""
    from .outputs import Output, refuse_clobbering, require_xlsx
    from .payout.ledger import default_ledger_path

    inputs: list[tuple[str, str | os.PathLike]] = [("the plan", plan_path), ("the plan's responses file", responses_sidecar_path(plan_path))]
    inputs += [(f"the {platform.words.checked_file if platform else 'batch file'}", b) for b in batch_paths]
    outputs = [
        Output("--ledger" if ledger else "the ledger beside the plan", ledger or default_ledger_path(plan_path), "--ledger"),
        Output("the record file beside the plan", shown_path(plan_path), "plan name"),
        Output("--report", report),
        Output("--bonus-csv", bonus_csv),
    ]
    if upload_csv is not None and batch_paths and platform is not None and platform.capabilities.upload_file:
        paths = platform.upload_paths(Path(upload_csv), batch_paths)
        if len(paths) == 1:
            outputs.append(Output("--upload-csv", paths[0]))
        else:
            outputs += [
                Output(f"the upload file for {Path(b).name}", p, "--upload-csv") for b, p in zip(batch_paths, paths)
            ]
    refuse_clobbering(inputs, outputs)
    require_xlsx("--report", report)


def summary_dict(pc: PlanCheck, platform: Platform, *, uploads: Sequence[dict] = (), report=None, counts=None) -> dict:
    """The --json object: counts, and amounts as strings ("38.80") so no reader turns them into floats.
    `counts`: plan_summary.RowCounts of a PlanCheck without rows."""
    c = pc.checked
    decisions = counts.decisions if counts is not None else Counter(r.decision for r in c.rows)
    return {
        "plan": c.path,
        "platform": platform.capabilities.name,
        "digest": c.digest,
        "dry_run": True,
        platform.words.submissions: counts.rows if counts is not None else len(c.rows),
        "decisions": {d: decisions.get(d, 0) for d in DECISIONS},
        "approvals_owed": pc.cost.approvals_owed,
        "bonus_count": pc.cost.bonus_count,
        "currency": c.currency,
        "rewards": format_amount(pc.cost.rewards),
        "bonuses": format_amount(pc.cost.bonuses),
        "fees": format_amount(pc.cost.fees),
        "tax": format_amount(pc.cost.tax),
        "total": format_amount(pc.cost.total),
        "drawn_now": format_amount(pc.cost.drawn),
        "unknown_rewards": pc.cost.unknown_rewards,
        f"checked_with_{platform.capabilities.name}_when_paying": pc.api_listed,
        "bonus_only": pc.bonus_only,
        "warnings": list(pc.warnings),
        "batches": list(c.batch_paths),
        "uploads": [{k: v for k, v in u.items() if k != "said"} for u in uploads],
        "report": None if report is None else str(report),
    }


def short_summary(pc: PlanCheck) -> str:
    c = pc.checked
    d = Counter(r.decision for r in c.rows)
    money = lambda v: format_money(v, c.currency)  # noqa: E731
    return (
        f"{Path(c.path).name}: {d['approve']} approve, {d['reject']} reject, {d['review']} review, {d['skip']} skip; "
        f"{pc.cost.bonus_count} bonus(es); total {money(c.total)} (rewards {money(c.rewards)}, "
        f"bonuses {money(c.bonuses)}, fees {money(c.fees)})."
    )


def long_summary(pc: PlanCheck, platform: Platform, *, uploads: Sequence[dict] = (), report=None, counts=None) -> str:
    c, cost, w = pc.checked, pc.cost, platform.words
    d = counts.decisions if counts is not None else Counter(r.decision for r in c.rows)
    nb = len(c.batch_paths)
    money = lambda v: format_money(v, c.currency)  # noqa: E731
    fees_label = f"{w.fees}".ljust(10)
    lines = [
        f"Plan {c.path}: {counts.rows if counts is not None else len(c.rows)} {w.submissions} checked against {nb} {w.checked_file if nb == 1 else w.checked_files}; "
        "no problems found.",
        "",
        f"  approve  {d['approve']:6}" + (f"   ({cost.approvals_owed} still {w.pending_status}: their rewards are owed)" if d["approve"] else ""),
        f"  reject   {d['reject']:6}",
        f"  review   {d['review']:6}" + ("   left alone until a person sets their decision in the plan" if d["review"] else ""),
        f"  skip     {d['skip']:6}",
        f"  bonuses  {cost.bonus_count:6}",
        "",
        f"  rewards     {money(c.rewards):>12}",
        f"  bonuses     {money(c.bonuses):>12}",
        f"  {fees_label}  {money(c.fees):>12}",
    ]
    if cost.tax:
        lines.append(f"  tax         {money(cost.tax):>12}")
    lines.append(f"  total       {money(c.total):>12}")
    if cost.rewards_prefunded:
        lines.append(f"  (rewards {money(cost.rewards + cost.reward_fees)} with their fees were already funded when the work "
                     f"was published; the payout draws {money(cost.drawn)} now)")
    flags = counts.flags if counts is not None else Counter(f for r in c.rows for f in r.flags)
    if flags:
        lines.append("  flags: " + ", ".join(f"{f} {n}" for f, n in flags.most_common()) + " (see the workbook)")
    if pc.api_listed:
        lines.append(
            f"  ({pc.api_listed} {w.submission}(s) have no file to vouch for their {w.participant} and {w.group}: `--execute` checks "
            f"them with {w.platform} before paying; pass --batch with a saved file to check them now)"
        )
    if pc.bonus_only:
        lines.append(
            f"  ({pc.bonus_only} bonus-only row(s) (skip with a bonus): paid only if {w.platform} shows the {w.submission} approved then)"
        )
    lines += [f"  warning: {x}" for x in pc.warnings]
    if cost.unknown_rewards:
        lines.append(f"  ({cost.unknown_rewards} approve row(s) have no readable reward and are not in the total)")
    lines += ["", f"Dry run: nothing was sent to {w.platform} and nothing was paid."]
    lines += [u["said"] for u in uploads]
    if report is not None:
        lines.append(f"Wrote the dry-run workbook {report}.")
    lines += ["", "Next:", *platform.next_steps(c.path, uploaded=bool(uploads))]
    return "\n".join(lines)


def _plan_for_report(plan_path: Path, pc: PlanCheck, platform: Platform) -> Plan:
    inputs = [f"{plan_path} (plan, {len(pc.checked.rows)} rows)"]
    inputs += [f"{getattr(f, 'path', f)} ({len(getattr(f, 'records', ()))} rows)" for f in pc.files]
    return Plan(rows=pc.checked.rows, responses=tuple(_read_responses(plan_path, platform)), inputs=tuple(inputs),
                platform=platform.capabilities.name, currency=pc.checked.currency)


def _read_responses(plan_path: Path, platform: Platform) -> list[ResponseOutcome]:
    """The survey side written beside the plan by `match`; optional, so any trouble means none."""
    path = responses_sidecar_path(plan_path)
    columns = response_columns(platform.capabilities.name)
    try:
        with open(path, encoding=PLAN_ENCODING, newline="") as fh:
            return [ResponseOutcome(**{f: unescape(rec.get(columns[f]) or "") for f in RESPONSE_FIELDS}) for rec in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error, TypeError):
        return []
