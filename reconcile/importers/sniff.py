"""Tell a survey export from a platform's file by its content (header names), never its file name."""

from __future__ import annotations

import os
import re
from typing import Callable, Mapping

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


_QUALTRICS_META = {"startdate", "enddate", "status", "finished", "ipaddress", "progress", "recordeddate", "durationinseconds"}

# A platform's claim on a file: given its decoded records, "this is one of mine" (by content, never by name).
Claim = Callable[[Table], bool]


def is_survey_export(table: Table) -> bool:
    """A Qualtrics export: ResponseId (or three of its metadata columns), the legacy V1.. row, or ImportIds."""
    recs = table.records
    head = recs[0]
    names = {norm(c) for c in head}
    if is_legacy_header(head) and len(recs) > 1 and "responseid" in {norm(c) for c in recs[1]}:
        return True
    if "responseid" in names or len(names & _QUALTRICS_META) >= 3:
        return True
    return any(is_importid_row(r) for r in recs[1:3])


def kind_of(table: Table, claims: Mapping[str, Claim] | None = None) -> str:
    """"qualtrics", or the name of the one platform (of `claims`) whose file this is.

    Identified by content. Two kinds claiming one file is refused (beangulp style): a wrong guess
    would turn a survey into payments or the other way round. So is none, with what the first row holds.
    """
    recs = table.records
    head = recs[0]
    found = ["qualtrics"] if is_survey_export(table) else []
    found += [name for name, claim in (claims or {}).items() if claim(table)]
    if len(found) > 1:
        raise InputError(
            f"{table.path} has the columns of {' and of '.join(found)} files; cannot tell which kind of file it is: "
            "pass the original download."
        )
    if found:
        return found[0]
    if not any(c.strip() for c in head):
        raise InputError(f"{table.path}: the first line is empty; the column names must be on line 1 (remove the blank lines above them).")
    if head[0].lstrip().startswith(("{", "[")):
        raise InputError(
            f"{table.path} looks like a JSON document (an API response?), not a CSV export; "
            "pass the exported CSV/TSV file, or use `reconcile fetch` for the API."
        )
    shown = ", ".join(repr(c if len(c) <= 40 else c[:37] + "...") for c in head[:12]) + (", ..." if len(head) > 12 else "")
    others = " nor ".join(f"a {n} file" for n in (claims or {}))
    raise InputError(
        f"{table.path} is neither a Qualtrics export (no ResponseId column)" + (f" nor {others}" if others else "")
        + f"; its first row is {shown}."
    )


def sniff_kind(path: str | os.PathLike, *, partial: bool = False, claims: Mapping[str, Claim] | None = None) -> str:
    """kind_of a file on disk. `partial`: the file is only the start of a longer one (see csvtext.load_table)."""
    return kind_of(load_table(path, partial=partial), claims)
