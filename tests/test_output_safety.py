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


# ---------------------------------------------------------------- match


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (("--plan", "q.csv"), "--plan q.csv would overwrite the --qualtrics input q.csv"),
        (("--report", "m.csv"), "--report m.csv would overwrite the --mturk input m.csv"),
        (("--plan", "./m.csv"), "would overwrite the --mturk input m.csv"),
        (("--plan", "sub/../m.csv"), "would overwrite the --mturk input m.csv"),
        (("--plan", "x.xlsx", "--report", "x.xlsx"), "--report x.xlsx and --plan x.xlsx are the same file"),
        (("--report", "plan.csv"), "--report plan.csv must end in .xlsx"),
    ],
)
def test_match_refuses_outputs_over_inputs(study, extra, fragment):
    (study / "sub").mkdir()
    before = snapshot(study)
    line = one_sentence(match(study, *extra))
    assert fragment in line
    assert snapshot(study) == before  # inputs byte-identical, and nothing was written


def test_match_refuses_an_absolute_spelling_of_a_relative_input(study):
    before = snapshot(study)
    line = one_sentence(match(study, "--plan", str(study / "q.csv")))
    assert "would overwrite the --qualtrics input q.csv" in line
    assert snapshot(study) == before


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_match_refuses_a_link_to_an_input(study, link):
    if link == "symlink":
        os.symlink(study / "m.csv", study / "alias.csv")
    else:
        os.link(study / "m.csv", study / "alias.csv")
    before = snapshot(study)
    line = one_sentence(match(study, "--plan", "alias.csv"))
    assert "--plan alias.csv would overwrite the --mturk input m.csv" in line
    assert snapshot(study) == before


def test_match_refuses_a_responses_sidecar_over_an_input(study):
    """`--plan a.csv` writes a.responses.csv beside it: that name must not be an input either."""
    (study / "q.csv").rename(study / "a.responses.csv")
    before = snapshot(study)
    line = one_sentence(match(study, "--plan", "a.csv", qualtrics="a.responses.csv"))
    assert "the responses file beside --plan a.responses.csv would overwrite the --qualtrics input" in line
    assert "choose another --plan" in line
    assert snapshot(study) == before


def test_match_refuses_a_plan_over_the_rules_file(study):
    shutil.copy(SAMPLE_DATA / "rules.example.toml", study / "rules.toml")
    before = snapshot(study)
    line = one_sentence(match(study, "--rules", "rules.toml", "--plan", "rules.toml"))
    assert "would overwrite the --rules file rules.toml" in line
    assert snapshot(study) == before


def test_match_refusal_comes_before_any_service_call(study):
    """With assignments listed through the API, the refusal happens before the first call."""
    with start_emulator([str(study / "m.csv")]) as emu:
        before = snapshot(study)
        proc = run_cli(
            "match", "--qualtrics", "q.csv", "--mturk-hit", "36XHTYFZOKZ0RODAEH5V3UZNPNDXPG",
            "--endpoint-url", emu.url, "--plan", "q.csv", cwd=study, env=AWS_ENV,
        )
        assert "would overwrite the --qualtrics input" in one_sentence(proc)
        assert emulator_stats(emu.url)["total_calls"] == 0
    assert snapshot(study) == before


