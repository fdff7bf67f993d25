"""Every command's --help as a new user reads it: usage lines name arguments as click does (PLAN,
not {PLAN}), every option and argument says what it is for, and no Python type leaks into the text."""

from __future__ import annotations

import re

import pytest
import typer.main

from conftest import run_cli as _run_cli
from reconcile.cli import app


def run_cli(*args: str):
    """The real command; usage lines say `reconcile` as the installed script does (not `python -m reconcile`)."""
    proc = _run_cli(*args)
    proc.stdout = proc.stdout.replace("Usage: python -m reconcile", "Usage: reconcile")
    proc.stderr = proc.stderr.replace("Usage: python -m reconcile", "Usage: reconcile")
    return proc


def _commands(group, path: tuple[str, ...] = ()):
    yield path, group
    if hasattr(group, "commands"):  # a group (typer brings its own click)
        for name, sub in group.commands.items():
            yield from _commands(sub, (*path, name))


ROOT = typer.main.get_command(app)
COMMANDS = [path for path, _ in _commands(ROOT)]


def test_the_commands_a_new_user_meets_are_all_there():
    for path in [(), ("match",), ("pay",), ("ledger",), ("inspect",), ("fetch", "qualtrics"), ("fetch", "mturk"),
                 ("emulator", "mturk"), ("emulator", "qualtrics")]:
        assert path in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "reconcile")
def test_every_option_and_argument_has_a_help_text(path):
    cmd = dict(_commands(ROOT))[path]
    assert (cmd.help or "").strip(), f"{path}: no help text"
    for p in cmd.params:
        if p.name == "help":
            continue
        assert (getattr(p, "help", None) or "").strip(), f"reconcile {' '.join(path)}: {p.name} has no help text"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "reconcile")
def test_help_text_reads_plainly(path):
    proc = run_cli(*path, "--help")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    usage = text.splitlines()[0]
    assert usage.startswith("Usage: reconcile"), usage
    assert "{" not in usage and "[[" not in usage and "......" not in usage, usage
    # Python types (`<int range>`, `<str>`, `<list[Path]>`, `<path>`) mean nothing to a researcher: a metavar says it.
    assert not re.search(r"<(int|float|str|path|list|int range|float range)[^>]*>", text), text


def test_pay_usage_names_the_plan_and_shows_defaults():
    text = run_cli("pay", "--help").stdout
    assert text.splitlines()[0] == "Usage: reconcile pay [OPTIONS] PLAN"
    assert re.search(r"--concurrency N\s.*\[default: 4", text, re.S)
    assert "--rate RPS" in text and "ceiling" in text
    missing = run_cli("pay")
    assert missing.returncode == 2 and "Usage: reconcile pay [OPTIONS] PLAN" in missing.stderr
    assert "{" not in missing.stderr


def test_optional_and_repeatable_arguments_in_usage_lines():
    assert run_cli("ledger", "--help").stdout.splitlines()[0] == "Usage: reconcile ledger [OPTIONS] [PLAN]"
    assert run_cli("inspect", "--help").stdout.splitlines()[0] == "Usage: reconcile inspect [OPTIONS] FILE..."
    assert run_cli("emulator", "mturk", "--help").stdout.splitlines()[0] == "Usage: reconcile emulator mturk [OPTIONS] [FILE...]"
    assert run_cli("fetch", "qualtrics", "--help").stdout.splitlines()[0] == "Usage: reconcile fetch qualtrics [OPTIONS] SURVEY_ID"


def test_defaults_are_shown():
    match = " ".join(run_cli("match", "--help").stdout.split())  # as read, whatever the line wrapping
    assert "[default: reconcile-plan.csv]" in match
    assert re.search(r"\[default: reconcile- ?report\.xlsx\]", match)
    emu = " ".join(run_cli("emulator", "mturk", "--help").stdout.split())
    assert "[default: 10000.00]" in emu and "--port PORT" in emu
