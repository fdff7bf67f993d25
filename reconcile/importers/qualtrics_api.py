"""The Qualtrics v3 export-responses API: start an export, poll it, download the zipped file.

The only module that imports `requests` (house rule). A fetched export is handed to the very same
importer as a downloaded file (`read_qualtrics`), so both paths produce identical records.

Wire protocol (https://{datacenter}.qualtrics.com/API/v3, header X-API-TOKEN):
    POST surveys/{id}/export-responses              {"format": "csv", "useLabels": ...} -> progressId
    GET  surveys/{id}/export-responses/{progressId}  status inProgress | complete | failed (+ fileId)
    GET  surveys/{id}/export-responses/{fileId}/file -> a zip holding one CSV
"""

from __future__ import annotations

import dataclasses
import io
import os
import random
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from ..atomic import atomic_open
from ..errors import InputError, ReconcileError, ServiceError

TOKEN_ENV = "QUALTRICS_API_TOKEN"
DATACENTER_ENV = "QUALTRICS_DATACENTER"
SURVEY_ID_RE = re.compile(r"^SV_[A-Za-z0-9]+$")
_DATACENTER_RE = re.compile(r"^[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)?$")  # "ca1", "iad1", "co1", "eu"

# Polling: start quick (small exports finish in a second), back off to a few seconds so a long
# export costs a handful of requests a minute, far below the 3,000/minute brand limit.
FIRST_POLL_S = 0.5
MAX_POLL_S = 4.0
DEFAULT_TIMEOUT_S = 900.0
# Retries of 429/5xx/connection errors per request, with exponential backoff plus jitter.
MAX_ATTEMPTS = 6
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 120.0

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class FetchedExport:
    """The CSV file found inside the downloaded zip, byte for byte."""

    survey_id: str
    filename: str  # the name Qualtrics gave the CSV inside the zip, e.g. "My Survey.csv"
    content: bytes
    base_url: str


def is_survey_id(spec: str) -> bool:
    return bool(SURVEY_ID_RE.match(spec or ""))


def resolve_base_url(datacenter: str | None) -> str:
    """"ca1" -> "https://ca1.qualtrics.com"; a full URL (tests: http://127.0.0.1:PORT) is kept as is."""
    dc = (datacenter or os.environ.get(DATACENTER_ENV) or "").strip()
    if not dc:
        raise InputError(
            "no Qualtrics datacenter given.",
            hint=f"Pass --datacenter (e.g. ca1, iad1, fra1: the first part of your Qualtrics URL) or set {DATACENTER_ENV}.",
        )
    if dc.startswith(("http://", "https://")):
        base = dc.rstrip("/")
        # Accept a pasted ".../API/v3" too: we add that part ourselves.
        base = re.sub(r"/API/v3$", "", base, flags=re.IGNORECASE)
        return base
    dc = dc.removesuffix(".qualtrics.com")
    if not _DATACENTER_RE.match(dc):
        raise InputError(
            f"{dc!r} is not a Qualtrics datacenter ID or URL.",
            hint="Use the first part of your Qualtrics URL, e.g. ca1 for https://ca1.qualtrics.com, or a full https:// URL.",
        )
    return f"https://{dc}.qualtrics.com"


def api_token(token: str | None = None) -> str:
    tok = token if token is not None else os.environ.get(TOKEN_ENV, "")
    tok = tok.strip()
    if not tok:
        raise InputError(
            f"no Qualtrics API token: set {TOKEN_ENV}.",
            hint="Find the token in Qualtrics under Account Settings > Qualtrics IDs > API.",
        )
    return tok


def normalize_date(text: str | None, *, option: str) -> str | None:
    """A date window bound as Qualtrics wants it (ISO 8601 with a zone): "2020-01-31" -> "2020-01-31T00:00:00Z"."""
    if text is None or not text.strip():
        return None
    t = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
            d = date.fromisoformat(t)
            return f"{d.isoformat()}T00:00:00Z"
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError):
        raise InputError(f"{option} {text!r} is not a date like 2020-01-31 or 2020-01-31T13:00:00Z.") from None


