"""The error tree. Every error a user can cause is a ReconcileError: one sentence, an exit code.

Imports nothing of ours (house rule), so every layer may raise these.
"""

from __future__ import annotations


class ReconcileError(Exception):
    """A problem the user can fix. `str(err)` is the one sentence shown on stderr."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} {self.hint}"


class InputError(ReconcileError):
    """A file or value given to us cannot be used (missing, unreadable, wrong kind, bad cell)."""


class ColumnDetectionError(InputError):
    """No column, or more than one candidate column, for a role such as the completion code."""


class PlanError(ReconcileError):
    """A plan file is invalid (possibly after hand edits). Holds every problem found, not just the first."""

    def __init__(self, problems: list[str], *, path: str = "") -> None:
        self.problems = list(problems)
        head = f"{path}: " if path else ""
        n = len(self.problems)
        summary = f"{head}the plan has {n} problem{'s' if n != 1 else ''}; nothing was done"
        super().__init__(summary + ":\n  " + "\n  ".join(self.problems) if self.problems else summary)


class RefusedError(ReconcileError):
    """We refuse to act: balance too low, budget exceeded, plan not confirmed, production without flag."""


class ServiceError(ReconcileError):
    """A remote service (a platform, Qualtrics) answered with an error that retrying will not fix."""
