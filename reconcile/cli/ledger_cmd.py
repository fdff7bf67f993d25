"""`reconcile ledger [PLAN] [--ledger FILE]`: what was paid, when, what is pending or in doubt;
`--resolve KEY paid|unpaid` for a person to settle what the tool could not."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Optional, Tuple

import typer

from ..money import format_money
from . import app


@app.command()
def ledger(
    plan: Optional[Path] = typer.Argument(None, metavar="[PLAN]", help="The plan CSV (default: reconcile-plan.csv here); its ledger is found beside it, and its actions not yet done are listed."),
    ledger_path: Optional[Path] = typer.Option(None, "--ledger", metavar="FILE", help="The ledger file, when it is not beside the plan (as given to `pay --ledger`)."),
    show_all: bool = typer.Option(False, "--all", help="List every action with its key, the time of its first attempt and last change."),
    resolve: Optional[Tuple[str, str]] = typer.Option(None, "--resolve", metavar="KEY paid|unpaid", help="Settle one action by hand: its key (quoted; or the key's last 8+ characters) and what you found: paid or unpaid. `unpaid` lets the next run attempt it again.", show_default=False),
    note: str = typer.Option("", "--note", metavar="TEXT", help="With --resolve: why (kept in the ledger)."),
    json_output: bool = typer.Option(False, "--json", help="Print everything as one JSON object on stdout."),
) -> None:
    """Show what `reconcile pay --execute` did: runs, actions done / already done / failed / in
    flight (a run stopped mid-call) / in doubt (a pay call that may have gone through and is never
    sent again on its own), bonuses paid, and - given the plan - what is not done yet.
    Reads the ledger only; never calls a platform. With --resolve KEY paid|unpaid, a person settles
    an action: what they saw on the platform's website decides, not the tool.

    Examples: `reconcile ledger reconcile-plan.csv`; `reconcile ledger --resolve 'KEY' paid --note "seen on the website"`.
    """
    from ..payout.status import ledger_status, resolve as settle

    if resolve:
        key, verdict = resolve
        entry = settle(ledger_path, plan, key, verdict.strip().lower(), note)
        if json_output:
            typer.echo(json.dumps(entry, indent=1))
        else:
            typer.echo(f"Settled {entry['kind']} {entry['submission_id'] or entry['participant_id']}: now {entry['state'].replace('_', ' ')} "
                       f"({entry['detail']}).")
        return
    status = ledger_status(ledger_path, plan)
    if json_output:
        typer.echo(json.dumps(status, indent=1))
    else:
        typer.echo(format_ledger_status(status, show_all=show_all))


def format_ledger_status(status: dict, *, show_all: bool = False) -> str:
    lines = [f"Ledger {status['ledger']}"]
    if not status["runs"]:
        lines.append("  no runs recorded yet.")
    for r in status["runs"][-10:]:
        s = r["summary"] or {}
        result = (f"{s.get('done', 0)} done, {s.get('already_done', 0)} already done, {s.get('failed', 0)} failed"
                  + (f", {s['in_doubt']} in doubt" if s.get("in_doubt") else "") if s else "interrupted before its summary")
        lines.append(f"  run {r['started']} -> {r['finished']} on {r['endpoint']}: {result}")
    if len(status["runs"]) > 10:
        lines.append(f"  ({len(status['runs']) - 10} earlier runs not shown)")
    lines.append("Actions:")
    if not status["by_kind"]:
        lines.append("  none recorded.")
    for kind, c in status["by_kind"].items():
        extra = "".join(f", {c[s]:>5} {s.replace('_', ' ')}" for s in ("in_doubt", "prepared", "unpaid") if c.get(s))
        lines.append(f"  {kind:<8} {c['done']:>5} done, {c['already_done']:>5} already done, {c['failed']:>5} failed, "
                     f"{c['intent']:>5} in flight{extra}")
    currency = status.get("currency")

    def money(amount: str) -> str:  # with its symbol where the runs said their currency
        return format_money(Decimal(amount), currency) if currency else amount

    lines.append(f"  bonuses paid by runs of this ledger: {money(status['bonuses_paid'])}"
                 + (f"; found already paid (earlier runs, other ledgers): {money(status['bonuses_found_paid'])}"
                    if status.get("bonuses_found_paid", "0.00") != "0.00" else ""))

    def who(e: dict) -> str:
        return e["submission_id"] or e["participant_id"]

    if status["in_flight"]:
        lines.append(f"In flight when a run stopped ({len(status['in_flight'])}; the next run checks the platform before retrying):")
        lines += [f"  {e['kind']} {who(e)} {e['amount'] if e['kind'] == 'bonus' else ''} since {e['last']}".rstrip()
                  for e in status["in_flight"][:50]]
    if status.get("in_doubt"):
        lines.append(f"In doubt ({len(status['in_doubt'])}): a pay call that may have gone through. Check the platform's "
                     "website, then settle each with `reconcile ledger --resolve KEY paid` or `... unpaid`:")
        lines += [f"  {e['kind']} {who(e)} {e['amount']}: key {e['key']}" for e in status["in_doubt"][:50]]
    if status["failed"]:
        lines.append(f"Failed ({len(status['failed'])}):")
        lines += [f"  {e['kind']} {who(e)}: {e['detail']} ({e['last']})" for e in status["failed"][:50]]
    if "plan" in status:
        for ep, items in status["plan_not_done"].items():
            if items:
                lines.append(f"Not done yet from {status['plan']} on {ep}: {len(items)} actions")
                lines += [f"  {i['kind']} {i['submission_id']} {i['amount'] if i['kind'] == 'bonus' else ''}".rstrip() for i in items[:20]]
                if len(items) > 20:
                    lines.append(f"  ... and {len(items) - 20} more")
            else:
                lines.append(f"Everything in {status['plan']} is done on {ep}.")
        if not status["plan_not_done"]:
            lines.append(f"Nothing from {status['plan']} has been executed yet.")
        lines += [f"  note: {p}" for p in status["plan_problems"]]
    if show_all and status["actions"]:
        lines.append("All actions (first attempt, last change, key):")
        for e in status["actions"]:
            amount = f" {e['amount']}" if e["kind"] == "bonus" else ""
            lines.append(f"  {e['first']}  {e['last']}  {e['state']:<12} {e['kind']:<8} {e['submission_id'] or '-'} "
                         f"{e['participant_id']}{amount}  [{e['key']}]")
    if status["in_flight"] or status["failed"] or any(status.get("plan_not_done", {}).values()):
        lines.append("To finish: re-run the same `reconcile pay ... --execute` command; finished actions are never repeated.")
    return "\n".join(lines)
