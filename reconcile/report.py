"""The PI's workbook: one .xlsx a person can read cold, in the platform's words.

Sheets: Summary (inputs, counts, money, warnings), one row per submission (coloured by decision),
Responses without a submission, Flags. Written atomically: a failed write leaves no half-written
workbook.

The workbook is also an editable plan (`reconcile pay reconcile-report.xlsx`, read by workbook_plan):
on the sheet of submissions, Decision (a dropdown), Bonus (a number with 2 decimals) and Feedback are
the cells to edit, and Rejection category (a dropdown) where the platform takes one with a reject
(Prolific; an MTurk workbook has no such column); every other column has a grey fill (read-only for
people; the dry run ignores edits there or refuses them). A hidden sheet (IDENTITY_SHEET) carries the
plan as written: its digest, and each submission's decision, bonus, feedback (and category), so an
edited workbook is recognized as edited, its changes can be listed, and a deleted row is noticed.

Why not openpyxl here: even in write-only (streaming) mode openpyxl serializes each cell through
an element tree, about 30 microseconds a cell without lxml, so 100k submissions (1.5M cells) took
~40 s. The sheets we write are simple (text, numbers, eight styles, a frozen header, a filter), so
we stream the SpreadsheetML ourselves: the same streaming idea, a few seconds for 100k rows, and
no third-party import at all. Tests read every workbook back with openpyxl.

Every identifier and code is written as a text cell (inline string): Excel would otherwise show
"597423122" as a number, turn long codes into 5.97E+08 and drop leading zeros, which is exactly
the damage the importers warn about. Inline strings are never formulas, so text a participant typed
("=HYPERLINK(...)") stays text.
"""

from __future__ import annotations

import operator
import re
from itertools import repeat
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from operator import add, is_not, itemgetter, mul
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .errors import InputError
from .iothread import write_behind
from .models import DECISIONS, Plan, PlanRow
from .money import AmountError, format_amount, parse_amount
from .platform import Platform, Words

FLAGS_SHEET = "Flags"
SUMMARY_SHEET = "Summary"
_SYMBOLS = {"USD": "$", "GBP": "\u00a3", "EUR": "\u20ac"}


def submissions_sheet(words: Words) -> str:
    return words.submissions[:1].upper() + words.submissions[1:]


def responses_sheet(words: Words) -> str:
    return f"Responses without {words.a_submission or 'a ' + words.submission}"[:31]  # 31 characters: Excel's limit


# The plan field of each column of the sheet of submissions (same order as submission_columns).
SUBMISSION_FIELDS = ("decision", "reason", "detail", "code", "participant_id", "submission_id", "group_id", "response_id",
                     "bonus", "feedback", "status", "reward", "review_deadline", "flags", "source")
EDITABLE_FIELDS = ("decision", "bonus", "feedback", "category")
CATEGORY_TITLE = "Rejection category"  # the column of a platform whose rejects carry a category (after Feedback)

# The hidden sheet that makes the workbook a plan: metadata rows (key, value), a blank row, then one
# row per submission as written. Its name and keys are a file format: change them only with a new FORMAT.
IDENTITY_SHEET = "reconcile plan"
IDENTITY_FORMAT = "reconcile-workbook-plan/1"
IDENTITY_FIELDS = ("submission_id", "participant_id", "group_id", "decision", "bonus", "feedback", "group_size")
# A workbook whose sheet has other fields than SUBMISSION_FIELDS (a Rejection category column) names
# them on a "fields" row and adds "category" after IDENTITY_FIELDS: a new format, so a reader that
# knows only /1 refuses it rather than reading its columns under the wrong fields.
IDENTITY_FORMAT_FIELDS = "reconcile-workbook-plan/2"


def submission_fields(platform: Platform) -> tuple[str, ...]:
    """The plan field of each column of the platform's sheet of submissions, in order: SUBMISSION_FIELDS,
    with "category" after "feedback" where a reject takes a category (so MTurk's sheet stays as it was)."""
    if not platform.capabilities.reject_categories:
        return SUBMISSION_FIELDS
    at = SUBMISSION_FIELDS.index("feedback") + 1
    return SUBMISSION_FIELDS[:at] + ("category",) + SUBMISSION_FIELDS[at:]


def _with_category(fields: Sequence[str], values: Sequence, category) -> tuple:
    """`values` (in SUBMISSION_FIELDS order) with `category` at its place when `fields` has one."""
    if "category" not in fields:
        return tuple(values)
    at = SUBMISSION_FIELDS.index("feedback") + 1
    return (*values[:at], category, *values[at:])


def submission_columns(words: Words, fields: Sequence[str] = SUBMISSION_FIELDS) -> tuple[str, ...]:
    """The titles of the sheet of submissions, one per field of `fields` (SUBMISSION_FIELDS or submission_fields())."""
    titles = ("Decision", "Reason", "Detail", "Code", f"{words.participant_label} ID", f"{words.submission_label} ID",
              f"{words.group} ID", "Matched response", "Bonus", "Feedback", "Status", "Reward", words.deadline_column, "Flags", "Source")
    return _with_category(fields, titles, CATEGORY_TITLE)


