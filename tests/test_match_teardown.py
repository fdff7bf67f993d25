"""`reconcile match` ends its own process without freeing what it built (cli.skip_teardown), and
only its own: the outputs are whole, stdout and stderr are flushed, and a command run inside
another program (CliRunner here) returns to it as before."""

from __future__ import annotations

import gc
import json
from pathlib import Path

from typer.testing import CliRunner

import reconcile.cli as cli
from conftest import run_cli
from reconcile.planfile import read_plan_rows

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def _args(folder: Path) -> list[str]:
    return ["match", "--qualtrics", str(SAMPLE / "qualtrics_export.csv"), "--mturk", str(SAMPLE / "mturk_batch_results.csv"),
            "--plan", str(folder / "plan.csv"), "--report", str(folder / "report.xlsx"), "--bonus", "0.25"]


def test_the_real_process_ends_with_every_output_whole(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    as_json = run_cli(*_args(tmp_path / "a"), "--json")
    assert as_json.returncode == 0, as_json.stderr
    counts = json.loads(as_json.stdout)  # one whole object, flushed before the process ended
    assert sum(counts["decisions"].values()) == counts["assignments"] > 0
    plain = run_cli(*_args(tmp_path / "b"))
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.rstrip().endswith("(a dry run, whichever was edited) and add --execute to pay.")
    # Both runs wrote the same complete plan, sidecar and workbook (closed, renamed into place).
    for name in ("plan.csv", "plan.responses.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert len(read_plan_rows(tmp_path / "a" / "plan.csv")) == counts["assignments"]
    assert (tmp_path / "a" / "report.xlsx").stat().st_size > 0
    assert not list(tmp_path.glob("*/*.tmp*"))


def test_a_failing_run_still_exits_with_its_sentence(tmp_path):
    proc = run_cli("match", "--qualtrics", str(SAMPLE / "qualtrics_export.csv"), "--mturk", str(tmp_path / "missing.csv"),
                   "--plan", str(tmp_path / "plan.csv"), "--report", str(tmp_path / "report.xlsx"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")


def test_in_another_program_the_command_returns(tmp_path):
    was = gc.isenabled()
    result = CliRunner().invoke(cli.app, _args(tmp_path) + ["--json"])
    # Still here: nothing ended this process, nothing was left for an exit, the GC is as it was.
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["assignments"] > 0
    assert cli.skip_teardown() is None and cli._LEFT_FOR_EXIT == []
    assert gc.isenabled() == was
    assert (tmp_path / "plan.csv").is_file()
