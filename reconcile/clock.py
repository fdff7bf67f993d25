"""The time the tool believes it is. Imports nothing of ours but errors (base module).

Decisions that depend on deadlines (an AutoApprovalTime that has passed makes a reject impossible)
read the clock here. `RECONCILE_NOW` (an ISO time such as 2017-11-13T00:00:00Z) sets it, for
rehearsing an archived study against an emulator seeded with `--as-of` the same time; every command
that honours it says so on stderr, so it is never in force unnoticed.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone

from .errors import InputError

ENV = "RECONCILE_NOW"
_announced = False


def now() -> datetime:
    text = os.environ.get(ENV, "").strip()
    if not text:
        return datetime.now(timezone.utc)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{ENV}={text!r} is not a time like 2017-11-13T00:00:00Z; unset it to use the real time.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    global _announced
    if not _announced:
        _announced = True
        print(f"note: {ENV} sets the clock to {when.isoformat()} (deadlines are judged as of then).", file=sys.stderr)
    return when