def response_columns(words: Words) -> tuple[str, ...]:
    return ("Outcome", "Reason", "Detail", "Response ID", "Code", f"{words.participant_label} ID", f"{words.submission_label} ID", "Source")


def flag_columns(words: Words) -> tuple[str, ...]:
    return ("Flag", "Decision", "Reason", "Detail", f"{words.submission_label} ID", f"{words.participant_label} ID", "Code",
            "Matched response", "Source")


def currency_format(currency: str) -> str:
    symbol = _SYMBOLS.get(currency.upper())
    return f'"{symbol}"#,##0.00' if symbol else f'#,##0.00" {currency.upper()}"'
DECISION_COLOURS = {  # light fills that keep black text readable
    "approve": "C6EFCE",
    "reject": "FFC7CE",
    "review": "FFEB9C",
    "skip": "D9D9D9",
}
FLAG_COLOUR = "FCE4D6"
HEADER_COLOUR = "DDEBF7"
EDIT_HEADER_COLOUR = "E2EFDA"  # the headers of the columns a person edits
READ_ONLY_COLOUR = "F2F2F2"  # every other cell of the sheet of submissions
_MAX_WIDTH = {"Detail": 70, "Feedback": 50}
_WIDTH_SAMPLE = 2000  # rows looked at to size columns

# cellXfs indices in the styles part below
S_DEFAULT, S_BOLD, S_TITLE, S_HEADER, S_MONEY, S_MONEY_BOLD, S_FLAG = 0, 1, 2, 3, 4, 5, 6
S_DECISION = {"approve": 7, "reject": 8, "review": 9, "skip": 10}
S_READ_ONLY, S_READ_ONLY_MONEY, S_EDIT_HEADER = 11, 12, 13
S_READ_ONLY_FLAG = S_FLAG


def write_workbook(path: Path, plan: Plan, *, platform: Platform, dry_run: bool = False, title: str = "",
                   digest: str | None = None) -> None:
    """Write the plan as a workbook at `path`, atomically.

    `dry_run=True` (from `reconcile pay`) says on the Summary sheet that nothing has been done.
    `digest`: the plan's digest when the caller has it (planfile.write_plan_with_digest), else it is computed.
    Raises InputError when the target cannot be written (missing folder, a directory, ...).
    """
    from .atomic import atomic_path

    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{path}: cannot write the workbook, folder {parent} does not exist.")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name like report.xlsx.")

    words = platform.words
    unmatched = [r for r in plan.responses if r.outcome != "matched"]
    flags = flag_entries(plan.rows)
    summary = _summary_rows(plan, platform, path=path, dry_run=dry_run, title=title)
    fields = submission_fields(platform)
    categories = platform.capabilities.reject_categories
    texts: Callable[[PlanRow], Sequence] = _submission_texts
    cells: Callable[[PlanRow], Sequence] = _submission_cells
    if categories:
        texts = lambda r: _with_category(fields, _submission_texts(r), r.category)  # noqa: E731
        cells = lambda r: _with_category(fields, _submission_cells(r), r.category)  # noqa: E731
    tables = [
        _tables(submissions_sheet(words), submission_columns(words, fields), plan.rows, texts, cells,
                styles=_with_category(fields, SUBMISSION_STYLES, S_DEFAULT)),
        _tables(responses_sheet(words), response_columns(words), unmatched, _response_texts, _response_cells),
        _tables(FLAGS_SHEET, flag_columns(words), flags, _flag_texts, _flag_cells),
    ]
    # The workbook is also the plan when its submissions fit one sheet (a split one is for reading only:
    # `reconcile pay` takes the plan CSV of such a study).
    as_plan = len(tables[0]) == 1
    if as_plan:
        tables[0] = [_editable(tables[0][0], fields, categories)]
    split = [[_continued(parts)] for parts in tables if len(parts) > 1]
    if split and summary[-1] == ["none"]:  # the Warnings list had nothing else
        summary.pop()
    summary.extend(split)
    sheets = [_Sheet(SUMMARY_SHEET, 3, len(summary), iter(summary), widths=[34, 18, 90], frozen=False, filtered=False)]
    sheets += [sheet for parts in tables for sheet in parts]
    identity = _identity_sheet(plan, words, fields, digest) if as_plan else None
    if identity is not None:
        sheets.append(identity)
    try:
        with atomic_path(path) as tmp:
            _write_xlsx(tmp, sheets, title=title or "reconcile report", currency=plan.currency)
    except PermissionError:
        raise InputError(f"{path}: permission denied; is the workbook open in Excel?") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot write the workbook ({exc.strerror or exc}).") from None


# ---------------------------------------------------------------- sheet contents
# A cell is None (empty), a str (text), an int/Decimal (number), or (value, style index).


@lru_cache(maxsize=4096)  # a study has a handful of distinct rewards: parsed once each, not once per row
def _amount(text: str) -> Decimal | None:
    try:
        return parse_amount(text) if text and text.strip() else None
    except AmountError:
        return None


def _submission_texts(r: PlanRow) -> tuple[str, ...]:
    return (
        r.decision, r.reason, r.detail, r.code, r.participant_id, r.submission_id, r.group_id, r.response_id,
        "$0.00" if r.bonus is not None else "", r.feedback, r.status, r.reward, r.review_deadline,
        "; ".join(r.flags), r.source,
    )


