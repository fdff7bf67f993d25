"""The ledger: a SQLite journal of every side effect, so that nothing is ever done twice.

Each action is identified by a content key made of what the platform itself keys on: the endpoint
(canonical: however its URL is spelled), the kind, the submission, the participant, the amount and the
purpose. Never by a column a person can edit that the call does not use (the group is stored for
people, not keyed on), nor by the plan file's name or hash: re-sorting
or editing other rows of a plan, or moving it, never makes a finished action look new. Before a call
the action is recorded as `intent` (committed); after the call its outcome replaces it: `done`,
`already_done` or `failed`. An `intent` with no outcome means the process died mid-call: the executor
must then ask the service what happened before trying again.

Amounts are stored as text ("1.50"). Nothing secret is stored: no credentials, no request tokens
(they are re-derived from the action when needed).

Schema v2 (platform-neutral columns). A v1 ledger (keys that hashed the group and the endpoint as
spelled) is migrated on open, in one transaction; actions that v1 kept apart only because of those
fields become one action, finished if any of them finished.

WAL mode and one short transaction per write; a single connection shared by the executor's
threads behind a lock (SQLite serialises writers anyway, and this avoids "database is locked").
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from ..errors import InputError, RefusedError
from ..urls import endpoint_identity

if TYPE_CHECKING:  # pragma: no cover
    from ..locks import HeldLock

SCHEMA_VERSION = "2"

# intent: a call is about to be made (or was, and the process died): ask the platform before retrying.
# prepared: a bonus set up under a reference, not paid yet. in_doubt: a pay call that is not safe to
# retry may have gone through; only what the platform shows as paid, or a person, settles it.
# unpaid: a person said an in-doubt (or conflicting) action was not paid; the next run attempts it.
RESOLVED_UNPAID = "unpaid"
STATES = ("intent", "prepared", "done", "already_done", "failed", "in_doubt", RESOLVED_UNPAID)
FINISHED = ("done", "already_done")
OUTCOMES = ("done", "already_done", "failed", "in_doubt")

_ACTIONS_TABLE = (
    """CREATE TABLE IF NOT EXISTS actions (
    key TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    kind TEXT NOT NULL,
    group_id TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    purpose TEXT NOT NULL,
    reference TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    first_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS actions_submission ON actions (submission_id)",
)
_SCHEMA = ";\n".join((
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    *_ACTIONS_TABLE,
    """CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    key TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
)""",
    """CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    plan_path TEXT NOT NULL,
    plan_digest TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT ''
)""",
)) + ";"


def default_ledger_path(plan_path: str | os.PathLike) -> Path:
    """reconcile-plan.csv -> reconcile-plan.ledger.sqlite, beside the plan."""
    p = Path(plan_path)
    return p.with_name(p.stem + ".ledger.sqlite")


def endpoint_identity_v1(url: str) -> str:
    """How schema v1 spelled an endpoint in its keys (the URL as given, lower case, no userinfo)."""
    parts = urlsplit(url.strip())
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc.lower(), parts.path.rstrip("/"), "", ""))


def action_key(*, endpoint: str, kind: str, submission_id: str, participant_id: str, amount: str, purpose: str) -> str:
    """The content key of one action. Readable on purpose: it is what `reconcile ledger` shows."""
    if not kind:
        raise ValueError("kind must not be empty")
    return "|".join((endpoint_identity(endpoint), kind, submission_id, participant_id, amount, purpose))


def request_token(*, kind: str, submission_id: str, participant_id: str, amount: str, purpose: str) -> str:
    """The idempotency token of an action: 64 hex characters (a platform's request token takes 1-64).

    Derived from what the platform keys on and nothing else (not the endpoint's spelling, not the
    ledger, not a group column a person can edit), so every run of one plan - in this process, after a
    crash, or a second run with another ledger - sends the very same token, and a platform that
    deduplicates by token refuses to pay twice (for as long as it remembers; the look-up of what each
    submission was paid covers the rest).
    """
    text = "|".join((kind, submission_id, participant_id, amount, purpose))
    return hashlib.sha256(("reconcile-bonus-v2\x1f" + text).encode("utf-8")).hexdigest()


def is_disk_full(exc: BaseException) -> bool:
    """SQLITE_FULL ("database or disk is full"), or the OS saying there is no space left."""
    return "disk is full" in str(exc).lower() or getattr(exc, "errno", None) == 28 or getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class LedgerEntry:
    key: str
    endpoint: str
    kind: str
    group_id: str  # for people; not part of the key
    submission_id: str  # "" for a qualification grant
    participant_id: str
    amount: str
    purpose: str
    reference: str
    state: str
    detail: str
    attempts: int
    first_at: str
    updated_at: str

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


