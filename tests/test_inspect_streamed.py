"""`inspect` of a batch read as a stream says exactly what the whole-file reading says.

The streamed reading (platforms/mturk/inspect_stream.py) holds no rows; it must give the same
kind, columns, counts, format and warnings as `inspect_whole` on every real file and sample file,
and hand anything it cannot read exactly (errors included) to the whole reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile import platforms
from reconcile.errors import ReconcileError
from reconcile.inspection import inspect_file, inspect_whole
from reconcile.importers.qualtrics_stream import inspect_survey_streamed
from reconcile.platforms.mturk.inspect_stream import inspect_streamed

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"


def _outcome(fn, path):
    try:
        return fn(path)
    except ReconcileError as err:
        return ("error", type(err).__name__, str(err))


def _same(path) -> dict | None:
    """Asserts inspect_file == inspect_whole on `path`; returns what the stream alone said."""
    assert _outcome(inspect_file, path) == _outcome(inspect_whole, path), path
    try:
        return inspect_streamed(str(path), platforms.claims())
    except ReconcileError:
        return None


def test_streamed_inspect_equals_whole_on_every_real_and_sample_file(realdata):
    files = sorted(p for p in realdata.rglob("*") if p.is_file() and p.name != "SOURCES.md")
    files += sorted(p for p in SAMPLE_DATA.rglob("*.csv"))
    assert len(files) > 30
    streamed = [p for p in files if _same(p) is not None]
    # The comparison is not vacuous: the batches (real and sample) were read as streams.
    assert len([p for p in streamed if "mturk" in p.name.lower() or "CLEF" in str(p)]) >= 5, streamed
    assert SAMPLE_DATA / "mturk_batch_results.csv" in streamed


HEADER = ("HITId,HITTypeId,Title,Reward,CreationTime,MaxAssignments,RequesterAnnotation,AssignmentId,WorkerId,"
          "AssignmentStatus,AcceptTime,SubmitTime,AutoApprovalTime,ApprovalTime,RejectionTime,RequesterFeedback,"
          "WorkTimeInSeconds,Answer.surveycode")


def _row(aid, worker="A1B2C3D4E5F6G7", status="Submitted", code="ABC123", tail=""):
    return f"3H,3T,t,$1.00,x,9,,{aid},{worker},{status},a,s,d,,,,60,{code}{tail}"


CASES = {
    "plain": [HEADER, _row("A1"), _row("A2", status="Approved")],
    "duplicates": [HEADER, _row("A1"), _row("A1 "), _row("A2"), _row("A1", code="other")],
    "short rows": [HEADER, _row("A1"), "3H,3T,t,$1.00,x,9,,A2,W2,Submitted", _row("A3")],
    "blank rows inside": [HEADER, _row("A1"), "", ",,,", _row("A2"), ""],
    "damaged codes": [HEADER, _row("A1", code="1.23457E+11"), _row("A2", code="12345.0"), _row("A3")],
    "trailing unnamed empty": [HEADER + ",,", _row("A1", tail=",,"), _row("A2", tail=", ,")],
    "trailing unnamed used": [HEADER + ",,", _row("A1", tail=",x,"), _row("A2", tail=",,")],
    "no status column": [HEADER.replace("AssignmentStatus", "Something"), _row("A1")],
    "loose standard names": [HEADER.replace("AssignmentStatus", " assignment_status"), _row("A1")],
    "two code columns, one filled": [HEADER + ",Answer.completionCode", _row("A1", tail=","), _row("A2", tail=",")],
    "two code columns, tie": [HEADER + ",Answer.completionCode", _row("A1", tail=",X"), _row("A2", tail=",Y")],
    "two worker columns": [HEADER + ",workerid", _row("A1", tail=",A9Z8Y7X6W5V4U3"), _row("A2", tail=",")],
    "repeated and blank names": [HEADER + ",Answer.surveycode,", _row("A1", tail=",q,r"), _row("A2", tail=",,")],
    "extra cells (refused)": [HEADER, _row("A1", tail=",boom"), _row("A2")],
    "extra empty cells": [HEADER, _row("A1", tail=", ,"), _row("A2")],
    "no AssignmentId (refused)": [HEADER, _row("A1"), _row(" ")],
    "header only (refused)": [HEADER],
    "cut last row (refused)": [HEADER, _row("A1"), "3H,3T"],
    "odd quotes": [HEADER, _row("A1", code='"ab'), _row("A2")],
    "quoted newline": [HEADER, _row("A1", code='"a\nb"'), _row("A2")],
    "a survey export": ["ResponseId,StartDate,Status,Q1", "R_1,x,IP Address,a"],
}


WHOLE = {name for name in CASES if "refused" in name} | {"odd quotes", "a survey export"}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("ending,final", [("\n", True), ("\r\n", False), ("\r", True)])
@pytest.mark.parametrize("delimiter", [",", "\t"])
@pytest.mark.parametrize("bom", [False, True])
def test_streamed_inspect_equals_whole_on_edge_cases(tmp_path, name, ending, final, delimiter, bom):
    lines = [line.replace(",", delimiter) for line in CASES[name]]
    text = ending.join(lines) + (ending if final else "")
    p = tmp_path / "batch.csv"
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    streamed = _same(p)
    # What the whole reading refuses, and what load_table reads whole (odd quotes; CR-only line
    # ends: no LF in the first 64 KiB), is handed to it; the rest is streamed.
    assert (streamed is None) == (name in WHOLE or "\n" not in text), name


def test_streamed_inspect_counts_a_large_batch_exactly(tmp_path):
    p = tmp_path / "batch.csv"
    rows = [_row(f"A{i % 700}", status=("Approved", "Rejected", "Submitted")[i % 3]) for i in range(2000)]
    p.write_text("\n".join([HEADER, *rows]) + "\n")
    got = inspect_streamed(str(p), platforms.claims())
    assert got is not None
    assert got["rows"] == 2000 and got["duplicate_rows"] == 1300
    assert got["status_counts"] == {"Approved": 667, "Rejected": 667, "Submitted": 666}
    assert got == inspect_whole(p)


# ------------------------------------------------------------------ survey exports

def _survey_outcome(streamed, path):
    """What the stream says of a survey with MTurk's rules, against inspect_survey of the whole table."""
    from reconcile.importers import inspect_survey
    from reconcile.importers.csvtext import load_table

    ids = platforms.get("mturk").ids
    whole = _outcome(lambda p: inspect_survey(load_table(p), ids=ids), path)
    got = inspect_survey_streamed(str(path), ids, platforms.claims())
    if got is not None:
        assert got == whole, path
    return got


