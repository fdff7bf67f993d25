"""The workbook's Rejection category column: on a Prolific workbook (whose rejects need one of Prolific's
12 categories) an editable dropdown after Feedback, read back by `reconcile pay report.xlsx` into the
plan's category, part of the digest (an unedited workbook is its plan CSV; an edited category is an
edit), and sent with the reject by `--execute`. An MTurk workbook has no such column.

Everything runs the real commands on the sample Prolific study; the workbook is edited with openpyxl
as Excel would save it, and the payout goes to the Prolific emulator through a pass-through recorder
(the emulator checks that a reject carries a valid category but keeps no record of which one)."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest

from conftest import SAMPLE_DATA, run_cli
from prolific_helpers import prolific_audit, prolific_state, start_prolific_process, stop_prolific_process
from prolific_pay_support import TOKEN, cli
from reconcile.planfile import plan_digest, read_plan
from reconcile.platforms.mturk import PLATFORM as MTURK
from reconcile.platforms.prolific import REJECTION_CATEGORIES
from reconcile.report import IDENTITY_SHEET, submission_columns

PROLIFIC = SAMPLE_DATA / "prolific"
STUDY = "6a1f00c0ffee5eed0b57d1e5"
EXPORT = f"prolific_export_{STUDY}.csv"
SHEET = "Submissions"
CATEGORY = "Rejection category"
FEEDBACK = ("We could not find any completion code for your submission: the study asked you to paste the code "
            "shown at the end of the survey into Prolific, and this was not done.")
assert len(FEEDBACK) >= 100
RULES = f'[reject.no_code]\nfeedback = "{FEEDBACK}"\ncategory = "no_code"\n'


def match(d: Path, *extra: str) -> None:
    for name in ("qualtrics_export.csv", EXPORT):
        shutil.copy(PROLIFIC / name, d / name)
    m = run_cli("match", "--qualtrics", "qualtrics_export.csv", "--prolific", EXPORT,
                "--completion-code", "C7Q2M4PK", "--completion-code", "CFAIL9X2", *extra, cwd=d)
    assert m.returncode == 0, m.stderr


class Sheet:
    """The sheet of submissions opened for editing, columns by their titles."""

    def __init__(self, path: Path, name: str = SHEET):
        self.path = path
        self.wb = openpyxl.load_workbook(path)
        self.ws = self.wb[name]
        self.titles = [c.value for c in self.ws[1]]
        self.col = {t: j + 1 for j, t in enumerate(self.titles)}

    def rows_where(self, title: str, value) -> list[int]:
        return [r for r in range(2, self.ws.max_row + 1) if self.ws.cell(r, self.col[title]).value == value]

    def get(self, r: int, title: str):
        return self.ws.cell(r, self.col[title]).value

    def set(self, r: int, title: str, value) -> None:
        self.ws.cell(r, self.col[title]).value = value

    def ref(self, r: int, title: str) -> str:
        return f"{self.ws.title}!{self.ws.cell(r, self.col[title]).column_letter}{r}"

    def save(self) -> None:
        self.wb.save(self.path)


def identity(path: Path) -> dict[str, list]:
    """The hidden sheet's metadata rows, key -> values."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = [list(r) for r in wb[IDENTITY_SHEET].iter_rows(values_only=True)]
    finally:
        wb.close()
    return {r[0]: [v for v in r[1:] if v is not None] for r in rows if r and r[0] and any(v is not None for v in r[1:])}


def csv_digest(path: Path) -> str:
    return plan_digest(r.cells for r in read_plan(path).rows)


# ---------------------------------------------------------------- the column as written


def test_a_prolific_workbook_has_an_editable_category_dropdown_after_feedback(tmp_path):
    match(tmp_path)
    sheet = Sheet(tmp_path / "reconcile-report.xlsx")
    assert sheet.titles[sheet.titles.index("Feedback") + 1] == CATEGORY
    letter = sheet.ws.cell(1, sheet.col[CATEGORY]).column_letter
    [rule] = [v for v in sheet.ws.data_validations.dataValidation if str(v.sqref).startswith(letter)]
    assert rule.type == "list" and rule.allowBlank
    assert rule.formula1.strip('"').split(",") == list(REJECTION_CATEGORIES)
    assert str(rule.sqref) == f"{letter}2:{letter}{sheet.ws.max_row}"  # every submission's row
    # Marked editable like Decision (the header's green), not grey like the read-only columns.
    header_fill = sheet.ws.cell(1, sheet.col[CATEGORY]).fill.fgColor.rgb
    assert header_fill == sheet.ws.cell(1, sheet.col["Decision"]).fill.fgColor.rgb != sheet.ws.cell(1, sheet.col["Reason"]).fill.fgColor.rgb
    assert sheet.ws.cell(2, sheet.col[CATEGORY]).fill.fgColor.rgb != sheet.ws.cell(2, sheet.col["Reason"]).fill.fgColor.rgb
    # No reject in this plan, so no category anywhere.
    assert {sheet.get(r, CATEGORY) for r in range(2, sheet.ws.max_row + 1)} == {None}


