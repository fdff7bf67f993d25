"""A single-value option given twice is refused on every command (click would keep the last one
without a word); list options repeat freely and repeated flags change nothing."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.main import get_command

from conftest import SAMPLE_DATA, run_cli
from emulator_helpers import DUMMY_KEY_ID, DUMMY_SECRET, emulator_stats, start_emulator
from reconcile.cli import app
from reconcile.cli.once import repeated_options

AWS_ENV = {"AWS_ACCESS_KEY_ID": DUMMY_KEY_ID, "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET, "AWS_EC2_METADATA_DISABLED": "true"}

Q = str(SAMPLE_DATA / "qualtrics_export.csv")
M = str(SAMPLE_DATA / "mturk_batch_results.csv")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["match", "--qualtrics", "a.csv", "--qualtrics", "b.csv", "--mturk", M], "--qualtrics was given twice (a.csv, b.csv); give it once."),
        (["match", "--qualtrics", Q, "--mturk", M, "--plan", "x.csv", "--plan=y.csv"], "--plan was given twice (x.csv, y.csv); give it once."),
        (["match", "--qualtrics", Q, "--mturk", M, "--report", "a.xlsx", "--report", "b.xlsx", "--report", "c.xlsx"], "--report was given 3 times (a.xlsx, b.xlsx, c.xlsx); give it once."),
        (["match", "--qualtrics", Q, "--mturk", M, "--rules", "r1.toml", "--rules", "r2.toml"], "--rules was given twice (r1.toml, r2.toml); give it once."),
        (["match", "--qualtrics", Q, "--mturk", M, "--bonus", "0.50", "--bonus", "1.00"], "--bonus was given twice (0.50, 1.00); give it once."),
        (["match", "--qualtrics", Q, "--mturk", M, "--max-bonus", "1", "--max-bonus", "-2"], "--max-bonus was given twice (1, -2); give it once."),
        (["pay", "plan.csv", "--report", "a.xlsx", "--report", "b.xlsx"], "--report was given twice (a.xlsx, b.xlsx); give it once."),
        (["pay", "plan.csv", "--ledger", "a.sqlite", "--ledger", "b.sqlite"], "--ledger was given twice (a.sqlite, b.sqlite); give it once."),
        (["pay", "plan.csv", "--budget", "10", "--budget", "20"], "--budget was given twice (10, 20); give it once."),
        (["ledger", "--ledger", "a.sqlite", "--ledger", "b.sqlite"], "--ledger was given twice (a.sqlite, b.sqlite); give it once."),
        (["fetch", "mturk", "--hit", "H", "-o", "a.csv", "--output", "b.csv", "--sandbox"], "-o/--output was given twice (a.csv, b.csv); give it once."),
        (["fetch", "mturk", "--hit", "H", "-oa.csv", "-o", "b.csv", "--sandbox"], "-o/--output was given twice (a.csv, b.csv); give it once."),
        (["fetch", "qualtrics", "SV_1", "-o", "a.csv", "--datacenter", "ca1", "--datacenter", "fra1"], "--datacenter was given twice (ca1, fra1); give it once."),
        (["inspect", Q, "--json", "--json"], None),  # a repeated flag is harmless: the command runs
        (["emulator", "mturk", "--port", "1", "--port", "2"], "--port was given twice (1, 2); give it once."),
        (["emulator", "qualtrics", "--export", Q, "--token", "s3cr3t-one", "--token", "s3cr3t-two"], "--token was given twice (values not shown); give it once."),
    ],
)
def test_repeated_single_value_option_is_one_sentence(tmp_path, args, expected):
    proc = run_cli(*args, cwd=tmp_path, timeout=60)
    if expected is None:
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)[0]["kind"] == "qualtrics"
        return
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {expected}"]
    assert "s3cr3t" not in proc.stdout + proc.stderr
    assert not any(tmp_path.iterdir())  # nothing written: the check comes before the command runs


def test_repeated_endpoint_is_refused_before_any_call(tmp_path):
    shutil.copy(SAMPLE_DATA / "qualtrics_export.csv", tmp_path / "q.csv")
    shutil.copy(SAMPLE_DATA / "mturk_batch_results.csv", tmp_path / "m.csv")
    assert run_cli("match", "--qualtrics", "q.csv", "--mturk", "m.csv", cwd=tmp_path).returncode == 0
    with start_emulator([str(tmp_path / "m.csv")]) as emu:
        proc = run_cli(
            "pay", "reconcile-plan.csv", "--execute", "--yes", "--endpoint-url", emu.url, "--endpoint-url", emu.url + "/",
            cwd=tmp_path, env=AWS_ENV,
        )
        assert proc.returncode == 2
        assert proc.stderr.strip() == f"error: --endpoint-url was given twice ({emu.url}, {emu.url}/); give it once."
        assert emulator_stats(emu.url)["total_calls"] == 0
    assert not (tmp_path / "reconcile-plan.ledger.sqlite").exists()


def test_list_options_and_flags_may_repeat(tmp_path):
    """Two --mturk files are read together; --json twice is --json."""
    shutil.copy(SAMPLE_DATA / "qualtrics_export.csv", tmp_path / "q.csv")
    shutil.copy(SAMPLE_DATA / "mturk_batch_results.csv", tmp_path / "m.csv")
    shutil.copy(SAMPLE_DATA / "mturk_batch_results.csv", tmp_path / "m2.csv")
    proc = run_cli("match", "--qualtrics", "q.csv", "--mturk", "m.csv", "--mturk", "m2.csv", "--json", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["assignments"] == 131  # the second file repeats the first: counted once
    proc = run_cli("pay", "reconcile-plan.csv", "--batch", "m.csv", "--batch", "m2.csv", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def _params(*path: str):
    cmd = get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd.params


@pytest.mark.parametrize(
    "args, found",
    [
        (["--plan", "a", "--plan", "b"], {"--plan": ["a", "b"]}),
        (["--plan=a", "--plan", "--report"], {"--plan": ["a", "--report"]}),  # a value may look like an option
        (["--bonus", "--bonus", "--bonus", "x"], {"--bonus": ["--bonus", "x"]}),
        (["--plan", "a", "--", "--plan", "b"], {}),  # after -- nothing is an option
        (["--mturk", "a", "--mturk", "b", "--mturk-hit", "H", "--mturk-hit", "I"], {}),  # lists may repeat
        (["--json", "--json", "--force", "--force"], {}),  # flags are left alone
        (["--plan", "a", "--nosuch", "--plan"], {}),  # a trailing option without value: click says so
    ],
)
def test_repeated_options_reads_arguments_like_click(args, found):
    got = {"/".join(p.opts): values for p, values in repeated_options(_params("match"), args)}
    assert got == found
