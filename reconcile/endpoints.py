"""Which MTurk endpoint a command talks to. Pure: flags in, endpoint out (no boto3 here).

The sandbox and local emulators are one flag away; production needs its own explicit flag.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ReconcileError

PRODUCTION_URL = "https://mturk-requester.us-east-1.amazonaws.com"
SANDBOX_URL = "https://mturk-requester-sandbox.us-east-1.amazonaws.com"
REGION = "us-east-1"


@dataclass(frozen=True)
class MTurkEndpoint:
    url: str
    name: str  # "production" | "sandbox" | "local"
    is_production: bool


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
    return MTurkEndpoint(endpoint_url.rstrip("/"), "local" if "127.0.0.1" in endpoint_url or "localhost" in endpoint_url else "custom", endpoint_url.rstrip("/") == PRODUCTION_URL)
