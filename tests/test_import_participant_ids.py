"""The survey side finds the participant-ID columns by the platform's rules (platform.ParticipantIds):
Prolific's captured PROLIFIC_PID and a typed question (by name or by its values), or the question
alone; MTurk's one worker column, as before; overrides; what is never an ID column."""

from __future__ import annotations

import pytest

from participant_platform import pid
from reconcile.errors import ColumnDetectionError, InputError
from reconcile.importers import read_qualtrics, require_columns
from reconcile.platforms.mturk.ids import WorkerIds
from reconcile.platforms.prolific.ids import ProlificIds
from test_import_variants import qualtrics_rows, write_csv

P = ProlificIds()


def survey(tmp_path, names, values, **kw):
    return write_csv(tmp_path / "survey.csv", qualtrics_rows(names, values, **kw))


def test_captured_and_typed_by_name_are_both_read(tmp_path):
    path = survey(tmp_path, ["Prolific ID", "Q1", "PROLIFIC_PID"], [lambda i: f" {pid(i).upper()}", "x", lambda i: pid(i)])
    q = read_qualtrics(path, ids=P)
    assert (q.participant_column, q.typed_id_column) == ("PROLIFIC_PID", "Prolific ID")
    assert [(r.participant_id, r.typed_id) for r in q.responses] == [(pid(i), f" {pid(i).upper()}") for i in range(3)]
    require_columns(q, need_code=False, need_participant=True)


def test_typed_question_of_any_name_is_found_by_its_values(tmp_path):
    path = survey(tmp_path, ["Q2", "Q34", "PROLIFIC_PID"], ["yes", lambda i: f"my id is {pid(i)}" if i else pid(i), lambda i: pid(i)])
    q = read_qualtrics(path, ids=P)
    assert (q.participant_column, q.typed_id_column) == ("PROLIFIC_PID", "Q34")


def test_typed_question_alone_is_the_participant_column(tmp_path):
    path = survey(tmp_path, ["Q11", "Q34"], ["College", lambda i: pid(i)])
    q = read_qualtrics(path, ids=P)
    assert (q.participant_column, q.typed_id_column) == ("Q34", None)
    assert q.responses[1].participant_id == pid(1) and q.responses[1].typed_id == ""


def test_study_and_session_ids_are_never_participant_ids(tmp_path):
    study = pid(99)
    path = survey(tmp_path, ["STUDY_ID", "SESSION_ID", "PROLIFIC_PID", "Q5"], [study, lambda i: pid(50 + i), lambda i: pid(i), "a"])
    q = read_qualtrics(path, ids=P)
    assert (q.participant_column, q.typed_id_column) == ("PROLIFIC_PID", None)


def test_a_column_with_one_id_on_every_row_is_not_typed_ids(tmp_path):
    path = survey(tmp_path, ["StudyRef", "PROLIFIC_PID"], [pid(99), lambda i: pid(i)])
    assert read_qualtrics(path, ids=P).typed_id_column is None


def test_two_question_columns_of_ids_are_not_guessed(tmp_path):
    path = survey(tmp_path, ["Q3", "Q4"], [lambda i: pid(i), lambda i: pid(i + 10)])
    q = read_qualtrics(path, ids=P)
    assert q.participant_column is None and set(q.participant_candidates) == {"Q3", "Q4"}
    with pytest.raises(ColumnDetectionError, match=r"participant ID.*'Q3', 'Q4'.*--id-column"):
        require_columns(q, need_code=False, need_participant=True)


def test_overrides_name_the_columns(tmp_path):
    path = survey(tmp_path, ["Q3", "Q4", "PROLIFIC_PID"], [lambda i: pid(i), lambda i: pid(i + 10), lambda i: pid(i)])
    q = read_qualtrics(path, ids=P, participant_column="prolific_pid", typed_column="q4")
    assert (q.participant_column, q.typed_id_column) == ("PROLIFIC_PID", "Q4")
    q = read_qualtrics(path, ids=P, participant_column="Q3")  # not a captured column: the only ID column
    assert (q.participant_column, q.typed_id_column) == ("Q3", None)
    with pytest.raises(InputError, match="no column named 'Nope' .given with --id-column"):
        read_qualtrics(path, ids=P, participant_column="Nope")


def test_mturk_rules_find_one_worker_column_and_never_a_typed_one(tmp_path):
    w = "A1B2C3D4E5F6G7"
    path = survey(tmp_path, ["workerId", "Q9", "mTurkCode"], [w, w.lower(), "123"])
    q = read_qualtrics(path, ids=WorkerIds())
    assert (q.code_column, q.participant_column, q.typed_id_column) == ("mTurkCode", "workerId", None)


def test_without_rules_no_participant_column_is_looked_for(tmp_path):
    path = survey(tmp_path, ["workerId", "PROLIFIC_PID"], ["A1B2C3D4E5F6G7", lambda i: pid(i)])
    q = read_qualtrics(path)
    assert (q.participant_column, q.participant_candidates, q.typed_id_column) == (None, (), None)


def test_prolific_ids_normalize_typed_ids():
    i = pid(7)
    assert P.key(f"  {i.upper()}\u200b ") == i
    assert P.key(f"My Prolific ID is {i}.") == i
    assert P.key(f"https://x.qualtrics.com/jfe/form/SV_1?PROLIFIC_PID={i}&amp;STUDY_ID={pid(8)}&amp;SESSION_ID={pid(9)}") == i
    assert P.key(f"{i}@email.prolific.com") == i
    assert P.key(" ".join(i[k:k + 4] for k in range(0, 24, 4))) == i
    assert P.key("{{%PROLIFIC_PID%}}") == "" and P.key("I don't know") == "" and P.key(f"{pid(1)} or {pid(2)}") == ""
    assert P.key(i[:-1]) == i[:-1] and not P.looks_like(i[:-1])  # a typo compares as itself, with nothing
    assert P.looks_like(i) and not P.looks_like("NOCODE") and not P.looks_like("CGBAT70K")
    assert P.agree(i, i) and not P.agree("", "") and not P.agree(i[:-1], i)
