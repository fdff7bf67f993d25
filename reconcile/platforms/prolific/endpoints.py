"""Which Prolific API a command talks to. Pure: flags in, endpoint out.

Prolific has no sandbox (testing costs real credit), so --sandbox is refused; production needs its own
explicit flag, and --endpoint-url can never reach Prolific itself: a URL whose host is under
prolific.com or prolific.co, however spelled, is refused with a pointer to --production.
(The smallest version, written for reading; the payer's work may extend it.)
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ...errors import ReconcileError
from ...platform import Endpoint
from ...urls import canonical_host, redact_url

PRODUCTION_URL = "https://api.prolific.com"
_PROLIFIC_DOMAINS = ("prolific.com", "prolific.co")


def is_prolific_host(url: str) -> bool:
    host = canonical_host(urlsplit(url.strip()).hostname or "")
    return any(host == d or host.endswith("." + d) for d in _PROLIFIC_DOMAINS)


def resolve_prolific_endpoint(endpoint_url: str | None, sandbox: bool, production: bool) -> Endpoint:
    if sandbox:
        raise ReconcileError("Prolific has no sandbox; rehearse against a local `reconcile emulator prolific` "
                             "with --endpoint-url URL.")
    if endpoint_url and production:
        raise ReconcileError("choose one of --endpoint-url, --production, not both.")
    if production:
        return Endpoint(PRODUCTION_URL, "production", True)
    if not endpoint_url:
        raise ReconcileError("no Prolific endpoint chosen.",
                             hint="Pass --production, or --endpoint-url URL (e.g. a local `reconcile emulator prolific`).")
    url = endpoint_url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ReconcileError(f"--endpoint-url {redact_url(url)!r} is not a usable URL.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ReconcileError(f"--endpoint-url {redact_url(url)!r} is not an http(s) URL.",
                             hint="Give a full URL such as http://127.0.0.1:8480 (what `reconcile emulator prolific` prints).")
    if is_prolific_host(url):
        raise ReconcileError(f"--endpoint-url {redact_url(url)!r} is Prolific's own API; use --production instead "
                             "(real money, with a confirmation).")
    local = canonical_host(parts.hostname) == "loopback"
    return Endpoint(url, "local" if local else "custom", False)
