"""Outputs never destroy inputs: the check every command runs before it reads or writes anything.

A command names what it reads (the Qualtrics export, batch files, a rules file, a plan) and what it
will write (a plan and its sidecars, a workbook, upload files, a ledger). Any output that is the same
file as an input, or as another output of the same run, is refused with one sentence. "Same file"
means the same file on disk, not the same spelling: `./a.csv` and `/abs/a.csv`, a symlink and its
target, and two hard links of one file all count.

Imports nothing of ours but errors (a base module), so every layer may call it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, NamedTuple

from .errors import InputError, RefusedError

PathText = str | os.PathLike


class Output(NamedTuple):
    """A file the run will write. `label` says what it is ("--report", "the responses file beside
    --plan"); `option` is the option to change to move it (defaults to the label)."""

    label: str
    path: PathText | None  # None: not written this run (nothing to check)
    option: str | None = None


def same_file(a: PathText, b: PathText) -> bool:
    """True when `a` and `b` are one file: by inode when both exist (hard links), else by the
    absolute path with every symlink resolved (also for a file not written yet)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one or both do not exist (yet), or cannot be examined
        return _canonical(a) == _canonical(b)


def _canonical(p: PathText) -> str:
    return os.path.normcase(os.path.realpath(os.path.abspath(os.fspath(p))))


def refuse_clobbering(inputs: Iterable[tuple[str, PathText | None]], outputs: Iterable[Output | tuple]) -> None:
    """Refuse any output that is a directory, an input, or another output of the same run.

    `inputs` are (label, path) pairs such as ("the --qualtrics input", "q.csv"); None paths are
    skipped, so callers can pass optional options as they are.
    """
    ins = [(label, p) for label, p in inputs if p is not None and str(p) != ""]
    outs: list[tuple[Output, PathText]] = []
    for o in outputs:
        out = Output(*o)
        if out.path is not None and str(out.path) != "":
            outs.append((out, out.path))
    for i, (out, path) in enumerate(outs):
        change = out.option or out.label
        if Path(path).is_dir():
            raise InputError(f"{out.label} {path} is a directory; {change} needs a file name.")
        for label, given in ins:
            if same_file(path, given):
                raise RefusedError(f"{out.label} {path} would overwrite {label} {given}; choose another {change}.")
        for other, other_path in outs[:i]:
            if same_file(path, other_path):
                raise RefusedError(
                    f"{out.label} {path} and {other.label} {other_path} are the same file; choose another {change}."
                )


def require_xlsx(option: str, path: PathText | None) -> None:
    """A workbook option (`--report`) must be named .xlsx: any other name is most likely a slip,
    such as a CSV input typed in the wrong place."""
    if path is not None and Path(path).suffix.lower() != ".xlsx":
        raise InputError(f"{option} {path} must end in .xlsx (it is an Excel workbook).")
