"""The registry of platforms: a static table (pip-audit style), no plugin machinery for two or three.

Only the command line and the use-case modules (study, payment) choose a platform, here; the core
and the payout engine receive the chosen object (reconcile.platform.Platform) and read its
capabilities instead of asking which one it is. A new platform is a new folder plus a line below.
"""

from __future__ import annotations

from ..errors import InputError
from ..platform import Platform
from .mturk import PLATFORM as _MTURK
from .prolific import PLATFORM as _PROLIFIC

PLATFORMS: dict[str, Platform] = {
    _MTURK.capabilities.name: _MTURK,
    _PROLIFIC.capabilities.name: _PROLIFIC,
}


def get(name: str) -> Platform:
    try:
        return PLATFORMS[name]
    except KeyError:
        raise InputError(f"unknown platform {name!r}; reconcile knows {', '.join(sorted(PLATFORMS))}.") from None


def claims() -> dict:
    """Every platform's claim on a file, for importers.sniff.kind_of (identification by content)."""
    return {name: p.claims_table for name, p in PLATFORMS.items()}
