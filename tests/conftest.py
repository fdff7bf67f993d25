"""Shared fixtures. Keep this small; put feature-specific fixtures in the feature's test module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# ../shared/realdata beside the checkout (CI clones main with shared/ beside it).
REALDATA = Path(os.environ.get("RECONCILE_REALDATA", REPO.parent / "shared" / "realdata"))
SAMPLE_DATA = REPO / "sample_data"


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.fail(f"real data not found at {REALDATA}; set RECONCILE_REALDATA")
    return REALDATA


def run_cli(*args: str, cwd: str | os.PathLike | None = None, env: dict | None = None, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real `reconcile` command (as installed) in a subprocess; returns the completed process."""
    full_env = dict(os.environ)
    full_env.setdefault("COLUMNS", "200")
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "reconcile", *map(str, args)],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli
