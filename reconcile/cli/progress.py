"""Progress for long work: a real bar (count, rate, time left) on a terminal, plain periodic lines
otherwise (a log or CI reads those). Only the command line draws; the library reports counts."""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator, TextIO


class Progress:
    """`start(total)`, `step()` (thread-safe), `close()`. Nothing is shown for quick work."""

    def __init__(self, label: str, *, stream: TextIO | None = None, enabled: bool = True, min_seconds: float = 1.0) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.min_seconds = min_seconds
        self.tty = enabled and bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = 0
        self.done = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._next_pct = 25
        self._counted_from = 0
        self._bar: Any = None  # a rich Progress on a terminal
        self._task: Any = None

    def start(self, total: int, done: int = 0) -> None:
        """`done`: units already finished when showing starts (not counted in the rate)."""
        with self._lock:
            self.total = total
            self.done = self._counted_from = done
            self._start = time.monotonic()
            if self.tty and total > 0:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeRemainingColumn

                self._bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                                console=Console(file=self.stream), transient=False)
                self._task = self._bar.add_task(self.label, total=total, rate="", completed=self.done)
                self._bar.start()

    def add(self, n: int) -> None:
        with self._lock:
            self.total += n
            if self._bar is not None:
                self._bar.update(self._task, total=self.total)

    def step(self, failed: bool = False) -> None:
        self._advance(1, failed)

    def _advance(self, n: int, failed: bool = False) -> None:
        with self._lock:
            self.done += n
            self.failed += int(failed)
            if not self.enabled:
                return
            now = time.monotonic()
            rate = (self.done - self._counted_from) / max(1e-6, now - self._start)
            if self._bar is not None:
                extra = f"{rate:.1f}/s" + (f", {self.failed} failed" if self.failed else "")
                self._bar.update(self._task, completed=self.done, rate=extra)
                return
            pct = 100 * self.done // max(1, self.total)
            if pct >= self._next_pct and now - self._start >= self.min_seconds:
                while self._next_pct <= pct:
                    self._next_pct += 25
                failed_text = f", {self.failed} failed" if self.failed else ""
                self.stream.write(f"{self.label}: {self.done}/{self.total}{failed_text} ({rate:.1f}/s)\n")
                self.stream.flush()

    def update(self, done: int, total: int) -> None:
        """Absolute counts (the library's reports): `done` of `total`, where total may be revised."""
        with self._lock:
            if total != self.total:
                self.total = total
                if self._bar is not None:
                    self._bar.update(self._task, total=total)
        if done > self.done:
            self._advance(done - self.done)

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
                self._bar = None


class ShownReports:
    """The command line's reporter for reconcile.progress: one Progress per kind of work, a bar on
    a terminal and a line at each quarter otherwise, closed when its work is done."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._open: dict[str, Progress] = {}

    def __call__(self, what: str, done: int, total: int) -> None:
        shown = self._open.get(what)
        if shown is None:
            # The library reports only work worth showing, so there is no minimum duration here
            # (which also makes the lines the same on a fast machine and a slow one).
            shown = self._open[what] = Progress(what, stream=self.stream, min_seconds=0.0)
            shown.start(total, done)
        shown.update(done, total)
        if total and done >= total:
            shown.close()
            del self._open[what]

    def close(self) -> None:
        for shown in self._open.values():
            shown.close()
        self._open.clear()


@contextmanager
def shown_progress(stream: TextIO | None = None) -> Iterator[None]:
    """Show every reconcile.progress report made inside the block."""
    from ..progress import reporting

    shown = ShownReports(stream)
    try:
        with reporting(shown):
            yield
    finally:
        shown.close()
