"""The plan CSV: written by `match`, read (possibly after hand edits) by `pay`.

Plain text on purpose: the PI may edit `decision`, `bonus` and `feedback` in any editor.
Reading returns raw text rows with their line numbers; checking them is `plan_check`'s job,
so that every problem in an edited plan can be reported together.
"""

from __future__ import annotations

import csv
import hashlib
import operator
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

from .atomic import atomic_open
from .csvsafe import unescape
from .csvlines import write_escaped_records
from .errors import InputError, RefusedError
from .importers.csvtext import RowFields
from .models import Plan, PlanRow
from .money import format_amount

# The plan's fields in the core's words, in file order.
FIELDS = (
    "submission_id", "participant_id", "group_id", "decision", "reason", "detail", "code", "response_id", "bonus",
    "feedback", "category", "source", "flags", "status", "reward", "group_size", "review_deadline",
)
REQUIRED = ("submission_id", "participant_id", "group_id", "decision", "bonus", "feedback", "source")
RESPONSE_FIELDS = ("response_id", "outcome", "reason", "detail", "code", "participant_id", "submission_id", "source")

# The plan-header alias table: the file edge, where each platform's plan speaks its own words to the
# people who edit it (neutral field -> column). A field a platform does not use is left out of its files.
# The platform is recognised from the header itself, so a plan written before this table existed
# (MTurk's) is read as it always was.
PLAN_HEADERS: dict[str, dict[str, str]] = {
    "mturk": {
        "submission_id": "assignment_id", "participant_id": "worker_id", "group_id": "hit_id",
        "status": "assignment_status", "group_size": "max_assignments", "review_deadline": "auto_approval_time",
        "category": "",  # MTurk rejects carry no category (and its plans stay as they always were)
    },
    "prolific": {"group_id": "study_id", "group_size": "", "review_deadline": "", "category": "rejection_category"},
}
RESPONSE_HEADERS: dict[str, dict[str, str]] = {
    "mturk": {"participant_id": "worker_id", "submission_id": "assignment_id"},
    "prolific": {},
}


def plan_columns(platform: str) -> dict[str, str]:
    """Neutral field -> this platform's column, for every field its plans have (in file order)."""
    aliases = PLAN_HEADERS[platform]
    return {f: aliases.get(f, f) for f in FIELDS if aliases.get(f, f)}


def response_columns(platform: str) -> dict[str, str]:
    aliases = RESPONSE_HEADERS[platform]
    return {f: aliases.get(f, f) for f in RESPONSE_FIELDS}


def platform_of_header(header: Iterable[str]) -> str | None:
    """The platform whose plan has this header (all of its required columns), or None."""
    have = {h.strip() for h in header}
    found = [name for name in PLAN_HEADERS if all(plan_columns(name)[f] in have for f in REQUIRED)]
    return found[0] if len(found) == 1 else None


# Excel opens a UTF-8 CSV correctly only with a BOM; we read with utf-8-sig so either works.
PLAN_ENCODING = "utf-8-sig"


def responses_sidecar_path(plan_path: str | os.PathLike) -> Path:
    """reconcile-plan.csv -> reconcile-plan.responses.csv (the Qualtrics side of the plan)."""
    p = Path(plan_path)
    return p.with_name(p.stem + ".responses" + (p.suffix or ".csv"))


def plan_row_to_text(row: PlanRow) -> dict[str, str]:
    """A row as the text cells of its fields (neutral names)."""
    return dict(zip(FIELDS, plan_row_cells(row)))


def plan_row_cells(row: PlanRow) -> tuple[str, ...]:
    """A row as the text cells of its fields, in the order of FIELDS (test_planfile checks the two stay in step)."""
    return (
        row.submission_id,
        row.participant_id,
        row.group_id,
        row.decision,
        row.reason,
        row.detail,
        row.code,
        row.response_id,
        "" if row.bonus is None else format_amount(row.bonus),
        row.feedback,
        row.category,
        row.source,
        ";".join(row.flags),
        row.status,
        row.reward,
        row.group_size,
        row.review_deadline,
    )


