"""The Qualtrics v3 export-responses API: start an export, poll it, download the zipped file.

The only module that imports `requests` (house rule). A fetched export is handed to the very same
importer as a downloaded file (`read_qualtrics`), so both paths produce identical records.

Wire protocol (https://{datacenter}.qualtrics.com/API/v3, header X-API-TOKEN):
    POST surveys/{id}/export-responses              {"format": "csv", "useLabels": ...} -> progressId
    GET  surveys/{id}/export-responses/{progressId}  status inProgress | complete | failed (+ fileId)
    GET  surveys/{id}/export-responses/{fileId}/file -> a zip holding one CSV

What a server sends is not trusted (a broken proxy, a login page, a hostile host): the zip is streamed
to disk, refused when it would unpack to more than 2 GiB or pack tighter than any CSV export does (a zip
bomb), refused unless it holds exactly one file the importers recognise as a Qualtrics export, and the
whole job, download included, ends at its timeout. A refused download leaves nothing behind.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import os
import random
import re
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Mapping, IO, Callable, Iterator, Optional
from urllib.parse import quote

from ..atomic import atomic_path
from ..notices import relabel
from ..progress import active as progress_shown, report
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
# Each request's own limits; the job's --timeout bounds them all.
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 120.0

# What a download may hold. The server is not trusted: a broken or hostile one can send anything.
DEFAULT_MAX_EXPORT_BYTES = 2 * 1024**3  # the unpacked CSV; settable per call (max_bytes)
MAX_COMPRESSION_RATIO = 200  # real exports pack 5-10 to 1; a deflate zip bomb ~1000 to 1 (max_ratio)
RATIO_FREE_BYTES = 8 * 1024**2  # a file this small may pack any amount (nothing to fear, e.g. blank rows)
ZIP_OVERHEAD_BYTES = 1024**2  # the zip may be this much larger than the file it holds (headers, stored data)
MAX_ANSWER_BYTES = 1024**2  # a JSON answer (start, progress, error) is a few hundred bytes
DOWNLOAD_CHUNK_BYTES = 64 * 1024
# Judged to tell an export from anything else: the header rows of a wide survey fit many times over,
# and sniffing costs about ten times this in memory (every cell becomes a string).
SNIFF_BYTES = 512 * 1024

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class SavedExport:
    """An export saved to a file by `save_export`."""

    survey_id: str
    filename: str  # the name Qualtrics gave the CSV inside the zip
    path: Path
    size: int  # bytes written
    base_url: str


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
    """One session against one base URL, for one job with one deadline.

    Every request is retried politely on 429/5xx; no answer is read past its size limit or the deadline.
    """

    def __init__(self, base_url: str, token: str, *, survey_id: str, timeout: float, sleep: Callable[[float], None] = time.sleep) -> None:
        import requests

        self._requests = requests
        self.base_url = base_url
        self.api = f"{base_url}/API/v3"
        self.survey_id = survey_id
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self._token = token
        self._sleep = sleep
        self.session = requests.Session()
        # identity: nothing but our own zip reader ever decompresses what the server sends.
        self.session.headers.update({"X-API-TOKEN": token, "Accept": "application/json", "Accept-Encoding": "identity"})
        self.session.trust_env = base_url.startswith("https://")  # never send 127.0.0.1 via a proxy

    def close(self) -> None:
        self.session.close()

    def scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _no_answer_in_time(self, what: str, problem: str) -> ServiceError:
        return ServiceError(
            f"Qualtrics did not answer the request to {what} for {self.survey_id} within the {self.timeout:g} seconds "
            f"of --timeout{': ' + problem if problem else ''}.",
            hint="Try again later or with a longer --timeout; nothing was saved.",
        )

    def get_json(self, method: str, url: str, *, what: str, json_body: dict | None = None) -> dict:
        """The `result` object of a v3 JSON answer (read whole, but never past MAX_ANSWER_BYTES)."""
        resp = self.send(method, url, what=what, json_body=json_body)
        try:
            body = self.read_capped(resp, MAX_ANSWER_BYTES, what=what)
        finally:
            resp.close()
        if body is None:
            raise ServiceError(
                f"Qualtrics sent more than {_human(MAX_ANSWER_BYTES)} in answer to the request to {what} for "
                f"{self.survey_id}, where a short JSON answer belongs."
            )
        try:
            result = json.loads(body)["result"]
            if not isinstance(result, dict):
                raise TypeError
            return result
        except (ValueError, KeyError, TypeError):
            raise ServiceError(
                f"Qualtrics sent an unexpected answer to the request to {what} for {self.survey_id} (not the v3 JSON shape)."
            ) from None

    def send(self, method: str, url: str, *, what: str, json_body: dict | None = None):
        """The response (status < 400, body not yet read) after polite retries; ServiceError otherwise."""
        requests = self._requests
        survey_id = self.survey_id
        backoff = FIRST_BACKOFF_S
        last_problem = ""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            remaining = self.remaining()
            if remaining <= 0:
                raise self._no_answer_in_time(what, last_problem)
            # Each request keeps its own limits, and none outlives the job's deadline.
            limits = (min(CONNECT_TIMEOUT_S, remaining), min(READ_TIMEOUT_S, remaining))
            try:
                resp = self.session.request(method, url, json=json_body, timeout=limits, stream=True)
            except requests.exceptions.RequestException as exc:
                last_problem = f"could not reach {self.base_url} ({type(exc).__name__})"
                resp = None
            retry_after = None
            if resp is not None:
                if resp.status_code < 400:
                    return resp
                try:
                    message = _error_message(self._read_quietly(resp))
                finally:
                    resp.close()
                if resp.status_code != 429 and resp.status_code < 500:
                    raise self._client_error(resp.status_code, resp.reason, message, what=what)
                last_problem = f"Qualtrics answered {resp.status_code}" + (f" ({self.scrub(message)})" if message else "")
                retry_after = _retry_after_seconds(resp.headers.get("Retry-After"))
            if attempt == MAX_ATTEMPTS:
                break
            if retry_after is not None:
                # The server said how long; waiting exactly that is the polite and the fast choice.
                wait = min(retry_after, MAX_RETRY_AFTER_S)
            else:
                wait = backoff * (1 + random.random() * 0.25)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            if wait >= self.remaining():
                raise self._no_answer_in_time(what, last_problem)
            self._sleep(wait)
        raise ServiceError(
            f"Qualtrics did not answer the request to {what} for {survey_id} after {MAX_ATTEMPTS} attempts: {last_problem}.",
            hint="Try again later; nothing was saved.",
        )

    def pieces(self, resp, *, what: str, on_deadline: Callable[[], ServiceError]) -> Iterator[bytes]:
        """The body as it arrives, in pieces of at most DOWNLOAD_CHUNK_BYTES, never past the deadline.

        read1 returns what one read of the socket gives, so a body that trickles in is still checked
        against the deadline between pieces (a plain read would wait for a whole chunk).
        """
        import urllib3

        raw = resp.raw
        read1 = getattr(raw, "read1", None)  # urllib3 2; urllib3 1.26 only has read (waits for whole chunks)
        while True:
            if self.remaining() <= 0:
                raise on_deadline()
            try:
                piece = read1(DOWNLOAD_CHUNK_BYTES, decode_content=False) if read1 else raw.read(DOWNLOAD_CHUNK_BYTES, decode_content=False)
            except (urllib3.exceptions.HTTPError, self._requests.exceptions.RequestException, OSError) as exc:
                if self.remaining() <= 0:
                    raise on_deadline() from None
                raise ServiceError(
                    f"the connection to Qualtrics broke off during the request to {what} for {self.survey_id} ({type(exc).__name__}).",
                    hint="Try again; nothing was saved.",
                ) from None
            if not piece:
                return
            yield piece

    def read_capped(self, resp, limit: int, *, what: str) -> bytes | None:
        """The whole body, or None when it is longer than `limit` bytes (the rest is never read)."""
        declared = _content_length(resp)
        if declared is not None and declared > limit:
            return None
        out = bytearray()
        for piece in self.pieces(resp, what=what, on_deadline=lambda: self._no_answer_in_time(what, "")):
            out += piece
            if len(out) > limit:
                return None
        return bytes(out)

    def _read_quietly(self, resp) -> bytes:
        """An error answer's body for its message; an unreadable or huge one simply has no message."""
        try:
            return self.read_capped(resp, MAX_ANSWER_BYTES, what="read an error answer") or b""
        except ServiceError:
            return b""

    def _client_error(self, code: int, reason: str | None, message: str, *, what: str) -> ReconcileError:
        survey_id = self.survey_id
        msg = self.scrub(message) or reason or "no message"
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


