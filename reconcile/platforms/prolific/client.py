"""The one place a requests session for the Prolific API is made, and the one cleaner of what
Prolific says when a call fails.

The token comes from PROLIFIC_API_TOKEN and goes only into the Authorization header: it is never
printed, logged or stored; only a hash of it leaves this module (the account's identity, for the
one-payout-per-account lock). Bodies are parsed with parse_float=Decimal, so money (minor units,
sometimes fractional: fees of 283.34 pence) never passes through float. Error messages are built
from the envelope's `detail` (PROLIFIC.md §1.10), cut to one sentence; a transport failure after
the request may have been sent is `transient` with sent=True, so the engine never repeats a call
that is not safe to repeat.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

from ...platform import CallFailed, Endpoint
from .http import TOKEN_ENV, ProlificHttp, token_from_env

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
MAX_DETAIL = 300  # characters of the platform's detail kept in a message


class TokenRefused(CallFailed):
    """401: the token is wrong (or of another workspace). Retrying never helps."""


@dataclass
class Client:
    session: requests.Session
    base_url: str  # without a trailing slash, e.g. https://api.prolific.com
    account: str  # a hash of the token: which workspace this is, never the token

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"


def account_hash(token: str) -> str:
    return hashlib.sha256(("prolific-account\x1f" + token).encode("utf-8")).hexdigest()


def make_client(base_url: str, *, token: str | None = None, pool: int = 10) -> Client:
    """The reading side's session (http.ProlificHttp: the one place the token header is set) for
    `base_url`, with a connection pool for parallel reads and no retries of its own: the payout
    engine decides what may be repeated, and this client never repeats anything."""
    token = token if token is not None else token_from_env()
    session = ProlificHttp(Endpoint(base_url.rstrip("/"), "custom", False), token=token).session
    adapter = requests.adapters.HTTPAdapter(pool_connections=max(1, pool), pool_maxsize=max(10, pool), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"Accept": "application/json", "User-Agent": "reconcile"})
    session.trust_env = False  # no proxy from the environment sees the token
    return Client(session, base_url.rstrip("/"), account_hash(token))


def one_sentence(text: str) -> str:
    """Text as one sentence fragment: whitespace folded, cut short, no trailing full stop."""
    flat = " ".join(str(text).split())
    if len(flat) > MAX_DETAIL:
        flat = flat[: MAX_DETAIL - 3] + "..."
    return flat.rstrip(".")


def detail_of(body: Any) -> str:
    """What the error envelope says, flattened: {"error": {"detail": str | list | {field: [msgs]}}},
    or the simpler {"detail": ...} / {"message": ...} some endpoints answer with."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            detail = inner.get("detail", inner.get("message", inner.get("title", "")))
        else:
            detail = inner
    else:
        detail = body
    if isinstance(detail, dict):
        parts = []
        for field, msgs in detail.items():
            msgs = msgs if isinstance(msgs, list) else [msgs]
            parts.append(f"{field}: " + " ".join(one_sentence(m) for m in msgs))
        return one_sentence("; ".join(parts))
    if isinstance(detail, list):
        return one_sentence("; ".join(one_sentence(d) for d in detail))
    return one_sentence(str(detail or ""))


def parse_json(response: requests.Response) -> Any:
    """The body as JSON with every non-integer number a Decimal; None for an empty body."""
    if not response.content:
        return None
    return json.loads(response.content.decode("utf-8"), parse_float=Decimal)


def classify_status(status: int, body: Any, *, transition: bool = False) -> CallFailed:
    """An HTTP error answer as a CallFailed the engine can act on."""
    detail = detail_of(body) or f"HTTP {status}"
    if status == 401:
        return TokenRefused("refused", f"the Prolific token was refused (HTTP 401: {detail}); check {TOKEN_ENV}", code="401")
    if status == 429:
        return CallFailed("throttled", f"throttled by Prolific (HTTP 429: {detail})", code="429")
    if status >= 500:
        # The request reached Prolific: whether it took effect is unknown.
        return CallFailed("transient", f"Prolific server error (HTTP {status}: {detail})", sent=True, code=str(status))
    if status == 400 and transition and not _field_errors(body):
        # A transition refused for the submission's state ("only a submission AWAITING REVIEW can be
        # ..."); field errors (message, rejection_category) are a refusal of the request itself.
        return CallFailed("conflict", f"Prolific refused the change ({detail})", code="400")
    return CallFailed("refused", f"Prolific refused the call (HTTP {status}: {detail})", code=str(status))


def call(client: Client, method: str, path: str, *, json_body: Any = None, expect: tuple[int, ...] = (200,),
         transition: bool = False) -> Any:
    """One HTTP call; the parsed body of an expected answer, else CallFailed (never a requests exception)."""
    try:
        response = client.session.request(method, client.url(path), json=json_body,
                                           timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
    except requests.exceptions.ConnectTimeout:
        raise CallFailed("transient", "could not connect to Prolific (timed out)", sent=False) from None
    except requests.exceptions.ConnectionError as exc:
        # Refused before sending (nothing reached Prolific) vs dropped after (it may have).
        sent = not _never_sent(exc)
        raise CallFailed("transient", "the connection to Prolific failed" + (" after the request was sent" if sent else ""),
                                 sent=sent) from None
    except requests.exceptions.Timeout:
        raise CallFailed("transient", "Prolific did not answer in time", sent=True) from None
    except requests.exceptions.RequestException as exc:
        raise CallFailed("transient", f"the call to Prolific failed ({type(exc).__name__})", sent=True) from None
    try:
        body = parse_json(response)
    except (UnicodeDecodeError, ValueError):
        body = response.text[:MAX_DETAIL] if response.status_code not in expect else None
        if response.status_code in expect:
            raise CallFailed("transient", f"Prolific answered HTTP {response.status_code} with a body that is not JSON",
                             sent=True, code=str(response.status_code)) from None
    if response.status_code in expect:
        return body
    if 200 <= response.status_code < 300:
        # Success of a kind we did not ask for: it may have taken effect, so it is never "refused".
        raise CallFailed("transient", f"Prolific answered HTTP {response.status_code}, not {'/'.join(map(str, expect))}",
                         sent=True, code=str(response.status_code))
    raise classify_status(response.status_code, body, transition=transition)


def _field_errors(body: Any) -> bool:
    inner = body.get("error", body) if isinstance(body, dict) else None
    return isinstance(inner, dict) and isinstance(inner.get("detail"), dict)


def _never_sent(exc: BaseException) -> bool:
    """A connection that was refused or never opened: the request cannot have reached Prolific."""
    text = repr(exc)
    return any(s in text for s in ("ConnectionRefusedError", "NewConnectionError", "NameResolutionError",
                                   "Failed to establish a new connection"))
