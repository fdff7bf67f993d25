"""Start the MTurk emulator for tests: in-process (start_emulator) or as a real subprocess.

Other test modules import from here:

    from emulator_helpers import start_emulator, start_emulator_process, mturk_client, emulator_stats
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

from reconcile.emulators.mturk import RunningEmulator, start_emulator  # noqa: F401 - re-exported

DUMMY_KEY_ID = "AKIDEMULATOREXAMPLE"
# The real 2017 batches auto-approved long ago; an emulator seeded "as of" the study's own days
# (before AutoApprovalTime) serves them as they were when they could still be decided.
STUDY_DAYS = "2017-11-13T00:00:00Z"
DUMMY_SECRET = "emulator-secret-not-real"


def mturk_client(url: str, **config: Any):
    """A real boto3 MTurk client for the emulator at `url` (dummy credentials, us-east-1).

    Extra keyword arguments go to botocore.config.Config, e.g. parameter_validation=False, or
    retries={"total_max_attempts": 1} for no retries at all (botocore's "max_attempts" counts
    retries only, so max_attempts=1 still sends a request twice).
    """
    import boto3
    from botocore.config import Config

    return boto3.client(
        "mturk",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=DUMMY_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET,
        config=Config(**config) if config else None,
    )


def _get_json(url: str, path: str, method: str = "GET") -> dict:
    req = urllib.request.Request(url.rstrip("/") + path, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read().decode())


def emulator_stats(url: str) -> dict:
    """GET /__emulator/stats of an emulator running anywhere (e.g. another process)."""
    return _get_json(url, "/__emulator/stats")


def emulator_state(url: str) -> dict:
    """GET /__emulator/state: assignments' statuses, bonuses, balance."""
    return _get_json(url, "/__emulator/state")


def reset_emulator_stats(url: str) -> None:
    _get_json(url, "/__emulator/reset-stats", method="POST")


def start_emulator_process(*args: str, timeout: float = 30.0, env: dict | None = None) -> tuple[str, subprocess.Popen]:
    """Run `reconcile emulator mturk ARGS...` in a subprocess; return (url, process) once it listens.

    The caller stops it with `stop_emulator_process(proc)` (or proc.terminate()); its stderr is
    drained in the background and readable with `emulator_stderr(proc)`.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconcile", "emulator", "mturk", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )
    found: list[str] = []
    ready = threading.Event()
    proc.stderr_lines = []  # type: ignore[attr-defined]  # drained continuously, so a full pipe never blocks the emulator

    def _read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if not found and line.startswith("listening on "):
                found.append(line.strip()[len("listening on ") :])
                ready.set()
        ready.set()

    def _drain_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            proc.stderr_lines.append(line)  # type: ignore[attr-defined]

    threading.Thread(target=_read, daemon=True).start()
    threading.Thread(target=_drain_stderr, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.05):
        if proc.poll() is not None or time.monotonic() > deadline:
            break
    if not found:
        stop_emulator_process(proc)
        raise RuntimeError(f"emulator did not start (exit {proc.returncode}): {emulator_stderr(proc).strip()}")
    return found[0], proc


def emulator_stderr(proc: subprocess.Popen) -> str:
    """What a process started by start_emulator_process has written to stderr so far."""
    time.sleep(0.05) if proc.poll() is not None else None  # let the drain thread catch the last lines
    return "".join(getattr(proc, "stderr_lines", []))


def stop_emulator_process(proc: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGTERM the emulator process and wait; returns its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