def _content_length(resp) -> int | None:
    try:
        n = int(resp.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return n if n >= 0 else None


def _human(n: int) -> str:
    """1536 -> "1.5 KiB": sizes in sentences a person reads."""
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{n:,} bytes" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError  # unreachable


def _error_message(raw: bytes) -> str:
    """meta.error.errorMessage of an error answer, on one short line (the server chose it), or ""."""
    try:
        body = json.loads(raw)
    except ValueError:
        return ""
    try:
        msg = body["meta"]["error"]["errorMessage"]
    except (KeyError, TypeError):
        return ""
    msg = _one_line(str(msg).strip()).rstrip(".")
    return msg + "." if msg else ""


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
    max_bytes: int = DEFAULT_MAX_EXPORT_BYTES,
    max_ratio: float = MAX_COMPRESSION_RATIO,
) -> FetchedExport:
    """Run one CSV export of `survey_id` and return the CSV inside the zip, byte for byte, in memory.

    `save_export` and `read_qualtrics_api` keep the export on disk instead; all three refuse the same
    downloads (see `_export_to`). Raises InputError (bad survey ID, no token/datacenter, bad dates) or
    ServiceError (one sentence per HTTP error, a failed export, a refused download, or the `timeout`
    in seconds running out).
    """
    with tempfile.TemporaryDirectory(prefix="reconcile-qualtrics-") as tmp:
        path = Path(tmp) / "export.csv"
        filename, base = _export_to(
            survey_id, path, datacenter=datacenter, token=token, use_labels=use_labels, start_date=start_date,
            end_date=end_date, timeout=timeout, progress=progress, sleep=sleep, max_bytes=max_bytes, max_ratio=max_ratio,
        )
        content = path.read_bytes()
    return FetchedExport(survey_id=survey_id, filename=filename, content=content, base_url=base)