# The style of each column of the sheet of submissions (SUBMISSION_FIELDS), for the cells
# _submission_cells gives bare: read-only cells carry a grey fill even when empty; the editable ones
# (decision, bonus, feedback) none, and an empty bonus cell is still formatted as money, so an amount
# typed there shows as one. Decision and flags, whose style depends on the value, come as (value, style).
SUBMISSION_STYLES = (S_DEFAULT, S_READ_ONLY, S_READ_ONLY, S_READ_ONLY, S_READ_ONLY, S_READ_ONLY, S_READ_ONLY,
                     S_READ_ONLY, S_MONEY, S_DEFAULT, S_READ_ONLY, S_READ_ONLY_MONEY, S_READ_ONLY, S_DEFAULT, S_READ_ONLY)
_READ_ONLY_TEXTS = operator.attrgetter("reason", "detail", "code", "participant_id", "submission_id", "group_id",
                                       "response_id")


def _submission_cells(r: PlanRow) -> list:
    # Bare values where the column's style is the cell's (SUBMISSION_STYLES): no tuple a cell, a million rows.
    reward = _amount(r.reward)
    flags = r.flags
    return [
        (r.decision, S_DECISION.get(r.decision, S_DEFAULT)), *_READ_ONLY_TEXTS(r),
        "" if r.bonus is None else r.bonus, r.feedback,
        r.status, "" if reward is None else reward, r.review_deadline,
        ("; ".join(flags), S_READ_ONLY_FLAG) if flags else ("", S_READ_ONLY), r.source,
    ]


def _editable(sheet: "_Sheet", fields: Sequence[str] = SUBMISSION_FIELDS, categories: Sequence[str] = ()) -> "_Sheet":
    """The sheet of submissions as an editable plan: a decision dropdown, a bonus of at least 0, a
    dropdown of the platform's rejection categories (blank allowed: only a reject needs one), the
    decision colour following edits, and the editable columns' headers marked."""
    col = {f: _col_letter(i) for i, f in enumerate(fields)}
    last = max(sheet.nrows, 2)
    decisions = f"{col['decision']}2:{col['decision']}{last}"
    bonus = f"{col['bonus']}2:{col['bonus']}{last}"
    sheet.validations = [
        f'<dataValidation type="list" allowBlank="0" showErrorMessage="1" errorTitle="Decision" '
        f'error="Choose one of: {", ".join(DECISIONS)}." sqref="{decisions}"><formula1>"{",".join(DECISIONS)}"</formula1></dataValidation>',
        f'<dataValidation type="decimal" operator="greaterThanOrEqual" allowBlank="1" showErrorMessage="1" errorTitle="Bonus" '
        f'error="A bonus is an amount of 0 or more, with at most 2 decimals (empty: no bonus)." sqref="{bonus}">'
        "<formula1>0</formula1></dataValidation>",
    ]
    if categories and "category" in col:
        # (A list typed in the rule is limited to 255 characters; Prolific's 12 take about 130.)
        category = f"{col['category']}2:{col['category']}{last}"
        sheet.validations.append(
            f'<dataValidation type="list" allowBlank="1" showErrorMessage="1" errorTitle="{CATEGORY_TITLE}" '
            f'error="{_attr("A reject needs one of: " + ", ".join(categories) + " (empty on other rows).")}" '
            f'sqref="{category}"><formula1>"{_attr(",".join(categories))}"</formula1></dataValidation>')
    sheet.colour_rules = [(decisions, d, i) for i, d in enumerate(DECISIONS)]
    sheet.edit_header = [i for i, f in enumerate(fields) if f in EDITABLE_FIELDS]
    return sheet


def _identity_sheet(plan: Plan, words: Words, fields: Sequence[str] = SUBMISSION_FIELDS,
                    digest: str | None = None) -> "_Sheet | None":
    """The hidden sheet that lets `reconcile pay` read this workbook as the plan it was written from."""
    from .planfile import PLAN_HEADERS, rows_digest

    if plan.platform not in PLAN_HEADERS:
        return None
    extra = tuple(f for f in fields if f not in SUBMISSION_FIELDS)  # ("category",) or nothing
    identity_fields = IDENTITY_FIELDS + extra
    meta = [
        ["This hidden sheet is how reconcile recognizes this workbook as a plan and sees what was edited; leave it as it is."],
        ["format", IDENTITY_FORMAT_FIELDS if extra else IDENTITY_FORMAT],
        ["platform", plan.platform],
        ["digest", digest or rows_digest(plan.rows)],
        ["currency", plan.currency],
        ["sheet", submissions_sheet(words)],
        ["columns", *submission_columns(words, fields)],  # the sheet's titles, in the order of `fields`
        *([["fields", *fields]] if extra else []),
        ["words", words.submission, words.participant],  # for the reader's sentences
        [],
        list(identity_fields),
    ]

    # Each row's cells made as its line is written (a dict per row for the whole sheet was ~0.7 GB at 1M rows).

    bonus_at = identity_fields.index("bonus")
    fields_of = operator.attrgetter(*identity_fields)

    def to_cells(row: PlanRow) -> list:
        # plan_row_cells' cells of these fields, without making the other ten: the fields as they are,
        # the bonus as plan_row_cells writes it (tests/test_report_blocks.py checks the two agree).
        cells = list(fields_of(row))
        bonus = cells[bonus_at]
        cells[bonus_at] = "" if bonus is None else format_amount(bonus)
        return cells

    sheet = _Sheet(IDENTITY_SHEET, max(map(len, meta)), len(meta) + len(plan.rows), iter(meta),
                   widths=[16] * max(map(len, meta)), frozen=False, filtered=False, hidden=True)
    sheet.items, sheet.to_cells = plan.rows, to_cells
    return sheet


