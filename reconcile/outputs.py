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
    path: PathText
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
    outs = [Output(*o) for o in outputs if o[1] is not None and str(o[1]) != ""]
    for i, out in enumerate(outs):
        change = out.option or out.label
        if Path(out.path).is_dir():
            raise InputError(f"{out.label} {out.path} is a directory; {change} needs a file name.")
        for label, path in ins:
            if same_file(out.path, path):
                raise RefusedError(
                    f"{out.label} {out.path} would overwrite {label} {path}; choose another {change}."
                )
        for other in outs[:i]:
            if same_file(out.path, other.path):
                raise RefusedError(
                    f"{out.label} {out.path} and {other.label} {other.path} are the same file; "
                    f"choose another {change}."
                )


def require_xlsx(option: str, path: PathText | None) -> None:
    """A workbook option (`--report`) must be named .xlsx: any other name is most likely a slip,
    such as a CSV input typed in the wrong place."""
    if path is not None and Path(path).suffix.lower() != ".xlsx":
        raise InputError(f"{option} {path} must end in .xlsx (it is an Excel workbook).")
