"""Reading a Prolific study through the API: its submissions (listed page by page), its completion
codes, and its submissions export (what `reconcile fetch prolific` saves).

Listed submissions are written as a 2024-era export and read by the same reader as a downloaded
file (export_csv), so an API listing and a download of one study are caught as duplicates and
decided alike. Their rows point at `prolific-api:study=<ID>` (API_SOURCE_PREFIX), numbered as in
the file `fetch prolific` would write.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from ...atomic import atomic_open
from ...errors import InputError, ServiceError
from ...models import SubmissionInput
from ...platform import Endpoint
from .http import ProlificHttp

API_SOURCE_PREFIX = "prolific-api:"
PAGE_SIZE = 200  # the official CLI's DefaultRecordLimit (PROLIFIC.md §1.4)
ProgressFn = Callable[[str], None]
_STUDY_ID = re.compile(r"^[0-9a-fA-F]{24}$")

# The columns an API listing fills, named as the 2024 export names them.
LISTING_COLUMNS = ("Submission id", "Participant id", "Status", "Started at", "Completed at", "Time taken", "Completion code")


def check_study_id(study_id: str, option: str = "--prolific-study") -> str:
    """A study ID as Prolific writes them (24 hex digits), checked before anything is asked of the API."""
    s = (study_id or "").strip()
    if not _STUDY_ID.match(s):
        shown = s if len(s) <= 40 else s[:37] + "..."
        raise InputError(f"{option} {shown!r} is not a Prolific study ID (24 hexadecimal digits, as in the study's URL).")
    return s.lower()


def pseudo_path(study_id: str) -> str:
    return f"{API_SOURCE_PREFIX}study={study_id}"


def list_study_submissions(endpoint: Endpoint, study_id: str, *, http: ProlificHttp | None = None,
                           page_size: int = PAGE_SIZE, progress: Optional[ProgressFn] = None) -> list[dict]:
    """Every submission of the study (list shape, PROLIFIC.md §1.3), following limit/offset pages until
    a short or empty page or meta.count; a submission seen on two pages (the list moved) counts once."""
    study_id = check_study_id(study_id)
    http = http or ProlificHttp(endpoint)
    what = f"study {study_id}"
    items: list[dict] = []
    seen: set[str] = set()
    offset = 0
    while True:
        page = http.get_json(f"/api/v1/studies/{study_id}/submissions/", what, params={"limit": page_size, "offset": offset})
        results = page.get("results") if isinstance(page, dict) else None
        if not isinstance(results, list):
            raise ServiceError(f"the Prolific API's list of {what}'s submissions has no `results`; is {endpoint.shown} Prolific's API?")
        for item in results:
            if isinstance(item, dict) and str(item.get("id", "")) not in seen:
                seen.add(str(item.get("id", "")))
                items.append(item)
        offset += len(results)
        count = (page.get("meta") or {}).get("count") if isinstance(page.get("meta"), dict) else None
        if progress:
            progress(f"  {what}: {len(items)}" + (f" of {count}" if isinstance(count, int) else "") + " submissions listed")
        if not results or len(results) < page_size or (isinstance(count, int) and offset >= count):
            return items


def study_completion_codes(endpoint: Endpoint, study_id: str, *, http: ProlificHttp | None = None) -> list[str]:
    """The study's completion codes (completion_codes[].code, PROLIFIC.md §1.9; the older single
    completion_code too), in the study's order, without nulls or repeats."""
    study_id = check_study_id(study_id)
    http = http or ProlificHttp(endpoint)
    study = http.get_json(f"/api/v1/studies/{study_id}/", f"study {study_id}")
    codes: list[str] = []
    entries = study.get("completion_codes") if isinstance(study, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        code = entry.get("code") if isinstance(entry, dict) else None
        if isinstance(code, str) and code.strip() and code.strip() not in codes:
            codes.append(code.strip())
    single = study.get("completion_code") if isinstance(study, dict) else None
    if isinstance(single, str) and single.strip() and single.strip() not in codes:
        codes.append(single.strip())
    return codes


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def listing_export_text(items: Iterable[dict]) -> str:
    """Listed submissions as a 2024-era export (CRLF, RFC 4180 quoting), the columns LISTING_COLUMNS."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(LISTING_COLUMNS)
    for s in items:
        code = s.get("study_code") if s.get("study_code") is not None else s.get("entered_code")
        writer.writerow([_cell(s.get("id")), _cell(s.get("participant_id") or s.get("participant")), _cell(s.get("status")),
                         _cell(s.get("started_at")), _cell(s.get("completed_at")), _cell(s.get("time_taken")), _cell(code)])
    return out.getvalue()


def read_prolific_api(paths: Sequence[str], endpoint: Endpoint, study_ids: Sequence[str],
                      participant_column: str | None = None, progress: Optional[ProgressFn] = None) -> SubmissionInput:
    """Export files plus the API listing of each study, read together (duplicates caught across both)."""
    from .export_csv import read_prolific_csv

    studies = [check_study_id(s) for s in study_ids]
    http = ProlificHttp(endpoint)
    labels: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="reconcile-prolific-") as tmp:
        temps = []
        for study in studies:
            items = list_study_submissions(endpoint, study, http=http, progress=progress)
            if not items:
                raise InputError(f"study {study} has no submissions at {endpoint.shown} yet; nothing to match.")
            path = str(Path(tmp) / f"prolific_export_{study}.csv")  # the study ID in the name, as Prolific names it
            Path(path).write_text(listing_export_text(items), encoding="utf-8", newline="")
            labels[path] = pseudo_path(study)
            temps.append(path)
        data = read_prolific_csv([*map(str, paths), *temps], participant_column=participant_column)
    return _relabel(data, labels)


def _relabel(data: SubmissionInput, labels: dict[str, str]) -> SubmissionInput:
    """The same input with every mention of a temporary file replaced by its API label."""
    def ref(r):
        return dataclasses.replace(r, path=labels[r.path]) if r.path in labels else r

    def sub(s):
        return dataclasses.replace(s, source=ref(s.source))

    def warn(text: str) -> str:
        for old, new in labels.items():
            text = text.replace(old, new)
        return text

    files = tuple(dataclasses.replace(f, path=labels.get(f.path, f.path), submissions=tuple(sub(s) for s in f.submissions),
                                      warnings=tuple(warn(w) for w in f.warnings),
                                      format=f.format.replace("Prolific submissions export", "Prolific API listing")
                                      if f.path in labels else f.format)
                  for f in data.files)
    return dataclasses.replace(
        data, files=files, submissions=tuple(sub(s) for s in data.submissions),
        duplicates=tuple(dataclasses.replace(d, source=ref(d.source), duplicate_of=ref(d.duplicate_of)) for d in data.duplicates),
    )


def fetch_export_text(endpoint: Endpoint, study_id: str, *, http: ProlificHttp | None = None) -> str:
    """The study's submissions export as Prolific makes it (POST demographic-export, PROLIFIC.md §2.1)."""
    study_id = check_study_id(study_id, "--study")
    http = http or ProlificHttp(endpoint)
    answer = http.request("POST", f"/api/v1/studies/{study_id}/demographic-export/", f"study {study_id}", body={"filters": []})
    answer.encoding = "utf-8"
    return answer.text


def save_study_export(out: str | Path, *, endpoint: Endpoint, study_id: str, progress: Optional[ProgressFn] = None) -> int:
    """Write the study's submissions export to `out` (atomically) once it reads as one; returns its row count."""
    from ...importers.csvtext import load_table
    from .export_csv import read_export_table

    study_id = check_study_id(study_id, "--study")
    out_path = Path(out)
    if not out_path.parent.is_dir():
        raise InputError(f"{out}: the folder {out_path.parent} does not exist.")
    if progress:
        progress(f"asking {endpoint.shown} for the export of study {study_id} ...")
    text = fetch_export_text(endpoint, study_id)
    with tempfile.TemporaryDirectory(prefix="reconcile-prolific-") as tmp:
        probe = Path(tmp) / f"prolific_export_{study_id}.csv"
        probe.write_text(text, encoding="utf-8", newline="")
        try:
            rows = len(read_export_table(load_table(probe), study_id=study_id).submissions)
        except InputError:
            raise ServiceError(f"what {endpoint.shown} returned for study {study_id} is not a Prolific submissions "
                               "export; nothing was written.") from None
    with atomic_open(out_path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return rows


def stderr_progress() -> ProgressFn:
    import sys

    def show(message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    return show
