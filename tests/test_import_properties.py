"""Hypothesis properties of the importers: arbitrary bytes never crash them (records or InputError),
and any cell text written by the csv module is read back unchanged, in both layouts."""

from __future__ import annotations

import codecs
import csv
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.errors import InputError
from reconcile.platforms.mturk.batch_csv import read_mturk_csv as read_mturk
from reconcile.inspection import inspect_file, sniff_kind

from reconcile.importers import read_qualtrics as _read_qualtrics
from reconcile.platforms.mturk.ids import WorkerIds


def read_qualtrics(path, **kw):
    """An MTurk study's survey export, read with MTurk's worker-ID rules."""
    return _read_qualtrics(path, ids=WorkerIds(), **kw)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

MTURK_HEADER = [
    "HITId", "HITTypeId", "Title", "Description", "Keywords", "Reward", "CreationTime", "MaxAssignments",
    "RequesterAnnotation", "AssignmentDurationInSeconds", "AutoApprovalDelayInSeconds", "Expiration",
    "NumberOfSimilarHITs", "LifetimeInSeconds", "AssignmentId", "WorkerId", "AssignmentStatus", "AcceptTime",
    "SubmitTime", "AutoApprovalTime", "ApprovalTime", "RejectionTime", "RequesterFeedback", "WorkTimeInSeconds",
    "LifetimeApprovalRate", "Last30DaysApprovalRate", "Last7DaysApprovalRate", "Answer.surveycode", "Approve", "Reject",
]
QUALTRICS_NAMES = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
                   "RecordedDate", "ResponseId", "workerId", "Q1", "mTurkCode"]
QUALTRICS_IDS = ["startDate", "endDate", "status", "ipAddress", "progress", "duration", "finished", "recordedDate",
                 "_recordId", "workerId", "QID1_TEXT", "mTurkCode"]

# Any text a cell can hold in a UTF-8 file: no NUL (refused as binary) and no lone surrogates.
cell = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=25),
    st.sampled_from(["", "0012345", "00", "1.23457E+11", '"quoted"', "a,b", "line1\nline2", "cr\rlf\r\n", "\u00a0123\u200b", "É ü 😀", " lead", "trail "]),
)
ident = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=30)


def _write(path, rows, encoding="utf-8", bom=b"", newline="\r\n", delimiter=","):
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator=newline, delimiter=delimiter).writerows(rows)
    path.write_bytes(bom + buf.getvalue().encode(encoding))


def _refuses_or_reads(path):
    for call in (lambda: sniff_kind(path), lambda: read_qualtrics(path), lambda: read_mturk([path]), lambda: inspect_file(path)):
        try:
            call()
        except InputError as err:
            assert str(path) in str(err)  # the sentence names the file


headers = st.sampled_from([
    b"",
    (",".join(MTURK_HEADER) + "\r\n").encode(),
    ("V1,V2,V3,Q1,mTurkCode,\nResponseID,ResponseSet,Status,Question,mTurkCode,\n").encode(),
    (",".join(QUALTRICS_NAMES) + "\r\n" + ",".join(QUALTRICS_NAMES) + "\r\n").encode(),
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    b"PK\x03\x04",
])


@SETTINGS
@given(head=headers, body=st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(tmp_path, head, body):
    path = tmp_path / "input.csv"
    path.write_bytes(head + body)
    _refuses_or_reads(path)


@SETTINGS
@given(head=headers, text=st.text(max_size=300), encoding=st.sampled_from(["utf-8", "utf-16-le"]))
def test_arbitrary_text_never_crash(tmp_path, head, text, encoding):
    path = tmp_path / "input.csv"
    body = text.encode(encoding, errors="surrogatepass")
    path.write_bytes(head + body)
    _refuses_or_reads(path)


@SETTINGS
@given(
    rows=st.lists(st.tuples(ident, st.lists(cell, min_size=len(MTURK_HEADER) - 1, max_size=len(MTURK_HEADER) - 1), st.integers(0, 2)), min_size=1, max_size=8, unique_by=lambda r: r[0]),
    newline=st.sampled_from(["\r\n", "\n"]),
    bom=st.booleans(),
    final_newline=st.booleans(),
)
def test_batch_cells_read_back_unchanged(tmp_path, rows, newline, bom, final_newline):
    aid = MTURK_HEADER.index("AssignmentId")
    records = []
    for submission_id, cells, drop in rows:
        rec = list(cells)
        rec.insert(aid, submission_id)
        if drop:
            # The website leaves out empty trailing cells; those must come back as "".
            for j in range(len(rec) - drop, len(rec)):
                rec[j] = ""
            rec = rec[: len(rec) - drop]
        records.append(rec)
    path = tmp_path / "batch.csv"
    buf = io.StringIO(newline="")
    # csv quotes a bare CR only when it is part of the line terminator; LF files from MTurk quote every cell.
    quoting = csv.QUOTE_ALL if newline == "\n" else csv.QUOTE_MINIMAL
    csv.writer(buf, lineterminator=newline, quoting=quoting).writerows([MTURK_HEADER, *records])
    text = buf.getvalue() if final_newline else buf.getvalue()[: -len(newline)]
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"))

    m = read_mturk([path])
    assert len(m.submissions) == len(records)
    for a, rec in zip(m.submissions, records):
        full = rec + [""] * (len(MTURK_HEADER) - len(rec))
        assert dict(a.fields) == dict(zip(MTURK_HEADER, full))
        assert a.submission_id == full[aid]
        assert a.participant_id == full[MTURK_HEADER.index("WorkerId")]
        assert a.code == full[MTURK_HEADER.index("Answer.surveycode")]
        assert a.reward == full[MTURK_HEADER.index("Reward")]
        assert a.review_deadline == full[MTURK_HEADER.index("AutoApprovalTime")]
    assert [a.source.row for a in m.submissions] == list(range(2, len(records) + 2))


@SETTINGS
@given(
    rows=st.lists(st.tuples(ident, st.lists(cell, min_size=len(QUALTRICS_NAMES) - 1, max_size=len(QUALTRICS_NAMES) - 1)), min_size=1, max_size=8),
    utf16_tsv=st.booleans(),
)
def test_qualtrics_cells_read_back_unchanged(tmp_path, rows, utf16_tsv):
    rid = QUALTRICS_NAMES.index("ResponseId")
    ids = [json.dumps({"ImportId": i}) for i in QUALTRICS_IDS]
    data = []
    for response_id, cells in rows:
        rec = list(cells)
        rec.insert(rid, "R_" + response_id)
        data.append(rec)
    path = tmp_path / "export.csv"
    if utf16_tsv:
        _write(path, [QUALTRICS_NAMES, QUALTRICS_NAMES, ids, *data], encoding="utf-16-le", bom=codecs.BOM_UTF16_LE, delimiter="\t")
    else:
        _write(path, [QUALTRICS_NAMES, QUALTRICS_NAMES, ids, *data])
    q = read_qualtrics(path)
    assert q.code_column == "mTurkCode" and q.participant_column == "workerId"
    assert len(q.responses) == len(data)
    for r, rec in zip(q.responses, data):
        assert dict(r.fields) == dict(zip(QUALTRICS_NAMES, rec))
        assert (r.response_id, r.status, r.finished, r.code, r.participant_id, r.ip_address) == (
            rec[rid], rec[2], rec[6], rec[-1], rec[-3], rec[3])
    assert [r.source.row for r in q.responses] == list(range(4, len(data) + 4))
