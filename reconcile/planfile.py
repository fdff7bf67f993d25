"""The plan CSV: written by `match`, read (possibly after hand edits) by `pay`.

Plain text on purpose: the PI may edit `decision`, `bonus` and `feedback` in any editor.
Reading returns raw text rows with their line numbers; checking them is `plan_check`'s job,
so that every problem in an edited plan can be reported together.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .atomic import atomic_open
from .errors import InputError, RefusedError
from .models import Plan, PlanRow
from .money import format_amount

PLAN_COLUMNS = (
    "assignment_id",
    "worker_id",
    "hit_id",
    "decision",
    "reason",
    "detail",
    "code",
    "response_id",
    "bonus",
    "feedback",
    "source",
    "flags",
    "assignment_status",
    "reward",
    "max_assignments",
    "auto_approval_time",
)
REQUIRED_COLUMNS = ("assignment_id", "worker_id", "hit_id", "decision", "bonus", "feedback", "source")

RESPONSE_COLUMNS = ("response_id", "outcome", "reason", "detail", "code", "worker_id", "assignment_id", "source")

# Excel opens a UTF-8 CSV correctly only with a BOM; we read with utf-8-sig so either works.
PLAN_ENCODING = "utf-8-sig"


def responses_sidecar_path(plan_path: str | os.PathLike) -> Path:
    """reconcile-plan.csv -> reconcile-plan.responses.csv (the Qualtrics side of the plan)."""
    p = Path(plan_path)
    return p.with_name(p.stem + ".responses" + (p.suffix or ".csv"))


def plan_row_to_text(row: PlanRow) -> dict[str, str]:
    return {
        "assignment_id": row.assignment_id,
        "worker_id": row.worker_id,
        "hit_id": row.hit_id,
        "decision": row.decision,
        "reason": row.reason,
        "detail": row.detail,
        "code": row.code,
        "response_id": row.response_id,
        "bonus": "" if row.bonus is None else format_amount(row.bonus),
        "feedback": row.feedback,
        "source": row.source,
        "flags": ";".join(row.flags),
        "assignment_status": row.assignment_status,
        "reward": row.reward,
        "max_assignments": row.max_assignments,
        "auto_approval_time": row.auto_approval_time,
    }


def _plan_row_cells(row: PlanRow) -> tuple[str, ...]:
    # Same order as PLAN_COLUMNS; test_planfile checks the two stay in step with plan_row_to_text.
    return (
        row.assignment_id,
        row.worker_id,
        row.hit_id,
        row.decision,
        row.reason,
        row.detail,
        row.code,
        row.response_id,
        "" if row.bonus is None else format_amount(row.bonus),
        row.feedback,
        row.source,
        ";".join(row.flags),
        row.assignment_status,
        row.reward,
        row.max_assignments,
        row.auto_approval_time,
    )


def write_plan(plan: Plan, path: str | os.PathLike) -> Path:
    """Write the plan CSV (and its responses sidecar) atomically, and remember its digest as
    written by the tool (see refuse_unseen_edits). Returns the sidecar path."""
    # csv.writer over tuples, not DictWriter: DictWriter re-checks every key of every row,
    # which is most of the cost of a 100k-row plan.
    with atomic_open(path, "w", encoding=PLAN_ENCODING) as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(PLAN_COLUMNS)
        writer.writerows(_plan_row_cells(row) for row in plan.rows)
    sidecar = responses_sidecar_path(path)
    with atomic_open(sidecar, "w", encoding=PLAN_ENCODING) as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(RESPONSE_COLUMNS)
        writer.writerows(tuple(getattr(r, c) for c in RESPONSE_COLUMNS) for r in plan.responses)
    record_written(path, written_digest(plan))
    return sidecar


def written_digest(plan: Plan) -> str:
    """plan_digest of the plan as write_plan writes it (the same text cells a reader gets back)."""
    # Through plan_row_to_text, the one mapping of a row to its cells, so the two cannot drift apart.
    return plan_digest(plan_row_to_text(r) for r in plan.rows)


@dataclass(frozen=True)
class RawPlanRow:
    line: int  # 1-based CSV record number, header = 1
    cells: dict[str, str]


def read_plan_rows(path: str | os.PathLike) -> list[RawPlanRow]:
    """Read a plan CSV as text. Raises InputError for a missing/unreadable file or missing columns."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such plan file.", hint="Run `reconcile match` first to write one.")
    try:
        with open(p, encoding=PLAN_ENCODING, newline="") as fh:
            reader = csv.reader(fh)
            try:
                header = next(reader)
            except StopIteration:
                raise InputError(f"{p}: the plan file is empty.") from None
            header = [h.strip() for h in header]
            repeated = sorted({h for h in header if h and header.count(h) > 1})
            if repeated:
                raise InputError(
                    f"{p}: the plan's header repeats the column{'s' if len(repeated) > 1 else ''} {', '.join(repeated)}; "
                    "which copy counts cannot be told, so remove the extra column."
                )
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise InputError(
                    f"{p}: this is not a reconcile plan (missing column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)})."
                )
            rows = []
            for i, rec in enumerate(reader, start=2):
                if not any(cell.strip() for cell in rec):
                    continue
                cells = {h: (rec[j] if j < len(rec) else "") for j, h in enumerate(header)}
                rows.append(RawPlanRow(i, cells))
            return rows
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: the plan file is not UTF-8 text (byte {exc.start}).") from None