def _response_texts(r) -> tuple[str, ...]:
    return (r.outcome, r.reason, r.detail, r.response_id, r.code, r.participant_id, r.submission_id, r.source)


_response_cells = _response_texts


def flag_entries(rows: Iterable[PlanRow]) -> list[tuple[str, PlanRow]]:
    """(flag, row) for every flag of every row, plus the reason of each row a person must look at
    (review, reject), so mismatches and duplicates are all on one sheet, filterable by flag."""
    out: list[tuple[str, PlanRow]] = []
    for r in rows:
        if r.decision in ("review", "reject") and (r.reason or r.decision) not in r.flags:
            out.append((r.reason or r.decision, r))
        for f in r.flags:
            out.append((f, r))
    return out


def _flag_texts(e) -> tuple[str, ...]:
    f, r = e
    return (f, r.decision, r.reason, r.detail, r.submission_id, r.participant_id, r.code, r.response_id, r.source)


def _flag_cells(e) -> list:
    f, r = e
    return [
        (f, S_FLAG), (r.decision, S_DECISION.get(r.decision, S_DEFAULT)), r.reason, r.detail, r.submission_id,
        r.participant_id, r.code, r.response_id, r.source,
    ]


def _decision_notes(words: Words) -> dict[str, str]:
    return {
        "approve": f"will be approved (the {words.participant} is paid the reward)",
        "reject": f"will be rejected with the feedback shown to the {words.participant}",
        "review": "left alone until a person decides (set its Decision on this workbook's sheet)",
        "skip": "nothing to do (already approved or rejected)",
    }


def _summary_rows(plan: Plan, platform: Platform, *, path: Path, dry_run: bool, title: str) -> list[list]:
    words = platform.words
    notes = _decision_notes(words)
    rows = plan.rows
    cost = platform.fees.cost(rows)
    decisions = Counter(r.decision for r in rows)
    reasons = Counter((r.reason, r.decision) for r in rows)
    flags = Counter(f for r in rows for f in r.flags)
    outcomes = Counter(r.outcome for r in plan.responses)
    bold = lambda v: (v, S_BOLD)  # noqa: E731

    out: list[list] = [[(title or "Reconcile: the plan for this study", S_TITLE)]]
    out.append(["Written", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), f"as {path.name}"])
    if dry_run:
        out.append([bold("DRY RUN"), None, bold(
            f"Nothing has been done: no {words.submission} was approved or rejected and no bonus was paid. "
            "This workbook shows what `reconcile pay --execute` (or the upload CSV) would do.")])
    else:
        out.append([bold("PLAN"), None,
                    f"Nothing has been done yet. Edit Decision, Bonus and Feedback on the {submissions_sheet(words)} sheet "
                    f"if needed, save, then check it with `reconcile pay {path.name}` (a dry run; the plan CSV works too)."])
    out.append([])

    out.append([bold("Inputs")])
    # In column A with B and C empty, so a long description spills across them when shown/printed.
    out.extend([desc] for desc in (plan.inputs or ("(not recorded)",)))
    out.append([])

    out.append([bold(submissions_sheet(words)), (len(rows), S_BOLD)])
    for d in DECISIONS:
        out.append([d, decisions.get(d, 0), notes[d]])
    for d, n in sorted(decisions.items()):
        if d not in DECISIONS:
            out.append([d, n, "not a known decision: `reconcile pay` will refuse this plan"])
    out.append([])

    out.append([bold("Reason"), bold(submissions_sheet(words)), bold("Decision")])
    for (reason, decision), n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        out.append([reason or "(none)", n, decision])
    out.append([])

    if plan.responses:
        out.append([bold("Qualtrics responses"), (len(plan.responses), S_BOLD)])
        known = ("matched", "unmatched", "excluded")
        for outcome in known:
            out.append([outcome, outcomes.get(outcome, 0)])
        out.extend([o, n] for o, n in sorted(outcomes.items()) if o not in known)
        out.append([])

    unknown = f"; {cost.unknown_rewards} with an unknown reward are not included" if cost.unknown_rewards else ""
    out.append([bold("Money"), bold("Amount"), bold("What it is")])
    out.append(["Rewards owed", (cost.rewards, S_MONEY), f"{cost.approvals_owed} approve row(s) still {words.pending_status}{unknown}"])
    out.append(["Bonuses", (cost.bonuses, S_MONEY), f"{cost.bonus_count} bonus(es)"])
    out.append([words.fees, (cost.fees, S_MONEY), words.fees_explained])
    if cost.tax:
        out.append(["Tax", (cost.tax, S_MONEY), "on the fees"])
    if cost.rewards_prefunded:
        out.append([bold("Total cost"), (cost.total, S_MONEY_BOLD),
                    "rewards and their fees were funded when the work was published; paying draws the rest"])
        out.append(["Drawn when paying", (cost.drawn, S_MONEY), f"what the {words.account} must still hold: bonuses and their fees"])
    else:
        out.append([bold("Total cost"), (cost.total, S_MONEY_BOLD), f"what the {words.account} must hold before paying"])
    out.append([])

    out.append([bold("Warnings")])
    warnings = list(plan.warnings)
    for f, n in sorted(flags.items(), key=lambda kv: (-kv[1], kv[0])):
        warnings.append(f"{n} {words.submission}(s) flagged {f} (see the {FLAGS_SHEET} sheet)")
    if decisions.get("review"):
        warnings.append(f"{decisions['review']} {words.submission}(s) need a person: set their Decision on the {submissions_sheet(words)} sheet")
    out.extend([w] for w in (warnings or ["none"]))
    return out