def _export_to(
    survey_id: str,
    dest: Path,
    *,
    datacenter: str | None = None,
    token: str | None = None,
    use_labels: bool = True,
    start_date: str | None = None,
    end_date: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: Optional[ProgressFn] = None,
    sleep: Callable[[float], None] = time.sleep,
    max_bytes: int = DEFAULT_MAX_EXPORT_BYTES,
    max_ratio: float = MAX_COMPRESSION_RATIO,
    claims: Mapping | None = None,
) -> tuple[str, str]:
    """Export `survey_id` and write the file inside the zip to `dest`; (its name in the zip, the base URL).
    `claims`: the platforms' claims on files (importers.sniff.kind_of), to say what a wrong file is.

    What a server sends is not trusted: the zip is streamed to a temporary file beside `dest` (never
    whole in memory), it must hold one file of at most `max_bytes` that packs no tighter than
    `max_ratio` to 1 past RATIO_FREE_BYTES (checked on its declared sizes before unpacking and on the
    bytes while unpacking), and that file must read as a Qualtrics export. `timeout` covers the whole
    job. On any error `dest` may hold part of the file: callers own it and throw it away.
    """
    if max_bytes < 1 or max_ratio < 1:
        raise ValueError("max_bytes and max_ratio must be at least 1")
    body, base, tok = _export_request(survey_id, datacenter, token, use_labels, start_date, end_date)
    client = _Client(base, tok, survey_id=survey_id, timeout=timeout, sleep=sleep)
    try:
        root = f"{client.api}/surveys/{survey_id}/export-responses"
        file_id = _wait_for_file(client, root, body, progress=progress, sleep=sleep)
        try:
            # An anonymous file beside `dest`: on the disk the export goes to, and gone however this ends.
            with tempfile.TemporaryFile(dir=dest.parent) as zipped:
                _download(client, f"{root}/{quote(file_id, safe='')}/file", zipped, limit=max_bytes + ZIP_OVERHEAD_BYTES)
                client.close()  # nothing more to ask; unpacking may take a while
                name = _unpack_single_file(zipped, dest, client=client, max_bytes=max_bytes, max_ratio=max_ratio)
            _check_is_qualtrics_export(dest, client=client, shown=name, claims=claims)
        except OSError as exc:  # writing beside `dest` (disk full, folder gone); network errors are ServiceErrors
            raise InputError(f"could not write the export of {survey_id} to {dest.parent} ({exc.strerror or exc}).") from None
    finally:
        client.close()
    return Path(name).name, base


