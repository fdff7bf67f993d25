from __future__ import annotations

import pytest

from reconcile.platforms.mturk.endpoints import PRODUCTION_URL, SANDBOX_URL, resolve_mturk_endpoint
from reconcile.errors import ReconcileError


def test_production_needs_its_own_flag():
    with pytest.raises(ReconcileError, match="no MTurk endpoint chosen"):
        resolve_mturk_endpoint(None, False, False)
    prod = resolve_mturk_endpoint(None, False, True)
    assert prod.url == PRODUCTION_URL and prod.is_production


def test_sandbox_and_local():
    assert resolve_mturk_endpoint(None, True, False).url == SANDBOX_URL
    local = resolve_mturk_endpoint("http://127.0.0.1:8123/", False, False)
    assert local.url == "http://127.0.0.1:8123" and local.name == "local" and not local.is_production


def test_several_flags_refused():
    with pytest.raises(ReconcileError, match="choose one of"):
        resolve_mturk_endpoint("http://127.0.0.1:1", True, False)
