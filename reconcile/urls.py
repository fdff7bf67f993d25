"""URLs as one spelling per server, and as safe to print. Imports nothing of ours (base module).

A payout must never depend on how a person typed an endpoint: `http://localhost:8443`,
`http://127.0.0.1:8443/` and `HTTP://LOCALHOST.:8443` are one server, so ledger keys and payout locks
use `endpoint_identity`, and everything printed goes through `redact_url` (no user:password@).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"https": 443, "http": 80}
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def canonical_host(host: str) -> str:
    """A host name as one spelling: case-folded, no trailing dot; every loopback name is `loopback`."""
    h = host.strip().strip("[]").casefold().rstrip(".")
    if h in _LOOPBACK_NAMES or h.endswith(".localhost"):
        return "loopback"
    try:
        if ipaddress.ip_address(h).is_loopback:
            return "loopback"
    except ValueError:
        pass
    return h


def endpoint_identity(url: str) -> str:
    """The endpoint as stored in keys: one spelling per server.

    `HTTPS://Mturk-Requester.us-east-1.amazonaws.com.:443/` and the plain production URL are one
    endpoint; so are `http://127.0.0.1:8443` and `http://localhost:8443`. No user:password part is
    kept. Part of every key, so a rehearsal against a local emulator or the sandbox never makes a
    production payment look done.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or _DEFAULT_PORTS.get(scheme)
    host = canonical_host(parts.hostname or "")
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def redact_url(url: str) -> str:
    """The URL without any user:password@ part (credentials in a URL are never echoed).

    Whatever stands between "//" and the last "@" is dropped, even when a stray "/" in a password
    makes the URL unparsable: a malformed URL is still never echoed with its secret.
    """
    text = url.strip()
    head, sep, rest = text.partition("//")
    if not sep or "@" not in rest:
        return text
    return f"{head}//{rest.rsplit('@', 1)[1]}"


def checked_endpoint_url(endpoint_url: str, emulator: str) -> tuple[str, bool]:
    """A typed --endpoint-url, trimmed, as (url, local): local when its host is this machine. One
    sentence (ReconcileError) for a URL that is not http(s) with a host; `emulator` names the command
    whose printed URL is the usual answer ("reconcile emulator mturk")."""
    from .errors import ReconcileError

    url = endpoint_url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ReconcileError(f"--endpoint-url {redact_url(url)!r} is not a usable URL.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ReconcileError(
            f"--endpoint-url {redact_url(url)!r} is not an http(s) URL.",
            hint=f"Give a full URL such as http://127.0.0.1:8443 (what `{emulator}` prints).",
        )
    return url, canonical_host(parts.hostname) == "loopback"