def _export_request(survey_id, datacenter, token, use_labels, start_date, end_date) -> tuple[dict, str, str]:
    """The export's request body, base URL and token; InputError (before any request) for bad values."""
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
    return body, base, tok


def _out_of_time(client: _Client, what: str) -> ServiceError:
    return ServiceError(
        f"{what} after {client.timeout:g} seconds.",
        hint="Try again later or with a longer --timeout; nothing was saved.",
    )


def _wait_for_file(client: _Client, root: str, body: dict, *, progress: Optional[ProgressFn], sleep) -> str:
    """Start the export and poll it until it is complete; its fileId."""
    survey_id = client.survey_id
    started = client.get_json("POST", root, what="start an export", json_body=body)
    progress_id = started.get("progressId")
    if not progress_id:
        raise ServiceError(f"Qualtrics started no export for {survey_id} (its answer has no progressId).")
    what = f"exporting {survey_id} from Qualtrics (%)"
    report(what, round(_percent(started.get("percentComplete"))), 100)
    if progress:
        progress(_percent(started.get("percentComplete")), "inProgress")
    still_running = lambda: _out_of_time(client, f"the Qualtrics export of {survey_id} was still running")  # noqa: E731
    interval = FIRST_POLL_S
    while True:
        state = client.get_json("GET", f"{root}/{quote(str(progress_id), safe='')}", what="check the export's progress")
        status = state.get("status")
        report(what, 100 if status == "complete" else min(99, round(_percent(state.get("percentComplete")))), 100)
        if progress:
            progress(_percent(state.get("percentComplete")), str(status))
        if status == "complete":
            file_id = state.get("fileId")
            if not file_id:
                raise ServiceError(f"Qualtrics reported the export of {survey_id} complete but gave no fileId.")
            return str(file_id)
        if status == "failed":
            raise ServiceError(
                f"Qualtrics reported the export of {survey_id} as failed.",
                hint="Nothing was saved; try again, or export the responses in the Qualtrics web interface.",
            )
        if status != "inProgress":
            raise ServiceError(f"Qualtrics reported an unknown export status {client.scrub(str(status))[:40]!r} for {survey_id}.")
        remaining = client.remaining()
        if remaining <= 0:
            raise still_running()
        sleep(min(interval, remaining))
        if client.remaining() <= 0:
            raise still_running()
        interval = min(interval * 1.5, MAX_POLL_S)


