"""Export variants built from real files or by the csv module: UTF-16 TSV, Excel re-saves, header
shapes, column detection and its overrides, duplicate handling across batch files."""

from __future__ import annotations

import codecs
import csv
import io
import json

import pytest

from reconcile.errors import ColumnDetectionError
from reconcile.importers import require_columns
from reconcile.models import SubmissionInput
from reconcile.platforms.mturk import PLATFORM as MTURK
from reconcile.platforms.mturk.batch_csv import read_mturk_csv as read_mturk
from reconcile.inspection import inspect_file, sniff_kind

from reconcile.importers import read_qualtrics as _read_qualtrics
from reconcile.platforms.mturk.ids import WorkerIds


def read_qualtrics(path, **kw):
    """An MTurk study's survey export, read with MTurk's worker-ID rules."""
    return _read_qualtrics(path, ids=WorkerIds(), **kw)


CHUC = "Chucooleg__Field_Experiment_Human_Image_Classification"
Q_FILE = f"{CHUC}/20171112_qualtric_results_order1_0.40_redacted.csv"
M_FILE = f"{CHUC}/20171112_mturk_results_order1_0.40.csv"


def write_csv(path, rows, *, delimiter=",", encoding="utf-8", bom=b"", newline="\r\n", final_newline=True, quoting=csv.QUOTE_MINIMAL):
    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=delimiter, lineterminator=newline, quoting=quoting).writerows(rows)
    text = buf.getvalue()
    if not final_newline:
        text = text[: -len(newline)]
    path.write_bytes(bom + text.encode(encoding))
    return path


def real_rows(realdata, name):
    return list(csv.reader(io.StringIO((realdata / name).read_text(encoding="utf-8-sig"), newline="")))


def qualtrics_rows(extra_names, extra_values, *, n=3, status="IP Address", finished="True"):
    names = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished", "ResponseId", *extra_names]
    labels = ["Start Date", "End Date", "Response Type", "IP Address", "Progress", "Duration (in seconds)", "Finished", "Response ID", *extra_names]
    ids = [json.dumps({"ImportId": x}, separators=(",", ":")) for x in
           ["startDate", "endDate", "status", "ipAddress", "progress", "duration", "finished", "_recordId", *extra_names]]
    data = [
        ["2020-05-01 10:00:00", "2020-05-01 10:09:00", status, f"198.51.100.{i}", "100", "540", finished, f"R_{i:015d}", *[v(i) if callable(v) else v for v in extra_values]]
        for i in range(n)
    ]
    return [names, labels, ids, *data]


# ------------------------------------------------------------------ Qualtrics variants


def test_utf16_tsv_reads_like_the_csv(realdata, tmp_path):
    rows = real_rows(realdata, Q_FILE)
    tsv = write_csv(tmp_path / "export.tsv", rows, delimiter="\t", encoding="utf-16-le", bom=codecs.BOM_UTF16_LE)
    a = read_qualtrics(realdata / Q_FILE)
    b = read_qualtrics(tsv)
    assert sniff_kind(tsv) == "qualtrics"
    assert "TSV" in b.format and "UTF-16 LE with BOM" in b.format
    assert b.columns == a.columns
    assert (b.code_column, b.participant_column) == ("mTurkCode", "worker_id")
    assert len(b.responses) == 117
    for x, y in zip(a.responses, b.responses):
        assert dict(x.fields) == dict(y.fields)
        assert (x.response_id, x.code, x.participant_id, x.finished, x.source.row) == (y.response_id, y.code, y.participant_id, y.finished, y.source.row)


def test_excel_resaved_export_lost_json_row(realdata, tmp_path):
    """Excel drops the JSON row's meaning, writes TRUE/FALSE and m/d/yyyy h:mm, adds a BOM, and
    turns long codes into 7.93185E+08; the export still reads, and the damage is reported."""
    rows = real_rows(realdata, Q_FILE)
    names, labels, data = rows[0], rows[1], [list(r) for r in rows[3:]]
    fin, start, code = names.index("Finished"), names.index("StartDate"), names.index("mTurkCode")
    for r in data:
        r[fin] = r[fin].upper()
        y, m, d = r[start][:10].split("-")
        r[start] = f"{int(m)}/{int(d)}/{y} {int(r[start][11:13])}:{r[start][14:16]}"
    data[0][code] = "7.93185E+08"
    data[5][code] = "12345.0"
    p = write_csv(tmp_path / "excel.csv", [names, labels, *data], bom=codecs.BOM_UTF8)
    q = read_qualtrics(p)
    assert len(q.responses) == 117
    assert q.responses[0].source.row == 3  # two header rows now
    assert "2 header rows" in q.format and "re-saved by Excel" in q.format and "BOM" in q.format
    assert q.responses[0].finished == "TRUE" and q.responses[0].start_date == data[0][start]
    assert q.code_column == "mTurkCode"
    (w,) = [w for w in q.warnings if "damaged" in w]
    assert "2 values" in w and "'7.93185E+08'" in w and f"{p}:3" in w
    assert q.responses[0].code == "7.93185E+08"  # never "repaired"


