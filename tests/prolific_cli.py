"""`python tests/prolific_cli.py ARGS...` runs `reconcile ARGS...` with Prolific in the platform
registry. (The registry line and the status table, states.py, belong to the Prolific reading work;
until they land, the paying tests stand in for them here, for the test process only. Harmless once
they exist.)"""

from __future__ import annotations

import sys
import types

import reconcile.platforms as registry
from reconcile.cli import main
from reconcile.platforms.prolific import PLATFORM

try:
    import reconcile.platforms.prolific.states  # noqa: F401
except ImportError:
    from reconcile.platform import State
    from reconcile.platforms.prolific.payer import _STATES

    shim = types.ModuleType("reconcile.platforms.prolific.states")
    shim.state_of = lambda raw: _STATES.get(raw.strip().upper(), State.UNKNOWN)  # type: ignore[attr-defined]
    sys.modules[shim.__name__] = shim

registry.PLATFORMS.setdefault(PLATFORM.capabilities.name, PLATFORM)  # type: ignore[arg-type]
main()
