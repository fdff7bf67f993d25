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


# CI sets this: there the real exports must be present, and a missing folder fails the run.
REQUIRE_REALDATA = os.environ.get("RECONCILE_REQUIRE_REALDATA") == "1"
REALDATA_SKIP_REASON = f"real exports not found at {REALDATA} (they live in ../shared/realdata; set RECONCILE_REALDATA)"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The real exports of ../shared/realdata. On a clone without them the test is skipped with a
    visible reason (pytest -ra lists it), except under CI (RECONCILE_REQUIRE_REALDATA=1)."""
    if not REALDATA.is_dir():
        if REQUIRE_REALDATA:
            pytest.fail(REALDATA_SKIP_REASON)
        pytest.skip(REALDATA_SKIP_REASON)
    return REALDATA


def pytest_collection_modifyitems(config, items):
    # Mark every test that needs the real exports, so the run can say how many of them ran.
    for item in items:
        if "realdata" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)


_realdata_outcomes: dict[str, int] = {"passed": 0, "skipped": 0, "failed": 0}


def pytest_runtest_logreport(report):
    # Runs in the controlling process (also under xdist), once per phase of every test.
    if "realdata" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _realdata_outcomes[report.outcome] = _realdata_outcomes.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter):
    o = _realdata_outcomes
    if sum(o.values()):
        # .ci/run reads this line to prove the real-data tests ran.
        terminalreporter.write_line(
            f"real-data tests: {o['passed']} passed, {o['skipped']} skipped, {o['failed']} failed"
        )


@pytest.fixture(autouse=True)
def _own_cache_folder(monkeypatch, tmp_path_factory):
    """Every test gets its own cache folder (payout locks live there), so tests running side by side
    never find each other's payouts in progress. Commands started by a test inherit it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


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