def plan_digest(rows: Iterable[dict[str, str]]) -> str:
    """A content hash of what the plan would *do*: every column that reaches an API call or decides
    which assignment one names (assignment, worker, HIT, decision, bonus, feedback).

    Independent of row order and of columns that are only for people (detail, flags), so that
    re-sorting whole rows in Excel does not count as an edit, but changing any decision does, and so
    does sorting one column on its own (which moves HITs or workers between rows).
    """
    keyed = sorted(
        (
            r.get("assignment_id", "").strip(),
            r.get("decision", "").strip().lower(),
            r.get("bonus", "").strip(),
            r.get("feedback", "").strip(),
            r.get("worker_id", "").strip(),
            r.get("hit_id", "").strip(),
        )
        for r in rows
    )
    h = hashlib.sha256()
    for k in keyed:
        h.update("\x1f".join(k).encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()


# ---------------------------------------------------------------- what the PI was shown, what match wrote
#
# One small JSON file beside the plan (PLAN.shown.json) remembers two lists of plan digests:
# "digests", the contents a standalone dry run showed (the executor needs no re-confirmation for
# those), and "written_by_match", the contents `match` wrote. A plan whose digest is in neither list
# holds edits the tool has never seen, and `match` will not overwrite it without --force.

KEEP_DIGESTS = 50
SHOWN_KEY = "digests"
WRITTEN_KEY = "written_by_match"


def shown_path(plan_path: str | os.PathLike) -> Path:
    p = Path(plan_path)
    return p.with_name(p.stem + ".shown.json")


def _read_memory(plan_path: str | os.PathLike) -> dict:
    import json

    try:
        data = json.loads(shown_path(plan_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(plan_path: str | os.PathLike, key: str, digest: str) -> None:
    """Add `digest` to one list of the memory file, keeping the other list as it is (atomically)."""
    import json

    memory = _read_memory(plan_path)
    seen = memory.get(key)
    seen = [d for d in seen if isinstance(d, str)] if isinstance(seen, list) else []
    if digest not in seen:
        seen.append(digest)
    memory[key] = seen[-KEEP_DIGESTS:]
    with atomic_open(shown_path(plan_path), "w") as fh:
        json.dump(memory, fh, indent=1)


def _remembered(plan_path: str | os.PathLike, key: str, digest: str) -> bool:
    seen = _read_memory(plan_path).get(key)
    return isinstance(seen, list) and digest in seen


def record_shown(plan_path: str | os.PathLike, digest: str) -> None:
    """Remember that a dry run showed this exact plan content (so executing it needs no re-confirmation)."""
    _remember(plan_path, SHOWN_KEY, digest)


def was_shown(plan_path: str | os.PathLike, digest: str) -> bool:
    """True when a dry run of this plan showed exactly this content."""
    return _remembered(plan_path, SHOWN_KEY, digest)


def record_written(plan_path: str | os.PathLike, digest: str) -> None:
    """Remember that `match` wrote this exact plan content (it holds no edits of a person)."""
    _remember(plan_path, WRITTEN_KEY, digest)


def refuse_unseen_edits(plan_path: str | os.PathLike, *, force: bool = False) -> None:
    """Before `match` replaces an existing file at PLAN: refuse when that would lose work.

    A plan the tool wrote, or one a dry run showed, may be replaced. A plan edited since (its digest
    is in neither list) holds the PI's decisions; a file that is not a plan at all is someone's
    input. Both need --force. Missing files and directories are not this check's business.
    """
    p = Path(plan_path)
    if force or not p.is_file():
        return
    try:
        rows = read_plan_rows(p)
    except (InputError, OSError, csv.Error):
        raise RefusedError(
            f"--plan {p} already exists and is not a reconcile plan; choose another --plan, "
            "or pass --force to replace that file."
        ) from None
    digest = plan_digest(r.cells for r in rows)
    if _remembered(p, WRITTEN_KEY, digest) or _remembered(p, SHOWN_KEY, digest):
        return
    raise RefusedError(
        f"--plan {p} holds edits (decisions, bonuses or feedback) that neither `match` wrote nor a dry run "
        "showed; rename it to keep them, or pass --force to overwrite them."
    )
