"""The dry run's authority for Prolific plans: the submissions exports the plan came from.

An export (named by the plan's `source` column as FILE:ROW, or given with --batch) says which
submissions exist, whose they are, their status and (when it has the column) their study: the plan's
copies are for people and may be stale or edited. Rows listed through the API have no file; the
payout reads those with the payer's status call before any money moves (engine.verify_unchecked).
A file vouches for a submission when it confirms the participant and does not contradict the study
(exports often have no study column; bonuses are set up by submission ID, which Prolific refuses for
any other study, so a wrong study cannot redirect money).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ...errors import InputError
from ...models import SourceRef, Submission
from ...planfile import PlanText
from ...platform import Verification
from .api import API_SOURCE_PREFIX
from .export_csv import read_prolific_csv


@dataclass
class ReadExport:
    """One export as the verifier uses it: its submissions by ID (opaque to the core)."""

    path: str
    index: dict[str, Submission] = field(default_factory=dict)

    @property
    def records(self) -> tuple[Submission, ...]:  # payment._plan_for_report counts these
        return tuple(self.index.values())


def read_export(path: str | Path) -> ReadExport:
    data = read_prolific_csv([str(path)])
    out = ReadExport(str(path))
    for s in data.submissions:
        out.index.setdefault(s.submission_id, s)
    return out


def _resolve(path_text: str, plan_dir: Path) -> Path | None:
    """An export path as recorded by `match` (relative to where it ran, or absolute); also tried
    beside the plan, since plans travel in one folder with their exports."""
    p = Path(path_text)
    for cand in (p, plan_dir / p, plan_dir / p.name):
        if cand.is_file():
            return cand
    return None


class ExportVerifier:
    """platform.PlanVerifier for Prolific."""

    def verify(self, plan: PlanText, files: Sequence[str] = ()) -> Verification:
        problems: list[str] = []
        exports, by_line = self._load(plan, files, problems)
        truths: dict[int, dict[str, str]] = {}
        vouched: set[str] = set()
        file_of: dict[str, str] = {}
        col = plan.column
        prefix = API_SOURCE_PREFIX
        for raw in plan.rows:
            c = raw.cells
            line = raw.line
            sid = c.get("submission_id", "").strip()
            participant = c.get("participant_id", "").strip()
            study = c.get("group_id", "").strip()
            export = by_line.get(line)
            if export is None:
                if sid and c.get("source", "").strip().startswith(prefix):
                    holder = next((e for e in exports if sid in e.index), None)
                    if holder is not None:
                        problems.append(
                            f"line {line}, column {col('source')}: submission {sid} is in export {holder.path}, so it was not "
                            f"listed through the API; restore the source {holder.index[sid].source}"
                        )
                continue
            sub = export.index.get(sid)
            if sub is None:
                if sid:
                    problems.append(f"line {line}, column {col('submission_id')}: submission {sid} is not in export {export.path}")
                continue
            file_of[sid] = export.path
            if sub.participant_id and participant and participant != sub.participant_id:
                problems.append(f"line {line}, column {col('participant_id')}: {participant!r} is not the participant of "
                                f"submission {sid} ({export.path} says {sub.participant_id})")
            elif sub.group_id and study and study != sub.group_id:
                problems.append(f"line {line}, column {col('group_id')}: {study!r} is not the study of submission {sid} "
                                f"({export.path} says {sub.group_id})")
            elif sub.participant_id and participant:
                vouched.add(sid)
            truth = {"status": sub.status.strip()}
            if sub.group_id:
                truth["group_id"] = sub.group_id
            truths[line] = truth
        return Verification(truths, frozenset(vouched), tuple(exports), file_of, tuple(problems))

    @staticmethod
    def _load(plan: PlanText, files: Sequence[str], problems: list[str]) -> tuple[list[ReadExport], dict[int, ReadExport | None]]:
        """The exports, and for each plan line the export its submission must be in (None: not checkable)."""
        exports: list[ReadExport] = []
        by_line: dict[int, ReadExport | None] = {}
        col = plan.column
        if files:
            for path in files:
                try:
                    exports.append(read_export(path))
                except InputError as exc:
                    problems.append(f"--batch {exc}")
            for r in plan.rows:
                sid = r.cells.get("submission_id", "").strip()
                by_line[r.line] = next((e for e in exports if sid in e.index), None)
                if sid and by_line[r.line] is None and len(exports) == len(files):
                    problems.append(f"line {r.line}, column {col('submission_id')}: submission {sid} is not in any --batch export")
            return exports, by_line

        plan_dir = Path(plan.path).parent
        prefix = API_SOURCE_PREFIX
        loaded: dict[str, ReadExport | None] = {}
        missing: dict[str, list[int]] = {}
        for r in plan.rows:
            text = r.cells.get("source", "").strip()
            if text.startswith(prefix):
                by_line[r.line] = None
                continue
            try:
                ref = SourceRef.parse(text)
            except ValueError:
                problems.append(
                    f"line {r.line}, column {col('source')}: {text!r} does not name an export file and row (like export.csv:12); "
                    "restore it or pass --batch FILE"
                )
                by_line[r.line] = None
                continue
            if ref.path not in loaded:
                found = _resolve(ref.path, plan_dir)
                export = None
                if found is not None:
                    try:
                        export = read_export(found)
                        exports.append(export)
                    except InputError as exc:
                        problems.append(f"line {r.line}, column {col('source')}: {exc}")
                else:
                    missing[ref.path] = []
                loaded[ref.path] = export
            if ref.path in missing:
                missing[ref.path].append(r.line)
            by_line[r.line] = loaded[ref.path]
        for path_text, lines in missing.items():
            problems.append(
                f"line {lines[0]}, column {col('source')}: export {path_text!r} (named on {len(lines)} line"
                f"{'s' if len(lines) != 1 else ''}) was not found; pass --batch FILE with its current location"
            )
        return exports, by_line