def write_plan(plan: Plan, path: str | os.PathLike) -> Path:
    """Write the plan CSV (and its responses sidecar) atomically, and remember its digest as
    written by the tool (see refuse_unseen_edits). Returns the sidecar path."""
    return write_plan_with_digest(plan, path)[0]


def write_plan_with_digest(plan: Plan, path: str | os.PathLike) -> tuple[Path, str]:
    """write_plan, returning the digest it remembered too (the workbook's identity sheet carries the
    same one: sorting a million rows' keys a second time took seconds)."""
    # csv.writer over tuples, not DictWriter: DictWriter re-checks every key of every row,
    # which is most of the cost of a 100k-row plan.
    if plan.platform not in PLAN_HEADERS:
        raise ValueError(f"a plan for platform {plan.platform!r} cannot be written")
    columns = plan_columns(plan.platform)
    keep = [i for i, f in enumerate(FIELDS) if f in columns]
    every = len(keep) == len(FIELDS)
    # The digest of what is written comes from the same cells, as they go past (no second pass
    # building a dict per row): plan_digest's key of each row as one bytes object (_key_bytes),
    # kept until the rows are done.
    keys: list[bytes | None] = []
    add_key = keys.append

    def cells_out():
        for cells in map(plan_row_cells, plan.rows):
            add_key(_key_bytes(_cells_key(cells)))
            # Every cell escaped (csvsafe): a code or answer typed as "=HYPERLINK(...)" stays text in Excel.
            yield cells if every else [cells[i] for i in keep]

    with atomic_open(path, "w", encoding=PLAN_ENCODING) as fh:
        write_escaped_records(fh, tuple(columns.values()), cells_out())
    sidecar = responses_sidecar_path(path)
    with atomic_open(sidecar, "w", encoding=PLAN_ENCODING) as fh:
        write_escaped_records(fh, tuple(response_columns(plan.platform).values()), map(_response_cells, plan.responses))
    # A key that could not be one bytes object (None) sorts only as its tuple: then the plain way.
    digest = _digest_of_key_bytes(keys) if None not in keys else rows_digest(plan.rows)
    del keys
    record_written(path, digest)
    return sidecar, digest


_response_cells = operator.attrgetter(*RESPONSE_FIELDS)
_NOT_PLAIN = re.compile("[\x00-\x1e]")


def _key_bytes(key: tuple[str, ...]) -> bytes | None:
    """The bytes _digest_of_keys hashes for one key, or None when sorting those bytes could order
    the key otherwise than its tuple: with no character below U+0020 in any cell, the separator
    U+001F sorts before every character that can follow it, so the joined text sorts as the tuple
    (a shorter tuple first), and UTF-8 bytes sort as their text."""
    text = "\x1f".join(key)
    if _NOT_PLAIN.search(text) is not None or text.count("\x1f") != len(key) - 1:
        return None
    return (text + "\x1e").encode("utf-8")


def _digest_of_key_bytes(keys: list) -> str:
    """_digest_of_keys of the keys whose _key_bytes these are (sorted here, in place)."""
    keys.sort()
    h = hashlib.sha256()
    for k in keys:
        h.update(k)
    return h.hexdigest()


def written_digest(plan: Plan) -> str:
    """plan_digest of the plan as write_plan writes it (the same text cells a reader gets back)."""
    # Through plan_row_to_text, the one mapping of a row to its cells, so the two cannot drift apart.
    return plan_digest(plan_row_to_text(r) for r in plan.rows)


def rows_digest(rows: Iterable[PlanRow]) -> str:
    """written_digest of a plan with these rows, from each row's cells (no dict per row: the workbook's
    identity sheet takes it at a million rows)."""
    return _digest_of_keys(_cells_key(cells) for cells in map(plan_row_cells, rows))


def _cells_key(cells: tuple[str, ...]) -> tuple[str, ...]:
    """plan_digest's key of a row from its cells in FIELDS order."""
    return _digest_key(cells[0], cells[3], cells[8], cells[9], cells[1], cells[2], cells[10])


@dataclass(frozen=True)
class RawPlanRow:
    line: int  # 1-based CSV record number, header = 1
    cells: Mapping[str, str]  # neutral field -> text as in the file (unknown columns under their own names)


