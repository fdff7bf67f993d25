"""Counts of long work, told to whoever shows them (the command line draws a bar or prints lines).

Reading a file, matching, listing through an API and waiting on an export happen deep inside the
library, several calls away from the command that started them. Rather than thread a callback
through every layer, the library calls `report(what, done, total)` and the command line installs a
reporter around the command with `reporting(...)`. With no reporter installed (a library caller,
a test), `report` does nothing. Base module: imports nothing of ours; does no I/O itself.

The reporter lives in a context variable, so it follows the command's own thread (the readers,
the matcher and the API listings run there) and never leaks into another run.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator, Optional

# (what, done, total): `what` names the work ("reading export.csv"); total 0 when not known yet.
Reporter = Callable[[str, int, int], None]

# Below this many rows, reading or matching takes about a second: nothing is reported.
BIG = 100_000

_reporter: ContextVar[Optional[Reporter]] = ContextVar("reconcile_progress_reporter", default=None)


@contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    """Send every `report` made inside the block to `reporter`."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


def report(what: str, done: int, total: int) -> None:
    """`done` of `total` units of `what` are finished (done == total: the work is over)."""
    reporter = _reporter.get()
    if reporter is not None:
        reporter(what, done, total)


def active() -> bool:
    """True when someone shows the counts (then callers skip their own plain progress lines)."""
    return _reporter.get() is not None
