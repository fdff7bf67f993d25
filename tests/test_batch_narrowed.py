"""The dry run's verifier holds only the batch columns it checks; an upload reads the file again whole."""

from __future__ import annotations

import pytest

from reconcile.errors import InputError
from reconcile.platforms.mturk.upload import prepare_uploads, read_batch
from reconcile.platforms.mturk.verifier import CHECKED_COLUMNS
from test_upload import _decisions

BATCH = (
    "HITId,AssignmentId,WorkerId,AssignmentStatus,Reward,Answer.code,Approve,Reject\n"
    "H1,A1,W1,Submitted,$1.00,c1\n"  # short: Approve/Reject omitted
    "\n"
    "H1,,W2,Submitted,$1.00,c2,,\n"  # no AssignmentId
    "H1,A3,W3,Submitted,$1.00,c3,,\n"
    "H1,A5\n"  # very short: the checked cells past it read ""
    "H1,A1,W4,Submitted,$1.00,c4,,\n"  # a repeat: the index keeps the first
)


# Files the streamed narrow reading hands to the whole one (its errors are load_table's own).
ODD = {
    "cut.csv": BATCH + "H1,A9\n",
    "odd_quotes.csv": BATCH.replace("c3", '"c3'),
    "no_assignment_column.csv": BATCH.replace("AssignmentId", "Something"),
    "cr.csv": BATCH.replace("\n", "\r"),
    "bom.csv": "\ufeff" + BATCH,
    "blank.csv": "\n\n",
    "crlf_no_final.csv": BATCH.replace("\n", "\r\n").rstrip(),
}


def _every_batch(realdata, tmp_path):
    p = tmp_path / "batch.csv"
    p.write_text(BATCH, encoding="utf-8")
    odd = []
    for name, text in ODD.items():
        (tmp_path / name).write_bytes(text.encode("utf-8"))
        odd.append(tmp_path / name)
    return [p, *odd, *sorted(f for f in realdata.rglob("*") if f.is_file() and f.name != "SOURCES.md")]


def test_narrowed_batch_reads_the_checked_cells_of_the_whole_one(realdata, tmp_path):
    checked = 0
    for path in _every_batch(realdata, tmp_path):
        try:
            whole = read_batch(path)
        except InputError as err:
            with pytest.raises(InputError) as narrowed_err:
                read_batch(path, keep=CHECKED_COLUMNS)
            assert str(narrowed_err.value) == str(err), path
            continue
        narrow = read_batch(path, keep=CHECKED_COLUMNS)
        assert narrow.narrowed and not whole.narrowed
        assert narrow.lines == whole.lines and narrow.index == whole.index, path
        for name in CHECKED_COLUMNS:
            assert (narrow.column(name) is None) == (whole.column(name) is None), (path, name)
            assert [narrow.cell(i, name) for i in range(len(narrow.records))] == \
                   [whole.cell(i, name) for i in range(len(whole.records))], (path, name)
        assert len(narrow.header) <= len(CHECKED_COLUMNS)
        checked += 1
    assert checked >= 5


def test_an_upload_from_a_narrowed_batch_is_the_whole_batch_given_back(tmp_path):
    p = tmp_path / "batch.csv"
    p.write_text(BATCH, encoding="utf-8")
    whole, narrow = read_batch(p), read_batch(p, keep=CHECKED_COLUMNS)
    decisions = _decisions(whole, lambda i: ("approve",))
    rows = list(decisions.values())
    file_of = {r.submission_id: str(p) for r in rows}
    expected = prepare_uploads(tmp_path / "up.csv", [whole], rows, file_of)
    got = prepare_uploads(tmp_path / "up.csv", [narrow], rows, file_of)
    assert got == expected
    assert "c3" in got[0][1]  # the answers, which the narrowed batch does not hold, are given back


def test_an_upload_refuses_a_batch_changed_since_it_was_checked(tmp_path):
    p = tmp_path / "batch.csv"
    p.write_text(BATCH, encoding="utf-8")
    narrow = read_batch(p, keep=CHECKED_COLUMNS)
    rows = list(_decisions(read_batch(p), lambda i: ("approve",)).values())
    p.write_text(BATCH.replace("W3", "W9"), encoding="utf-8")
    with pytest.raises(InputError, match="changed while the plan was being checked"):
        prepare_uploads(tmp_path / "up.csv", [narrow], rows, {r.submission_id: str(p) for r in rows})
    # A change in a column the verifier does not check is given back as it now is.
    p.write_text(BATCH.replace("c3", "c9"), encoding="utf-8")
    (info, text, _), = prepare_uploads(tmp_path / "up.csv", [narrow], rows, {r.submission_id: str(p) for r in rows})
    assert "c9" in text
