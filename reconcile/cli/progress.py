"""Progress for long work: a real bar (count, rate, time left) on a terminal, plain periodic lines
otherwise (a log or CI reads those). Only the command line draws; the library reports counts."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO


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
        self._bar: Any = None  # a rich Progress on a terminal
        self._task: Any = None

    def start(self, total: int) -> None:
        with self._lock:
            self.total = total
            self._start = time.monotonic()
            if self.tty and total > 0:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeRemainingColumn

                self._bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                                console=Console(file=self.stream), transient=False)
                self._task = self._bar.add_task(self.label, total=total, rate="")
                self._bar.start()

    def add(self, n: int) -> None:
        with self._lock:
            self.total += n
            if self._bar is not None:
                self._bar.update(self._task, total=self.total)

    def step(self, failed: bool = False) -> None:
        with self._lock:
            self.done += 1
            self.failed += int(failed)
            if not self.enabled:
                return
            now = time.monotonic()
            rate = self.done / max(1e-6, now - self._start)
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

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
                self._bar = None
