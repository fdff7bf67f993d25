"""Every CSV in shared/realdata is read with its known kind, row count and detected columns,
and the facts SOURCES.md states about each file hold for the records we build."""

from __future__ import annotations

from collections import Counter

import pytest

from reconcile.platforms.mturk.batch_csv import read_mturk_csv as read_mturk
from reconcile.inspection import sniff_kind
from reconcile.models import Submission, Response

from reconcile.importers import read_qualtrics as _read_qualtrics
from reconcile.platforms.mturk.ids import WorkerIds


def read_qualtrics(path, **kw):
    """An MTurk study's survey export, read with MTurk's worker-ID rules."""
    return _read_qualtrics(path, ids=WorkerIds(), **kw)


CHUC = "Chucooleg__Field_Experiment_Human_Image_Classification"
CLEF = "ielab__CLEF2017_AMT"
KEV = "kevinhanna__w241-team-mturk"
ROPEN = "ropensci__qualtRics"
CTESTA = "ctesta01__QualtricsTools"
LAOLS = "laols574__ec_sd_survey"
CHEUNG = "Alex-J-Cheung__Qualtrics-Survey"

# (file, kind, data rows, code column, worker column, words the format must mention)
EXPECTED = [
    (f"{CHUC}/20171112_qualtric_results_order1_0.40_redacted.csv", "qualtrics", 117, "mTurkCode", "worker_id", "JSON ImportIds"),
    (f"{CHUC}/20171112_mturk_results_order1_0.40.csv", "mturk", 100, "Answer.surveycode", "WorkerId", "no final newline"),
    (f"{CHUC}/20171112_mturk_results_order1_0.40_supplementary.csv", "mturk", 4, "Answer.surveycode", "WorkerId", "short rows"),
    (f"{CLEF}/final_after_review__Batch_3171474_batch_results.csv", "mturk", 560, "Answer.validationCode", "WorkerId", "CRLF"),
    (f"{CLEF}/approve_upload__Batch_3171474_batch_results.csv", "mturk", 155, "Answer.validationCode", "WorkerId", "CRLF"),
    (f"{CLEF}/reject_upload__Batch_3171474_batch_results.csv", "mturk", 24, "Answer.validationCode", "WorkerId", "CRLF"),
    (f"{KEV}/Batch_3843733_batch_results.csv", "mturk", 115, None, "WorkerId", "LF line endings"),
    (f"{KEV}/Batch_3849139_batch_results_norelationship.csv", "mturk", 50, None, "WorkerId", "BOM"),
    (f"{ROPEN}/api_export_Beskar_Armor_redacted.csv", "qualtrics", 44, None, None, "JSON ImportIds"),
    (f"{ROPEN}/api_export_Cats_Can_Have_a_Little_Salami.csv", "qualtrics", 45, None, None, "JSON ImportIds"),
    (f"{ROPEN}/sample.csv", "qualtrics", 1, None, None, "JSON ImportIds"),
    (f"{ROPEN}/sample_legacy.csv", "qualtrics", 1, None, None, "legacy"),
    (f"{CTESTA}/Single_Answer_MC_Questions_insights.csv", "qualtrics", 5, None, None, "Python-dict"),
    (f"{CTESTA}/Single_Answer_MC_Questions_legacy.csv", "qualtrics", 5, None, None, "legacy"),
    # The Qualtrics halves of the Prolific studies (their Prolific ID columns are the Prolific issue's job).
    (f"{LAOLS}/qualtrics_export_redacted.csv", "qualtrics", 199, None, None, "JSON ImportIds"),
    (f"{CHEUNG}/Artificial_Intelligence_Raw_redacted.csv", "qualtrics", 32, None, None, "JSON ImportIds"),
    (f"{CHEUNG}/dataforR_redacted.csv", "qualtrics", 25, None, None, "re-saved by Excel"),
]

# Prolific submissions exports: (file, data rows, participant column, code column, words the format must
# mention, status counts). SOURCES.md's facts about each are in test_prolific_export.py.
PROLIFIC_EXPECTED = [
    (f"{LAOLS}/prolific_export.csv", 253, "PROLIFIC_PID", "Completion code", "2024 Title-case",
     {"APPROVED": 153, "RETURNED": 76, "REJECTED": 19, "TIMED-OUT": 4, "SCREENED OUT": 1}),
    (f"{CHEUNG}/prolific_export_demographic.csv", 25, "Participant id", "Completion code", "2022-23 Title-case", {"APPROVED": 25}),
    ("matthewmachnowski__experimental-philosophy/prolific.csv", 219, "participant_id", "entered_code", "old snake_case",
     {"APPROVED": 200, "RETURNED": 12, "TIMED-OUT": 7}),
    ("dparra2399__Indirect-Direct-ToF/prolific_export_298bd5580c5380ce692e1855.csv", 119, None, None, "trimmed", {}),
]
PROLIFIC_EXPORTS = {e[0] for e in PROLIFIC_EXPECTED}