def _percent(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _download(client: _Client, url: str, into: IO[bytes], *, limit: int) -> int:
    """Stream the export's zip into `into`, never more than `limit` bytes; how many bytes came."""
    survey_id = client.survey_id
    what = "download the export"
    too_big = lambda: ServiceError(  # noqa: E731
        f"the zip Qualtrics sent for {survey_id} is larger than {_human(limit)}, more than an export may be; "
        "it was not downloaded further.",
        hint="If the export is really this large, narrow it with --start-date/--end-date; nothing was saved.",
    )
    resp = client.send("GET", url, what=what)
    try:
        declared = _content_length(resp)
        if declared is not None and declared > limit:
            raise too_big()
        on_deadline = lambda: _out_of_time(client, f"the download of the Qualtrics export of {survey_id} was not finished")  # noqa: E731
        total = 0
        for piece in client.pieces(resp, what=what, on_deadline=on_deadline):
            total += len(piece)
            if total > limit:
                raise too_big()
            into.write(piece)
    finally:
        resp.close()
    if declared is not None and total != declared:
        raise ServiceError(
            f"the download of the Qualtrics export of {survey_id} broke off after {total:,} of {declared:,} bytes.",
            hint="Try again; nothing was saved.",
        )
    into.flush()
    return total


def _unpack_single_file(zipped: IO[bytes], dest: Path, *, client: _Client, max_bytes: int, max_ratio: float) -> str:
    """Unpack the one file the zip must hold into `dest`, within the size limits; its name in the zip.

    The declared sizes are checked before a byte is unpacked (a zip bomb is refused at no cost), and
    the unpacked bytes are counted as they come, because declared sizes can lie.
    """
    survey_id = client.survey_id
    where = f"the zip Qualtrics sent for {survey_id}"
    nothing = "Nothing was saved."
    try:
        archive = zipfile.ZipFile(zipped)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, NotImplementedError):
        raise ServiceError(f"what Qualtrics sent for {survey_id} is not a zip file, where the zipped export belongs.", hint=nothing) from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if not members:
            raise ServiceError(f"{where} holds no file, where it should hold the export.", hint=nothing)
        if len(members) > 1:
            names = ", ".join(_shown(client, m.filename) for m in members[:3]) + (", ..." if len(members) > 3 else "")
            raise ServiceError(f"{where} holds {len(members)} files ({names}), where Qualtrics sends exactly one export file.", hint=nothing)
        member = members[0]
        shown = _shown(client, member.filename)
        if member.file_size > max_bytes:
            raise ServiceError(
                f"{where} declares {shown} as {_human(member.file_size)}, more than the {_human(max_bytes)} an export may hold; "
                "it was not unpacked.",
                hint="If the export is really this large, narrow it with --start-date/--end-date; nothing was saved.",
            )
        # Past the first few MiB, a real export packs 5-10 to 1; far more than that is a zip bomb.
        limit = min(max_bytes, max(RATIO_FREE_BYTES, int(max_ratio * member.compress_size)))
        if member.file_size > limit:
            raise ServiceError(
                f"{where} declares {shown} as {_human(member.file_size)} packed into {_human(member.compress_size)}, "
                f"more than {max_ratio:g} to 1 (no CSV export packs that tightly: a zip bomb?); it was not unpacked.",
                hint=nothing,
            )
        unpacked = 0
        try:
            with archive.open(member) as src, open(dest, "wb") as out:
                while True:
                    if client.remaining() <= 0:
                        raise _out_of_time(client, f"the Qualtrics export of {survey_id} was not unpacked")
                    piece = src.read(DOWNLOAD_CHUNK_BYTES)
                    if not piece:
                        break
                    unpacked += len(piece)
                    if unpacked > limit:
                        # zipfile itself stops at the declared size today; this limit does not rely on that.
                        raise ServiceError(
                            f"{where} held more than {_human(limit)} in {shown} when unpacked, more than its declared "
                            "sizes allow; unpacking was stopped.",
                            hint=nothing,
                        )
                    out.write(piece)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, ValueError, zlib.error) as exc:
            # Damaged data, a size that lied (the CRC then fails), encryption, an unknown compression method.
            raise ServiceError(f"{where} cannot be unpacked ({_clean(client, str(exc))}).", hint=nothing) from None
    return member.filename


