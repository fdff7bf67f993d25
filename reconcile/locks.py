"""Exclusive OS file locks: one payer per ledger, and one payout per account at a time.

Locks are advisory `flock`s on small files, so a killed process never leaves one behind. The
account lock lives in the user's cache folder (not beside a plan or a ledger), because two runs of
one plan may use two ledgers and still pay the same account: it is keyed by the canonical endpoint
and a hash of the account's identity (never the identity itself: no credential touches the disk).

Imports nothing of ours but errors (base module).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from .errors import ReconcileError


class HeldLock:
    """A lock taken by `hold_lock`; `release()` (or closing the process) gives it back."""

    def __init__(self, path: Path, handle: IO[str] | None) -> None:
        self.path = path
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def hold_lock(path: Path, *, busy: ReconcileError, note: str = "") -> HeldLock:
    """Take an exclusive, non-blocking lock on `path` (created if needed), or raise `busy`.

    `note` (no secrets) is written into the file for whoever finds it held.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock; tokens and look-ups still protect bonuses
        return HeldLock(path, None)
    fh = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        holder = fh.read().strip()
        fh.close()
        if holder and busy.hint is not None:
            busy.hint = f"({holder}) {busy.hint}"
        raise busy from None
    if note:
        fh.seek(0)
        fh.truncate()
        fh.write(note)
        fh.flush()
    return HeldLock(path, fh)


def cache_dir() -> Path:
    """The user's cache folder for reconcile ($XDG_CACHE_HOME/reconcile, ~/.cache/reconcile), made if needed.

    Falls back to a per-user folder in the temporary directory when the home folder is not writable.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for candidate in (Path(base) / "reconcile", Path(tempfile.gettempdir()) / f"reconcile-{_user_tag()}"):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            if os.access(candidate, os.W_OK):
                return candidate
        except OSError:
            continue
    raise ReconcileError("no writable cache folder for reconcile's payout locks.", hint="Set XDG_CACHE_HOME to a writable folder.")


def _user_tag() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid else "user"


def account_lock_path(endpoint_identity: str, account_identity: str) -> Path:
    digest = hashlib.sha256(f"{endpoint_identity}\x1f{account_identity}".encode("utf-8")).hexdigest()[:32]
    folder = cache_dir() / "payout-locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{digest}.lock"


def hold_account_lock(endpoint_identity: str, account_identity: str, *, what: str) -> HeldLock:
    """One payout per (endpoint, account) at a time, across ledgers and plans. `what` names the
    account for the refusal sentence (e.g. "this requester account")."""
    path = account_lock_path(endpoint_identity, account_identity)
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return hold_lock(
        path,
        busy=_refusal(f"another `reconcile pay --execute` is paying on {what} at {endpoint_identity} right now."),
        note=f"pid {os.getpid()}, started {started}, {os.path.basename(sys.argv[0] or 'reconcile')}",
    )


def _refusal(message: str) -> ReconcileError:
    from .errors import RefusedError

    return RefusedError(message, hint="Let it finish (or stop it), then re-run the same command: nothing is paid twice.")
