"""`match` reads a batch narrowed while it streams (batch_narrow): the same submissions, columns,
format, warnings and duplicates as the whole reading, or the whole reading itself (same errors)."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from reconcile.errors import InputError
from reconcile.importers.csvtext import load_table
from reconcile.platforms.mturk.batch_csv import read_batch_table, read_mturk_csv
from reconcile.platforms.mturk import batch_narrow
from reconcile.platforms.mturk.batch_narrow import read_batch_narrowed, whole_rows

HEADER = ("HITId,HITTypeId,Title,Reward,CreationTime,MaxAssignments,RequesterAnnotation,AssignmentId,WorkerId,"
          "AssignmentStatus,AcceptTime,SubmitTime,AutoApprovalTime,ApprovalTime,RejectionTime,RequesterFeedback,"
          "WorkTimeInSeconds,LifetimeApprovalRate,Answer.surveycode,Answer.comment,Approve,Reject")


def _row(aid: str, worker: str, code: str, *, comment: str = "ok", submit: str = "Sun Nov 12 08:19:59 PST 2017",
         rate: str = "100% (5/5)", pad: bool = True) -> str:
    cells = ["H1", "T1", "Survey", "$0.50", "Sun Nov 12 08:00:00 PST 2017", "100", "BatchId:1;", aid, worker,
             "Submitted", "Sun Nov 12 08:10:00 PST 2017", submit, "Wed Nov 15 08:19:59 PST 2017", "", "", "", "599",
             rate, code, comment]
    return ",".join(cells + (["", ""] if pad else []))


BASE = "\n".join([HEADER, _row("A1", "W1", "111"), _row("A2", "W2", "222", pad=False), "", _row("A3", "W3", "1.2E+5")]) + "\n"

# Name -> batch text. Each is read both ways; the narrowed reading must agree or hand over.
CASES = {
    "plain": BASE,
    "no_final_newline": BASE.rstrip("\n"),
    "repeats": BASE + "\n".join([
        _row("A1", "W1", "111"),  # identical to row 2
        _row("A2", "W2", "222"),  # identical but for padding
        _row("A3", "W3", "1.2E+5", submit="2017-11-12 16:19:59 UTC"),  # the same moment written by the API
        _row("A1", "W1", "111", comment="changed"),  # a different answer
        _row(" A2 ", "W2", "222", rate=""),  # spaces around the ID (a repeat, not identical), a blank rate
    ]) + "\n",
    "short_rows": BASE + "H1,T1,Survey,$0.50,,100,,A9,W9,Submitted,,,,,,,,,999\n",
    "cut_last_row": BASE + "H1,T1,Survey\n",
    "long_row": BASE + _row("A7", "W7", "777") + ",extra\n",
    "long_row_blank_extra": BASE + _row("A7", "W7", "777") + ",,\n",
    "no_assignment_id": BASE + _row("", "W7", "777") + "\n",
    "trailing_unnamed": BASE.replace("Reject\n", "Reject,\n"),
    "code_tie": BASE.replace("Answer.comment", "Answer.code"),
    "no_code_column": BASE.replace("Answer.surveycode", "Answer.text"),
    "loose_worker": BASE.replace("WorkerId", "Worker ID"),
    "two_workers": BASE.replace("WorkerId", "workerid").replace("Answer.comment", "Worker Id"),
    "missing_standard": BASE.replace("AutoApprovalTime", "Something"),
    "repeated_names": BASE.replace("Answer.comment", "Answer.surveycode"),
    "odd_quote": BASE.replace("ok", '"ok', 1),
    "quoted_newline": BASE.replace(",ok,", ',"two\nlines",', 1),
    "a_survey": "ResponseId,StartDate,Q1\nR_1,2020-01-01,a\nR_2,2020-01-01,b\n",
    "header_only": HEADER + "\n",
    "one_row": HEADER + "\n" + _row("A1", "W1", "111") + "\n",
}


def _variants(text: str):
    """The text with each line ending, delimiter and BOM."""
    for ending, delimiter, bom in itertools.product(("\n", "\r\n", "\r"), (",", "\t"), (False, True)):
        t = text.replace(",", delimiter) if delimiter != "," else text
        t = t.replace("\n", ending)
        yield f"{ending!r}-{delimiter!r}-{bom}", ("\ufeff" if bom else "") + t


def _outcome(fn):
    try:
        return fn()
    except InputError as err:
        return ("error", str(err))


# What the narrowed reading leaves out of every Submission (nothing after reading looks at them):
# all other attributes must equal the whole reading's.
DROPPED = {"started_at": "", "submitted_at": ""}


def _dropped(submissions) -> list:
    return [dataclasses.replace(s, **DROPPED) for s in submissions]


def _same_file(a, b, path) -> None:
    """`a` (read narrowed, or whole when the narrowed reading handed over) is `b` but for DROPPED."""
    for name in ("path", "format", "columns", "code_column", "participant_column", "code_candidates", "warnings", "platform"):
        assert getattr(a, name) == getattr(b, name), (path, name)
    assert len(a.submissions) == len(b.submissions), path
    for x, y in zip(a.submissions, b.submissions):
        assert x.source == y.source, path
    assert _dropped(a.submissions) == _dropped(b.submissions), path


def _narrowed(file) -> None:
    assert all(s.started_at == s.submitted_at == "" for s in file.submissions)


def _pandas_path(monkeypatch, on: bool) -> list[bool]:
    """Whether each narrowed reading took pandas' columns (batch_narrow._read_columns); `on` False
    turns that path off, so the streamed reading alone is checked."""
    taken: list[bool] = []
    original = batch_narrow._read_columns

    def observed(*args, **kwargs):
        got = original(*args, **kwargs) if on else None
        taken.append(got is not None)
        return got

    monkeypatch.setattr(batch_narrow, "_read_columns", observed)
    return taken


@pytest.mark.parametrize("pandas", [True, False], ids=["pandas", "streamed"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_narrowed_reading_is_the_whole_one_or_hands_over(tmp_path, monkeypatch, case, pandas):
    taken = _pandas_path(monkeypatch, pandas)
    streamed = 0
    for name, text in _variants(CASES[case]):
        path = tmp_path / f"{case}-{abs(hash(name))}.csv"
        path.write_bytes(text.encode("utf-8"))
        whole = _outcome(lambda path=path: read_batch_table(load_table(path)))
        keep = ("Answer.comment", "WorkerId", "Nope")
        got = read_batch_narrowed(path, keep)
        if got is not None:
            streamed += 1
            # Every file read narrowed is read by pandas, in every line ending, delimiter and BOM.
            assert taken[-1] == pandas, (case, name)
            assert not isinstance(whole, tuple), (case, name, whole)
            _same_file(got.file, whole, path)
            _narrowed(got.file)
            for x, y in zip(got.file.submissions, whole.submissions):
                assert dict(x.fields) == {c: y.fields[c] for c in keep if c in y.fields}
        # Through the reader `match` calls: the same result, errors and duplicates included.
        narrow = _outcome(lambda path=path: read_mturk_csv([path, path], keep=()))
        full = _outcome(lambda path=path: read_mturk_csv([path, path]))
        if isinstance(full, tuple):
            assert narrow == full, (case, name)
            continue
        assert _dropped(narrow.submissions) == _dropped(full.submissions) and narrow.duplicates == full.duplicates, (case, name)
        for a, b in zip(narrow.files, full.files):
            _same_file(a, b, path)
    # The usual layouts stream; the odd ones go whole.
    handed_over = {"cut_last_row", "long_row", "long_row_blank_extra", "no_assignment_id", "trailing_unnamed", "code_tie",
                   "two_workers", "odd_quote", "a_survey", "header_only", "one_row"}
    assert (streamed == 0) == (case in handed_over), (case, streamed)


def test_repeated_rows_are_compared_whole(tmp_path):
    path = tmp_path / "batch.csv"
    path.write_text(CASES["repeats"], encoding="utf-8")
    got = read_mturk_csv([path], keep=())
    assert [(d.source.row, d.duplicate_of.row, d.identical) for d in got.duplicates] == \
           [(6, 2, True), (7, 3, True), (8, 5, True), (9, 2, False), (10, 3, False)]
    whole = read_mturk_csv([path])
    assert got.duplicates == whole.duplicates
    # The times are read whole and left out narrowed (DROPPED); the duplicates compare them all the same.
    assert all(s.started_at and s.submitted_at for s in whole.submissions)
    assert {(s.started_at, s.submitted_at) for s in got.submissions} == {("", "")}


@pytest.mark.parametrize("pandas", [True, False], ids=["pandas", "streamed"])
def test_every_real_batch_reads_alike(realdata, tmp_path, monkeypatch, pandas):
    taken = _pandas_path(monkeypatch, pandas)
    streamed = 0
    paths = sorted(f for f in realdata.rglob("*.csv") if f.is_file())
    for path in paths:
        whole = _outcome(lambda path=path: read_batch_table(load_table(path)))
        got = read_batch_narrowed(path, ())
        if got is None:
            continue
        assert not isinstance(whole, tuple), path
        _same_file(got.file, whole, path)
        _narrowed(got.file)
        streamed += 1
    assert streamed >= 5
    if pandas:
        assert taken.count(True) >= 5, taken
    batches = [p for p in paths if "mturk_results" in p.name]
    assert batches
    narrow, full = read_mturk_csv(batches + batches[:1], keep=()), read_mturk_csv(batches + batches[:1])
    assert narrow.duplicates and narrow.duplicates == full.duplicates
    assert _dropped(narrow.submissions) == _dropped(full.submissions)


def test_a_batch_changed_before_its_repeats_are_read_again_is_refused(tmp_path):
    path = tmp_path / "batch.csv"
    path.write_text(CASES["repeats"], encoding="utf-8")
    got = read_batch_narrowed(path, ())
    assert got is not None
    assert set(whole_rows(got, {2, 6})) == {2, 6}
    path.write_text(CASES["repeats"].replace("A1", "B1"), encoding="utf-8")
    with pytest.raises(InputError, match="changed while it was being read"):
        whole_rows(got, {2, 6})
    path.write_text(BASE, encoding="utf-8")
    with pytest.raises(InputError, match="changed while it was being read"):
        whole_rows(got, {2, 6})


def test_a_byte_that_is_not_utf8_in_a_column_nobody_reads_is_the_whole_readings_error(tmp_path):
    path = tmp_path / "batch.csv"
    path.write_bytes(CASES["plain"].replace("Survey", "Surv\udcffy", 1).encode("utf-8", "surrogateescape"))
    assert read_batch_narrowed(path, ()) is None
    with pytest.raises(InputError, match="not valid UTF-8") as narrowed:
        read_mturk_csv([path], keep=())
    with pytest.raises(InputError) as whole:
        read_mturk_csv([path])
    assert str(narrowed.value) == str(whole.value)
