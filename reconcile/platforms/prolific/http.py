"""A small HTTP session for the Prolific API: base URL, the token header, a timeout, JSON with exact
money, and Prolific's error envelope (PROLIFIC.md §1.10) turned into one sentence.

The token comes from PROLIFIC_API_TOKEN and goes only into the Authorization header: never into
a message, a log line or a file. Reads (GET, and the export POST, which moves no money) are retried
on 429, 5xx and lost connections; nothing here is meant for calls that move money (see `retry=False`).
"""

from __future__ import annotations

import json
import os
import time
from decimal import Decimal
from typing import Any, Callable

import requests

from ...errors import InputError, ServiceError
from ...platform import Endpoint

TOKEN_ENV = "PROLIFIC_API_TOKEN"
TIMEOUT = 30.0  # seconds per request
READ_ATTEMPTS = 8  # reads only: a listing moves no money, so trying again is always safe
_RETRIED = {429, 500, 502, 503, 504}


def token_from_env() -> str:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise InputError(f"{TOKEN_ENV} is not set; put the workspace's API token there (Prolific > API tokens), "
                         "never on the command line.")
    return token


def error_detail(body: str) -> str:
    """The words of an error body, in any of the shapes Prolific uses: {"error": {"detail": ...}},
    {"detail": ...} or {"message": ...}; detail may be text, a list or {field: [messages]}."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        data = data["error"]
    if not isinstance(data, dict):
        return ""
    detail = data.get("detail") or data.get("message") or ""
    if isinstance(detail, dict):
        detail = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in detail.items())
    elif isinstance(detail, list):
        detail = " ".join(map(str, detail))
    text = " ".join(str(detail).split()).rstrip(".")  # what a server says is shown, never trusted: one line, short
    return text if len(text) <= 200 else text[:197] + "..."


def error_sentence(status: int, body: str, what: str, endpoint: Endpoint) -> str:
    """One sentence for a refused call: `what` names the thing asked for ("study 5e0d...")."""
    detail = error_detail(body)
    if status == 401:
        return (f"the Prolific API at {endpoint.shown} refused the token in {TOKEN_ENV} (401: no valid token); "
                "check that it is this workspace's API token")
    if status == 403:
        return f"the token in {TOKEN_ENV} may not read {what} (403 Forbidden)"
    if status == 404:
        return f"{what} was not found at {endpoint.shown} (404); check the ID, and that the token belongs to its workspace"
    return f"the Prolific API answered {status} to the request for {what}" + (f": {detail}" if detail else "")


class ProlificHttp:
    """Requests to one Prolific endpoint with the workspace's token."""

    def __init__(self, endpoint: Endpoint, *, token: str | None = None, timeout: float = TIMEOUT,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.endpoint = endpoint
        self.base = endpoint.url.rstrip("/")
        self.timeout = timeout
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token if token is not None else token_from_env()}"
        self.session.headers["Referer"] = "https://github.com/reconcile"  # Prolific asks clients to name themselves

    def request(self, method: str, path: str, what: str, *, params: dict | None = None, body: Any = None,
                retry: bool = True) -> requests.Response:
        """The answer to one call (2xx), or ServiceError in one sentence."""
        url = f"{self.base}{path}"
        attempts = READ_ATTEMPTS if retry else 1
        for attempt in range(attempts):
            try:
                answer = self.session.request(method, url, params=params, json=body, timeout=self.timeout)
            except requests.RequestException as exc:
                if attempt + 1 < attempts:
                    self.sleep(min(8.0, 0.5 * 2 ** attempt))
                    continue
                raise ServiceError(f"cannot reach the Prolific API at {self.endpoint.shown} for {what} "
                                   f"({type(exc).__name__}).") from None
            if answer.status_code in _RETRIED and attempt + 1 < attempts:
                self.sleep(_wait(answer, attempt))
                continue
            if answer.status_code >= 400:
                raise ServiceError(error_sentence(answer.status_code, answer.text, what, self.endpoint) + ".")
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def get_json(self, path: str, what: str, *, params: dict | None = None) -> Any:
        answer = self.request("GET", path, what, params=params)
        try:
            return json.loads(answer.text, parse_float=Decimal)  # money stays exact
        except ValueError:
            raise ServiceError(f"the Prolific API at {self.endpoint.shown} answered {what} with something that is not JSON.") from None


def _wait(answer: requests.Response, attempt: int) -> float:
    try:
        return min(30.0, max(0.0, float(answer.headers.get("Retry-After", ""))))
    except ValueError:
        return min(8.0, 0.5 * 2 ** attempt)