# ---------------------------------------------------------------- the SpreadsheetML writer


class _Sheet:
    def __init__(self, name, ncols, nrows, rows, *, widths, frozen=True, filtered=True, hidden=False):
        self.name, self.ncols, self.nrows, self.rows = name, ncols, nrows, rows
        self.widths, self.frozen, self.filtered, self.hidden = widths, frozen, filtered, hidden
        self.validations: list[str] = []  # <dataValidation> elements
        self.colour_rules: list[tuple[str, str, int]] = []  # (range, value, dxf index): fill the cell when it equals value
        self.edit_header: list[int] = []  # header cells of the columns a person edits
        self.styles: list[int] = []  # each column's style for a bare value (a (value, style) cell names its own)
        # Rows after `rows`, written a block of rows at a time (_block_xml): the items and each one's cells.
        self.items: Sequence = ()
        self.to_cells: Callable | None = None


def _table(name: str, columns: Sequence[str], items: Sequence, to_text, to_cells, styles: Sequence[int] = ()) -> _Sheet:
    widths = [len(c) + 2 for c in columns]
    for i in range(min(len(items), _WIDTH_SAMPLE)):
        for j, v in enumerate(to_text(items[i])):
            if v and len(v) > widths[j]:
                widths[j] = len(v)
    widths = [max(8, min(_MAX_WIDTH.get(c, 40), w + 1)) for c, w in zip(columns, widths)]

    sheet = _Sheet(name, len(columns), len(items) + 1, iter(()), widths=widths)
    sheet.styles = list(styles)

    def rows() -> Iterator[list]:
        yield [(c, S_EDIT_HEADER if j in sheet.edit_header else S_HEADER) for j, c in enumerate(columns)]

    sheet.rows = rows()
    sheet.items, sheet.to_cells = items, to_cells
    return sheet


EXCEL_MAX_ROWS = 1_048_576  # rows in one sheet; Excel refuses a file with more (header row included)