@pytest.mark.parametrize("header_rows", [1, 2, 3])
def test_header_shapes(tmp_path, header_rows):
    rows = qualtrics_rows(["mTurkCode"], [lambda i: str(1000 + i)])
    rows = rows[:header_rows] + rows[3:]
    q = read_qualtrics(write_csv(tmp_path / "e.csv", rows))
    assert len(q.responses) == 3
    assert q.responses[0].source.row == header_rows + 1
    assert [r.code for r in q.responses] == ["1000", "1001", "1002"]
    assert q.responses[2].response_id == "R_000000000000002"


def test_importid_row_directly_under_names(tmp_path):
    rows = qualtrics_rows(["mTurkCode"], ["5"])
    q = read_qualtrics(write_csv(tmp_path / "e.csv", [rows[0], rows[2], *rows[3:]]))
    assert len(q.responses) == 3 and q.responses[0].source.row == 3 and "2 header rows" in q.format


def test_roles_come_from_importids_when_names_are_translated(tmp_path):
    rows = qualtrics_rows(["mTurkCode"], ["5"])
    rows[0] = ["Anfang", "Ende", "Antworttyp", "IP", "Stand", "Dauer", "Beendet", "Antwort-ID", "mTurkCode"]
    q = read_qualtrics(write_csv(tmp_path / "e.csv", rows))
    r = q.responses[1]
    assert (r.response_id, r.status, r.finished, r.progress, r.duration_seconds, r.ip_address) == (
        "R_000000000000001", "IP Address", "True", "100", "540", "198.51.100.1")


def test_cr_only_and_semicolon_files(tmp_path):
    rows = qualtrics_rows(["mTurkCode"], [lambda i: f"{i}77"])
    q = read_qualtrics(write_csv(tmp_path / "cr.csv", rows, newline="\r"))
    assert [r.code for r in q.responses] == ["077", "177", "277"]
    q = read_qualtrics(write_csv(tmp_path / "semi.csv", rows, delimiter=";"))
    assert [r.code for r in q.responses] == ["077", "177", "277"] and "semicolon" in q.format


def test_repeated_and_blank_column_names_are_kept_apart(tmp_path):
    rows = qualtrics_rows(["Q1", "Q1", ""], ["a", "b", "c"])
    q = read_qualtrics(write_csv(tmp_path / "e.csv", rows))
    assert q.columns[-3:] == ("Q1", "Q1 (2)", "column 11")
    assert [q.responses[0].fields[c] for c in q.columns[-3:]] == ["a", "b", "c"]
    assert any("repeats the name 'Q1'" in w for w in q.warnings)


# ------------------------------------------------------------------ column detection


@pytest.mark.parametrize("name", ["mTurkCode", "MTurkCode", "Random ID", "completion_code", "completionCode", "surveycode", "code", "MTurk Completion Code", "my_code_field"])
def test_qualtrics_code_names(tmp_path, name):
    q = read_qualtrics(write_csv(tmp_path / "e.csv", qualtrics_rows(["zipcode", name, "Q1"], ["02139", "12345", "x"])))
    assert q.code_column == name
    assert q.code_candidates == (name,)
    require_columns(q)


@pytest.mark.parametrize("name", ["workerId", "worker_id", "WorkerID", "MTurkID", "mturk_worker_id", "Worker ID", "Your MTurk worker ID"])
def test_qualtrics_worker_names(tmp_path, name):
    q = read_qualtrics(write_csv(tmp_path / "e.csv", qualtrics_rows([name, "mTurkCode"], ["A1B2C3D4E5F6G7", "9"])))
    assert q.participant_column == name and q.code_column == "mTurkCode"
    assert q.responses[0].participant_id == "A1B2C3D4E5F6G7"
    require_columns(q, need_participant=True)