@dataclass(frozen=True)
class LedgerEvent:
    at: str
    key: str
    event: str
    detail: str


@dataclass(frozen=True)
class LedgerRun:
    id: int
    started_at: str
    finished_at: str | None
    plan_path: str
    plan_digest: str
    endpoint: str
    summary: str


_ENTRY_COLUMNS = (
    "key, endpoint, kind, group_id, submission_id, participant_id, amount, purpose, reference, state, detail, "
    "attempts, first_at, updated_at"
)


def _describes(endpoint: str, kind: str, group_id: str, submission_id: str, participant_id: str, amount: str, purpose: str) -> tuple:
    return (endpoint_identity(endpoint), kind, group_id, submission_id, participant_id, amount, purpose)


class Ledger:
    """Open with `Ledger.open(path)`; use as a context manager or call `close()`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, is_new: bool, migrated: int = 0) -> None:
        self.path = path
        self._conn = conn
        self._lock = threading.RLock()
        self.is_new = is_new  # no action had ever been recorded when it was opened
        self.migrated = migrated  # v1 actions mapped onto v2 keys when it was opened (0: none)
        self._run_lock: "HeldLock | None" = None

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: str | os.PathLike, *, create: bool = True) -> "Ledger":
        p = Path(path)
        if not create and not p.is_file():
            raise InputError(f"{p}: no such ledger.", hint="Nothing has been executed with this plan yet (or pass --ledger FILE).")
        if p.exists() and not p.is_file():
            raise InputError(f"{p}: the ledger path is not a file.")
        if create and not p.parent.is_dir():
            raise InputError(f"{p.parent}: the ledger's folder does not exist.")
        migrated = 0
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one short transaction per write.
            conn = sqlite3.connect(str(p), timeout=30.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (the SIGKILL case); FULL also survives
            # power loss, which is worth one fsync per write when money moves.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            version = _schema_version(conn)
            if version == "1":
                migrated = _migrate_v1(conn)
            elif version not in (None, SCHEMA_VERSION):
                conn.close()
                raise InputError(
                    f"{p}: ledger schema version {version} is newer than this reconcile understands (expected {SCHEMA_VERSION}).",
                    hint="Use the reconcile version that wrote it, or upgrade.",
                )
            conn.executescript(_SCHEMA)
            if version is None:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                conn.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('created_at', ?)", (_now(),))
                conn.execute("COMMIT")
            (count,) = conn.execute("SELECT COUNT(*) FROM actions").fetchone()
        except sqlite3.DatabaseError as exc:
            if is_disk_full(exc):
                raise InputError(f"{p}: the disk is full, so the ledger cannot be written; nothing was done.",
                                 hint="Free some disk space (or pass --ledger FILE on another disk), then run the same command again.") from None
            raise InputError(f"{p}: not a usable reconcile ledger ({exc}).") from None
        return cls(p, conn, is_new=count == 0, migrated=migrated)

    def lock_for_run(self) -> None:
        """Take an exclusive lock beside the ledger for the rest of this process's use of it.

        Two payers working from one ledger at once would each see the other's work as pending.
        The lock is an OS file lock, so a killed process never leaves it behind.
        """
        from ..locks import hold_lock

        self._run_lock = hold_lock(
            self.path.with_name(self.path.name + ".lock"),
            busy=RefusedError(
                f"{self.path}: another `reconcile pay --execute` is using this ledger right now.",
                hint="Wait for it to finish (or stop it), then re-run the same command.",
            ),
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            if self._run_lock is not None:
                self._run_lock.release()
                self._run_lock = None

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ reading

    def get(self, key: str) -> LedgerEntry | None:
        with self._lock:
            row = self._conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM actions WHERE key=?", (key,)).fetchone()
        return LedgerEntry(*row) if row else None

    def get_many(self, keys: Iterable[str]) -> dict[str, LedgerEntry]:
        wanted = list(dict.fromkeys(keys))
        out: dict[str, LedgerEntry] = {}
        with self._lock:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for row in self._conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM actions WHERE key IN ({marks})", chunk):
                    out[row[0]] = LedgerEntry(*row)
        return out

    def keys_with_reference(self, reference: str) -> set[str]:
        """Every action journaled under one platform reference (a bulk bonus set-up)."""
        with self._lock:
            return {k for (k,) in self._conn.execute("SELECT key FROM actions WHERE reference=?", (reference,))}

    def entries(self) -> list[LedgerEntry]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM actions ORDER BY first_at, key").fetchall()
        return [LedgerEntry(*r) for r in rows]

    def events(self, key: str | None = None) -> list[LedgerEvent]:
        with self._lock:
            if key is None:
                rows = self._conn.execute("SELECT at, key, event, detail FROM events ORDER BY id").fetchall()
            else:
                rows = self._conn.execute("SELECT at, key, event, detail FROM events WHERE key=? ORDER BY id", (key,)).fetchall()
        return [LedgerEvent(*r) for r in rows]

    def runs(self) -> list[LedgerRun]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, started_at, finished_at, plan_path, plan_digest, endpoint, summary FROM runs ORDER BY id"
            ).fetchall()
        return [LedgerRun(*r) for r in rows]

    # ------------------------------------------------------------ writing

    def _write(self, items: Sequence[tuple[str, Mapping[str, str] | None]], state: str, detail: str = "",
               reference: str | None = None, *, attempt: bool = False) -> None:
        """Move every (key, descriptive fields) to `state` in ONE transaction (committed on return).

        Rules that keep money safe: a finished action is never attempted again (an intent for one is
        a bug) and never downgraded by a late failure; `attempt` counts a call about to be made.
        `reference` (None: keep) is what the platform pays under (a set-up's bulk ID).
        """
        now = _now()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for key, fields in items:
                    row = self._conn.execute("SELECT state FROM actions WHERE key=?", (key,)).fetchone()
                    if row is not None and row[0] in FINISHED:
                        if attempt:
                            raise RuntimeError(f"action {key} is already {row[0]}; refusing to record a new attempt")
                        if state not in FINISHED and state != RESOLVED_UNPAID:
                            # A late failure of a retry does not undo a finished action.
                            self._conn.execute("INSERT INTO events (at, key, event, detail) VALUES (?,?,?,?)",
                                               (now, key, state, detail))
                            continue
                    if row is None:
                        if fields is None:
                            raise RuntimeError(f"outcome for unknown action {key}")
                        f = fields
                        self._conn.execute(
                            "INSERT INTO actions (key, endpoint, kind, group_id, submission_id, participant_id, amount, purpose,"
                            " reference, state, detail, attempts, first_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                            (key, *_describes(f["endpoint"], f["kind"], f["group_id"], f["submission_id"], f["participant_id"],
                                              f["amount"], f["purpose"]), reference or "", state, detail, int(attempt), now, now),
                        )
                    else:
                        self._conn.execute(
                            "UPDATE actions SET state=?, detail=?, attempts=attempts+?, updated_at=?,"
                            " reference=COALESCE(?, reference) WHERE key=?",
                            (state, detail, int(attempt), now, reference, key),
                        )
                    self._conn.execute("INSERT INTO events (at, key, event, detail) VALUES (?,?,?,?)", (now, key, state, detail))
                self._conn.execute("COMMIT")
            except BaseException:
                _rollback(self._conn)
                raise

    def record_intent(self, key: str, *, reference: str | None = None, **fields: str) -> LedgerEntry:
        """Journal that a call for this action is about to be made (committed before returning)."""
        self._write([(key, fields)], "intent", reference=reference, attempt=True)
        entry = self.get(key)
        assert entry is not None
        return entry

    def record_intents(self, items: Sequence[tuple[str, Mapping[str, str]]], *, reference: str | None = None) -> None:
        """One intent for every action one call covers (a bulk call), in one transaction."""
        self._write(items, "intent", reference=reference, attempt=True)

    def record_prepared(self, items: Sequence[tuple[str, Mapping[str, str]]], reference: str, detail: str = "") -> None:
        """The platform set these bonuses up under `reference` (no money moved yet): paying it is next.
        `detail`: what the set-up said it will draw (e.g. Prolific's total_amount)."""
        self._write(items, "prepared", detail, reference=reference)

    def record_outcome(self, key: str, state: str, detail: str = "", *, reference: str | None = None,
                       endpoint: str | None = None, **fields: str) -> None:
        """Journal an outcome. For an action with no row yet (found done by a look-up), the
        descriptive fields create it."""
        if state not in OUTCOMES:
            raise ValueError(f"unknown outcome {state!r}")
        described = None if endpoint is None else {"endpoint": endpoint, **fields}
        self._write([(key, described)], state, detail, reference)

    def resolve(self, key: str, paid: bool, note: str = "") -> LedgerEntry:
        """A person settles an action the tool could not (in doubt, a conflict, a failure): `paid`
        marks it already done; unpaid clears its reference and lets the next run attempt it anew."""
        entry = self.get(key)
        if entry is None:
            raise InputError(f"{self.path}: no action with the key {key!r}.", hint="`reconcile ledger --all` lists every key.")
        if entry.finished and not paid:
            raise InputError(
                f"{self.path}: {key} is {entry.state.replace('_', ' ')}; a finished action is never undone here.",
                hint="If it really was not paid, pay it by hand on the platform's website.",
            )
        detail = f"settled by a person as {'paid' if paid else 'unpaid'}" + (f": {note}" if note else "")
        if paid:
            self._write([(key, None)], "already_done", detail)
        else:
            self._write([(key, None)], RESOLVED_UNPAID, detail, reference="")
        out = self.get(key)
        assert out is not None
        return out

    def start_run(self, *, plan_path: str, plan_digest: str, endpoint: str) -> int:
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO runs (started_at, plan_path, plan_digest, endpoint) VALUES (?,?,?,?)",
                (_now(), plan_path, plan_digest, endpoint_identity(endpoint)),
            )
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, summary: str) -> None:
        with self._lock:
            self._conn.execute("UPDATE runs SET finished_at=?, summary=? WHERE id=?", (_now(), summary, run_id))


