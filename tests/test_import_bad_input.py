"""Bad input: one sentence on stderr naming the file (and row/line where it applies), exit 2,
no traceback -- through the real command -- and an InputError from the library."""

from __future__ import annotations

import pytest

from conftest import run_cli
from reconcile.errors import InputError
from reconcile.importers import read_qualtrics
from reconcile.platforms.mturk.batch_csv import read_mturk_csv as read_mturk
from reconcile.inspection import sniff_kind

MTURK_HEADER = "HITId,HITTypeId,Reward,AssignmentId,WorkerId,AssignmentStatus,Answer.surveycode,Approve,Reject\r\n"
QUALTRICS_HEADER = (
    "StartDate,EndDate,Status,Finished,ResponseId,mTurkCode\r\n"
    "Start Date,End Date,Response Type,Finished,Response ID,mTurkCode\r\n"
    '"{""ImportId"":""startDate""}","{""ImportId"":""endDate""}","{""ImportId"":""status""}",'
    '"{""ImportId"":""finished""}","{""ImportId"":""_recordId""}","{""ImportId"":""mTurkCode""}"\r\n'
)


def _damaged_xlsx(path):
    """A zip that says it is a workbook but holds no readable one (.xlsx files themselves are read: test_import_xlsx)."""
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/workbook.xml", "<not a workbook")


def _zip(path):
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("export.csv", "a,b\n")


CASES = {
    # name: (file bytes or a writer, words the one sentence must contain)
    "empty": (b"", ["is empty"]),
    "whitespace_only": (b"\r\n\r\n  \n", ["is empty"]),
    "bom_only": (b"\xef\xbb\xbf", ["is empty"]),
    "mturk_header_only": (MTURK_HEADER.encode(), ["header but no assignments"]),
    "qualtrics_header_only": (QUALTRICS_HEADER.encode(), ["no responses"]),
    "xlsx_damaged": (_damaged_xlsx, ["cannot be read as an Excel workbook", "CSV UTF-8"]),
    "zip": (_zip, ["zip archive"]),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200, ["old Excel workbook"]),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), ["binary"]),
    "neither_kind": (b"name,age,city\nann,31,Paris\nbob,42,Oslo\n", ["neither a Qualtrics export", "'name'"]),
    "latin1": (MTURK_HEADER.encode() + "3A,3B,$0.40,3C,AW1,Submitted,caf\xe9,,\r\n".encode("latin-1"), ["line 2", "not valid UTF-8", "CSV UTF-8"]),
    "blank_first_line": (b"\r\n" + MTURK_HEADER.encode() + b"3A,3B,$0.40,3C,AW1,Submitted,123\r\n", ["first line is empty"]),
    "both_kinds": (b"ResponseId,AssignmentId,WorkerId,HITId,AssignmentStatus\nR_1,3A,AW,3H,Submitted\n", ["has the columns of qualtrics and of mturk files"]),
    "long_row": (MTURK_HEADER.encode() + b"3A,3B,$0.40,3C,AW1,Submitted,123,,,extra,cells\r\n", ["row 2", "11 cells", "9 columns"]),
    "no_assignment_id": (MTURK_HEADER.encode() + b"3A,3B,$0.40,,AW1,Submitted,123\r\n", ["row 2", "no AssignmentId"]),
}


def _make(tmp_path, name):
    content, words = CASES[name]
    path = tmp_path / f"{name}.csv"
    if callable(content):
        content(path)
    else:
        path.write_bytes(content)
    return path, words


def _one_sentence(proc, path_text, words):
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("error: ")
    assert path_text in line
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in line, (w, line)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_through_cli(tmp_path, name):
    path, words = _make(tmp_path, name)
    _one_sentence(run_cli("inspect", path), str(path), words)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_through_library(tmp_path, name):
    path, words = _make(tmp_path, name)
    # (The survey reader alone cannot know a platform's columns: a file that is both kinds is refused
    # by the platform's reader and by identification, which every command does first.)
    readers = (lambda: read_mturk([path]),) if name == "both_kinds" else (lambda: read_qualtrics(path), lambda: read_mturk([path]))
    for call in readers:
        with pytest.raises(InputError) as exc:
            call()
        assert str(path) in str(exc.value)
    if name not in ("mturk_header_only", "qualtrics_header_only", "long_row", "no_assignment_id"):
        with pytest.raises(InputError):
            sniff_kind(path)


def test_missing_file_through_cli(tmp_path):
    path = tmp_path / "nope" / "batch.csv"
    _one_sentence(run_cli("inspect", path), str(path), ["no such file"])


def test_directory_through_cli(tmp_path):
    _one_sentence(run_cli("inspect", tmp_path), str(tmp_path), ["is a directory"])


def test_wrong_kind_for_the_reader(tmp_path):
    m = tmp_path / "batch.csv"
    m.write_text(MTURK_HEADER + "3A,3B,$0.40,3C,AW1,Submitted,123\r\n")
    with pytest.raises(InputError, match="is neither a Qualtrics export"):
        read_qualtrics(m)
    q = tmp_path / "export.csv"
    q.write_text(QUALTRICS_HEADER + "2020-01-01 10:00:00,2020-01-01 10:05:00,IP Address,True,R_abc,123\r\n")
    with pytest.raises(InputError, match="looks like a Qualtrics export.*--qualtrics"):
        read_mturk([q])


def test_good_and_bad_files_together(tmp_path, realdata):
    """inspect reports the good files, names the bad one on stderr, and exits 2."""
    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    good = realdata / "ropensci__qualtRics" / "sample.csv"
    proc = run_cli("inspect", "--json", good, bad)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {bad} is empty; download the export again."
    import json

    out = json.loads(proc.stdout)
    assert out[0]["rows"] == 1 and out[1]["path"] == str(bad) and "empty" in out[1]["error"]


def test_bad_override_column_lists_columns(tmp_path):
    m = tmp_path / "batch.csv"
    m.write_text(MTURK_HEADER + "3A,3B,$0.40,3C,AW1,Submitted,123\r\n")
    with pytest.raises(InputError) as exc:
        read_mturk([m], code_column="Answer.nothing")
    msg = str(exc.value)
    assert str(m) in msg and "'Answer.nothing'" in msg and "--mturk-code-column" in msg and "'Answer.surveycode'" in msg


def test_realdata_json_files_are_refused_clearly(realdata):
    """The API bodies in realdata are not exports: each gets one sentence naming it, exit 2."""
    paths = sorted(realdata.glob("*/*.json"))
    assert paths
    for p in paths:
        with pytest.raises(InputError, match="looks like a JSON document"):
            read_qualtrics(p)
    proc = run_cli("inspect", *paths)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(paths) and all(f"error: {p} looks like a JSON document" in line for p, line in zip(paths, lines))
