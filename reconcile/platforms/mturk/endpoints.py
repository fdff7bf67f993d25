"""Which MTurk endpoint a command talks to. Pure: flags in, endpoint out (no boto3 here).

The sandbox and local emulators are one flag away; production needs its own explicit flag, and
`--endpoint-url` can never reach Amazon: any URL whose host is under amazonaws.com, however it is
spelled (`HTTPS://MTURK-REQUESTER...`, a trailing dot, an explicit :443), is refused with a pointer to
--production / --sandbox, so the production confirmation cannot be bypassed by spelling.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ...errors import ReconcileError
from ...platform import Endpoint
from ...urls import canonical_host, checked_endpoint_url, redact_url

PRODUCTION_URL = "https://mturk-requester.us-east-1.amazonaws.com"
SANDBOX_URL = "https://mturk-requester-sandbox.us-east-1.amazonaws.com"
_AMAZON_DOMAIN = "amazonaws.com"


MTurkEndpoint = Endpoint  # (the platform-neutral record; kept under this name for MTurk callers)


def is_amazon_host(url: str) -> bool:
    host = canonical_host(urlsplit(url.strip()).hostname or "")
    return host == _AMAZON_DOMAIN or host.endswith("." + _AMAZON_DOMAIN)


def resolve_mturk_endpoint(endpoint_url: str | None, sandbox: bool, production: bool) -> MTurkEndpoint:
    chosen = [flag for flag, on in (("--endpoint-url", bool(endpoint_url)), ("--sandbox", sandbox), ("--production", production)) if on]
    if len(chosen) > 1:
        raise ReconcileError(f"choose one of {', '.join(chosen)}, not several.")
    if not chosen:
        raise ReconcileError(
            "no MTurk endpoint chosen.",
            hint="Pass --sandbox, --production, or --endpoint-url URL (e.g. a local `reconcile emulator mturk`).",
        )
    if production:
        return MTurkEndpoint(PRODUCTION_URL, "production", True)
    if sandbox:
        return MTurkEndpoint(SANDBOX_URL, "sandbox", False)
    assert endpoint_url is not None
    url, local = checked_endpoint_url(endpoint_url, "reconcile emulator mturk")
    if is_amazon_host(url):
        raise ReconcileError(
            f"--endpoint-url {redact_url(url)!r} is an Amazon endpoint; use --production (real money, with a "
            "confirmation) or --sandbox instead.",
        )
    return MTurkEndpoint(url, "local" if local else "custom", False)