def test_streamed_survey_inspect_equals_whole_on_every_real_and_sample_survey(realdata):
    files = sorted(p for p in realdata.rglob("*") if p.is_file() and p.name != "SOURCES.md")
    files += sorted(p for p in SAMPLE_DATA.rglob("*.csv"))
    streamed = [p for p in files if _survey_outcome(inspect_survey_streamed, p) is not None]
    assert len(streamed) >= 10, streamed  # every UTF-8 survey export, with and without a worker-ID column


SURVEY = [
    'StartDate,EndDate,Status,Progress,Finished,ResponseId,workerId,mTurkCode,Q1',
    '"Start Date","End Date","Response Type",Progress,Finished,"Response ID",workerId,mTurkCode,"Your answer"',
    '"{""ImportId"":""startDate""}","{""ImportId"":""endDate""}","{""ImportId"":""status""}","{""ImportId"":""progress""}",'
    '"{""ImportId"":""finished""}","{""ImportId"":""_recordId""}","{""ImportId"":""workerId""}","{""ImportId"":""mTurkCode""}",'
    '"{""ImportId"":""QID1""}"',
]


def _resp(rid, worker="A1B2C3D4E5F6G7", code="12345", finished="True", status="IP Address", start="2024-01-01 10:00:00", tail=""):
    return f"{start},{start},{status},100,{finished},{rid},{worker},{code},yes{tail}"


