"""`match` reads a survey export narrowed while it streams (qualtrics_narrow): the same responses,
columns, format and warnings as the whole reading (`read_table`), or the whole reading itself."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from reconcile import platforms, sources
from reconcile.errors import InputError
from reconcile.importers.csvtext import load_table
from reconcile.importers.qualtrics_csv import read_table
from reconcile.importers import qualtrics_narrow
from reconcile.importers.qualtrics_narrow import read_survey_narrowed

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"

NAMES = ("StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,RecordedDate,ResponseId,"
         "worker_id,Q1,score,mTurkCode")
LABELS = ("Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),Finished,Recorded Date,"
          "Response ID,Please type your Worker ID.,Sky colour?,score,mTurkCode")
IMPORT_IDS = ",".join('"{""ImportId"":""%s""}"' % i for i in (
    "startDate", "endDate", "status", "ipAddress", "progress", "duration", "finished", "recordedDate", "_recordId",
    "QID9_TEXT", "QID1", "score", "mTurkCode"))


def _resp(n: int, *, finished: str = "True", start: str = "2036-03-01 10:00:00", code: str = "", worker: str = "") -> str:
    return ",".join([start, "2036-03-01 10:05:00", "0", f"10.0.0.{n}", "100", "300", finished, "2036-03-01 10:05:00",
                     f"R_abc{n}", worker or f"A{n:012d}", "Purple", str(n % 20), code or f"{n:09d}"])


ROWS = "\n".join(_resp(n) for n in range(1, 6)) + "\n"
BASE = NAMES + "\n" + LABELS + "\n" + IMPORT_IDS + "\n" + ROWS

CASES = {
    "three_header_rows": BASE,
    "two_header_rows": NAMES + "\n" + LABELS + "\n" + ROWS,
    "one_header_row": NAMES + "\n" + ROWS,
    "no_final_newline": BASE.rstrip("\n"),
    "blank_and_short_rows": BASE + "\n" + ",".join(_resp(7).split(",")[:10]) + "\n",
    "excel_booleans": BASE + _resp(8, finished="TRUE") + "\n",
    "excel_dates": BASE + _resp(9, start="3/1/2036 10:00") + "\n",
    "damaged_codes": BASE + _resp(10, code="1.23457E+11") + "\n",
    "typed_and_captured": BASE.replace("Q1,", "workerId,").replace("Sky colour?", "captured"),
    "code_tie": BASE.replace("Q1,", "completion code,"),
    "no_code": BASE.replace("mTurkCode", "other"),
    "trailing_comma": BASE.replace("\n", ",\n"),
    "long_row": BASE + _resp(11) + ",extra\n",
    "cut_last_row": BASE + "2036-03-01,x\n",
    "legacy": "V1,V2,V3,V4,V5,V6,V7,V8,V9,V10,Q1,score,mTurkCode\n"
              "ResponseID,ResponseSet,Name,ExternalDataReference,EmailAddress,IPAddress,Status,StartDate,EndDate,Finished,"
              "Q1,score,mTurkCode\n" + "R_1,Default,,,,1.2.3.4,0,2036-03-01,2036-03-01,1,a,3,111\n"
              "R_2,Default,,,,1.2.3.5,0,2036-03-01,2036-03-01,1,b,4,222\n",
    "header_only": NAMES + "\n" + LABELS + "\n",
    "a_batch": "HITId,AssignmentId,WorkerId,AssignmentStatus,Answer.surveycode\nH,A,W,Submitted,1\nH,B,W,Submitted,2\n",
    "odd_quote": BASE.replace("Purple", '"Purple', 1),
    "repeated_names": BASE.replace("Q1,", "score,"),
}
# Files the narrowed reading hands to the whole one under MTurk's rules (typed_and_captured: the
# typed column is chosen among columns whose values are read).
HANDED_OVER = {"typed_and_captured", "code_tie", "trailing_comma", "long_row", "cut_last_row", "header_only", "a_batch", "odd_quote"}


def _variants(text: str):
    for ending, bom in itertools.product(("\n", "\r\n"), (False, True)):
        yield f"{ending!r}-{bom}", ("\ufeff" if bom else "") + text.replace("\n", ending)


# What the narrowed reading leaves out of every Response (nothing after reading looks at them):
# all other attributes must equal the whole reading's.
DROPPED = {"start_date": "", "end_date": ""}


def _same(a, b, where) -> None:
    for name in ("path", "format", "columns", "code_column", "participant_column", "code_candidates",
                 "participant_candidates", "warnings", "typed_id_column"):
        assert getattr(a, name) == getattr(b, name), (where, name)
    assert len(a.responses) == len(b.responses), where
    for x, y in zip(a.responses, b.responses):
        assert x == dataclasses.replace(y, **DROPPED) and x.source == y.source, where


def _whole(path, ids, **options):
    try:
        return read_table(load_table(path), ids=ids, **options)
    except InputError as err:
        return ("error", str(err))


KEEP = ("score", "Q1", "nope")


def _check(path, ids, where, **options) -> bool:
    """Whether the file streamed; either way the reading `match` makes equals the whole one."""
    whole = _whole(path, ids, **options)
    got = read_survey_narrowed(path, lambda columns: KEEP, claims=platforms.claims(), ids=ids, **options)
    if got is not None:
        assert not isinstance(whole, tuple), (where, whole)
        _same(got, whole, where)
        for x, y in zip(got.responses, whole.responses):
            assert dict(x.fields) == {c: y.fields[c] for c in KEEP if c in y.fields}, where
    return got is not None


def _pandas_path(monkeypatch, on: bool) -> list[bool]:
    """Whether each narrowed reading took pandas' columns (qualtrics_narrow._read_columns); `on`
    False turns that path off, so the streamed reading alone is checked."""
    taken: list[bool] = []
    original = qualtrics_narrow._read_columns

    def observed(*args, **kwargs):
        got = original(*args, **kwargs) if on else None
        taken.append(got is not None)
        return got

    monkeypatch.setattr(qualtrics_narrow, "_read_columns", observed)
    return taken


@pytest.mark.parametrize("pandas", [True, False], ids=["pandas", "streamed"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_narrowed_reading_is_the_whole_one_or_hands_over(tmp_path, monkeypatch, case, pandas):
    taken = _pandas_path(monkeypatch, pandas)
    mturk, prolific = platforms.get("mturk").ids, platforms.get("prolific").ids
    streamed = 0
    for name, text in _variants(CASES[case]):
        path = tmp_path / f"{case}-{abs(hash(name))}.csv"
        path.write_bytes(text.encode("utf-8"))
        before = len(taken)
        narrowed = _check(path, mturk, (case, name))
        streamed += narrowed
        # Every file read narrowed is read by pandas, with either line ending and BOM.
        assert not narrowed or taken[before:] == [pandas], (case, name)
        _check(path, prolific, (case, name, "prolific"))
        _check(path, None, (case, name, "no rules"))
        _check(path, mturk, (case, name, "options"), code_column="score", participant_column="ResponseId")
        _check(path, mturk, (case, name, "bad option"), code_column="nothing")
    assert (streamed == 0) == (case in HANDED_OVER), (case, streamed)


def test_load_survey_keeps_every_cell_when_the_keep_function_refuses(tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text(BASE, encoding="utf-8")

    def refuse(columns):
        raise InputError("no such column")

    ids = platforms.get("mturk").ids
    got = sources.load_survey(str(path), ids=ids, keep=refuse)
    whole = sources.load_survey(str(path), ids=ids)
    _same(got, whole, path)
    assert [dict(r.fields) for r in got.responses] == [dict(r.fields) for r in whole.responses]
    narrowed = sources.load_survey(str(path), ids=ids, keep=lambda columns: ("score",))
    assert [dict(r.fields) for r in narrowed.responses] == [{"score": r.fields["score"]} for r in whole.responses]
    # The dates are read whole and left out narrowed (DROPPED), whatever `keep` says.
    assert all(r.start_date and r.end_date for r in whole.responses)
    assert {(r.start_date, r.end_date) for r in got.responses + narrowed.responses} == {("", "")}


@pytest.mark.parametrize("pandas", [True, False], ids=["pandas", "streamed"])
def test_every_real_survey_reads_alike(realdata, monkeypatch, pandas):
    taken = _pandas_path(monkeypatch, pandas)
    paths = sorted(f for f in realdata.rglob("*.csv") if f.is_file()) + sorted(SAMPLE.rglob("*.csv"))
    streamed = 0
    for path in paths:
        for name in ("mturk", "prolific"):
            streamed += _check(path, platforms.get(name).ids, (path, name))
    assert streamed >= 2
    if pandas:
        assert taken.count(True) >= 2, taken


def test_rows_of_the_same_kept_cells_share_their_fields():
    from reconcile.importers.csvtext import RowFields, keep_only
    from reconcile.importers.qualtrics_narrow import shared_fields

    index = {"score": 0, "Q1": 1}
    make = shared_fields(index, limit=2)
    a, b, c, d = make(("5", "x")), make(("5", "x")), make(("6", "x")), make(("7", "x"))
    assert a is b and a is not c and dict(a) == {"score": "5", "Q1": "x"}
    assert make(("7", "x")) is not d and make(("7", "x")) == d  # past the limit: made anew, still equal
    # keep_only narrows a shared RowFields once per row that holds it: the same as unshared ones.
    shared = [a, b, c, d]
    alone = [RowFields(index, ("5", "x")), RowFields(index, ("5", "x")), RowFields(index, ("6", "x")), RowFields(index, ("7", "x"))]
    keep_only(shared, ["score"])
    keep_only(alone, ["score"])
    assert [dict(f) for f in shared] == [dict(f) for f in alone] == [{"score": v} for v in "5567"]
