"""The requester-website upload CSV: byte layout of real uploads, marks, naming, invariants."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.errors import InputError
from reconcile.models import PlanRow
from reconcile.platforms.mturk.upload import (
    is_real_reason,
    prepare_uploads,
    read_batch,
    reason_problem,
    upload_paths,
    upload_text,
    write_uploads,
)

CLEF = "ielab__CLEF2017_AMT"
APPROVE_UPLOAD = "approve_upload__Batch_3171474_batch_results.csv"
REJECT_UPLOAD = "reject_upload__Batch_3171474_batch_results.csv"
FINAL = "final_after_review__Batch_3171474_batch_results.csv"
CHUC = "Chucooleg__Field_Experiment_Human_Image_Classification"
MAIN = "20171112_mturk_results_order1_0.40.csv"

REASON = "The validation code you entered does not match the document you were given."


def _row(batch, pos, decision, feedback=""):
    return PlanRow(
        submission_id=batch.cell(pos, "AssignmentId"), participant_id=batch.cell(pos, "WorkerId"),
        group_id=batch.cell(pos, "HITId"), decision=decision, reason="test", detail="", code="", response_id="",
        bonus=None, feedback=feedback, source=f"{batch.path}:{batch.lines[pos]}",
    )


def _decisions(batch, decide):
    return {batch.cell(i, "AssignmentId"): _row(batch, i, *decide(i)) for i in range(len(batch.records))}


def test_read_batch_real_files(realdata):
    b = read_batch(realdata / CHUC / MAIN)
    assert len(b.records) == 100 and len(b.header) == 30
    assert {len(r) for r in b.records} == {28}  # short rows kept as they are
    assert b.lines[0] == 2 and b.lines[-1] == 101
    assert b.cell(0, "Answer.surveycode") == "597423122"
    assert b.cell(0, "Approve") == ""  # beyond the short row
    assert len(b.index) == 100


def test_reject_upload_layout_is_byte_identical(realdata):
    """Rejecting the 24 rows of a real reject upload gives back its exact bytes, reason for reason."""
    path = realdata / CLEF / REJECT_UPLOAD
    original = path.read_bytes()
    batch = read_batch(path)
    text, a, r, u = upload_text(batch, _decisions(batch, lambda i: ("reject", REASON)))
    assert (a, r, u) == (0, 24, 0)
    expected = original.replace(b',"x"\r\n', f',"{REASON}"\r\n'.encode())
    assert text.encode("utf-8") == expected


def test_review_and_skip_clear_both_marks(realdata):
    path = realdata / CLEF / REJECT_UPLOAD
    batch = read_batch(path)
    text, a, r, u = upload_text(batch, _decisions(batch, lambda i: ("review" if i % 2 else "skip",)))
    assert (a, r, u) == (0, 0, 24)
    assert text.encode("utf-8") == path.read_bytes().replace(b',"x"\r\n', b',""\r\n')


def test_approve_upload_layout_pads_short_rows(realdata):
    """The real approve upload omits the empty Reject cell; we pad every row to the header."""
    path = realdata / CLEF / APPROVE_UPLOAD
    batch = read_batch(path)
    text, a, r, u = upload_text(batch, _decisions(batch, lambda i: ("approve",)))
    assert (a, r, u) == (155, 0, 0)
    assert text.encode("utf-8") == path.read_bytes().replace(b',"x"\r\n', b',"x",""\r\n')


def test_rows_not_in_plan_are_left_alone_and_cleared(realdata):
    """A stale mark in the batch file is never passed on: only what the plan says is uploaded."""
    batch = read_batch(realdata / CLEF / REJECT_UPLOAD)  # every row carries Reject = x
    decisions = {k: v for k, v in list(_decisions(batch, lambda i: ("approve",)).items())[:5]}
    text, a, r, u = upload_text(batch, decisions)
    assert (a, r, u) == (5, 0, 19)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert [row[-2] for row in rows[1:]] == ["x"] * 5 + [""] * 19
    assert all(row[-1] == "" for row in rows[1:])


def test_reject_without_real_reason_is_refused(realdata):
    batch = read_batch(realdata / CLEF / REJECT_UPLOAD)
    with pytest.raises(InputError, match="real reason"):
        upload_text(batch, _decisions(batch, lambda i: ("reject", "x")))


@pytest.mark.parametrize("text", ["", "x", "  x  ", "bad", "no code", "Rejected.", "a" * 1025])
def test_not_real_reasons(text):
    assert reason_problem(text) is not None and not is_real_reason(text)


@pytest.mark.parametrize("text", ["Wrong code.", "The code does not match any survey response.", "No code was entered"])
def test_real_reasons(text):
    assert is_real_reason(text)


def test_missing_approve_reject_columns_are_added(tmp_path):
    p = tmp_path / "excel.csv"
    p.write_bytes("\ufeffHITId,AssignmentId,WorkerId,Answer.surveycode\n3H,3A1,AW1,0123\n3H,3A2,AW2,99\n".encode())
    batch = read_batch(p)
    assert batch.header[0] == "HITId"  # BOM removed
    text, a, r, u = upload_text(batch, _decisions(batch, lambda i: ("approve",) if i == 0 else ("reject", REASON)))
    assert text == (
        '"HITId","AssignmentId","WorkerId","Answer.surveycode","Approve","Reject"\r\n'
        '"3H","3A1","AW1","0123","x",""\r\n'
        f'"3H","3A2","AW2","99","","{REASON}"\r\n'
    )


def test_duplicate_rows_get_one_mark(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_text("AssignmentId,WorkerId,Approve,Reject\r\n3A1,AW1,,\r\n3A1,AW1,,\r\n", encoding="utf-8")
    batch = read_batch(p)
    text, a, r, u = upload_text(batch, _decisions(batch, lambda i: ("approve",)))
    assert (a, u) == (1, 1)


@pytest.mark.parametrize(
    "content, message",
    [(b"", "empty"), (b"HITId,WorkerId\r\n1,2\r\n", "no AssignmentId"), (b"PK\x03\x04\x00\x00binary", "zip archive")],
)
def test_not_a_batch_file(tmp_path, content, message):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_batch(p)
    with pytest.raises(InputError, match="no such"):
        read_batch(tmp_path / "missing.csv")


def test_upload_paths():
    assert upload_paths(Path("out/approve.csv"), ["a/b1.csv"]) == [Path("out/approve.csv")]
    assert upload_paths(Path("out/approve.csv"), ["a/b1.csv", "a/b2.csv"]) == [
        Path("out/approve__b1.csv"), Path("out/approve__b2.csv")]
    assert upload_paths(Path("up"), ["a/b.csv", "c/b.csv"]) == [Path("up__b.csv"), Path("up__b_2.csv")]


def test_prepare_refuses_missing_folder_and_writes_atomically(realdata, tmp_path):
    batch = read_batch(realdata / CHUC / MAIN)
    rows = list(_decisions(batch, lambda i: ("approve",)).values())
    mapping = {r.submission_id: batch.path for r in rows}
    with pytest.raises(InputError, match="does not exist"):
        prepare_uploads(tmp_path / "nope" / "up.csv", [batch], rows, mapping)
    written = write_uploads(prepare_uploads(tmp_path / "up.csv", [batch], rows, mapping))
    assert [w.out_path for w in written] == [tmp_path / "up.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["up.csv"]  # no temp file left


cell_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.lists(st.tuples(cell_text, cell_text), min_size=1, max_size=8),
    decisions=st.lists(st.sampled_from(["approve", "reject", "review", "skip", None]), min_size=8, max_size=8),
)
def test_upload_invariants(tmp_path, cells, decisions):
    """Never both marks; a reject always carries a real reason; every other cell is given back unchanged."""
    header = ["HITId", "AssignmentId", "WorkerId", "Answer.free", "Answer.code", "Approve", "Reject"]
    records = [["3H", f"3A{i}", f"AW{i}", a, b] + (["x", "old"] if i % 2 else []) for i, (a, b) in enumerate(cells)]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header] + records)
    p = tmp_path / "prop.csv"
    p.write_text(buf.getvalue(), encoding="utf-8", newline="")
    batch = read_batch(p)
    decided = {}
    for i, d in enumerate(decisions[: len(records)]):
        if d is not None:
            decided[f"3A{i}"] = _row(batch, i, d, REASON if d == "reject" else "")
    text, a, r, u = upload_text(batch, decided)
    out = list(csv.reader(io.StringIO(text, newline="")))
    assert out[0] == header and len(out) == len(records) + 1
    assert a + r + u == len(records)
    for rec, row in zip(records, out[1:]):
        assert row[:5] == rec[:5]
        assert not (row[5] and row[6])
        d = decided.get(rec[1])
        assert row[5] == ("x" if d and d.decision == "approve" else "")
        assert row[6] == (REASON if d and d.decision == "reject" else "")
        if row[6]:
            assert is_real_reason(row[6])


def test_windows_1252_batch_is_refused_like_match_refuses_it(tmp_path):
    """`pay` decodes batch files exactly as `match` does: Windows-1252 is refused, never guessed."""
    p = tmp_path / "cp.csv"
    p.write_bytes('"HITId"," AssignmentId","WorkerId","Answer.note","Approve","Reject"\r\n'
                  '"3H","3A1","AW1","café “ok”","",""\r\n'.encode("cp1252"))
    with pytest.raises(InputError) as err:
        read_batch(p)
    assert "cp.csv" in str(err.value) and "CSV UTF-8" in str(err.value)


def test_utf16_batch_is_read_like_match_reads_it_and_given_back_as_utf8(tmp_path):
    text = ('"HITId"," AssignmentId","WorkerId","Answer.note","Approve","Reject"\r\n'
            '"3H","3A1","AW1","café “ok”","",""\r\n')
    p = tmp_path / "u16.csv"
    p.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    batch = read_batch(p)
    assert batch.column("AssignmentId") == 1 and batch.index == {"3A1": 0}
    prepared = prepare_uploads(tmp_path / "up.csv", [batch], list(_decisions(batch, lambda i: ("approve",)).values()),
                               {"3A1": batch.path})
    write_uploads(prepared)
    assert (tmp_path / "up.csv").read_bytes() == text.replace('"",""\r\n', '"x",""\r\n').encode("utf-8")