def _check_is_qualtrics_export(path: Path, *, client: _Client, shown: str, claims: Mapping | None = None) -> None:
    """Refuse anything but a Qualtrics export, judged by content with the importers' own sniffer.

    Only the first SNIFF_BYTES are judged (cut at a line end), so a large export is never read whole
    into memory here; `inspect` and `match` read all of it.
    """
    from .sniff import sniff_kind

    survey_id = client.survey_id
    shown = _shown(client, shown)
    probe = path
    try:
        if path.stat().st_size > SNIFF_BYTES:
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".head", dir=path.parent)
            probe = Path(name)
            with os.fdopen(fd, "wb") as fh:
                fh.write(_head(path, SNIFF_BYTES))
        kind = sniff_kind(probe, partial=probe != path, claims=claims)
    except InputError as err:
        # The sniffer's sentences are "<file> <what it is>; <advice for a file on disk>": keep the fact.
        fact = err.message.replace(str(probe), "\0").split("; ", 1)[0].rstrip(". ").replace("\0", f"its file {shown}")
        raise ServiceError(
            f"what Qualtrics sent for {survey_id} is not a Qualtrics CSV export: {_clean(client, fact, limit=300)}.",
            hint="Nothing was saved.",
        ) from None
    finally:
        if probe != path:
            probe.unlink(missing_ok=True)
    if kind != "qualtrics":
        raise ServiceError(
            f"what Qualtrics sent for {survey_id} is not a Qualtrics CSV export: its file {shown} is a {kind} file.",
            hint="Nothing was saved.",
        )