def _tables(name: str, columns: Sequence[str], items: Sequence, to_text, to_cells, *,
            styles: Sequence[int] = ()) -> list[_Sheet]:
    """`_table`, split into sheets of at most EXCEL_MAX_ROWS rows (each with the header) past
    Excel's limit: "Flags", "Flags (2)", ... A longer sheet is never written: Excel refuses it."""
    per = EXCEL_MAX_ROWS - 1
    if len(items) <= per:
        return [_table(name, columns, items, to_text, to_cells, styles)]
    return [
        _table(name if k == 0 else f"{name[:25]} ({k + 1})", columns, items[k * per:(k + 1) * per], to_text, to_cells,
               styles)
        for k in range((len(items) + per - 1) // per)
    ]


def _continued(parts: list[_Sheet]) -> str:
    rows = sum(p.nrows - 1 for p in parts)
    return (f"The {parts[0].name} sheet has {rows:,} rows, more than Excel allows in one sheet, so it continues on "
            f"{', '.join(p.name for p in parts[1:])}.")


def _col_letter(i: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


_NEEDS_ESCAPE = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(s: str) -> str:
    if len(s) > 32767:  # Excel's cell limit
        s = s[:32767]
    if _NEEDS_ESCAPE.search(s):
        s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        s = s.replace("\r\n", "\n").replace("\r", "\n")
        s = _XML_ILLEGAL.sub("\ufffd", s)
    return s


def _number(v) -> str:
    return format(v, "f") if isinstance(v, Decimal) else str(v)


class _StyleAttrs(dict):
    """style index -> its ' s="N"' attribute ("" for the default style), made once per style."""

    def __missing__(self, style: int) -> str:
        got = self[style] = f' s="{style}"' if style else ""
        return got


_MEMO_CELLS = 4096  # distinct texts remembered per column of a sheet


class _CellTails:
    """What follows a cell's row number in its XML (its "tail"), the definition for any cell: None
    (no cell), a text, a number, or (value, style); "" when the cell is not written at all."""

    def __init__(self, s_attrs: dict[int, str]):
        self.s_attrs = s_attrs

    def tail(self, cell, column_attr: str) -> str:
        if type(cell) is tuple:
            v, style = cell
            s_attr = self.s_attrs[style]
        elif cell is None:
            return ""
        else:
            v = cell
            s_attr = column_attr
        if isinstance(v, str):
            if not v:  # an empty cell that still shows its kind (read-only fill, money format), else none
                return f"{s_attr}/>" if s_attr else ""
            if v.isalnum() and len(v) <= 32767:  # most IDs and codes: nothing to escape, no space at an end
                return f'{s_attr} t="inlineStr"><is><t>{v}</t></is></c>'
            t = _xml_text(v) if len(v) > 32767 or _NEEDS_ESCAPE.search(v) else v
            if t[0] in _ENDS or t[-1] in _ENDS:
                return f'{s_attr} t="inlineStr"><is><t xml:space="preserve">{t}</t></is></c>'
            return f'{s_attr} t="inlineStr"><is><t>{t}</t></is></c>'
        return f"{s_attr}><v>{_number(v)}</v></c>"


_ENDS = " \t\n"
_BLOCK_ROWS = 2000  # rows written at once by _block_xml
# A text cell is "plain" when it has no character to escape, no space, tab or newline at either end and
# at most 32,767 characters: it is then its column's opening, the row number, the text and the same
# closing. A column's texts are joined by DEL (legal in XML, never escaped: the join adds no match) so
# that one search looks for characters to escape in the whole column.
_JOIN = "\x7f"


class _ColumnTails(dict):
    """A column's tails by cell, for cells that are texts or (text, style): made once per distinct cell,
    remembering at most _MEMO_CELLS of them (a column of distinct texts is then made cell by cell)."""

    def __init__(self, tails: _CellTails, column_attr: str):
        super().__init__()
        self.tail, self.column_attr = tails.tail, column_attr

    def __missing__(self, cell) -> str:
        got = self.tail(cell, self.column_attr)
        if len(self) < _MEMO_CELLS:
            self[cell] = got
        return got


def _unusual(column: Sequence[str]) -> list[int]:
    """The rows of a column of texts whose cell is not the plain case (see _JOIN) though not empty: too
    long, with a character to escape or a space, tab or newline at an end (each tested on the whole
    column first)."""
    bad: list[int] = []
    if max(map(len, column)) > 32767:
        bad += [i for i, v in enumerate(column) if len(v) > 32767]
    if _NEEDS_ESCAPE.search(_JOIN.join(column)) is not None:
        bad += [i for i, m in enumerate(map(_NEEDS_ESCAPE.search, column)) if m is not None]
    stripped = list(map(str.strip, column, repeat(_ENDS)))  # the same str where nothing is stripped
    if any(map(is_not, column, stripped)):
        bad += [i for i, (v, w) in enumerate(zip(column, stripped)) if v is not w]
    return sorted(set(bad)) if len(bad) > 1 else bad


_CLOSE_TEXT, _CLOSE_NUMBER = "</t></is></c>", "</v></c>"


def _block_xml(first: int, block: list, opens: Sequence[str], column_attrs: Sequence[str], tails: _CellTails,
               column_tails: dict | None = None) -> str:
    """The XML of rows numbered from `first`, one list of cells each, as the cell-by-cell writer of
    _sheet_xml writes them, made column by column: each column gives the pieces of its cells (C-level
    maps: no string is made per cell where a column's cells are plain texts, repeated texts or
    decimals) and the rows are joined in one go. Any other cell is made by _CellTails."""
    n = len(block)
    if not n:
        return ""
    width = len(block[0])
    if n > 1 and set(map(len, block)) != {width}:  # rows of other widths: each by itself
        return "".join(_block_xml(first + i, [cells], opens, column_attrs, tails) for i, cells in enumerate(block))
    if column_tails is None:
        column_tails = {}
    rns = list(map(str, range(first, first + n)))
    # Each row is the same sequence of pieces: a text where it is the same on every row of the block
    # (an opening, a closing), a list of one item a row elsewhere.
    pieces: list = ['<row r="', rns, '">']
    for j, column in enumerate(zip(*block)):
        attr = column_attrs[j]
        kinds = set(map(type, column))
        omitted: list[int] = []  # cells not written at all: nor their opening and row number
        mids: Any  # each piece: one text for every row, or a list of one a row
        texts: Any
        closes: Any
        if kinds == {str}:
            bad = _unusual(column)
            mids, texts, closes = f'"{attr} t="inlineStr"><is><t>', column, _CLOSE_TEXT
        elif kinds == {Decimal} or kinds == {Decimal, str}:  # amounts, and "" where there is none
            mids, closes = f'"{attr}><v>', _CLOSE_NUMBER
            if len(kinds) == 1:
                bad, texts = [], list(map(format, column, repeat("f")))
            else:
                bad = [i for i, v in enumerate(column) if type(v) is str and v != ""]
                texts = [v if type(v) is str else format(v, "f") for v in column]
        if kinds == {str} or kinds == {Decimal} or kinds == {Decimal, str}:
            # (texts, not the cells: a decimal compared with "" asks the numbers ABCs, ~0.5 us a cell)
            if "" in texts:  # what _CellTails makes of "": a cell with its style and no value, or none at all
                empty = f'"{attr}/>' if attr else ""
                mids = [mids if t else empty for t in texts]
                closes = [closes if t else "" for t in texts]
                if not attr:
                    omitted = [i for i, t in enumerate(texts) if not t]
            if bad:
                mids = [mids] * n if isinstance(mids, str) else mids
                closes = [closes] * n if isinstance(closes, str) else closes
                texts = list(texts)
                for i in bad:
                    tail = tails.tail(column[i], attr)
                    mids[i], texts[i], closes[i] = '"' + tail if tail else "", "", ""
                    if not tail:
                        omitted.append(i)
        else:
            if kinds == {tuple} and set(map(len, column)) == {2} and set(map(type, map(itemgetter(0), column))) == {str}:
                memo = column_tails.get(j)
                if memo is None:
                    memo = column_tails[j] = _ColumnTails(tails, attr)
                cell_tails = list(map(memo.__getitem__, column))
            else:
                cell_tails = [tails.tail(c, attr) for c in column]
            mids, texts, closes = list(map(add, repeat('"', n), cell_tails)), "", ""
            if "" in cell_tails:
                omitted = [i for i, t in enumerate(cell_tails) if not t]
                for i in omitted:
                    mids[i] = ""
        if omitted:
            written = [True] * n
            for i in omitted:
                written[i] = False
            pieces += [list(map(mul, repeat(opens[j], n), written)), list(map(mul, rns, written)), mids, texts, closes]
        else:
            pieces += [opens[j], rns, mids, texts, closes]
    pieces.append("</row>")
    # Neighbouring texts made one, then every row's pieces laid out at once by slices with a step.
    merged: list = []
    for p in pieces:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    k = len(merged)
    flat = [p if isinstance(p, str) else "" for p in merged] * n
    for i, p in enumerate(merged):
        if not isinstance(p, str):
            flat[i::k] = p
    return "".join(flat)


def _sheet_xml(sheet: _Sheet, *, selected: bool) -> Iterator[str]:
    last_col = _col_letter(sheet.ncols - 1)
    letters = [_col_letter(i) for i in range(sheet.ncols)]
    yield ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
           'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">')
    yield f'<dimension ref="A1:{last_col}{max(sheet.nrows, 1)}"/>'
    sel = ' tabSelected="1"' if selected else ""
    if sheet.frozen:
        yield (f'<sheetViews><sheetView workbookViewId="0"{sel}><pane ySplit="1" topLeftCell="A2" '
               'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" '
               'sqref="A2"/></sheetView></sheetViews>')
    else:
        yield f'<sheetViews><sheetView workbookViewId="0"{sel}/></sheetViews>'
    yield '<sheetFormatPr defaultRowHeight="15"/><cols>'
    yield "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>' for i, w in enumerate(sheet.widths))
    yield "</cols><sheetData>"
    buf: list[str] = []
    append = buf.append
    # Per cell only what differs from cell to cell: the opening '<c r="B' of each column and the
    # ' s="N"' of each style are made once, the escaping test is one regex search (most cells
    # need none), and the row number is formatted once per row. (A million rows x 15 cells.)
    opens = [f'<c r="{x}' for x in letters]
    s_attrs: dict[int, str] = _StyleAttrs()
    column_attrs = [s_attrs[style] for style in sheet.styles] + [""] * (sheet.ncols - len(sheet.styles))
    cell_tail = _CellTails(s_attrs).tail
    # A column's cells often repeat (decisions, reasons, statuses, groups): the rest of a cell after its
    # row number (its "tail") is remembered per distinct text, for up to _MEMO_CELLS texts a column.
    # A column of mostly distinct texts (IDs) stops being remembered. Only texts are remembered:
    # Decimal("0.4") == Decimal("0.40") (and 1 == 1.0), and each is written as it is.
    memos: list[dict | None] = [{} for _ in range(sheet.ncols)]
    r = 0
    for r, values in enumerate(sheet.rows, start=1):
        row = f'{r}"'
        append(f'<row r="{row}>')
        for j, cell in enumerate(values):
            if cell is None:
                continue
            memo = memos[j]
            if memo is not None:
                tail = memo.get(cell)
                if tail is not None:
                    if tail:
                        append(f"{opens[j]}{row}{tail}")
                    continue
            v = cell[0] if type(cell) is tuple else cell
            tail = cell_tail(cell, column_attrs[j])
            if tail:
                append(f"{opens[j]}{row}{tail}")
            if memo is not None:
                if type(v) is not str:
                    memos[j] = None
                elif len(memo) < _MEMO_CELLS:
                    memo[cell] = tail
                elif r < 2 * _MEMO_CELLS:
                    memos[j] = None
        append("</row>")
        if len(buf) > 20000:
            yield "".join(buf)
            buf.clear()
    if sheet.to_cells is not None:
        # The rest of the sheet a block of rows at a time (the rows above are its header or metadata).
        tails = _CellTails(s_attrs)
        column_tails: dict[int, _ColumnTails] = {}
        to_cells, items = sheet.to_cells, sheet.items
        yield "".join(buf)
        buf.clear()
        for at in range(0, len(items), _BLOCK_ROWS):
            yield _block_xml(r + 1 + at, list(map(to_cells, items[at:at + _BLOCK_ROWS])), opens, column_attrs, tails,
                             column_tails)
    yield "".join(buf)
    yield "</sheetData>"
    if sheet.filtered:
        yield f'<autoFilter ref="A1:{last_col}{max(sheet.nrows, 1)}"/>'
    if sheet.colour_rules:
        # Conditional fills: the decision's colour follows an edit (the static fill is for readers that ignore these).
        for ref in dict.fromkeys(r for r, _, _ in sheet.colour_rules):
            yield f'<conditionalFormatting sqref="{ref}">'
            for i, (rule_ref, value, dxf) in enumerate(sheet.colour_rules, start=1):
                if rule_ref == ref:
                    yield (f'<cfRule type="cellIs" dxfId="{dxf}" priority="{i}" operator="equal">'
                           f'<formula>"{_attr(value)}"</formula></cfRule>')
            yield "</conditionalFormatting>"
    if sheet.validations:
        yield f'<dataValidations count="{len(sheet.validations)}">{"".join(sheet.validations)}</dataValidations>'
    yield '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'


def _fill(rgb: str) -> str:
    return f'<fill><patternFill patternType="solid"><fgColor rgb="FF{rgb}"/><bgColor indexed="64"/></patternFill></fill>'


def _styles_xml(currency: str = "USD") -> str:
    fills = [
        '<fill><patternFill patternType="none"/></fill>', '<fill><patternFill patternType="gray125"/></fill>',
        _fill(HEADER_COLOUR), _fill(FLAG_COLOUR),
    ] + [_fill(DECISION_COLOURS[d]) for d in DECISIONS] + [_fill(READ_ONLY_COLOUR), _fill(EDIT_HEADER_COLOUR)]
    grey, edit_header = 4 + len(DECISIONS), 5 + len(DECISIONS)
    # (numFmtId, fontId, fillId) per cellXfs index: must follow S_* above.
    xfs = [(0, 0, 0), (0, 1, 0), (0, 2, 0), (0, 1, 2), (164, 0, 0), (164, 1, 0), (0, 0, 3)]
    xfs += [(0, 0, 4 + i) for i, _ in enumerate(DECISIONS)]
    xfs += [(0, 0, grey), (164, 0, grey), (0, 1, edit_header)]  # S_READ_ONLY, S_READ_ONLY_MONEY, S_EDIT_HEADER
    xf_xml = "".join(
        f'<xf numFmtId="{n}" fontId="{f}" fillId="{fi}" borderId="0" xfId="0"'
        + (' applyNumberFormat="1"' if n else "") + (' applyFont="1"' if f else "") + (' applyFill="1"' if fi else "")
        + "/>"
        for n, f, fi in xfs
    )
    fmt = currency_format(currency).replace('"', "&quot;")
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<numFmts count="1"><numFmt numFmtId="164" formatCode="{fmt}"/></numFmts>'
        '<fonts count="3"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font></fonts>'
        f'<fills count="{len(fills)}">{"".join(fills)}</fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(xfs)}">{xf_xml}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        f'<dxfs count="{len(DECISIONS)}">'
        + "".join(f'<dxf><fill><patternFill patternType="solid"><bgColor rgb="FF{DECISION_COLOURS[d]}"/></patternFill></fill></dxf>'
                  for d in DECISIONS)
        + "</dxfs>"
        "</styleSheet>"
    )