def test_match_with_distinct_outputs_works_and_reruns_over_its_own_plan(study):
    first = match(study, "--plan", "out.csv", "--report", "out.xlsx", "--json")
    assert first.returncode == 0, first.stderr
    plan = (study / "out.csv").read_bytes()
    assert (study / "out.responses.csv").is_file() and (study / "out.xlsx").is_file()
    # An unedited plan is the tool's own: re-running needs no --force, and writes the same plan.
    again = match(study, "--plan", "out.csv", "--report", "out.xlsx", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert (study / "out.csv").read_bytes() == plan


def _edit_first_row(plan: Path, column: str, value: str) -> None:
    with open(plan, encoding="utf-8-sig", newline="") as fh:
        recs = list(csv.reader(fh))
    recs[1][recs[0].index(column)] = value
    with open(plan, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(recs)


def test_match_keeps_an_edited_plan_unless_forced(study):
    assert match(study).returncode == 0
    plan = study / "reconcile-plan.csv"
    _edit_first_row(plan, "decision", "skip")
    edited = plan.read_bytes()

    line = one_sentence(match(study))
    assert "--plan reconcile-plan.csv holds edits" in line and "--force" in line and "rename" in line
    assert plan.read_bytes() == edited

    forced = match(study, "--force")
    assert forced.returncode == 0, forced.stderr
    assert plan.read_bytes() != edited
    with open(plan, encoding="utf-8-sig", newline="") as fh:
        assert next(csv.DictReader(fh))["decision"] != "skip"


def test_match_may_replace_a_plan_a_dry_run_showed(study):
    """Edits a dry run showed are content the tool has seen; a re-run may replace them."""
    assert match(study).returncode == 0
    plan = study / "reconcile-plan.csv"
    _edit_first_row(plan, "decision", "skip")
    assert run_cli("pay", "reconcile-plan.csv", cwd=study).returncode == 0
    proc = match(study)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads((study / "reconcile-plan.shown.json").read_text())
    assert len(shown["digests"]) == 1 and len(shown["written_by_match"]) == 1


def test_an_edited_plan_without_any_record_is_kept(study):
    """A plan copied here without its record file is, as far as the tool knows, someone's edits."""
    assert match(study, "--plan", "elsewhere.csv").returncode == 0
    shutil.copy(study / "elsewhere.csv", study / "reconcile-plan.csv")
    before = snapshot(study)
    assert "holds edits" in one_sentence(match(study))
    assert snapshot(study) == before


def test_match_keeps_a_file_that_is_not_a_plan_unless_forced(study):
    (study / "notes.csv").write_text("name,remark\nAna,paid by hand\n", encoding="utf-8")
    before = snapshot(study)
    line = one_sentence(match(study, "--plan", "notes.csv"))
    assert "--plan notes.csv already exists and is not a reconcile plan" in line and "--force" in line
    assert snapshot(study) == before
    assert match(study, "--plan", "notes.csv", "--force").returncode == 0
    assert (study / "notes.csv").read_text(encoding="utf-8-sig").startswith("assignment_id,")


# ---------------------------------------------------------------- pay


@pytest.fixture
def planned(study) -> Path:
    proc = match(study)
    assert proc.returncode == 0, proc.stderr
    return study


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (("--report", "reconcile-plan.csv"), "--report reconcile-plan.csv would overwrite the plan reconcile-plan.csv"),
        (("--upload-csv", "m.csv"), "--upload-csv m.csv would overwrite the batch file m.csv"),
        (("--upload-csv", "./reconcile-plan.csv"), "would overwrite the plan reconcile-plan.csv"),
        (("--upload-csv", "reconcile-plan.responses.csv"), "would overwrite the plan's responses file"),
        (("--upload-csv", "q.csv", "--batch", "m.csv", "--report", "q.csv"), "--report q.csv"),
        (("--ledger", "m.csv"), "--ledger m.csv would overwrite the batch file m.csv"),
        (("--upload-csv", "up.csv", "--ledger", "up.csv"), "--upload-csv up.csv and --ledger up.csv are the same file"),
        (("--upload-csv", "reconcile-plan.ledger.sqlite"), "and the ledger beside the plan reconcile-plan.ledger.sqlite are the same file"),
        (("--report", "dry.csv"), "--report dry.csv must end in .xlsx"),
    ],
)
def test_pay_refuses_outputs_over_inputs(planned, extra, fragment):
    before = snapshot(planned)
    line = one_sentence(run_cli("pay", "reconcile-plan.csv", *extra, cwd=planned))
    assert fragment in line
    assert snapshot(planned) == before  # no upload, no workbook, not even the record of a dry run


def test_pay_refuses_an_upload_hard_linked_to_the_batch(planned):
    os.link(planned / "m.csv", planned / "up.csv")
    before = snapshot(planned)
    line = one_sentence(run_cli("pay", "reconcile-plan.csv", "--upload-csv", "up.csv", cwd=planned))
    assert "--upload-csv up.csv would overwrite the batch file m.csv" in line
    assert snapshot(planned) == before


def _split_batch(src: Path, first: Path, second: Path) -> None:
    with open(src, encoding="utf-8-sig", newline="") as fh:
        recs = list(csv.reader(fh))
    half = len(recs) // 2
    for path, rows in ((first, recs[1:half]), (second, recs[half:])):
        with open(path, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows([recs[0], *rows])


def test_pay_refuses_a_per_batch_upload_file_over_a_batch(study):
    """With several batches the upload files are named approve__<batch>.csv; such a name that is
    one of the batch files is refused like the option itself."""
    _split_batch(study / "m.csv", study / "b1.csv", study / "approve__b1.csv")
    assert match(study, mturk=("b1.csv", "approve__b1.csv")).returncode == 0
    before = snapshot(study)
    line = one_sentence(run_cli("pay", "reconcile-plan.csv", "--upload-csv", "approve.csv", cwd=study))
    assert "the upload file for b1.csv approve__b1.csv would overwrite the batch file approve__b1.csv" in line
    assert "choose another --upload-csv" in line
    assert snapshot(study) == before

    # a distinct name works: one file per batch, the batch files untouched
    proc = run_cli("pay", "reconcile-plan.csv", "--upload-csv", "up.csv", "--report", "dry.xlsx", cwd=study)
    assert proc.returncode == 0, proc.stderr
    assert (study / "up__b1.csv").is_file() and (study / "up__approve__b1.csv").is_file() and (study / "dry.xlsx").is_file()
    assert all((study / name).read_bytes() == before[name] for name in ("b1.csv", "approve__b1.csv", "reconcile-plan.csv"))


def test_pay_with_distinct_outputs_works(planned):
    before = snapshot(planned)
    proc = run_cli("pay", "reconcile-plan.csv", "--upload-csv", "approve.csv", "--report", "dry.xlsx", cwd=planned)
    assert proc.returncode == 0, proc.stderr
    assert (planned / "approve.csv").is_file() and (planned / "dry.xlsx").is_file()
    assert all((planned / name).read_bytes() == before[name] for name in ("m.csv", "q.csv", "reconcile-plan.csv"))


# ---------------------------------------------------------------- fetch


def test_fetch_refuses_a_directory_before_calling_the_service(tmp_path):
    (tmp_path / "out").mkdir()
    with start_emulator([str(SAMPLE_DATA / "mturk_batch_results.csv")]) as emu:
        proc = run_cli("fetch", "mturk", "--hit", "H1", "-o", "out", "--endpoint-url", emu.url, cwd=tmp_path, env=AWS_ENV)
        assert one_sentence(proc) == "error: -o out is a directory; -o needs a file name."
        assert emulator_stats(emu.url)["total_calls"] == 0


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