@dataclass(frozen=True)
class PlanText:
    """A plan file as text: whose it is, its columns, and its rows in the core's words."""

    path: str
    platform: str
    columns: dict[str, str]  # neutral field -> the file's column name (for messages naming a column)
    rows: list[RawPlanRow]
    # A workbook read as a plan (workbook_plan): problems found while reading it (a deleted row, ...),
    # notes for the dry run (what was edited), and how its messages name cells ("Assignments!A12").
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    relocate: Callable[[str], str] | None = None

    def column(self, field: str) -> str:
        return self.columns.get(field, field)

    def where(self, message: str) -> str:
        """A message naming "line N, column C" as this file names its places (a workbook: its sheet and cell)."""
        return self.relocate(message) if self.relocate else message


def read_plan(path: str | os.PathLike, platform: str | None = None) -> PlanText:
    """Read a plan CSV as text; the platform is recognised from its header (or given).
    Raises InputError for a missing/unreadable file, a repeated column or missing columns.
    A workbook (.xlsx) written by reconcile is read as the plan it holds (workbook_plan)."""
    p = Path(path)
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        from .workbook_plan import read_workbook_plan

        return read_workbook_plan(p, platform)
    if not p.is_file():
        raise InputError(f"{p}: no such plan file.", hint="Run `reconcile match` first to write one.")
    try:
        with open(p, encoding=PLAN_ENCODING, newline="") as fh:
            reader = csv.reader(fh)
            try:
                header = next(reader)
            except StopIteration:
                raise InputError(f"{p}: the plan file is empty.") from None
            name, columns, names = _plan_header(p, header, platform)
            # One column index shared by every row, each row's cells a tuple: a dict per row cost
            # about 0.5 GB more at 1M rows. A repeated (blank) name reads its last cell, as a dict's would.
            index = {h: j for j, h in enumerate(names)}
            width = len(names)
            rows = []
            for i, rec in enumerate(reader, start=2):
                if not any(cell.strip() for cell in rec):
                    continue
                if len(rec) != width:
                    rec = rec[:width] + [""] * (width - len(rec))
                cells = tuple([unescape(c) if c[:1] == "'" else c for c in rec])
                rows.append(RawPlanRow(i, RowFields(index, cells)))
            return PlanText(str(p), name, columns, rows)
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: the plan file is not UTF-8 text (byte {exc.start}).") from None


def _plan_header(p: Path, header: list[str], platform: str | None) -> tuple[str, dict[str, str], list[str]]:
    """(platform, field -> column, each header cell's field name) of a plan's header record;
    InputError for a repeated column or a header that is not a plan's."""
    header = [h.strip() for h in header]
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    if repeated:
        raise InputError(
            f"{p}: the plan's header repeats the column{'s' if len(repeated) > 1 else ''} {', '.join(repeated)}; "
            "which copy counts cannot be told, so remove the extra column."
        )
    name = platform or platform_of_header(header)
    closest = name or max(PLAN_HEADERS, key=lambda n: sum(c in header for c in plan_columns(n).values()))
    missing = [c for f, c in plan_columns(closest).items() if f in REQUIRED and c not in header]
    if name is None or missing:
        raise InputError(
            f"{p}: this is not a reconcile plan (missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)})."
        )
    columns = plan_columns(name)
    field_of = {c: f for f, c in columns.items()}
    return name, columns, [field_of.get(h, h) for h in header]


# Fields whose cells repeat across a plan's rows (a handful of decisions, amounts, statuses):
# read coded, each distinct text once. The others (IDs, sources, times) are read as they are.
_FEW_VALUES = frozenset({"group_id", "decision", "reason", "bonus", "feedback", "category", "flags", "status", "reward",
                         "group_size"})


@dataclass(frozen=True)
class PlanColumns:
    """Some fields of a plain plan CSV as columns (plaincsv), the cells as read_plan gives them.
    Row i is the plan's record i + 2: read_plan_columns reads only files without blank records."""

    path: str
    platform: str
    columns: dict[str, str]  # neutral field -> the file's column name
    rows: int
    cells: Mapping[str, object]  # field -> plaincsv column (object array or Coded); absent fields left out

    def column(self, field: str):
        """The field's column, or None when the plan has no such column (read_plan's cells are "")."""
        return self.cells.get(field)