def test_two_filled_code_columns_are_ambiguous(tmp_path):
    q = read_qualtrics(write_csv(tmp_path / "e.csv", qualtrics_rows(["mTurkCode", "completion_code"], ["1", "2"])))
    assert q.code_column is None and q.code_candidates == ("mTurkCode", "completion_code")
    assert all(r.code == "" for r in q.responses)
    with pytest.raises(ColumnDetectionError) as exc:
        require_columns(q)
    msg = str(exc.value)
    assert str(tmp_path / "e.csv") in msg and "'mTurkCode', 'completion_code'" in msg and "--code-column" in msg
    q2 = read_qualtrics(tmp_path / "e.csv", code_column="completion_code")
    assert q2.code_column == "completion_code" and {r.code for r in q2.responses} == {"2"}


def test_only_filled_candidate_is_chosen_with_a_note(tmp_path):
    q = read_qualtrics(write_csv(tmp_path / "e.csv", qualtrics_rows(["mTurkCode", "completion_code"], ["", "2"])))
    assert q.code_column == "completion_code"
    assert any("only one with values" in w for w in q.warnings)


def test_captured_worker_id_beats_typed_one(tmp_path):
    rows = qualtrics_rows(["workerId", "worker_id", "code"], [lambda i: f"A{i}BCDEFGHIJKLM", lambda i: f" a{i}bcdefghijklm please", "1"])
    q = read_qualtrics(write_csv(tmp_path / "e.csv", rows))
    assert q.participant_column == "workerId" and q.participant_candidates == ("workerId", "worker_id")
    assert any("look most like MTurk worker IDs" in w for w in q.warnings)


def test_no_code_column_error_lists_columns(tmp_path):
    q = read_qualtrics(write_csv(tmp_path / "e.csv", qualtrics_rows(["Q1", "secret"], ["a", "b"])))
    assert q.code_column is None and q.code_candidates == ()
    with pytest.raises(ColumnDetectionError, match=r"found no column that looks like the completion code.*'Q1', 'secret'.*--code-column"):
        require_columns(q)
    assert read_qualtrics(tmp_path / "e.csv", code_column="secret").responses[0].code == "b"
    # Loose spelling of an override is accepted when it is unique.
    assert read_qualtrics(tmp_path / "e.csv", code_column="SECRET").code_column == "secret"


def test_worker_required_but_missing(tmp_path):
    q = read_qualtrics(write_csv(tmp_path / "e.csv", qualtrics_rows(["code"], ["1"])))
    require_columns(q)
    with pytest.raises(ColumnDetectionError, match="participant ID.*--id-column"):
        require_columns(q, need_participant=True)


MTURK_NAMES = ["HITId", "HITTypeId", "Title", "Reward", "CreationTime", "MaxAssignments", "RequesterAnnotation",
               "AssignmentId", "WorkerId", "AssignmentStatus", "AcceptTime", "SubmitTime", "AutoApprovalTime",
               "ApprovalTime", "RejectionTime", "RequesterFeedback", "WorkTimeInSeconds"]


def mturk_rows(answer_names, answer_values, n=3, *, aid=lambda i: f"3ASSIGN{i:023d}"):
    head = [*MTURK_NAMES, *answer_names, "Approve", "Reject"]
    rows = [head]
    for i in range(n):
        rows.append(["3HIT", "3TYPE", "t", "$0.50", "2018-10-08 17:46:38 UTC", "9", "BatchId:1;", aid(i), f"AWORKER{i:07d}",
                     "Submitted", "2018-10-08 17:46:38 UTC", "2018-10-08 17:56:38 UTC", "2018-10-11 17:56:38 UTC", "", "", "", "600",
                     *[v(i) if callable(v) else v for v in answer_values]])  # short rows: no Approve/Reject
    return rows


@pytest.mark.parametrize("name", ["Answer.surveycode", "Answer.surveyCode", "Answer.completion_code", "Answer.validationCode", "Answer.Code"])
def test_mturk_code_names(tmp_path, name):
    b = read_mturk([write_csv(tmp_path / "b.csv", mturk_rows(["Answer.feedback", name], ["fine", "42"]))]).files[0]
    assert b.code_column == name and b.participant_column == "WorkerId"
    assert b.submissions[0].code == "42" and b.submissions[0].started_at == "2018-10-08 17:46:38 UTC"
    MTURK.require_columns(SubmissionInput((b,), b.submissions, ()))


