"""Prolific submissions exports (platforms/prolific/export_csv.py): every real export in
../shared/realdata with SOURCES.md's counts, every header era from small hand-made files, the
trimmed export's one sentence, and `reconcile inspect` kinds."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from conftest import run_cli
from prolific_helpers import synthetic_rows, write_prolific_export
from reconcile.errors import InputError
from reconcile.importers.csvtext import load_table
from reconcile.inspection import sniff_kind
from reconcile.platform import State
from reconcile.platforms import get
from reconcile.platforms.prolific.export_csv import claims_table, read_prolific_csv
from reconcile.platforms.prolific.states import state_of

LAOLS = "laols574__ec_sd_survey"
CHEUNG = "Alex-J-Cheung__Qualtrics-Survey"
MACH = "matthewmachnowski__experimental-philosophy"
PARRA = "dparra2399__Indirect-Direct-ToF"
STUDY = "5e0d0f1a2b3c4d5e6f708192"


# ---------------------------------------------------------------- states


@pytest.mark.parametrize("status,state", [
    ("AWAITING REVIEW", State.PENDING), ("awaiting_review", State.PENDING), (" Awaiting Review ", State.PENDING),
    ("APPROVED", State.APPROVED), ("REJECTED", State.REJECTED), ("RETURNED", State.CLOSED),
    ("TIMED-OUT", State.CLOSED), ("timed out", State.CLOSED), ("TIME-OUT", State.CLOSED), ("SCREENED OUT", State.CLOSED),
    ("screened_out", State.CLOSED), ("PARTIALLY APPROVED", State.CLOSED), ("ACTIVE", State.UNKNOWN),
    ("RESERVED", State.UNKNOWN), ("PROCESSING", State.UNKNOWN), ("", State.UNKNOWN), ("Submitted", State.UNKNOWN),
])
def test_state_of(status, state):
    assert state_of(status) == state


# ---------------------------------------------------------------- the real exports


def test_laols_export(realdata):
    data = read_prolific_csv([realdata / LAOLS / "prolific_export.csv"])
    subs = data.submissions
    f = data.files[0]
    assert len(subs) == 253 and data.duplicates == ()
    assert f.participant_column == "PROLIFIC_PID" and f.code_column == "Completion code"
    assert "2024" in f.format and "CRLF" in f.format
    assert Counter(s.status for s in subs) == {"APPROVED": 153, "RETURNED": 76, "REJECTED": 19, "TIMED-OUT": 4, "SCREENED OUT": 1}
    assert Counter(s.state for s in subs) == {State.APPROVED: 153, State.CLOSED: 81, State.REJECTED: 19}
    codes = Counter(s.code for s in subs)
    assert codes["NOCODE"] == 166 and codes[""] == 78
    assert all(s.status in ("RETURNED", "TIMED-OUT") for s in subs if s.code == "")
    own = [s for s in subs if s.code.strip().lower() == s.participant_id]
    assert Counter(s.status for s in own) == {"APPROVED": 4, "REJECTED": 1}
    assert all(s.platform == "prolific" and s.group_id == "" for s in subs)  # the file name names no study
    assert any("no study ID" in w for w in f.warnings)
    assert subs[0].source.row == 2 and subs[0].source.path == str(realdata / LAOLS / "prolific_export.csv")
    assert subs[0].review_deadline == "2024-08-05T20:24:36Z"  # Completed at + 21 days
    # an empty Time taken (RETURNED) stays empty; the others are whole seconds
    assert all(s.duration_seconds == "" or s.duration_seconds.isdigit() for s in subs)
    assert any(s.duration_seconds == "" for s in subs if s.status == "RETURNED")


def test_cheung_export(realdata):
    data = read_prolific_csv([realdata / CHEUNG / "prolific_export_demographic.csv"], study_id=STUDY)
    subs = data.submissions
    assert len(subs) == 25 and {s.status for s in subs} == {"APPROVED"}
    assert "2022-23" in data.files[0].format
    assert Counter(s.code for s in subs)["CGBAT70K"] == 24
    assert sum(s.code == s.participant_id for s in subs) == 1
    assert {s.group_id for s in subs} == {STUDY}  # from --prolific-study
    assert not any("no study ID" in w for w in data.files[0].warnings)


def test_old_snake_case_export(realdata):
    data = read_prolific_csv([realdata / MACH / "prolific.csv"])
    subs = data.submissions
    f = data.files[0]
    assert len(subs) == 219 and f.participant_column == "participant_id" and f.code_column == "entered_code"
    assert "old snake_case" in f.format
    assert Counter(s.status for s in subs) == {"APPROVED": 200, "RETURNED": 12, "TIMED-OUT": 7}
    codes = Counter(s.code for s in subs)
    assert (codes["2B73928C"], codes[""], codes["NOCODE"]) == (199, 19, 1)
    assert all(s.status == "APPROVED" for s in subs if s.code == "2B73928C")
    assert subs[0].duration_seconds == "754.619" and subs[0].submitted_at == "2022-06-06 19:32:23.798000"
    assert subs[0].review_deadline == "2022-06-27T19:32:23Z"
    returned = [s for s in subs if s.status == "RETURNED"]
    assert all(s.fields["Sex"] == "CONSENT REVOKED" for s in returned)  # demographics stay as exported


def test_trimmed_export_is_refused_in_one_sentence(realdata):
    path = realdata / PARRA / "prolific_export_298bd5580c5380ce692e1855.csv"
    with pytest.raises(InputError) as err:
        read_prolific_csv([path])
    said = str(err.value)
    assert "no participant ID column" in said and "cannot be reconciled" in said and "full submissions export" in said
    assert said.count(". ") == 0 and said.endswith(".")


def test_trimmed_export_through_match_exits_2(realdata, tmp_path):
    proc = run_cli("match", "--qualtrics", realdata / LAOLS / "qualtrics_export_redacted.csv", "--prolific",
                   realdata / PARRA / "prolific_export_298bd5580c5380ce692e1855.csv",
                   "--plan", tmp_path / "plan.csv", "--report", tmp_path / "r.xlsx")
    assert proc.returncode == 2, proc.stderr
    assert "cannot be reconciled" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "plan.csv").exists()


def test_inspect_kinds_of_prolific_exports(realdata):
    paths = [realdata / LAOLS / "prolific_export.csv", realdata / CHEUNG / "prolific_export_demographic.csv",
             realdata / MACH / "prolific.csv", realdata / PARRA / "prolific_export_298bd5580c5380ce692e1855.csv"]
    proc = run_cli("inspect", "--json", *paths)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [o["kind"] for o in out] == ["prolific"] * 4
    assert [o["rows"] for o in out] == [253, 25, 219, 119]
    assert [o["participant_column"] for o in out] == ["PROLIFIC_PID", "Participant id", "participant_id", None]
    assert out[0]["status_counts"] == {"APPROVED": 153, "REJECTED": 19, "RETURNED": 76, "SCREENED OUT": 1, "TIMED-OUT": 4}
    assert out[3]["study_id"] == "298bd5580c5380ce692e1855"  # from the file name
    assert any("cannot be reconciled" in w for w in out[3]["warnings"])
    # and in words
    text = run_cli("inspect", paths[0])
    assert text.returncode == 0 and "253" in text.stdout


# ---------------------------------------------------------------- every era, hand-made


STATUSES = ["AWAITING REVIEW", "APPROVED", "RETURNED", "TIMED-OUT", "REJECTED", "AWAITING REVIEW", "SCREENED OUT"]


@pytest.mark.parametrize("era", ["old", "2023", "2024", "2026"])
def test_every_era(tmp_path, era):
    rows = synthetic_rows(STATUSES)
    path = write_prolific_export(tmp_path / f"prolific_export_{STUDY}.csv", rows, era=era)
    assert sniff_kind(path) == "prolific"
    data = read_prolific_csv([path])
    subs = data.submissions
    assert [s.submission_id for s in subs] == [r["submission_id"] for r in rows]
    assert [s.participant_id for s in subs] == [r["participant_id"] for r in rows]
    assert [s.status for s in subs] == STATUSES
    assert [s.state for s in subs] == [state_of(x) for x in STATUSES]
    assert [s.code for s in subs] == [r["code"] for r in rows]
    assert {s.group_id for s in subs} == {STUDY}
    assert [s.source.row for s in subs] == list(range(2, 2 + len(rows)))
    pending = subs[0]
    assert pending.review_deadline == "2024-07-22T00:07:30Z"  # completed 2024-07-01 00:07:30 + 21 days
    assert subs[2].duration_seconds == "" and subs[2].review_deadline == ""  # RETURNED: no time taken, no completion
    assert subs[0].duration_seconds in ("450", "450.619")


def test_renamed_participant_column_and_sentinels(tmp_path):
    rows = synthetic_rows(["AWAITING REVIEW"] * 3)
    rows[1]["completed_at"] = "CONSENT_REVOKED"
    rows[2]["time_taken"] = "DATA_EXPIRED"
    path = write_prolific_export(tmp_path / "export.csv", rows, participant_column="PROLIFIC_PID")
    data = read_prolific_csv([path], study_id=STUDY)
    subs = data.submissions
    assert data.files[0].participant_column == "PROLIFIC_PID"
    assert [s.participant_id for s in subs] == [r["participant_id"] for r in rows]
    assert subs[1].submitted_at == "" and subs[1].review_deadline == ""
    assert subs[2].duration_seconds == ""


def test_three_timestamp_styles_give_one_deadline(tmp_path):
    header = "Submission id,Participant id,Status,Started at,Completed at,Time taken,Completion code\r\n"
    lines = [
        "5b0000000000000000000001,9a0000000000000000000001,AWAITING REVIEW,2024-07-15T20:16:52.266000Z,2024-07-15T20:24:36.379000Z,465,C1\r\n",
        "5b0000000000000000000002,9a0000000000000000000002,AWAITING REVIEW,2024-07-15T20:16:52.266000,2024-07-15T20:24:36.379000,465,C1\r\n",
        "5b0000000000000000000003,9a0000000000000000000003,AWAITING REVIEW,2024-07-15 20:16:52.266000,2024-07-15 20:24:36.379000,465,C1\r\n",
    ]
    path = tmp_path / "e.csv"
    path.write_text(header + "".join(lines), encoding="utf-8", newline="")
    subs = read_prolific_csv([path]).submissions
    assert {s.review_deadline for s in subs} == {"2024-08-05T20:24:36Z"}


def test_duplicates_stay_visible(tmp_path):
    rows = synthetic_rows(["AWAITING REVIEW", "APPROVED"])
    a = write_prolific_export(tmp_path / f"a_{STUDY}.csv", rows)
    b = write_prolific_export(tmp_path / f"b_{STUDY}.csv", rows, era="old")  # same rows, other era
    changed = [dict(rows[0], code="OTHER")]
    c = write_prolific_export(tmp_path / f"c_{STUDY}.csv", changed)
    data = read_prolific_csv([a, b, c])
    assert len(data.submissions) == 2
    assert [(d.submission_id, d.identical) for d in data.duplicates] == [
        (rows[0]["submission_id"], True), (rows[1]["submission_id"], True), (rows[0]["submission_id"], False)]


def test_claims_neither_surveys_nor_batches(realdata):
    assert not claims_table(load_table(realdata / LAOLS / "qualtrics_export_redacted.csv"))
    assert not claims_table(load_table(realdata / "Chucooleg__Field_Experiment_Human_Image_Classification" / "20171112_mturk_results_order1_0.40.csv"))
    assert claims_table(load_table(realdata / LAOLS / "prolific_export.csv"))


def test_survey_capturing_session_id_is_not_claimed(tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text("ResponseId,Status,PROLIFIC_PID,SESSION_ID,Completion code\nR_1,IP Address,9a0000000000000000000001,"
                    "5b0000000000000000000001,C1\n", encoding="utf-8")
    assert sniff_kind(path) == "qualtrics"


def test_bad_rows_are_one_sentence(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("Submission id,Participant id,Status,Completion code\n,9a0000000000000000000001,APPROVED,C1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2 has no submission ID"):
        read_prolific_csv([path])
    path.write_text("Submission id,Participant id,Status,Completion code\n5b0000000000000000000001,,APPROVED,C1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2, column Participant id: submission 5b0000000000000000000001 has no participant ID"):
        read_prolific_csv([path])
    path.write_text("Submission id,Participant id,Completion code\n5b0000000000000000000001,9a0000000000000000000001,C1\n", encoding="utf-8")
    with pytest.raises(InputError, match="no Status column"):
        read_prolific_csv([path])


def test_platform_object_reads_with_its_study(tmp_path):
    path = write_prolific_export(tmp_path / "export.csv", synthetic_rows(["AWAITING REVIEW"]))
    platform = get("prolific").for_study(STUDY)
    assert {s.group_id for s in platform.read_files([str(path)]).submissions} == {STUDY}
    assert {s.group_id for s in get("prolific").read_files([str(path)]).submissions} == {""}


def test_file_name_study_wins_over_the_option_with_a_warning(tmp_path):
    path = write_prolific_export(tmp_path / f"prolific_export_{STUDY}.csv", synthetic_rows(["AWAITING REVIEW"]))
    other = "0123456789abcdef01234567"
    data = read_prolific_csv([path], study_id=other)
    assert {s.group_id for s in data.submissions} == {STUDY}
    assert any(f"names study {STUDY}, not {other}" in w for w in data.files[0].warnings)


def test_match_refuses_a_prolific_sandbox(realdata, tmp_path):
    proc = run_cli("match", "--qualtrics", realdata / LAOLS / "qualtrics_export_redacted.csv",
                   "--prolific", realdata / LAOLS / "prolific_export.csv", "--sandbox",
                   "--plan", tmp_path / "plan.csv", "--report", tmp_path / "r.xlsx")
    assert proc.returncode == 2 and "no sandbox" in proc.stderr and "Traceback" not in proc.stderr
