"""Helpers shared by tests/test_executor*.py and tests/test_pay_execute*.py (no tests in here).

Batch files are synthetic but use the real header of a requester-website download (the
Chucooleg study), so the emulator and the plan checker read them exactly as they read real ones.
"""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from conftest import SAMPLE_DATA
from reconcile import planfile
from reconcile.platforms.mturk.fees import cost_summary
from reconcile.models import CheckedPlan, Plan, PlanRow

# The synthetic sample batch carries the exact header of a real requester-website download
# (test_sample_data checks it against the Chucooleg batch when the real data is present).
REAL_BATCH = SAMPLE_DATA / "mturk_batch_results.csv"

FAKE_KEY_ID = "AKIAFAKERECONCILE7Q3Z"
FAKE_SECRET = "fake/Secret+Key+Reconcile+Test+0123456789xyz"
FAKE_ENV = {"AWS_ACCESS_KEY_ID": FAKE_KEY_ID, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET, "AWS_DEFAULT_REGION": "us-east-1"}

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Three days ahead, in the newer batch-file style: MTurk (and the emulator) auto-approve Submitted
# assignments once this passes, so a batch that must still be payable needs a deadline to come.
AUTO_APPROVAL = (datetime.now(timezone.utc) + timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S UTC")


def real_header() -> list[str]:
    with open(REAL_BATCH, encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh))


def make_batch(path: Path, n: int, *, hits: int = 1, seed: int = 0, reward: str = "$0.40") -> list[dict[str, str]]:
    """Write a batch results CSV with `n` Submitted assignments spread over `hits` HITs."""
    rng = random.Random(seed)

    def ident(prefix: str, length: int) -> str:
        return prefix + "".join(rng.choice(_ALNUM) for _ in range(length - len(prefix)))

    header = real_header()
    hit_ids = [ident("3H", 30) for _ in range(hits)]
    rows = []
    for i in range(n):
        row = {h: "" for h in header}
        row.update({
            "HITId": hit_ids[i % hits],
            "HITTypeId": "3U6C37VJ6U4IHO0X1NNM41V2S3Y1ND",
            "Title": "Multiple Choice Task",
            "Description": "A survey.",
            "Keywords": "survey",
            "Reward": reward,
            "CreationTime": "Sun Nov 12 08:18:40 PST 2017",
            "MaxAssignments": str(max(1, n // hits)),
            "RequesterAnnotation": "BatchId:3006652;",
            "AssignmentDurationInSeconds": "1200",
            "AutoApprovalDelayInSeconds": "259200",
            "Expiration": "Tue Nov 14 08:18:40 PST 2017",
            "AssignmentId": ident("3A", 30),
            "WorkerId": ident("A", 14),
            "AssignmentStatus": "Submitted",
            "AcceptTime": "Sun Nov 12 08:19:59 PST 2017",
            "SubmitTime": "Sun Nov 12 08:28:41 PST 2017",
            "AutoApprovalTime": AUTO_APPROVAL,
            "WorkTimeInSeconds": "522",
            "LifetimeApprovalRate": "0% (0/0)",
            "Last30DaysApprovalRate": "0% (0/0)",
            "Last7DaysApprovalRate": "0% (0/0)",
            "Answer.surveycode": str(100000 + i),
        })
        rows.append(row)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)
    return rows


def plan_rows(batch_path: Path, batch_rows: list[dict[str, str]], decide=None) -> list[PlanRow]:
    """One PlanRow per batch row. `decide(i, row) -> (decision, bonus_text_or_None, feedback)`;
    default: approve with a bonus of $0.50 + i cents."""
    out = []
    for i, r in enumerate(batch_rows):
        decision, bonus, feedback = decide(i, r) if decide else ("approve", f"{Decimal('0.50') + Decimal(i) / 100:.2f}", "")
        out.append(PlanRow(
            submission_id=r["AssignmentId"], participant_id=r["WorkerId"], group_id=r["HITId"], decision=decision,
            reason="code_match" if decision == "approve" else "test", detail="test row", code=r["Answer.surveycode"],
            response_id=f"R_{i}", bonus=Decimal(bonus) if bonus else None, feedback=feedback,
            source=f"{batch_path}:{i + 2}", status=r["AssignmentStatus"], reward=r["Reward"],
            group_size=r["MaxAssignments"], review_deadline=r["AutoApprovalTime"],
        ))
    return out


def checked_plan(plan_path: Path, rows: list[PlanRow], batch_paths: list[Path]) -> CheckedPlan:
    """A CheckedPlan as the dry run would build it (written to disk too, so paths are real)."""
    planfile.write_plan(Plan(platform="mturk", rows=tuple(rows)), plan_path)
    cost = cost_summary(rows)
    return CheckedPlan(
        path=str(plan_path), rows=tuple(rows),
        digest=planfile.plan_digest(planfile.plan_row_to_text(r) for r in rows),
        batch_paths=tuple(str(b) for b in batch_paths),
        rewards=cost.rewards, bonuses=cost.bonuses, fees=cost.fees, total=cost.total, platform="mturk", drawn=cost.drawn,
    )


def payout(cp: CheckedPlan, url: str, **kw):
    """The library's `pay --execute` on MTurk at `url` (an emulator): reconcile.payout.run.execute_plan."""
    from reconcile.payout.run import execute_plan
    from reconcile.platforms.mturk import PLATFORM

    endpoint = PLATFORM.resolve_endpoint(url, False, False)
    return execute_plan(cp, platform=PLATFORM, payer=PLATFORM.payer(endpoint, connections=kw.get("concurrency", 4) + 2),
                        endpoint_url=url, **kw)


def emulator_snapshot_by_assignment(state: dict) -> tuple[dict[str, str], dict[str, list[dict]]]:
    """(status per assignment, bonuses per assignment) from GET /__emulator/state."""
    statuses = {aid: a["status"] for aid, a in state["assignments"].items()}
    bonuses: dict[str, list[dict]] = {}
    for b in state["bonuses"]:
        bonuses.setdefault(b["assignment_id"], []).append(b)
    return statuses, bonuses
