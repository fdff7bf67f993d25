"""Tell a Qualtrics export from an MTurk batch results file by its header names, never its file name."""

from __future__ import annotations

import os
import re

from ..errors import InputError
from .columns import norm
from .csvtext import Table, load_table

_V_NAME = re.compile(r"^V\d+$")


def is_importid_row(record: list[str]) -> str | None:
    """'json' / 'dict' when a header row holds Qualtrics ImportIds ({"ImportId":...} or {'ImportId': ...})."""
    cells = [c.strip() for c in record if c.strip()]
    if not cells:
        return None
    hits_json = sum(1 for c in cells if c.startswith("{") and '"ImportId"' in c)
    hits_dict = sum(1 for c in cells if c.startswith("{") and "'ImportId'" in c)
    if hits_json * 2 > len(cells):
        return "json"
    if hits_dict * 2 > len(cells):
        return "dict"
    return None


def is_legacy_header(record: list[str]) -> bool:
    """Legacy exports start V1, V2, ... (the names are on the second row)."""
    return len(record) >= 2 and record[0].strip() == "V1" and record[1].strip() == "V2"


_MTURK_ONLY = {
    "assignmentstatus", "hittypeid", "accepttime", "submittime", "autoapprovaltime", "worktimeinseconds",
    "requesterannotation", "autoapprovaldelayinseconds", "assignmentdurationinseconds", "lifetimeapprovalrate",
}
_QUALTRICS_META = {"startdate", "enddate", "status", "finished", "ipaddress", "progress", "recordeddate", "durationinseconds"}


def kind_of(table: Table) -> str:
    recs = table.records
    head = recs[0]
    names = {norm(c) for c in head}
    # A survey that captures assignmentId/workerId/hitId from the link has those names too, so MTurk
    # needs a column only the batch download has (or its Answer.*/Input.* fields).
    mturk = "assignmentid" in names and (
        bool(names & _MTURK_ONLY) or any(c.startswith(("Answer.", "Input.")) for c in head)
    )
    qualtrics = False
    if is_legacy_header(head) and len(recs) > 1:
        qualtrics = "responseid" in {norm(c) for c in recs[1]}
    if "responseid" in names or len(names & _QUALTRICS_META) >= 3:
        qualtrics = True
    if any(is_importid_row(r) for r in recs[1:3]):
        qualtrics = True
    if mturk and qualtrics:
        raise InputError(
            f"{table.path} has both MTurk columns (AssignmentId) and Qualtrics columns (ResponseId/Status/Finished); "
            "cannot tell which kind of file it is: pass the original download."
        )
    if mturk:
        return "mturk"
    if qualtrics:
        return "qualtrics"
    if not any(c.strip() for c in head):
        raise InputError(f"{table.path}: the first line is empty; the column names must be on line 1 (remove the blank lines above them).")
    if head[0].lstrip().startswith(("{", "[")):
        raise InputError(
            f"{table.path} looks like a JSON document (an API response?), not a CSV export; "
            "pass the exported CSV/TSV file, or use `reconcile fetch` for the API."
        )
    shown = ", ".join(repr(c if len(c) <= 40 else c[:37] + "...") for c in head[:12]) + (", ..." if len(head) > 12 else "")
    raise InputError(
        f"{table.path} is neither a Qualtrics export (no ResponseId column) nor an MTurk batch results file "
        f"(no AssignmentId column); its first row is {shown}."
    )


def sniff_kind(path: str | os.PathLike, *, partial: bool = False) -> str:
    """"qualtrics" or "mturk", from the header names; InputError for anything else or both.
    `partial`: the file is only the start of a longer one (see csvtext.load_table)."""
    return kind_of(load_table(path, partial=partial))