def _source_file(cells):
    """Each source cell (unescaped, stripped) with its row number as 0: "batch.csv:12" ->
    "batch.csv:0". The check reads only the file a source names (and whether it names a row): a
    million sources then hold a few distinct values."""
    out = []
    for cell in cells.tolist():
        text = (unescape(cell) if cell[:1] == "'" else cell).strip()
        path, sep, row = text.rpartition(":")
        out.append(f"{path}:0" if sep and row.isdigit() else text)
    return out


def read_plan_columns(path: str | os.PathLike, fields: Iterable[str], platform: str | None = None) -> PlanColumns | None:
    """The `fields` of a plan CSV as columns, or None whenever read_plan must read it (anything not
    plain, a header it would refuse, a workbook): the caller then does, so every refusal is read_plan's.
    The cells are read_plan's, except "source": stripped, and its row number read as 0 (_source_file)."""
    from .plaincsv import Coded, Keep, read_columns

    p = Path(path)
    if p.suffix.lower() in (".xlsx", ".xlsm") or not p.is_file():
        return None
    wanted = tuple(fields)
    found: dict[str, object] = {}

    def pick(header: list[str]) -> dict[int, Keep] | None:
        try:
            name, columns, names = _plan_header(p, header, platform)
        except InputError:
            return None
        found["name"], found["columns"] = name, columns
        index = {h: j for j, h in enumerate(names)}  # a repeated (blank) name: its last cell, as read_plan
        found["at"] = at = {f: index[f] for f in wanted if f in index}
        return {j: _source_file if f == "source" else f in _FEW_VALUES for f, j in at.items()}

    plain = read_columns(p, pick, sniff_delimiter=False, what=f"reading {p.name}")
    if plain is None:
        return None
    at: dict[str, int] = found["at"]  # type: ignore[assignment]
    cells: dict[str, object] = {}
    for f, j in at.items():
        col = plain.columns[j]
        if f == "source":
            cells[f] = col  # unescaped and stripped by _source_file
        elif isinstance(col, Coded):
            cells[f] = Coded(col.codes, [unescape(v) if v[:1] == "'" else v for v in col.values])
        else:
            for i in [i for i, v in enumerate(col) if v[:1] == "'"]:
                col[i] = unescape(col[i])
            cells[f] = col
    return PlanColumns(str(p), found["name"], found["columns"], plain.rows, cells)  # type: ignore[arg-type]


def read_plan_rows(path: str | os.PathLike) -> list[RawPlanRow]:
    """The rows of a plan file, in the core's words (see read_plan)."""
    return read_plan(path).rows


def plan_digest(rows: Iterable[Mapping[str, str]]) -> str:
    """A content hash of what the plan would *do*: every field that reaches an API call or decides
    which submission one names (submission, participant, group, decision, bonus, feedback).
    (The same hash as before the fields had neutral names: the same values in the same order.)

    Independent of row order and of columns that are only for people (detail, flags), so that
    re-sorting whole rows in Excel does not count as an edit, but changing any decision does, and so
    does sorting one column on its own (which moves groups or participants between rows).
    """
    return _digest_of_keys(
        _digest_key(r.get("submission_id", ""), r.get("decision", ""), r.get("bonus", ""), r.get("feedback", ""),
                    r.get("participant_id", ""), r.get("group_id", ""), r.get("category", ""))
        for r in rows
    )


def _digest_key(submission_id: str, decision: str, bonus: str, feedback: str, participant_id: str, group_id: str,
                category: str) -> tuple[str, ...]:
    """One row's part of plan_digest, from its text cells."""
    key = (submission_id.strip(), decision.strip().lower(), bonus.strip(), feedback.strip(), participant_id.strip(),
           group_id.strip())
    category = category.strip()
    # (a category is part of what a reject sends; plans without one hash as they always did)
    return key + (category,) if category else key


def _digest_of_keys(keys: Iterable[tuple[str, ...]]) -> str:
    keyed = sorted(keys)
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
        f"--plan {p} holds edits (decisions, bonuses, feedback or categories) that neither `match` wrote nor a dry run "
        "showed; rename it to keep them, or pass --force to overwrite them."
    )