# ---------------------------------------------------------------- schema versions


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open. SQLite ends one itself on some errors (a full disk),
    and a failing ROLLBACK must not hide the error that matters."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def _schema_version(conn: sqlite3.Connection) -> str | None:
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
    if not has_meta:
        return None
    row = conn.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
    return None if row is None else str(row[0])


_STATE_RANK = {"done": 3, "already_done": 3, "intent": 2, "failed": 1}


def _migrate_v1(conn: sqlite3.Connection) -> int:
    """Rewrite a v1 ledger as v2 in one transaction; returns how many v1 actions were mapped.

    v1 keys held the group and the endpoint as spelled; v2 keys hold neither (see action_key). v1 actions
    that differ only in those fields are one action now: finished if any of them finished (so nothing
    done is ever done again), else in flight if any was, else failed. Events follow their action.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        rows = conn.execute(
            "SELECT key, endpoint, kind, hit_id, assignment_id, worker_id, amount, purpose, state, detail, attempts,"
            " first_at, updated_at FROM actions"
        ).fetchall()
        merged: dict[str, list] = {}
        rename: dict[str, str] = {}
        for (old_key, endpoint, kind, hit, aid, worker, amount, purpose, state, detail, attempts, first, updated) in rows:
            new_key = action_key(endpoint=endpoint, kind=kind, submission_id=aid, participant_id=worker, amount=amount, purpose=purpose)
            rename[old_key] = new_key
            cur = merged.get(new_key)
            if cur is None:
                merged[new_key] = [new_key, endpoint_identity(endpoint), kind, hit, aid, worker, amount, purpose, "",
                                   state, detail, attempts, first, updated]
                continue
            cur[11] += attempts
            cur[12] = min(cur[12], first)
            if _STATE_RANK.get(state, 0) > _STATE_RANK.get(cur[9], 0):
                cur[9], cur[10], cur[3] = state, detail, hit
            cur[13] = max(cur[13], updated)
        conn.execute("ALTER TABLE actions RENAME TO actions_v1")
        conn.execute("DROP INDEX IF EXISTS actions_assignment")
        for statement in _ACTIONS_TABLE:  # execute, not executescript: that would commit half-way
            conn.execute(statement)
        conn.executemany(f"INSERT INTO actions ({_ENTRY_COLUMNS}) VALUES ({','.join('?' * 14)})", list(merged.values()))
        conn.executemany("UPDATE events SET key=? WHERE key=?", [(new, old) for old, new in rename.items() if new != old])
        for run_id, endpoint in conn.execute("SELECT id, endpoint FROM runs").fetchall():
            conn.execute("UPDATE runs SET endpoint=? WHERE id=?", (endpoint_identity(endpoint), run_id))
        conn.execute("DROP TABLE actions_v1")
        conn.execute("UPDATE meta SET value=? WHERE name='schema_version'", (SCHEMA_VERSION,))
        conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('migrated_from_v1_at', ?)", (_now(),))
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise
    return len(rows)