@pytest.mark.parametrize("name,rows,pid_col,code_col,fmt,statuses", PROLIFIC_EXPECTED,
                         ids=[e[0].split("/")[-1] for e in PROLIFIC_EXPECTED])
def test_prolific_realdata_file(realdata, name, rows, pid_col, code_col, fmt, statuses):
    from reconcile.importers.csvtext import load_table
    from reconcile.platforms.prolific.export_csv import read_export_table

    path = realdata / name
    assert sniff_kind(path) == "prolific"
    data = read_export_table(load_table(path), lenient=True)  # (the trimmed one is refused for matching)
    records = data.submissions
    assert len(records) == rows and len({r.submission_id for r in records}) == rows
    assert (data.participant_column, data.code_column) == (pid_col, code_col)
    assert fmt in data.format
    assert records[0].source.path == str(path) and records[0].source.row == 2
    assert all(set(r.fields) == set(data.columns) for r in records[:3])
    if pid_col:
        assert Counter(r.status for r in records) == statuses
        assert all(r.participant_id == r.fields[pid_col] and r.code == r.fields[code_col] for r in records)


def test_every_realdata_csv_is_listed(realdata):
    on_disk = {str(p.relative_to(realdata)) for p in realdata.glob("*/*.csv")}
    assert on_disk == {e[0] for e in EXPECTED} | PROLIFIC_EXPORTS


@pytest.mark.parametrize("name,kind,rows,code_col,worker_col,fmt", EXPECTED, ids=[e[0].split("/")[-1] for e in EXPECTED])
def test_realdata_file(realdata, name, kind, rows, code_col, worker_col, fmt):
    path = realdata / name
    assert sniff_kind(path) == kind
    if kind == "qualtrics":
        data = read_qualtrics(path)
        records = data.responses
        assert all(isinstance(r, Response) for r in records)
        first_data_row = 3 if "legacy" in data.format else 2 if "1 header row" in data.format else 4
        assert all(r.response_id.startswith("R_") for r in records)
    else:
        got = read_mturk([path])
        assert len(got.files) == 1
        data = got.files[0]
        records = data.submissions
        assert all(isinstance(a, Submission) for a in records)
        assert [a.submission_id for a in got.submissions] == [a.submission_id for a in records]
        assert got.duplicates == ()
        first_data_row = 2
        assert all(a.participant_id and a.group_id and a.status in ("Submitted", "Approved", "Rejected") for a in records)
    assert len(records) == rows
    assert data.code_column == code_col
    assert data.participant_column == worker_col
    assert fmt in data.format
    # Records point at their own file and CSV record; every row has every column.
    assert records[0].source.path == str(path)
    assert records[0].source.row == first_data_row
    assert len({r.source.row for r in records}) == rows
    assert all(len(r.fields) == len(data.columns) for r in records)
    assert all(set(r.fields) == set(data.columns) for r in records[:3])
    if code_col:
        assert all(r.code == r.fields[code_col] for r in records)


def test_chucooleg_facts(realdata):
    """SOURCES.md: 117 responses, 102 finished, unfinished have empty codes; 97 of 104 assignment
    codes are in the export; two WorkerIds pasted as codes, one sentence, four foreign codes."""
    q = read_qualtrics(realdata / CHUC / "20171112_qualtric_results_order1_0.40_redacted.csv")
    m = read_mturk([
        realdata / CHUC / "20171112_mturk_results_order1_0.40.csv",
        realdata / CHUC / "20171112_mturk_results_order1_0.40_supplementary.csv",
    ])
    assert Counter(r.finished for r in q.responses) == {"True": 102, "False": 15}
    assert all(r.code == "" for r in q.responses if r.finished == "False")
    assert all(r.status == "IP Address" for r in q.responses)
    assert q.responses[0].start_date[:4] == "2017" and q.responses[0].duration_seconds.isdigit()
    assert q.responses[0].ip_address.startswith("192.0.2.")
    assert len(m.submissions) == 104 and m.duplicates == ()
    codes = {r.code for r in q.responses if r.code}
    misses = [a for a in m.submissions if a.code not in codes]
    assert len(m.submissions) - len(misses) == 97
    pasted_ids = [a for a in misses if a.code == a.participant_id]
    assert len(pasted_ids) == 2
    typed = {r.participant_id for r in q.responses if r.finished == "True"}
    assert all(a.participant_id in typed for a in pasted_ids)
    assert sum("validation code is" in a.code for a in misses) == 1
    supplementary = [a for a in m.submissions if a.source.path.endswith("supplementary.csv")]
    assert len(supplementary) == 4 and all(a in misses for a in supplementary)
    # Short rows (28 of 30 fields) read as empty Approve/Reject, not as missing keys.
    assert all(a.fields["Approve"] == "" and a.fields["Reject"] == "" for a in m.submissions)
    assert m.submissions[0].reward == "$0.40" and m.submissions[0].fields["RequesterAnnotation"].startswith("BatchId:3006652")
    assert m.submissions[0].started_at == "Sun Nov 12 08:19:59 PST 2017"
    # Typed worker IDs are kept exactly as typed (lower case, missing leading "A").
    assert any(w.islower() for w in typed) and any(w and not w.startswith("A") and w.isupper() for w in typed)