def test_an_unedited_prolific_workbook_is_its_plan_csv_with_its_categories(tmp_path):
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    match(tmp_path, "--rules", "rules.toml")
    book = tmp_path / "reconcile-report.xlsx"
    sheet = Sheet(book)
    rejects = sheet.rows_where("Decision", "reject")
    assert len(rejects) == 2 and {sheet.get(r, CATEGORY) for r in rejects} == {"NO_CODE"}
    plan = read_plan(tmp_path / "reconcile-plan.csv")
    assert sorted(r.cells["category"] for r in plan.rows if r.cells["decision"] == "reject") == ["NO_CODE", "NO_CODE"]
    # The digest the workbook carries is the plan CSV's (its categories included), and pay sees no edit.
    assert identity(book)["digest"] == [csv_digest(tmp_path / "reconcile-plan.csv")]
    dry = run_cli("pay", "reconcile-report.xlsx", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "edited" not in dry.stdout + dry.stderr
    assert re.search(r"^ +reject +2\b", dry.stdout, re.M), dry.stdout
    # Changing a category (and only that) is an edit, shown as one.
    sheet.set(rejects[0], CATEGORY, "BAD_CODE")
    sheet.save()
    edited = run_cli("pay", "reconcile-report.xlsx", cwd=tmp_path)
    assert edited.returncode == 0, edited.stderr
    said = edited.stdout + edited.stderr
    assert "edited since reconcile wrote this workbook, 1 row(s)" in said and "category NO_CODE -> BAD_CODE" in said, said


# ---------------------------------------------------------------- decided in the workbook, paid on Prolific


class Recorder:
    """A pass-through HTTP proxy on 127.0.0.1 that forwards every request to the emulator unchanged and
    keeps (method, path, JSON body) of each: what reconcile really sent, read after the run."""

    def __init__(self, target: str):
        self.target = urlsplit(target)
        self.sent: list[tuple[str, str, object]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if body:
                    try:
                        recorder.sent.append((self.command, self.path, json.loads(body)))
                    except ValueError:
                        recorder.sent.append((self.command, self.path, body))
                else:
                    recorder.sent.append((self.command, self.path, None))
                conn = http.client.HTTPConnection(recorder.target.hostname, recorder.target.port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    self.send_response(answer.status)
                    for k, v in answer.getheaders():
                        if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Recorder":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def decided(tmp_path):
    """The sample study matched; two review rows with reason no_code set to reject in the workbook
    with 100+ characters of feedback, the first with category NO_CODE, the second with none."""
    match(tmp_path)
    sheet = Sheet(tmp_path / "reconcile-report.xlsx")
    first, second = sheet.rows_where("Reason", "no_code")
    for r in (first, second):
        assert sheet.get(r, "Decision") == "review" and sheet.get(r, CATEGORY) is None
        sheet.set(r, "Decision", "reject")
        sheet.set(r, "Feedback", FEEDBACK)
    sheet.set(first, CATEGORY, "NO_CODE")
    sheet.save()
    return tmp_path, sheet, first, second


def test_a_reject_decided_in_the_workbook_takes_its_category_to_prolific(decided):
    d, sheet, first, second = decided
    # The dry run refuses the reject without a category, naming its cell, and only that one.
    bad = run_cli("pay", "reconcile-report.xlsx", cwd=d)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, (bad.stdout, bad.stderr)
    assert f"{sheet.ref(second, CATEGORY)}: a reject needs one of Prolific's rejection categories" in bad.stderr, bad.stderr
    assert sheet.ref(first, CATEGORY) not in bad.stderr and "1 problem" in bad.stderr, bad.stderr

    # Decided later: the second back to review. The first is accepted, its category listed as an edit.
    sheet.set(second, "Decision", "review")
    sheet.set(second, "Feedback", None)
    sheet.save()
    dry = run_cli("pay", "reconcile-report.xlsx", cwd=d)
    assert dry.returncode == 0, dry.stderr
    said = dry.stdout + dry.stderr
    assert "category (none) -> NO_CODE" in said and "decision review -> reject" in said, said
    assert "edited since reconcile wrote this workbook, 1 row(s)" in said, said

    rejected = sheet.get(first, "Submission ID")
    kept = sheet.get(second, "Submission ID")
    url, proc = start_prolific_process("--export", str(d / EXPORT), "--study-id", STUDY, "--token", TOKEN, "--port", "0")
    try:
        with Recorder(url) as recorder:
            paid = cli("pay", "reconcile-report.xlsx", "--execute", "--yes", "--endpoint-url", recorder.url, cwd=d)
        assert paid.returncode == 0, (paid.stdout, paid.stderr)
        state = prolific_state(url)["submissions"]
        assert state[rejected]["status"] == "REJECTED"
        assert state[kept]["status"] == "AWAITING REVIEW"
        transitions = [(path, body) for method, path, body in recorder.sent if method == "POST" and path.rstrip("/").endswith("/transition")]
        assert transitions == [(f"/api/v1/submissions/{rejected}/transition/",
                                {"action": "REJECT", "message": FEEDBACK, "rejection_category": "NO_CODE"})], transitions
        assert not [e for e in prolific_audit(url) if e["kind"] == "bonus_payout"]  # no bonus in this plan
    finally:
        stop_prolific_process(proc)


# ---------------------------------------------------------------- MTurk: unchanged


def test_an_mturk_workbook_has_no_category_column(tmp_path):
    for name in ("qualtrics_export.csv", "mturk_batch_results.csv"):
        shutil.copy(SAMPLE_DATA / name, tmp_path / name)
    m = run_cli("match", "--qualtrics", "qualtrics_export.csv", "--mturk", "mturk_batch_results.csv", cwd=tmp_path)
    assert m.returncode == 0, m.stderr
    sheet = Sheet(tmp_path / "reconcile-report.xlsx", "Assignments")
    assert tuple(sheet.titles) == submission_columns(MTURK.words) and CATEGORY not in sheet.titles
    assert len(sheet.ws.data_validations.dataValidation) == 2  # Decision and Bonus only
    meta = identity(tmp_path / "reconcile-report.xlsx")
    assert meta["format"] == ["reconcile-workbook-plan/1"] and "fields" not in meta
    assert meta["digest"] == [csv_digest(tmp_path / "reconcile-plan.csv")]