SURVEY_CASES = {
    "plain": SURVEY + [_resp("R_1"), _resp("R_2", finished="False", status="Survey Preview")],
    "one header row": SURVEY[:1] + [_resp("R_1"), _resp("R_2")],
    "blank rows": SURVEY + [_resp("R_1"), "", ",,,", _resp("R_2"), ""],
    "excel": SURVEY + [_resp("R_1", finished="TRUE", start="1/2/2024 10:00"), _resp("R_2", finished="FALSE")],
    "damaged codes": SURVEY + [_resp("R_1", code="1.23457E+11"), _resp("R_2", code="12345.0")],
    "short rows": SURVEY + [_resp("R_1"), "2024-01-01,2024-01-01,IP Address,100,True,R_2,A9Z8Y7X6W5V4U3", _resp("R_3")],
    "trailing comma": [line + "," for line in SURVEY] + [_resp("R_1", tail=","), _resp("R_2", tail=",")],
    "trailing column used": [line + "," for line in SURVEY] + [_resp("R_1", tail=",x"), _resp("R_2", tail=",")],
    "two code columns": [SURVEY[0] + ",completion_code"] + [_resp("R_1", tail=","), _resp("R_2", tail=",")],
    "no worker column": [SURVEY[0].replace("workerId", "Q9")] + [_resp("R_1"), _resp("R_2")],
    "legacy": ["V1,V2,V3,V4,V5,V6,workerId,mTurkCode,Q1", "ResponseID,ResponseSet,Name,ExternalDataReference,EmailAddress,"
               "IPAddress,workerId,mTurkCode,Q1", "R_1,Default,Anonymous,,,1.2.3.4,A1B2C3D4E5F6G7,123,yes", "R_2,x,y,,,,W,4,no"],
    "extra cells (refused)": SURVEY + [_resp("R_1", tail=",boom"), _resp("R_2")],
    "no responses (refused)": SURVEY,
    "cut last row (refused)": SURVEY + [_resp("R_1"), "2024"],
}
SURVEY_WHOLE = {name for name in SURVEY_CASES if "refused" in name}


@pytest.mark.parametrize("name", sorted(SURVEY_CASES))
@pytest.mark.parametrize("ending,final", [("\n", True), ("\r\n", False)])
@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_streamed_survey_inspect_equals_whole_on_edge_cases(tmp_path, name, ending, final, delimiter):
    lines = [line.replace(",", delimiter) for line in SURVEY_CASES[name]]
    p = tmp_path / "export.csv"
    p.write_text(ending.join(lines) + (ending if final else ""), encoding="utf-8")
    got = _survey_outcome(inspect_survey_streamed, p)
    assert (got is None) == (name in SURVEY_WHOLE), name
    _same(p)


# ------------------------------------------------------------------ Prolific submissions exports

def _prolific_same(path) -> dict | None:
    """Asserts inspect_file == inspect_whole on `path`; returns what the Prolific stream alone said
    (and checks it is the whole reading's answer whenever it said something)."""
    from reconcile.platforms.prolific.inspect_stream import inspect_streamed as prolific_streamed

    whole = _outcome(inspect_whole, path)
    assert _outcome(inspect_file, path) == whole, path
    got = prolific_streamed(str(path), platforms.claims())
    if got is not None:
        assert got == whole, path
    return got


def test_streamed_prolific_inspect_equals_whole_on_every_real_and_sample_file(realdata):
    files = sorted(p for p in realdata.rglob("*") if p.is_file() and p.name != "SOURCES.md")
    files += sorted(p for p in SAMPLE_DATA.rglob("*.csv"))
    streamed = [p for p in files if _prolific_same(p) is not None]
    # Every real Prolific export is UTF-8 and read as a stream (the renamed PROLIFIC_PID, the old
    # snake_case era, the demographic export, the trimmed one) and so is the sample's; nothing else is.
    assert {p.name for p in streamed} == {
        "prolific_export.csv", "prolific.csv", "prolific_export_demographic.csv",
        "prolific_export_298bd5580c5380ce692e1855.csv", "prolific_export_6a1f00c0ffee5eed0b57d1e5.csv",
    }, streamed


P_HEADER = ("Submission id,Participant id,Status,Custom study tncs accepted at,Started at,Completed at,Reviewed at,"
            "Archived at,Time taken,Completion code,Total approvals,Age")


def _sub(sid, pid="5f0c1a2b3c4d5e6f70819203", status="AWAITING REVIEW", completed="2036-03-09T14:08:17.000000Z",
         code="C7Q2M4PK", tail=""):
    return f"{sid},{pid},{status},Not Applicable,2036-03-09T14:00:51.000000Z,{completed},,,446,{code},374,58{tail}"