def test_clef_facts(realdata):
    final = read_mturk([realdata / CLEF / "final_after_review__Batch_3171474_batch_results.csv"]).submissions
    assert Counter(a.status for a in final) == {"Approved": 500, "Rejected": 60}
    assert all(a.fields["RequesterFeedback"] == "x" for a in final if a.status == "Rejected")
    assert sum(a.code == "{}" for a in final) == 3
    assert Counter(a.group_size for a in final) == {"1": 440, "2": 120}
    assert max(Counter(a.participant_id for a in final).values()) == 100
    approve = read_mturk([realdata / CLEF / "approve_upload__Batch_3171474_batch_results.csv"]).submissions
    assert sum(a.fields["Approve"] == "x" for a in approve) == 155
    reject = read_mturk([realdata / CLEF / "reject_upload__Batch_3171474_batch_results.csv"]).submissions
    assert sum(a.fields["Reject"] == "x" for a in reject) == 24


def test_clef_review_files_together_conflict(realdata):
    """The batch before and after review holds the same assignments with different content."""
    m = read_mturk([
        realdata / CLEF / "final_after_review__Batch_3171474_batch_results.csv",
        realdata / CLEF / "approve_upload__Batch_3171474_batch_results.csv",
    ])
    assert len(m.submissions) == 560
    assert len(m.duplicates) == 155
    assert not any(d.identical for d in m.duplicates)
    first = {a.submission_id: a.source for a in m.submissions}
    assert all(d.duplicate_of == first[d.submission_id] for d in m.duplicates)
    assert all(d.source.path.endswith("approve_upload__Batch_3171474_batch_results.csv") for d in m.duplicates)


def test_same_file_twice_is_counted_once(realdata):
    p = realdata / CHUC / "20171112_mturk_results_order1_0.40.csv"
    m = read_mturk([p, p])
    assert len(m.submissions) == 100
    assert len(m.duplicates) == 100 and all(d.identical for d in m.duplicates)


def test_excel_resaved_batch_missing_columns(realdata):
    b = read_mturk([realdata / KEV / "Batch_3849139_batch_results_norelationship.csv"]).files[0]
    assert "ApprovalTime" not in b.columns
    assert any("ApprovalTime" in w for w in b.warnings)
    a = b.submissions[0]
    assert a.fields["Answer._1donebf1.yes"] in ("TRUE", "FALSE")
    assert a.group_id == "37SDSEDIOCKDFHIRHX0KAUZPJK081M"  # the BOM is not part of the first column name
    assert b.columns[0] == "HITId"


def test_qualtrics_api_exports_keep_newlines_and_statuses(realdata):
    beskar = read_qualtrics(realdata / ROPEN / "api_export_Beskar_Armor_redacted.csv")
    assert Counter(r.status for r in beskar.responses) == {"IP Address": 27, "Survey Test": 15, "Survey Preview": 2}
    multiline = [v for r in beskar.responses for v in r.fields.values() if "\n" in v]
    assert multiline and all("\r\n" not in v for v in multiline)  # bare LF inside CRLF records
    cats = read_qualtrics(realdata / ROPEN / "api_export_Cats_Can_Have_a_Little_Salami.csv")
    assert Counter(r.status for r in cats.responses) == {"IP Address": 42, "Spam": 2, "Survey Preview": 1}
    assert all(r.ip_address == "" for r in cats.responses)  # no IPAddress column in that export


def test_legacy_and_insights_map_onto_the_same_fields(realdata):
    legacy = read_qualtrics(realdata / CTESTA / "Single_Answer_MC_Questions_legacy.csv")
    insights = read_qualtrics(realdata / CTESTA / "Single_Answer_MC_Questions_insights.csv")
    assert [r.response_id for r in legacy.responses] == [r.response_id for r in insights.responses]
    assert [r.start_date for r in legacy.responses] == [r.start_date for r in insights.responses]
    assert [r.finished for r in legacy.responses] == [r.finished for r in insights.responses] == ["1"] * 5
    assert {r.status for r in legacy.responses} == {"2"}
    assert legacy.columns[0] == "ResponseID" and "V1" not in legacy.columns
    assert "" not in legacy.columns and len(legacy.columns) == 19  # the trailing comma is not a column
    assert legacy.responses[0].source.row == 3 and insights.responses[0].source.row == 4
    sample = read_qualtrics(realdata / ROPEN / "sample_legacy.csv").responses[0]
    assert (sample.status, sample.finished, sample.ip_address) == ("0", "1", "130.92.34.66")
    assert sample.fields["Q2"] == "Hello World!"
