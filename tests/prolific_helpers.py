"""The Prolific emulator for tests: start it (in-process or as a real subprocess), write synthetic
Prolific exports of every era, and read its test hooks.

Other test modules import from here:

    from prolific_helpers import (start_prolific_emulator, start_prolific_process, stop_prolific_process,
                                  write_prolific_export, synthetic_rows, prolific_session, prolific_audit, ...)
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from reconcile.emulators.prolific import DEFAULT_TOKEN, RunningEmulator  # noqa: F401 - re-exported
from reconcile.emulators.prolific import start_emulator as start_prolific_emulator  # noqa: F401 - re-exported

# ---------------------------------------------------------------- synthetic exports


def submission_id(i: int) -> str:
    """A 24-hex submission ID, readable in failures: 5b00...0007 is submission 7."""
    return f"5b{i:022x}"


def participant_id(i: int) -> str:
    return f"9a{i:022x}"


# Header names per era (PROLIFIC.md §2.1), for the columns the emulator gives a role to.
ERA_COLUMNS: dict[str, dict[str, str]] = {
    "old": {
        "submission_id": "session_id",
        "participant_id": "participant_id",
        "status": "status",
        "started_at": "started_datetime",
        "completed_at": "completed_date_time",
        "time_taken": "time_taken",
        "reviewed_at": "reviewed_at_datetime",
        "code": "entered_code",
    },
    "2023": {
        "submission_id": "Submission id",
        "participant_id": "Participant id",
        "status": "Status",
        "started_at": "Started at",
        "completed_at": "Completed at",
        "reviewed_at": "Reviewed at",
        "archived_at": "Archived at",
        "time_taken": "Time taken",
        "code": "Completion code",
        "total_approvals": "Total approvals",
    },
    "2024": {
        "submission_id": "Submission id",
        "participant_id": "Participant id",
        "status": "Status",
        "tncs": "Custom study tncs accepted at",
        "started_at": "Started at",
        "completed_at": "Completed at",
        "reviewed_at": "Reviewed at",
        "archived_at": "Archived at",
        "time_taken": "Time taken",
        "code": "Completion code",
        "total_approvals": "Total approvals",
    },
    "2026": {
        "submission_id": "submission_id",
        "participant_id": "participant_id",
        "status": "submission_status",
        "started_at": "started_at",
        "completed_at": "completed_at",
        "time_taken": "time_taken_seconds",
        "code": "completion_code",
    },
}
DEMOGRAPHIC_COLUMNS = ("Age", "Sex", "Country of residence")


def synthetic_rows(statuses: list[str], *, code: str = "C0DE1234", start: int = 0) -> list[dict[str, str]]:
    """One row per status: IDs by position, times an hour apart, codes as Prolific records them
    (the study code when submitted, NOCODE on every fifth, empty when returned or timed out)."""
    rows = []
    for n, status in enumerate(statuses, start=start):
        finished = status not in ("RETURNED", "TIMED-OUT", "ACTIVE", "RESERVED")
        rows.append(
            {
                "submission_id": submission_id(n),
                "participant_id": participant_id(n),
                "status": status,
                "started_at": f"2024-07-{1 + n // 24:02d}T{n % 24:02d}:00:00.000000Z",
                "completed_at": f"2024-07-{1 + n // 24:02d}T{n % 24:02d}:07:30.500000Z" if finished else "",
                "time_taken": "450" if finished else "",
                "code": ("NOCODE" if n % 5 == 4 else code) if finished else "",
                "Age": str(20 + n),
                "Sex": "CONSENT_REVOKED" if n % 7 == 6 else "Female",
                "Country of residence": "United Kingdom",
            }
        )
    return rows


def _era_time(text: str, era: str) -> str:
    # Old exports: "2022-06-06 19:19:49.179000" (space, no zone); newer ones ISO with Z.
    if era == "old" and text:
        return text.replace("T", " ").rstrip("Z")
    return text


def write_prolific_export(path: Path, rows: list[dict[str, str]], *, era: str = "2024", participant_column: str | None = None) -> Path:
    """Write `rows` (see synthetic_rows) as a Prolific export of `era` ("old", "2023", "2024",
    "2026"), CRLF like real downloads. participant_column renames that column (e.g. PROLIFIC_PID)."""
    names = dict(ERA_COLUMNS[era])
    if participant_column:
        names["participant_id"] = participant_column
    header = list(names.values()) + list(DEMOGRAPHIC_COLUMNS)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            cells = []
            for role in names:
                if role == "tncs":
                    cells.append("Not Applicable")
                elif role in ("started_at", "completed_at", "reviewed_at", "archived_at"):
                    cells.append(_era_time(row.get(role, ""), era))
                elif role == "time_taken" and era == "old" and row.get("time_taken"):
                    cells.append(row["time_taken"] + ".619")  # old exports have fractional seconds
                else:
                    cells.append(row.get(role, ""))
            writer.writerow(cells + [row.get(c, "") for c in DEMOGRAPHIC_COLUMNS])
    return path


# ---------------------------------------------------------------- talking to it


def prolific_session(token: str = DEFAULT_TOKEN) -> requests.Session:
    """A requests session that sends `Authorization: Token <token>`, as a Prolific client does."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    return session


