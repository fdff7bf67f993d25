"""Outputs never destroy inputs, and an edited plan is not overwritten by a re-run of `match`:
every refusal through the real command, with the input left byte for byte as it was."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import SAMPLE_DATA, run_cli
from emulator_helpers import DUMMY_KEY_ID, DUMMY_SECRET, emulator_stats, start_emulator
from reconcile.outputs import Output, refuse_clobbering, same_file
from reconcile.errors import ReconcileError

AWS_ENV = {"AWS_ACCESS_KEY_ID": DUMMY_KEY_ID, "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET, "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture
def study(tmp_path) -> Path:
    """The sample study copied into a fresh folder as q.csv (Qualtrics) and m.csv (MTurk batch)."""
    shutil.copy(SAMPLE_DATA / "qualtrics_export.csv", tmp_path / "q.csv")
    shutil.copy(SAMPLE_DATA / "mturk_batch_results.csv", tmp_path / "m.csv")
    return tmp_path


def match(cwd: Path, *extra: str, qualtrics: str = "q.csv", mturk: tuple[str, ...] = ("m.csv",)):
    args = ["match", "--qualtrics", qualtrics]
    for m in mturk:
        args += ["--mturk", m]
    return run_cli(*args, *extra, cwd=cwd)


def one_sentence(proc) -> str:
    """The refusal: exit 2, nothing on stdout, exactly one `error:` line on stderr."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ---------------------------------------------------------------- the check itself


def test_same_file_by_inode_by_link_and_by_spelling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text("x")
    os.link("a.csv", "hard.csv")
    os.symlink("a.csv", "soft.csv")
    os.symlink("later.csv", "dangling.csv")  # its target does not exist yet: compared by path
    (tmp_path / "b.csv").write_text("x")  # same content, another file
    assert same_file("a.csv", "hard.csv") and same_file("soft.csv", tmp_path / "a.csv")
    assert same_file("./a.csv", str(tmp_path / "a.csv")) and same_file("new.csv", tmp_path / "new.csv")
    assert same_file("dangling.csv", "later.csv")
    assert not same_file("a.csv", "b.csv") and not same_file("new.csv", "a.csv")


def test_refuse_clobbering_skips_absent_options(tmp_path):
    refuse_clobbering([("the plan", tmp_path / "p.csv"), ("--rules", None)], [Output("--report", None), ("--x", tmp_path / "x")])
    with pytest.raises(ReconcileError, match="--x .* would overwrite the plan"):
        refuse_clobbering([("the plan", tmp_path / "p.csv")], [("--x", tmp_path / "p.csv")])