S1, S2, S3 = "c27dfa10ae13037af19de954", "b20c57c25c99d98df3efcc1d", "9ab575c6e2add61eac254746"
PROLIFIC_CASES = {
    "plain": [P_HEADER, _sub(S1), _sub(S2, status="APPROVED")],
    "statuses": [P_HEADER, _sub(S1, status=" RETURNED "), _sub(S2, status="TIMED-OUT"), _sub(S3, status=""),
                 _sub(S1 + "1", status="returned")],
    "duplicates": [P_HEADER, _sub(S1), _sub(S1 + " "), _sub(S2), _sub(S1, code="other")],
    # IDs kept as numbers when they are 24 lower-case hex digits: other spellings stay other IDs.
    "duplicates, other spellings": [P_HEADER, _sub(S1), _sub(S1.upper()), _sub(S1.upper()), _sub(str(int(S1, 16))),
                                    _sub("0x" + S1), _sub("not-hex"), _sub("not-hex "), _sub(S1[:-1])],
    "short rows": [P_HEADER, _sub(S1), f"{S2},5f0c1a2b3c4d5e6f70819204,APPROVED", _sub(S3)],
    "blank rows inside": [P_HEADER, _sub(S1), "", ",,,", _sub(S2), ""],
    "withheld values": [P_HEADER, _sub(S1, completed="DATA_EXPIRED"), _sub(S2, completed="CONSENT REVOKED", code="")],
    "other time styles": [P_HEADER, _sub(S1, completed="2036-03-09 14:08:17.179000"), _sub(S2, completed="2036-03-09T14:08:17+02:00"),
                          _sub(S3, completed="Mon Mar 09 14:08:17 GMT 2036"), _sub(S1 + "2", completed="soon")],
    "trailing unnamed empty": [P_HEADER + ",,", _sub(S1, tail=",,"), _sub(S2, tail=", ,")],
    "trailing unnamed used": [P_HEADER + ",,", _sub(S1, tail=",x,"), _sub(S2, tail=",,")],
    "repeated and blank names": [P_HEADER + ",Status,", _sub(S1, tail=",q,r"), _sub(S2, tail=",,")],
    "old snake_case": ["session_id,participant_id,status,started_datetime,completed_date_time,time_taken,entered_code",
                       f"{S1},5f0c1a2b3c4d5e6f70819203,APPROVED,2021-01-01 10:00:00.1,2021-01-01 10:09:00.2,540.5,ABC",
                       f"{S2},5f0c1a2b3c4d5e6f70819204,REJECTED,,,,"],
    "2026 snake_case": ["submission_id,PROLIFIC_PID,submission_status,started_at,completed_at,time_taken_seconds,study_code",
                        f"{S1},5f0c1a2b3c4d5e6f70819203,AWAITING REVIEW,2036-01-01T10:00:00Z,2036-01-01T10:09:00Z,540,ABC"],
    "no code, no completion time": ["Submission id,Participant id,Status,Started at,Time taken",
                                    f"{S1},5f0c1a2b3c4d5e6f70819203,APPROVED,2036-01-01T10:00:00Z,5"],
    "trimmed (no participant column)": ["Submission id,Status,Started at,Completed at,Completion code",
                                        f"{S1},APPROVED,x,2036-01-01T10:00:00Z,A", f"{S2},,x,,B", f"{S1},RETURNED,,,"],
    "no status column": ["Submission id,Participant id,Completed at,Completion code", f"{S1},5f0c1a2b3c4d5e6f70819203,,A"],
    "extra empty cells": [P_HEADER, _sub(S1, tail=", ,"), _sub(S2)],
    "extra cells (refused)": [P_HEADER, _sub(S1, tail=",boom"), _sub(S2)],
    "no submission ID (refused)": [P_HEADER, _sub(S1), _sub(" ")],
    "no participant ID (refused)": [P_HEADER, _sub(S1), _sub(S2, pid=" ")],
    "header only (refused)": [P_HEADER],
    # Once a traceback of the whole reading (tests/test_hostile_times.py): now unreadable times.
    "time past 9999": [P_HEADER, _sub(S1, completed="9999-12-31T00:00:00Z")],
    "impossible offset": [P_HEADER, _sub(S1, completed="2036-03-09T14:08:17+99:00")],
    "odd quotes": [P_HEADER, _sub(S1, code='"ab'), _sub(S2)],
    "quoted newline": [P_HEADER, _sub(S1, code='"a\nb"'), _sub(S2)],
    "an MTurk batch": [HEADER, _row("A1")],
}
PROLIFIC_WHOLE = {name for name in PROLIFIC_CASES if "refused" in name or "crashes" in name} | {"odd quotes", "an MTurk batch"}


