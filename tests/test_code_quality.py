"""The house's static checks run with the tests: ruff (pyflakes, bugbear, syntax) and mypy over the
package. Both come with the test extra, so a fresh clone's test command runs them too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing(tmp_path):
    pytest.importorskip("ruff", reason="ruff is not installed (pip install -e '.[test]' brings it)")
    got = _run("ruff", "check", "--no-cache", "--output-format", "concise", ".", tmp_path=tmp_path)
    assert got.returncode == 0, got.stdout + got.stderr


def test_mypy_finds_nothing(tmp_path):
    pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[test]' brings it)")
    got = _run("mypy", "--cache-dir", str(tmp_path / "mypy-cache"), "reconcile", tmp_path=tmp_path)
    assert got.returncode == 0, got.stdout + got.stderr