def test_mturk_without_code_and_override(tmp_path):
    p = write_csv(tmp_path / "b.csv", mturk_rows(["Answer.feedback", "Answer.Q1"], ["fine", "42"]))
    m = read_mturk([p])
    assert m.files[0].code_column is None
    with pytest.raises(ColumnDetectionError, match=r"'Answer.feedback', 'Answer.Q1'.*--mturk-code-column"):
        MTURK.require_columns(m)
    m = read_mturk([p], code_column="Q1")  # "Answer." may be left out
    assert m.files[0].code_column == "Answer.Q1" and m.submissions[0].code == "42"


def test_mturk_conflicting_duplicates_across_files(tmp_path):
    a = write_csv(tmp_path / "a.csv", mturk_rows(["Answer.surveycode"], [lambda i: str(i)]))
    b_rows = mturk_rows(["Answer.surveycode"], [lambda i: str(i)], n=4)
    b_rows[2][-1] = "999"  # same AssignmentId, different code
    b = write_csv(tmp_path / "b.csv", b_rows, newline="\n", final_newline=False)
    m = read_mturk([a, b])
    assert [x.submission_id for x in m.submissions] == [f"3ASSIGN{i:023d}" for i in range(4)]
    assert m.submissions[3].source.path == str(b)
    assert [(d.source.row, d.duplicate_of.row, d.identical) for d in m.duplicates] == [(2, 2, True), (3, 3, False), (4, 4, True)]
    assert all(d.duplicate_of.path == str(a) and d.source.path == str(b) for d in m.duplicates)


def test_mturk_duplicate_within_one_file(tmp_path):
    rows = mturk_rows(["Answer.surveycode"], ["1"], aid=lambda i: "3SAME")
    m = read_mturk([write_csv(tmp_path / "b.csv", rows)])
    assert len(m.submissions) == 1 and len(m.files[0].submissions) == 3
    assert [d.identical for d in m.duplicates] == [False, False]  # worker IDs differ
    assert inspect_file(tmp_path / "b.csv")["duplicate_rows"] == 2


def test_mturk_damaged_codes_warned(tmp_path):
    rows = mturk_rows(["Answer.surveycode"], [lambda i: ["1.23457E+11", "987654.0", "0012"][i]])
    b = read_mturk([write_csv(tmp_path / "b.csv", rows)]).files[0]
    (w,) = b.warnings
    assert "2 values" in w and "'1.23457E+11'" in w and "cannot be recovered" in w
    assert [a.code for a in b.submissions] == ["1.23457E+11", "987654.0", "0012"]


def test_mturk_long_rows_with_empty_extra_cells_are_fine(tmp_path):
    rows = mturk_rows(["Answer.surveycode"], ["5", "", "", "", ""])
    m = read_mturk([write_csv(tmp_path / "b.csv", rows)])
    assert len(m.submissions) == 3 and m.submissions[0].code == "5"


def test_utf16_without_bom_is_read(tmp_path):
    p = write_csv(tmp_path / "b.csv", mturk_rows(["Answer.surveycode"], ["7"]), encoding="utf-16-le")
    assert read_mturk([p]).submissions[0].code == "7"


def test_survey_capturing_assignment_id_is_still_qualtrics(tmp_path):
    """Survey links often pass workerId/assignmentId/hitId into embedded data; that is not a batch file."""
    rows = qualtrics_rows(["workerId", "assignmentId", "hitId", "mTurkCode"], ["A1B2C3D4E5F6G7", "3ABC", "3HIT", "42"])
    p = write_csv(tmp_path / "e.csv", rows)
    assert sniff_kind(p) == "qualtrics"
    q = read_qualtrics(p)
    assert (q.code_column, q.participant_column) == ("mTurkCode", "workerId")


def test_batch_header_with_stray_spaces(tmp_path):
    rows = mturk_rows(["Answer.surveycode"], ["42"])
    rows[0] = [f" {n} " if n in ("AssignmentId", "AssignmentStatus") else n for n in rows[0]]
    b = read_mturk([write_csv(tmp_path / "b.csv", rows)]).files[0]
    assert b.submissions[0].submission_id == "3ASSIGN" + "0" * 23 and b.submissions[0].status == "Submitted"
    assert not [w for w in b.warnings if "missing" in w]


def test_loose_worker_name_needs_worker_like_values(tmp_path):
    rows = qualtrics_rows(["worker_satisfaction", "code"], ["very happy", "1"])
    assert read_qualtrics(write_csv(tmp_path / "e.csv", rows)).participant_column is None
