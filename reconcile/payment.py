"""`reconcile pay PLAN.csv` without --execute: the dry run.

Checks the plan (plan_check), shows what would happen with totals and fees, optionally writes the
requester-website upload CSV and a dry-run workbook, and remembers which plan content was shown
(planfile.record_shown) so the executor can tell an edited plan from a confirmed one.
It calls no service, ever: it reads the plan, its responses sidecar and the batch files.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Sequence

from .errors import InputError
from .models import DECISIONS, CheckedPlan, Plan, ResponseOutcome
from .money import format_amount, format_usd
from .plan_check import PlanCheck, check_plan, parse_limit
from .planfile import PLAN_ENCODING, RESPONSE_COLUMNS, record_shown, responses_sidecar_path, shown_path
from .upload import UploadFile, prepare_uploads, upload_paths, write_uploads


def dry_run(
    plan_path: str | os.PathLike,
    *,
    max_bonus: str | None = None,
    budget: str | None = None,
    batch_paths: Sequence[str] = (),
    upload_csv: str | os.PathLike | None = None,
    report: str | os.PathLike | None = None,
    ledger: str | os.PathLike | None = None,
    json_output: bool = False,
    quiet_summary: bool = False,
) -> CheckedPlan:
    """Check the plan and show what would happen; write only the files asked for.

    Raises PlanError (every problem, with line and column) or InputError; nothing is written then.
    `quiet_summary` (when --execute follows) prints one line instead of the full summary, on stderr
    when `json_output` is set so that stdout keeps exactly one JSON object (the executor's), and
    does not record the plan as shown (see planfile.was_shown). `ledger` (default: beside the plan)
    is only protected here: no upload or workbook may land on it.
    """
    plan_path = Path(plan_path)
    limit_bonus = parse_limit(max_bonus, "--max-bonus")
    limit_budget = parse_limit(budget, "--budget")
    batch_paths = [str(b) for b in batch_paths or ()]
    # Twice: first with what the command line names, before anything is read; then with the
    # batch files the plan itself names, which decide the upload files' names.
    refuse_lossy_outputs(plan_path, batch_paths, upload_csv, report, ledger)
    pc = check_plan(plan_path, batch_paths=batch_paths, max_bonus=limit_bonus, budget=limit_budget)
    checked = pc.checked
    refuse_lossy_outputs(plan_path, [b.path for b in pc.batches], upload_csv, report, ledger)

    # Everything that can fail is prepared before the first file is written.
    prepared = []
    if upload_csv is not None:
        if pc.api_listed:
            raise InputError(
                f"{plan_path}: {pc.api_listed} assignment(s) were listed through the MTurk API, so there is no "
                "batch file to give back; write one with `reconcile fetch mturk ... -o FILE.csv` and pass --batch FILE."
            )
        if not pc.batches:
            raise InputError(f"{plan_path}: the plan names no batch file to build an upload from; pass --batch FILE.")
        prepared = prepare_uploads(Path(upload_csv), pc.batches, checked.rows, dict(pc.row_batch))
    if report is not None:
        from .report import write_workbook

        if len(checked.rows) >= 10_000:  # a few seconds: say what is happening
            print(f"writing {report} ...", file=sys.stderr, flush=True)
        write_workbook(Path(report), _plan_for_report(plan_path, pc), dry_run=True, title=f"Dry run of {plan_path.name}")
    uploads = write_uploads(prepared) if prepared else []
    if not quiet_summary:
        # Only a standalone dry run counts as the PI having seen this content. When --execute
        # follows, the executor must still find out whether the plan changed since it was shown.
        record_shown(plan_path, checked.digest)

    if json_output and not quiet_summary:
        print(json.dumps(summary_dict(pc, uploads=uploads, report=report), indent=1))
    elif quiet_summary:
        print(short_summary(pc), file=sys.stderr if json_output else sys.stdout)
    else:
        print(long_summary(pc, uploads=uploads, report=report))
    return checked


def refuse_lossy_outputs(
    plan_path: Path,
    batch_paths: Sequence[str],
    upload_csv: str | os.PathLike | None,
    report: str | os.PathLike | None,
    ledger: str | os.PathLike | None,
) -> None:
    """No file `pay` writes (upload files, workbook, the record of what was shown) may be the plan,
    its responses file, a batch file or the ledger, or another of its outputs."""
    from .ledger import default_ledger_path
    from .outputs import Output, refuse_clobbering, require_xlsx

    inputs = [("the plan", plan_path), ("the plan's responses file", responses_sidecar_path(plan_path))]
    inputs += [("the batch file", b) for b in batch_paths]
    outputs = [
        Output("--ledger" if ledger else "the ledger beside the plan", ledger or default_ledger_path(plan_path), "--ledger"),
        Output("the record file beside the plan", shown_path(plan_path), "plan name"),
        Output("--report", report),
    ]
    if upload_csv is not None and batch_paths:
        paths = upload_paths(Path(upload_csv), batch_paths)
        if len(paths) == 1:
            outputs.append(Output("--upload-csv", paths[0]))
        else:
            outputs += [
                Output(f"the upload file for {Path(b).name}", p, "--upload-csv") for b, p in zip(batch_paths, paths)
            ]
    refuse_clobbering(inputs, outputs)
    require_xlsx("--report", report)


def summary_dict(pc: PlanCheck, *, uploads: Sequence[UploadFile] = (), report=None) -> dict:
    """The --json object: counts, and amounts as strings ("38.80") so no reader turns them into floats."""
    c = pc.checked
    decisions = Counter(r.decision for r in c.rows)
    return {
        "plan": c.path,
        "digest": c.digest,
        "dry_run": True,
        "assignments": len(c.rows),
        "decisions": {d: decisions.get(d, 0) for d in DECISIONS},
        "approvals_owed": pc.cost.approvals_owed,
        "bonus_count": pc.cost.bonus_count,
        "rewards": format_amount(pc.cost.rewards),
        "bonuses": format_amount(pc.cost.bonuses),
        "fees": format_amount(pc.cost.fees),
        "total": format_amount(pc.cost.total),
        "unknown_rewards": pc.cost.unknown_rewards,
        "checked_with_mturk_when_paying": pc.api_listed,
        "bonus_only": pc.bonus_only,
        "warnings": list(pc.warnings),
        "batches": list(c.batch_paths),
        "uploads": [
            {"path": str(u.out_path), "batch": u.batch_path, "approve": u.approve, "reject": u.reject, "untouched": u.untouched}
            for u in uploads
        ],
        "report": None if report is None else str(report),
    }


def short_summary(pc: PlanCheck) -> str:
    c = pc.checked
    d = Counter(r.decision for r in c.rows)
    return (
        f"{Path(c.path).name}: {d['approve']} approve, {d['reject']} reject, {d['review']} review, {d['skip']} skip; "
        f"{pc.cost.bonus_count} bonus(es); total {format_usd(c.total)} (rewards {format_usd(c.rewards)}, "
        f"bonuses {format_usd(c.bonuses)}, fees {format_usd(c.fees)})."
    )


def long_summary(pc: PlanCheck, *, uploads: Sequence[UploadFile] = (), report=None) -> str:
    c, cost = pc.checked, pc.cost
    d = Counter(r.decision for r in c.rows)
    nb = len(c.batch_paths)
    lines = [
        f"Plan {c.path}: {len(c.rows)} assignments checked against {nb} batch file{'s' if nb != 1 else ''}; "
        "no problems found.",
        "",
        f"  approve  {d['approve']:6}" + (f"   ({cost.approvals_owed} still Submitted: their rewards are owed)" if d["approve"] else ""),
        f"  reject   {d['reject']:6}",
        f"  review   {d['review']:6}" + ("   left alone until a person sets their decision in the plan" if d["review"] else ""),
        f"  skip     {d['skip']:6}",
        f"  bonuses  {cost.bonus_count:6}",
        "",
        f"  rewards     {format_usd(c.rewards):>12}",
        f"  bonuses     {format_usd(c.bonuses):>12}",
        f"  MTurk fees  {format_usd(c.fees):>12}",
        f"  total       {format_usd(c.total):>12}",
    ]
    flags = Counter(f for r in c.rows for f in r.flags)
    if flags:
        lines.append("  flags: " + ", ".join(f"{f} {n}" for f, n in flags.most_common()) + " (see the workbook)")
    if pc.api_listed:
        lines.append(
            f"  ({pc.api_listed} assignment(s) have no batch file to vouch for their worker and HIT: `--execute` checks "
            "them with MTurk before paying; pass --batch with a `reconcile fetch mturk` file to check them now)"
        )
    if pc.bonus_only:
        lines.append(
            f"  ({pc.bonus_only} bonus-only row(s) (skip with a bonus): paid only if MTurk shows the assignment Approved then)"
        )
    lines += [f"  warning: {w}" for w in pc.warnings]
    if cost.unknown_rewards:
        lines.append(f"  ({cost.unknown_rewards} approve row(s) have no readable reward and are not in the total)")
    lines += ["", "Dry run: nothing was sent to MTurk and nothing was paid."]
    for u in uploads:
        lines.append(
            f"Wrote {u.out_path} (from {Path(u.batch_path).name}): {u.approve} x in Approve, "
            f"{u.reject} reasons in Reject, {u.untouched} rows left alone."
        )
    if report is not None:
        lines.append(f"Wrote the dry-run workbook {report}.")
    plan = c.path
    lines += [
        "",
        "Next:",
        f"  - through the MTurk API: reconcile pay {plan} --execute --sandbox (rehearsal), "
        "--endpoint-url URL (a local emulator) or --production (real money)",
    ]
    if not uploads:
        lines.append(
            f"  - or, for HITs created on the requester website: reconcile pay {plan} --upload-csv approve.csv, "
            "then upload it under Manage > Results (bonuses still need --execute)"
        )
    else:
        lines.append("  - upload the CSV under Manage > Results on the requester website (bonuses still need --execute)")
    return "\n".join(lines)


def _plan_for_report(plan_path: Path, pc: PlanCheck) -> Plan:
    inputs = [f"{plan_path} (plan, {len(pc.checked.rows)} rows)"]
    inputs += [f"{b.path} ({len(b.records)} rows)" for b in pc.batches]
    return Plan(rows=pc.checked.rows, responses=tuple(_read_responses(plan_path)), inputs=tuple(inputs))


def _read_responses(plan_path: Path) -> list[ResponseOutcome]:
    """The Qualtrics side written beside the plan by `match`; optional, so any trouble means none."""
    path = responses_sidecar_path(plan_path)
    try:
        with open(path, encoding=PLAN_ENCODING, newline="") as fh:
            return [ResponseOutcome(**{c: (rec.get(c) or "") for c in RESPONSE_COLUMNS}) for rec in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error, TypeError):
        return []
