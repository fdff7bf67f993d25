"""Which Prolific endpoint a command talks to. Pure: flags in, endpoint out (no requests here).

Prolific has no sandbox (PROLIFIC.md §0 #10), so --sandbox is refused. Production needs its own
explicit flag, and `--endpoint-url` can never reach Prolific: any URL whose host is under
prolific.com or prolific.co, however it is spelled, is refused with a pointer to --production, so
the production confirmation cannot be bypassed by spelling.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ...errors import ReconcileError
from ...platform import Endpoint
from ...urls import canonical_host, checked_endpoint_url, redact_url

PRODUCTION_URL = "https://api.prolific.com"
_PROLIFIC_DOMAINS = ("prolific.com", "prolific.co", "prolific.ac")


def is_prolific_host(url: str) -> bool:
    host = canonical_host(urlsplit(url.strip()).hostname or "")
    return any(host == d or host.endswith("." + d) for d in _PROLIFIC_DOMAINS)


def resolve_prolific_endpoint(endpoint_url: str | None, sandbox: bool, production: bool) -> Endpoint:
    if sandbox:
        raise ReconcileError(
            "Prolific has no sandbox: rehearse against a local `reconcile emulator prolific` with --endpoint-url URL, "
            "or pay for real with --production."
        )
    chosen = [flag for flag, on in (("--endpoint-url", bool(endpoint_url)), ("--production", production)) if on]
    if len(chosen) > 1:
        raise ReconcileError(f"choose one of {', '.join(chosen)}, not both.")
    if not chosen:
        raise ReconcileError(
            "no Prolific endpoint chosen: pass --production (real money) or --endpoint-url URL (a local "
            "`reconcile emulator prolific`)."
        )
    if production:
        return Endpoint(PRODUCTION_URL, "production", True)
    assert endpoint_url is not None
    url, local = checked_endpoint_url(endpoint_url, "reconcile emulator prolific")
    if is_prolific_host(url):
        raise ReconcileError(
            f"--endpoint-url {redact_url(url)!r} is Prolific itself; use --production (real money, with a confirmation) instead."
        )
    return Endpoint(url, "local" if local else "custom", False)