@pytest.mark.parametrize("name", sorted(PROLIFIC_CASES))
@pytest.mark.parametrize("ending,final", [("\n", True), ("\r\n", False), ("\r", True)])
@pytest.mark.parametrize("delimiter", [",", "\t"])
@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("file_name", ["prolific_export_6a1f00c0ffee5eed0b57d1e5.csv", "submissions.csv"])
def test_streamed_prolific_inspect_equals_whole_on_edge_cases(tmp_path, name, ending, final, delimiter, bom, file_name):
    lines = [line.replace(",", delimiter) for line in PROLIFIC_CASES[name]]
    text = ending.join(lines) + (ending if final else "")
    p = tmp_path / file_name
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    streamed = _prolific_same(p)
    assert (streamed is None) == (name in PROLIFIC_WHOLE or "\n" not in text), name


def test_streamed_prolific_inspect_counts_a_large_export_exactly(tmp_path):
    from reconcile.platforms.prolific.inspect_stream import inspect_streamed as prolific_streamed

    p = tmp_path / "prolific_export_6a1f00c0ffee5eed0b57d1e5.csv"
    statuses = ("APPROVED", "RETURNED", "AWAITING REVIEW")
    rows = [_sub(f"{i % 700:024x}", status=statuses[i % 3]) for i in range(2000)]
    p.write_text("\n".join([P_HEADER, *rows]) + "\n")
    got = prolific_streamed(str(p), platforms.claims())
    assert got is not None
    assert got["rows"] == 2000 and got["duplicate_rows"] == 1300 and got["study_id"] == "6a1f00c0ffee5eed0b57d1e5"
    assert got["status_counts"] == {"APPROVED": 667, "RETURNED": 667, "AWAITING REVIEW": 666}
    assert got == inspect_whole(p)


# ------------------------------------------------------------------ surveys read by Prolific's rules

def _survey_first_found(path) -> dict | None:
    """The stream for every platform's rules in turn (as inspect_file asks it), compared with
    inspect_whole whenever it answers; and the one-rule stream with Prolific's rules compared with
    inspect_survey of the whole table with them (also where MTurk's rules find a column first)."""
    from reconcile.importers import inspect_survey
    from reconcile.importers.csvtext import load_table
    from reconcile.importers.qualtrics_stream import inspect_survey_streamed_first_found

    rules = [p.ids for p in platforms.PLATFORMS.values()]
    got = inspect_survey_streamed_first_found(str(path), rules, platforms.claims())
    if got is not None:
        assert got == _outcome(inspect_whole, path), path
    prolific = platforms.get("prolific").ids
    alone = inspect_survey_streamed(str(path), prolific, platforms.claims())
    assert (alone is None) == (got is None), path
    if alone is not None:
        assert alone == _outcome(lambda p: inspect_survey(load_table(p), ids=prolific), path), path
    assert _outcome(inspect_file, path) == _outcome(inspect_whole, path), path
    return got


def test_streamed_survey_inspect_with_every_platforms_rules_equals_whole_on_every_real_and_sample_file(realdata):
    files = sorted(p for p in realdata.rglob("*") if p.is_file() and p.name != "SOURCES.md")
    files += sorted(p for p in SAMPLE_DATA.rglob("*.csv"))
    found = {p: _survey_first_found(p) for p in files}
    streamed = {p: got for p, got in found.items() if got is not None}
    assert len(streamed) >= 10, streamed
    # The Prolific surveys (captured PROLIFIC_PID; a typed ID only) were streamed and their
    # participant column found by Prolific's rules, so the tallies were what decided them.
    prolific_found = {p.parent.name + "/" + p.name for p, got in streamed.items()
                      if got["participant_column"] and "prolific" in got["participant_column"].lower()}
    assert "prolific/qualtrics_export.csv" in prolific_found, prolific_found
    assert "laols574__ec_sd_survey/qualtrics_export_redacted.csv" in prolific_found, prolific_found


def _pid(k: int) -> str:
    return f"{0x5f0c1a2b3c4d5e6f70810000 + k:024x}"


P_SURVEY = [
    "StartDate,Status,Finished,ResponseId,Q1,Q2,PROLIFIC_PID,STUDY_ID,SESSION_ID",
    'Start Date,Response Type,Finished,Response ID,"What is your Prolific ID?",Comments,PROLIFIC_PID,STUDY_ID,SESSION_ID',
    '"{""ImportId"":""startDate""}","{""ImportId"":""status""}","{""ImportId"":""finished""}","{""ImportId"":""_recordId""}",'
    '"{""ImportId"":""QID1_TEXT""}","{""ImportId"":""QID2_TEXT""}","{""ImportId"":""PROLIFIC_PID""}",'
    '"{""ImportId"":""STUDY_ID""}","{""ImportId"":""SESSION_ID""}"',
]
STUDY_HEX = "6a1f00c0ffee5eed0b57d1e5"