class _Client:
    """One session against one base URL; every request is retried politely on 429/5xx."""

    def __init__(self, base_url: str, token: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        import requests

        self._requests = requests
        self.base_url = base_url
        self.api = f"{base_url}/API/v3"
        self._token = token
        self._sleep = sleep
        self.session = requests.Session()
        self.session.headers.update({"X-API-TOKEN": token, "Accept": "application/json"})
        self.session.trust_env = base_url.startswith("https://")  # never send 127.0.0.1 via a proxy

    def close(self) -> None:
        self.session.close()

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def request(self, method: str, url: str, *, what: str, survey_id: str, json_body: dict | None = None, stream: bool = False):
        requests = self._requests
        backoff = FIRST_BACKOFF_S
        last_problem = ""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                resp = self.session.request(method, url, json=json_body, timeout=(10, 120), stream=stream)
            except requests.exceptions.RequestException as exc:
                last_problem = f"could not reach {self.base_url} ({type(exc).__name__})"
                resp = None
            if resp is not None:
                if resp.status_code < 400:
                    return resp
                if resp.status_code != 429 and resp.status_code < 500:
                    raise self._client_error(resp, what=what, survey_id=survey_id)
                last_problem = f"Qualtrics answered {resp.status_code}" + (
                    f" ({self._scrub(_error_message(resp))})" if _error_message(resp) else ""
                )
            if attempt == MAX_ATTEMPTS:
                break
            retry_after = None
            if resp is not None:
                retry_after = _retry_after_seconds(resp.headers.get("Retry-After"))
                resp.close()
            if retry_after is not None:
                # The server said how long; waiting exactly that is the polite and the fast choice.
                self._sleep(min(retry_after, MAX_RETRY_AFTER_S))
            else:
                self._sleep(backoff * (1 + random.random() * 0.25))
                backoff = min(backoff * 2, MAX_BACKOFF_S)
        raise ServiceError(
            f"Qualtrics did not answer the request to {what} for {survey_id} after {MAX_ATTEMPTS} attempts: {last_problem}.",
            hint="Try again later; nothing was saved.",
        )

    def _client_error(self, resp, *, what: str, survey_id: str) -> ReconcileError:
        code = resp.status_code
        msg = self._scrub(_error_message(resp)) or resp.reason or "no message"
        if code == 401:
            return ServiceError(
                f"Qualtrics did not accept the API token ({code}: {msg}).",
                hint=f"Check {TOKEN_ENV} (and that the token belongs to the datacenter {self.base_url}).",
            )
        if code == 403:
            return ServiceError(
                f"Qualtrics refused to {what} for {survey_id} ({code}: {msg}).",
                hint="The token's user needs access to this survey and API permission in Qualtrics.",
            )
        if code == 404 and what != "start an export":
            return ServiceError(f"Qualtrics no longer knows this export of {survey_id} ({code}: {msg}).", hint="Run the command again.")
        if code == 404:
            return ServiceError(
                f"Qualtrics found no survey {survey_id} at {self.base_url} ({code}: {msg}).",
                hint="Check the survey ID (Survey options > Survey IDs in Qualtrics) and the datacenter.",
            )
        return ServiceError(f"Qualtrics rejected the request to {what} for {survey_id} ({code}: {msg}).")

    def json(self, resp, *, what: str, survey_id: str) -> dict:
        try:
            body = resp.json()
            result = body["result"]
            if not isinstance(result, dict):
                raise TypeError
            return result
        except (ValueError, KeyError, TypeError):
            raise ServiceError(
                f"Qualtrics sent an unexpected answer to the request to {what} for {survey_id} (not the v3 JSON shape)."
            ) from None


def _error_message(resp) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    try:
        msg = body["meta"]["error"]["errorMessage"]
    except (KeyError, TypeError):
        return ""
    return str(msg).strip().rstrip(".") + "." if msg else ""


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def export_responses(
    survey_id: str,
    *,
    datacenter: str | None = None,
    token: str | None = None,
    use_labels: bool = True,
    start_date: str | None = None,
    end_date: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: Optional[ProgressFn] = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchedExport:
    """Run one CSV export of `survey_id` and return the CSV inside the zip, byte for byte.

    Raises InputError (bad survey ID, no token/datacenter, bad dates) or ServiceError (one sentence
    per HTTP error, a failed export, or the `timeout` in seconds running out).
    """
    if not is_survey_id(survey_id):
        raise InputError(f"{survey_id!r} is not a Qualtrics survey ID (those look like SV_1AbCdEfGh2IjKlM).")
    base = resolve_base_url(datacenter)
    tok = api_token(token)
    body: dict = {"format": "csv", "useLabels": bool(use_labels)}
    start = normalize_date(start_date, option="--start-date")
    end = normalize_date(end_date, option="--end-date")
    if start:
        body["startDate"] = start
    if end:
        body["endDate"] = end
    if start and end and start >= end:
        raise InputError(f"--start-date {start_date} is not before --end-date {end_date}.")

    client = _Client(base, tok, sleep=sleep)
    try:
        root = f"{client.api}/surveys/{survey_id}/export-responses"
        deadline = time.monotonic() + timeout
        resp = client.request("POST", root, what="start an export", survey_id=survey_id, json_body=body)
        started = client.json(resp, what="start an export", survey_id=survey_id)
        progress_id = started.get("progressId")
        if not progress_id:
            raise ServiceError(f"Qualtrics started no export for {survey_id} (its answer has no progressId).")
        if progress:
            progress(float(started.get("percentComplete") or 0), "inProgress")

        interval = FIRST_POLL_S
        while True:
            resp = client.request("GET", f"{root}/{progress_id}", what="check the export's progress", survey_id=survey_id)
            state = client.json(resp, what="check the export's progress", survey_id=survey_id)
            status = state.get("status")
            pct = _percent(state.get("percentComplete"))
            if progress:
                progress(pct, str(status))
            if status == "complete":
                file_id = state.get("fileId")
                if not file_id:
                    raise ServiceError(f"Qualtrics reported the export of {survey_id} complete but gave no fileId.")
                break
            if status == "failed":
                raise ServiceError(
                    f"Qualtrics reported the export of {survey_id} as failed.",
                    hint="Nothing was saved; try again, or export the responses in the Qualtrics web interface.",
                )
            if status != "inProgress":
                raise ServiceError(f"Qualtrics reported an unknown export status {status!r} for {survey_id}.")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServiceError(
                    f"the Qualtrics export of {survey_id} was still running after {timeout:g} seconds.",
                    hint="Try again later or with a longer --timeout; nothing was saved.",
                )
            sleep(min(interval, remaining))
            interval = min(interval * 1.5, MAX_POLL_S)

        resp = client.request("GET", f"{root}/{file_id}/file", what="download the export", survey_id=survey_id)
        payload = resp.content
    finally:
        client.close()
    filename, content = _unzip_single_csv(payload, survey_id)
    return FetchedExport(survey_id=survey_id, filename=filename, content=content, base_url=base)


def _percent(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _unzip_single_csv(payload: bytes, survey_id: str) -> tuple[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            csvs = [i for i in members if i.filename.lower().endswith(".csv")]
            if len(csvs) != 1:
                names = ", ".join(i.filename for i in members) or "nothing"
                raise ServiceError(f"the Qualtrics export of {survey_id} should hold one CSV file but holds {names}.")
            return Path(csvs[0].filename).name, zf.read(csvs[0])
    except zipfile.BadZipFile:
        raise ServiceError(f"the Qualtrics export of {survey_id} did not arrive as a zip file.") from None


def save_export(
    survey_id: str,
    out: str | os.PathLike,
    **kwargs,
) -> FetchedExport:
    """Export `survey_id` and write the CSV to `out` atomically, byte for byte as Qualtrics made it."""
    fetched = export_responses(survey_id, **kwargs)
    out_path = Path(out)
    if not out_path.parent.is_dir():
        raise InputError(f"{out}: the folder {out_path.parent} does not exist.")
    with atomic_open(out_path, "wb") as fh:
        fh.write(fetched.content)
    return fetched


def pseudo_path(survey_id: str) -> str:
    """What `source` says for responses fetched through the API (no file on disk)."""
    return f"qualtrics-api:{survey_id}"


def read_qualtrics_api(
    survey_id: str,
    *,
    code_column: str | None = None,
    worker_column: str | None = None,
    datacenter: str | None = None,
    use_labels: bool = True,
    progress: Optional[ProgressFn] = None,
    timeout: float = DEFAULT_TIMEOUT_S,
):
    """Fetch `survey_id` and read it with `read_qualtrics`, exactly like a downloaded file.

    Records point at `qualtrics-api:SV_...` (rows numbered as in the export file), since the
    file itself only lives in a temporary folder while it is read.
    """
    from . import read_qualtrics

    fetched = export_responses(
        survey_id, datacenter=datacenter, use_labels=use_labels, progress=progress, timeout=timeout
    )
    with tempfile.TemporaryDirectory(prefix="reconcile-qualtrics-") as tmp:
        path = Path(tmp) / f"{survey_id}.csv"
        path.write_bytes(fetched.content)
        export = read_qualtrics(str(path), code_column=code_column, worker_column=worker_column)
    return relabel_export(export, str(path), pseudo_path(survey_id))


def relabel_export(export, old_path: str, new_path: str):
    """The same export with every mention of the temporary file replaced by `new_path`."""
    responses = tuple(
        dataclasses.replace(r, source=dataclasses.replace(r.source, path=new_path)) for r in export.responses
    )
    warnings = tuple(w.replace(old_path, new_path) for w in export.warnings)
    return dataclasses.replace(export, path=new_path, responses=responses, warnings=warnings)


def stderr_progress(survey_id: str) -> ProgressFn:
    """A progress callback that keeps one status line on stderr (redrawn on a terminal)."""
    import sys

    tty = sys.stderr.isatty()
    last: list = [None]

    def show(pct: float, status: str) -> None:
        text = f"exporting {survey_id} from Qualtrics: {pct:5.1f}% ({status})"
        if tty:
            end = "\n" if status in ("complete", "failed") else ""
            sys.stderr.write("\r" + text + end)
        elif (round(pct), status) != last[0]:
            sys.stderr.write(text + "\n")
        last[0] = (round(pct), status)
        sys.stderr.flush()

    return show