def _hook(url: str, name: str, method: str = "GET", body: Any = None) -> Any:
    answer = requests.request(method, f"{url.rstrip('/')}/__emulator__/{name}", json=body, timeout=10)
    answer.raise_for_status()
    return json.loads(answer.text, parse_float=Decimal)  # money stays exact: never float


def prolific_audit(url: str) -> list[dict]:
    """Every money movement and every pay call received (GET /__emulator__/audit); amounts as Decimal."""
    return _hook(url, "audit")["events"]


def prolific_state(url: str) -> dict:
    return _hook(url, "state")


def prolific_stats(url: str) -> dict:
    return _hook(url, "stats")


def prolific_settle(url: str) -> int:
    """Apply every pending asynchronous change now (bulk approvals, payouts, lagging bonuses)."""
    return _hook(url, "settle", "POST")["applied"]


def prolific_reset_stats(url: str) -> None:
    _hook(url, "reset-stats", "POST")


def prolific_set_faults(url: str, **changes: Any) -> dict:
    """Change fault settings of a running emulator, e.g. drop_response_rate=1.0, routes=["/pay/"]."""
    return _hook(url, "faults", "POST", changes)


# ---------------------------------------------------------------- as a subprocess


def start_prolific_process(*args: str, timeout: float = 30.0, env: dict | None = None) -> tuple[str, subprocess.Popen]:
    """Run `reconcile emulator prolific ARGS...` in a subprocess; return (url, process) once it listens.

    The lines it printed before `listening on` (one per study) are in `proc.study_lines`; stderr is
    drained in the background (`prolific_process_stderr(proc)`). Stop it with stop_prolific_process.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconcile", "emulator", "prolific", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )
    found: list[str] = []
    ready = threading.Event()
    proc.study_lines = []  # type: ignore[attr-defined]
    proc.stderr_lines = []  # type: ignore[attr-defined]  # drained, so a full pipe never blocks the emulator

    def _read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if found:
                continue
            if line.startswith("listening on "):
                found.append(line.strip()[len("listening on ") :])
                ready.set()
            else:
                proc.study_lines.append(line.rstrip("\n"))  # type: ignore[attr-defined]
        ready.set()

    def _drain_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            proc.stderr_lines.append(line)  # type: ignore[attr-defined]

    threading.Thread(target=_read, daemon=True).start()
    proc.stderr_drain = threading.Thread(target=_drain_stderr, daemon=True)  # type: ignore[attr-defined]
    proc.stderr_drain.start()  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while not ready.wait(0.05):
        if proc.poll() is not None or time.monotonic() > deadline:
            break
    if not found:
        stop_prolific_process(proc)
        raise RuntimeError(f"Prolific emulator did not start (exit {proc.returncode}): {prolific_process_stderr(proc).strip()}")
    return found[0], proc


def prolific_process_stderr(proc: subprocess.Popen) -> str:
    """What a process started by start_prolific_process has written to stderr so far."""
    drain = getattr(proc, "stderr_drain", None)
    if proc.poll() is not None and drain is not None:
        drain.join(timeout=5)  # the pipe closes when the process ends: every line is in
    return "".join(getattr(proc, "stderr_lines", []))


def stop_prolific_process(proc: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGTERM the emulator process and wait; returns its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