def _presp(k, typed=None, captured=None, q2="ok", status="IP Address", finished="True", tail=""):
    typed = _pid(k) if typed is None else typed
    captured = _pid(k) if captured is None else captured
    return f"2036-03-06 07:00:00,{status},{finished},R_{k:015d},{typed},{q2},{captured},{STUDY_HEX},{_pid(k + 900)}{tail}"


def _no_captured(lines):
    """The survey without its PROLIFIC_PID column (the ID only typed): the header names it Q7."""
    return [lines[0].replace("PROLIFIC_PID", "Q7")] + lines[1:]


P_SURVEY_CASES = {
    "captured and typed": P_SURVEY + [_presp(1), _presp(2, typed=f"my id is {_pid(2).upper()}"), _presp(3, typed="")],
    "typed only": _no_captured(P_SURVEY[:1]) + [_presp(1, captured=""), _presp(2, captured="")],
    "typed only, half IDs (not mostly)": _no_captured(P_SURVEY[:1]) + [
        _presp(1, captured=""), _presp(2, typed="dunno", captured="")],
    "typed only, one filled": _no_captured(P_SURVEY[:1]) + [_presp(1, captured=""), _presp(2, typed="", captured="")],
    "typed only, all one ID (the study's)": _no_captured(P_SURVEY[:1]) + [
        _presp(1, typed=STUDY_HEX, captured=""), _presp(2, typed=STUDY_HEX, captured="")],
    "typed only, whitespace cells": _no_captured(P_SURVEY[:1]) + [
        _presp(1, captured=" "), _presp(2, typed=" ", captured=""), _presp(3, captured="")],
    "two typed columns, tie broken by shape": _no_captured(P_SURVEY[:1]) + [
        _presp(1, q2=_pid(1), typed=f"id {_pid(1)}", captured=""), _presp(2, q2=_pid(2), typed=f"id {_pid(2)}", captured="")],
    "two typed columns, a true tie": _no_captured(P_SURVEY[:1]) + [
        _presp(1, q2=_pid(1), captured=""), _presp(2, q2=_pid(2), captured="")],
    "loose name with IDs": [P_SURVEY[0].replace("PROLIFIC_PID", "prolific_answer")] + [
        _presp(1, typed="", q2=""), _presp(2, typed="", q2="")],
    "loose name without IDs": [P_SURVEY[0].replace("PROLIFIC_PID", "prolific_answer")] + [
        _presp(1, typed="", q2="", captured="yes"), _presp(2, typed="", q2="", captured="no")],
    "no ID anywhere": _no_captured(P_SURVEY[:1]) + [_presp(1, typed="", captured=""), _presp(2, typed="x", captured="")],
    "blank and short rows": P_SURVEY + [_presp(1), "", ",,,", "2036-03-06 07:00:00,IP Address,True,R_2", _presp(3)],
    "trailing comma": [line + "," for line in P_SURVEY] + [_presp(1, tail=","), _presp(2, tail=",")],
    "trailing column used (IDs)": [line + "," for line in P_SURVEY[:1]] + [
        _presp(1, captured="", typed="", tail="," + _pid(1)), _presp(2, captured="", typed="", tail="," + _pid(2))],
    "previews and unfinished": P_SURVEY + [_presp(1, status="Survey Preview", finished="False"), _presp(2, finished="FALSE")],
    "code columns": [P_SURVEY[0].replace("Q2", "prolific_code")] + [_presp(1, q2="C7Q2M4PK"), _presp(2, q2="1.23457E+11")],
    "extra cells (refused)": P_SURVEY + [_presp(1, tail=",boom"), _presp(2)],
    "no responses (refused)": P_SURVEY,
    "cut last row (refused)": P_SURVEY + [_presp(1), "2036"],
}
P_SURVEY_WHOLE = {name for name in P_SURVEY_CASES if "refused" in name}


