"""The text Prolific's website takes in a study's bulk-bonus dialog: headerless lines of
`<participant ID>,<amount>` in the study's currency, major units with exactly two decimals
("60ffe5c8371090c7041d43f8,4.25"; PROLIFIC.md §1.7). For researchers who pay on the website.

Written atomically; the dry run refuses before writing when the file would overwrite one of its
inputs (payment.refuse_lossy_outputs).
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from ...atomic import atomic_open
from ...errors import RefusedError
from ...models import PlanRow
from ...money import format_amount, format_money


def bonus_lines(rows: Iterable[PlanRow]) -> list[str]:
    """One line per bonus the plan pays (approve rows, and skip rows of approved submissions).
    A participant with two bonuses is refused: one line per participant is all the dialog can tell
    apart, and paying two lines for one participant is not something to guess about."""
    lines: list[str] = []
    seen: dict[str, str] = {}
    for row in rows:
        if row.bonus is None or row.bonus <= 0 or row.decision not in ("approve", "skip"):
            continue
        pid = row.participant_id.strip()
        if pid in seen:
            raise RefusedError(
                f"--bonus-csv: participant {pid} has two bonuses in the plan (submissions {seen[pid]} and "
                f"{row.submission_id}); the website's dialog takes one line per participant, so pay these through "
                "the API (--execute) or combine them in the plan."
            )
        seen[pid] = row.submission_id
        lines.append(f"{pid},{format_amount(row.bonus)}")
    return lines


def write_bonus_csv(path: str | os.PathLike, rows: Iterable[PlanRow], currency: str = "GBP") -> dict:
    """Write the dialog's text to `path` (atomically); what was written, with a sentence for people."""
    rows = list(rows)
    lines = bonus_lines(rows)
    total = sum((r.bonus for r in rows if r.bonus is not None and r.bonus > 0 and r.decision in ("approve", "skip")),
                Decimal("0.00"))
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("".join(line + "\n" for line in lines))
    said = (f"Wrote {Path(path)}: {len(lines)} bonus line(s), {format_money(total, currency)} before fees; paste it into the "
            "study's bulk bonus dialog on Prolific (Submissions > Bulk bonus payment).")
    return {"path": str(path), "bonuses": len(lines), "total": format_amount(total), "said": said}