def _attr(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


_HIDDEN = ' state="hidden"'


def _write_xlsx(target: Path, sheets: list[_Sheet], *, title: str, currency: str = "USD") -> None:
    import zipfile

    n = len(sheets)
    ct = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        + "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, n + 1)
        )
        + '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        "</Types>"
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
        'core-properties" Target="docProps/core.xml"/>'
        "</Relationships>"
    )
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    core = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{_attr(title)}</dc:title><dc:creator>reconcile</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
        "</cp:coreProperties>"
    )
    defined = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"'{_attr(s.name)}'!$A$1:${_col_letter(s.ncols - 1)}${max(s.nrows, 1)}</definedName>"
        for i, s in enumerate(sheets)
        if s.filtered
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<bookViews><workbookView activeTab="0"/></bookViews><sheets>'
        + "".join(f'<sheet name="{_attr(s.name)}" sheetId="{i}"{_HIDDEN if s.hidden else ""} r:id="rId{i}"/>'
                  for i, s in enumerate(sheets, 1))
        + "</sheets>"
        + (f"<definedNames>{defined}</definedNames>" if defined else "")
        + "</workbook>"
    )
    wb_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            f'worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1)
        )
        + f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'styles" Target="styles.xml"/>'
        "</Relationships>"
    )
    # Level 1 deflate: the XML of 100k rows compresses well anyway, and level 6 costs twice the time.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", ct)
        zf.writestr("_rels/.rels", rels)
        zf.writestr("docProps/core.xml", core)
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr("xl/_rels/workbook.xml.rels", wb_rels)
        zf.writestr("xl/styles.xml", _styles_xml(currency))
        for i, sheet in enumerate(sheets, 1):
            # ZIP64 only where a sheet could pass 4 GB: Excel may warn about ZIP64 on small files.
            with zf.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=sheet.nrows > 500_000) as fh:
                write_behind(fh.write, (chunk.encode("utf-8") for chunk in _sheet_xml(sheet, selected=(i == 1))))