@pytest.mark.parametrize("name", sorted(P_SURVEY_CASES))
@pytest.mark.parametrize("ending,final", [("\n", True), ("\r\n", False)])
@pytest.mark.parametrize("delimiter", [",", "\t"])
@pytest.mark.parametrize("bom", [False, True])
def test_streamed_prolific_survey_inspect_equals_whole_on_edge_cases(tmp_path, name, ending, final, delimiter, bom):
    lines = [line.replace(",", delimiter) for line in P_SURVEY_CASES[name]]
    p = tmp_path / "export.csv"
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (ending.join(lines) + (ending if final else "")).encode("utf-8"))
    got = _survey_first_found(p)
    assert (got is None) == (name in P_SURVEY_WHOLE), name


def test_streamed_prolific_survey_decided_by_rows_past_the_first_blocks(tmp_path):
    """Rows held and tallied a block at a time: a column whose IDs come only in the last rows
    (and one whose IDs stop being one person's there) is judged on all of them, as whole."""
    from reconcile.importers.qualtrics_stream import _BLOCK

    n = 3 * _BLOCK + 17
    rows = []
    for k in range(n):
        late = k >= n - (n // 2 + 1)
        rows.append(_presp(k, typed=_pid(k) if late else "no", q2=_pid(7) if k < n - 1 else _pid(8), captured=""))
    p = tmp_path / "export.csv"
    p.write_text("\n".join(_no_captured(P_SURVEY[:1]) + rows) + "\n", encoding="utf-8")
    got = _survey_first_found(p)
    assert got is not None and got["rows"] == n
    # Q1 holds IDs in just over half its rows (all late) and Q2 one ID until its last row: each
    # counts as a column of IDs only with every row seen; then Q2's IDs in every row win the tie.
    assert got["participant_column"] == "Q2" and got["participant_candidates"] == ["Q1", "Q2"]
    assert got == inspect_whole(p)


# The tallies against the plain loops they replace: any values, fed in any pieces.
def _reference_mostly(values, ids) -> bool:
    filled = found = 0
    first = None
    varied = False
    for v in values:
        if not v.strip():
            continue
        filled += 1
        if ids.could_be(v):
            found += 1
            k = ids.key(v)
            if first is None:
                first = k
            elif k != first:
                varied = True
    return found * 2 > filled and (varied or filled == 1)


_CELLS = ["", " ", "\t", "no", _pid(1), _pid(2), _pid(1).upper(), f"id: {_pid(2)}", f"{_pid(1)} {_pid(2)}",
          "A1B2C3D4E5F6G7", "AZ3456789ABCD", "{{%PROLIFIC_PID%}}", STUDY_HEX, "\u200b"]


def test_id_tally_in_pieces_equals_one_pass_over_the_column():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from reconcile.importers.columns import IdTally

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.one_of(st.sampled_from(_CELLS), st.text(max_size=30)), max_size=12),
           st.lists(st.integers(0, 12), max_size=4), st.sampled_from(sorted(platforms.PLATFORMS)))
    def check(values, cuts, platform):
        ids = platforms.get(platform).ids
        tally = IdTally(ids)
        at = 0
        for cut in sorted(cuts) + [len(values)]:
            tally.add(tuple(values[at:max(at, cut)]))
            at = max(at, cut)
        assert tally.mostly_ids() == _reference_mostly(values, ids)
        assert tally.any_could_be() == any(ids.could_be(v) for v in values)

    check()


def test_content_tallies_only_where_a_content_rule_is_asked(monkeypatch):
    """An MTurk study's export names its worker-ID column (MTurk's rules find it by the header): the
    by-content tallies of Prolific's rules, which look at every cell, are not kept (they made the
    streamed inspect of a 1M export 25 CPU s instead of 6). A Prolific study's export still gets them."""
    from reconcile.importers import columns as cols
    from reconcile.importers.qualtrics_stream import inspect_survey_streamed_first_found

    made: list[object] = []
    real = cols.IdTally

    class Counted(real):  # type: ignore[misc, valid-type]
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    monkeypatch.setattr(cols, "IdTally", Counted)
    rules = [platform.ids for platform in platforms.PLATFORMS.values()]
    sample = Path(__file__).resolve().parent.parent / "sample_data"
    got = inspect_survey_streamed_first_found(str(sample / "qualtrics_export.csv"), rules, platforms.claims())
    assert got is not None and got["participant_column"] and made == []
    got = inspect_survey_streamed_first_found(str(sample / "prolific" / "qualtrics_export.csv"), rules, platforms.claims())
    assert got is not None and got["participant_column"] == "PROLIFIC_PID" and made