def _head(path: Path, size: int) -> bytes:
    """The first `size` bytes of a text file, cut after its last whole line (UTF-8 or UTF-16).

    A quoted cell may still be cut in two; the CSV reader takes the part it gets, which is all the
    sniffer needs (it looks at the first rows).
    """
    with open(path, "rb") as fh:
        data = fh.read(size)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        newline = b"\n\x00" if data.startswith(codecs.BOM_UTF16_LE) else b"\x00\n"
        at = len(data) - 1
        while True:
            at = data.rfind(newline, 0, at + 1)
            if at < 0 or at % 2 == 0:  # code units start at even offsets (after the 2-byte BOM)
                break
            at -= 1
        return data[: at + 2] if at >= 0 else data[: len(data) // 2 * 2]
    at = data.rfind(b"\n")
    if at >= 0:
        return data[: at + 1]
    # One line longer than `size`: at least do not cut a UTF-8 character in two.
    for i in range(len(data) - 1, max(-1, len(data) - 5), -1):
        if data[i] < 0x80:
            return data[: i + 1]
        if data[i] >= 0xC0:  # the first byte of a character whose rest was cut off
            return data[:i]
    return data


def _shown(client: _Client, name: str) -> str:
    """A name a server chose, fit for a one-line sentence: quoted, escaped, short, without the token."""
    name = client.scrub(name)
    return repr(name if len(name) <= 80 else name[:77] + "...")


def _clean(client: _Client, text: str, *, limit: int = 200) -> str:
    """Text that may quote a server's choices, on one line, short, without the token."""
    return _one_line(client.scrub(text), limit=limit)


def _one_line(text: str, *, limit: int = 200) -> str:
    """`text` without line breaks or other control characters (it goes into a one-line sentence), cut short."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_output_path(out: str | os.PathLike) -> Path:
    """`out` as a Path if an export can be written there (checked before any request): InputError otherwise."""
    path = Path(out)
    folder = path.parent
    if path.is_dir():
        raise InputError(f"{out} is a folder; give the file to save the export to, e.g. {path / 'export.csv'}.")
    if not folder.is_dir():
        if folder.exists():
            raise InputError(f"{out}: {folder} is a file, not a folder.")
        raise InputError(f"{out}: the folder {folder} does not exist.")
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise InputError(f"{out} exists and is not a regular file; choose another file name.")
        if not os.access(path, os.W_OK):
            raise InputError(f"{out} exists and cannot be overwritten (it is read-only).")
    # The export is written to a temporary file beside `out` and renamed: the folder must take new files.
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise InputError(f"{out}: cannot create files in the folder {folder} ({exc.strerror or exc}).") from None
    os.close(fd)
    os.unlink(probe)
    return path


def save_export(
    survey_id: str,
    out: str | os.PathLike,
    **kwargs,
) -> SavedExport:
    """Export `survey_id` and write the CSV to `out` atomically, byte for byte as Qualtrics made it.

    `out` is checked before any request; on any error nothing is written to it. Keyword arguments
    are those of `export_responses`.
    """
    out_path = check_output_path(out)
    try:
        with atomic_path(out_path) as tmp:
            filename, base = _export_to(survey_id, tmp, **kwargs)
            size = tmp.stat().st_size
    except OSError as exc:  # the final rename (the folder changed since the check above)
        raise InputError(f"{out}: cannot be written ({exc.strerror or exc}).") from None
    return SavedExport(survey_id=survey_id, filename=filename, path=out_path, size=size, base_url=base)


def pseudo_path(survey_id: str) -> str:
    """What `source` says for responses fetched through the API (no file on disk)."""
    return f"qualtrics-api:{survey_id}"


def read_qualtrics_api(
    survey_id: str,
    *,
    code_column: str | None = None,
    participant_column: str | None = None,
    datacenter: str | None = None,
    use_labels: bool = True,
    progress: Optional[ProgressFn] = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = DEFAULT_MAX_EXPORT_BYTES,
    max_ratio: float = MAX_COMPRESSION_RATIO,
    claims: Mapping | None = None,
    **columns,
):
    """Fetch `survey_id` and read it with `read_qualtrics`, exactly like a downloaded file
    (`columns`: read_qualtrics's typed_column, ids and participant_option).

    Records point at `qualtrics-api:SV_...` (rows numbered as in the export file), since the
    file itself only lives in a temporary folder while it is read; so do the reader's errors.
    """
    from . import read_qualtrics

    with tempfile.TemporaryDirectory(prefix="reconcile-qualtrics-") as tmp:
        path = Path(tmp) / "export.csv"
        _export_to(
            survey_id, path, datacenter=datacenter, use_labels=use_labels, progress=progress, timeout=timeout,
            max_bytes=max_bytes, max_ratio=max_ratio, claims=claims,
        )
        try:
            export = read_qualtrics(str(path), code_column=code_column, participant_column=participant_column, **columns)
        except ReconcileError as err:
            raise _relabel_error(err, str(path), pseudo_path(survey_id)) from None
    return relabel_export(export, str(path), pseudo_path(survey_id))


def _relabel_error(err: ReconcileError, old_path: str, new_path: str) -> ReconcileError:
    """The same error (same type) with the temporary file's name replaced by `new_path`."""
    err.message = err.message.replace(old_path, new_path)
    err.hint = err.hint.replace(old_path, new_path) if err.hint else err.hint
    err.args = (err.message,)
    return err


def relabel_export(export, old_path: str, new_path: str):
    """The same export with every mention of the temporary file replaced by `new_path`."""
    responses = tuple(
        dataclasses.replace(r, source=dataclasses.replace(r.source, path=new_path)) for r in export.responses
    )
    warnings = tuple(relabel(w, old_path, new_path) for w in export.warnings)
    return dataclasses.replace(export, path=new_path, responses=responses, warnings=warnings)


def stderr_progress(survey_id: str) -> ProgressFn:
    """A progress callback that keeps one status line on stderr (redrawn on a terminal)."""
    import sys

    tty = sys.stderr.isatty()
    last: list = [None]

    def show(pct: float, status: str) -> None:
        if progress_shown():  # the command line draws the percentage itself
            return
        text = f"exporting {survey_id} from Qualtrics: {pct:5.1f}% ({status})"
        if tty:
            end = "\n" if status in ("complete", "failed") else ""
            sys.stderr.write("\r" + text + end)
        elif (round(pct), status) != last[0]:
            sys.stderr.write(text + "\n")
        last[0] = (round(pct), status)
        sys.stderr.flush()

    return show
