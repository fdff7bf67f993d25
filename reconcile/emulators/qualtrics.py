"""A local Qualtrics v3 export-responses server (standard library only) for tests and rehearsal.

Speaks the real wire protocol on 127.0.0.1 so the real `requests` code path runs end to end:

    POST /API/v3/surveys/{id}/export-responses                -> {"result": {"progressId", "percentComplete", "status"}}
    GET  /API/v3/surveys/{id}/export-responses/{progressId}   -> {"result": {"percentComplete", "status"[, "fileId"]}}
    GET  /API/v3/surveys/{id}/export-responses/{fileId}/file  -> a zip holding the export file's exact bytes

Bodies have the shapes recorded from the real service (shared/realdata/ropensci__qualtRics/api_v3_*.json,
deddyss__qualtrics-response-exporter/*.json): {"result": ..., "meta": {"requestId", "httpStatus"}}, errors
as meta.error.errorMessage / errorCode. The date window is validated but not applied: the served
file is always the whole export, so a fetch can be compared byte for byte with its source.

Faults that matter to a client: 429 with Retry-After, 500, slow progress, a failed export, 403, 400,
and downloads a client must not trust: a zip bomb (honest or lying about its size), a zip holding no
file or several, content that is no CSV export, and a download that trickles in.
"""

from __future__ import annotations

import io
import json
import re
import struct
import threading
import time
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

DEFAULT_SURVEY_ID = "SV_emulator"
DEFAULT_TOKEN = "emulator-token"

_FORMATS = {"csv", "tsv", "json", "ndjson", "spss", "xml"}
_KNOWN_KEYS = {
    "format", "useLabels", "startDate", "endDate", "limit", "compress", "timeZone", "questionIds",
    "embeddedDataIds", "surveyMetadataIds", "includeDisplayOrder", "seenUnansweredRecode",
    "multiselectSeenUnansweredRecode", "formatDecimalAsComma", "newlineReplacement", "filterId",
    "exportResponsesInProgress", "breakoutSets", "allowContinuation", "continuationToken",
    "sortByLastModifiedDate", "includeLabelColumns",
}
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")
_PATH_RE = re.compile(r"^/API/v3/surveys/(?P<sid>[^/]+)/export-responses(?:/(?P<pid>[^/]+)(?P<file>/file)?)?/?$")


@dataclass
class Faults:
    """Injected failures. Counters are consumed in request order, across all endpoints."""

    throttle: int = 0  # the first N requests answer 429 with Retry-After
    retry_after: int = 1  # seconds, sent in Retry-After
    server_errors: int = 0  # the N requests after those answer 500
    slow_polls: int = 0  # each export answers inProgress this many times before it completes
    fail_export: bool = False  # exports end in status "failed" (fileId null)
    forbidden: bool = False  # every authenticated request answers 403
    bad_request: bool = False  # every export start answers 400, as for a body the service rejects
    # The download (what a client must not trust):
    zip_bomb: int = 0  # the zip holds one CSV of this many bytes of a highly compressible payload (~1000:1), only that
    zip_size_lie: bool = False  # the zip's directory declares every file as LIED_SIZE bytes, whatever it holds
    zip_content: str | None = None  # one of CONTENT_KINDS served instead of the export
    zip_files: int = 1  # files in the zip: 0 (an empty zip), 1 (the export), more (the export and copies)
    trickle: float = 0.0  # seconds of pause after each TRICKLE_BYTES of the download


LIED_SIZE = 1024
TRICKLE_BYTES = 1024
MAX_BOMB_BYTES = 2**32 - 1  # a plain (not zip64) zip records sizes in 32 bits

# What `zip_content` serves in place of the export: each is something a broken or hostile server
# (or a login page in front of it) could send where a CSV export belongs.
CONTENT_KINDS = {
    "json": ("export.csv", b'{"meta": {"httpStatus": "500 - Internal Server Error", "error": {"errorMessage": "Export failed."}}}'),
    "html": ("export.csv", b"<!DOCTYPE html>\n<html><head><title>Qualtrics | Sign In</title></head>\n"
                           b"<body><form action=\"/login\">Please sign in</form></body></html>\n"),
    "binary": ("export.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4),
    "csv": ("export.csv", b"name,email,score\r\nAda,ada@example.org,3\r\nBob,bob@example.org,5\r\n"),
    "not-zip": ("", b"<!DOCTYPE html>\n<html><body>Service temporarily unavailable</body></html>\n"),
}


@dataclass
class _Export:
    survey_id: str
    polls: int = 0
    file_id: str | None = None


@dataclass
class EmulatorState:
    token: str
    surveys: dict[str, Path]
    faults: Faults = field(default_factory=Faults)
    exports: dict[str, _Export] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # fileId -> survey ID
    log: list[dict] = field(default_factory=list)  # method, path, status, body, time (never the token)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)  # ends a trickling download early
    bombs: dict[tuple, bytes] = field(default_factory=dict)  # built once per (size, declared size)


class _Handler(BaseHTTPRequestHandler):
    server_version = "QualtricsEmulator/1.0"
    protocol_version = "HTTP/1.1"
    state: EmulatorState  # set on the subclass made per server
    _trickling: tuple[bytes, float] | None = None  # a download to send slowly, outside the state lock

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet: tests read stderr
        pass

    # ------------------------------------------------------------------ plumbing

    def _send_json(self, status: int, payload: dict, headers: Mapping[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _meta(self, status: int) -> dict:
        phrase = HTTPStatus(status).phrase
        return {"requestId": str(uuid.uuid4()), "httpStatus": f"{status} - {phrase}"}

    def _ok(self, result: dict) -> None:
        self._send_json(200, {"result": result, "meta": self._meta(200)})

    def _error(self, status: int, message: str, code: str | None, headers: Mapping[str, str] | None = None) -> None:
        err = {"errorMessage": message}
        if code:
            err["errorCode"] = code
        meta = self._meta(status)
        meta["error"] = err
        self._send_json(status, {"meta": meta}, headers)

    def _read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    # ------------------------------------------------------------------ the API

    def _dispatch(self, method: str) -> None:
        st = self.state
        raw = self._read_body()
        path = urlsplit(self.path).path
        entry = {"method": method, "path": path, "time": time.monotonic(), "body": None}
        try:
            entry["body"] = json.loads(raw) if raw else None
        except ValueError:
            entry["body"] = raw.decode("utf-8", "replace")
        with st.lock:
            st.log.append(entry)
            faults = st.faults
            if faults.throttle > 0:
                faults.throttle -= 1
                entry["status"] = 429
                return self._error(429, "Too many requests, please retry later.", "RATE_1",
                                   {"Retry-After": str(faults.retry_after)})
            if faults.server_errors > 0:
                faults.server_errors -= 1
                entry["status"] = 500
                return self._error(500, "Internal server error.", None)
            self._trickling = None
            status = self._handle(method, path, raw)
            entry["status"] = status
        if self._trickling:
            self._trickle(*self._trickling)

    def _handle(self, method: str, path: str, raw: bytes) -> int:
        st = self.state
        token = self.headers.get("X-API-TOKEN")
        if not token:
            self._error(400, "An apiToken must be provided.", "ATC_1")
            return 400
        if token != st.token:
            self._error(401, "Unrecognized X-API-TOKEN.", "DCD_7")
            return 401
        m = _PATH_RE.match(path)
        if not m:
            self._error(404, "Resource not found", "UNF_9")
            return 404
        if st.faults.forbidden:
            self._error(403, "You do not have permission to access this resource.", "AUTH_6")
            return 403
        sid, pid, is_file = m.group("sid"), m.group("pid"), bool(m.group("file"))
        if sid not in st.surveys:
            self._error(404, "Resource not found", "UNF_9")
            return 404
        if pid is None:
            if method != "POST":
                self._error(405, f"Method {method} is not allowed here.", None)
                return 405
            return self._start(sid, raw)
        if method != "GET":
            self._error(405, f"Method {method} is not allowed here.", None)
            return 405
        if is_file:
            return self._file(sid, pid)
        return self._progress(sid, pid)

    def _start(self, sid: str, raw: bytes) -> int:
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self._error(400, "Invalid request body: not JSON.", "RP_0.1")
            return 400
        problem = _check_body(body)
        if problem is None and self.state.faults.bad_request:
            problem = "Invalid request: the export could not be started with these parameters."
        if problem:
            self._error(400, problem, "RP_0.1")
            return 400
        progress_id = "ES_" + uuid.uuid4().hex[:15]
        self.state.exports[progress_id] = _Export(survey_id=sid)
        self._ok({"progressId": progress_id, "percentComplete": 0.0, "status": "inProgress"})
        return 200

    def _progress(self, sid: str, pid: str) -> int:
        st = self.state
        export = st.exports.get(pid)
        if export is None or export.survey_id != sid:
            self._error(404, "Resource not found", "UNF_9")
            return 404
        export.polls += 1
        slow = st.faults.slow_polls
        if export.polls <= slow:
            pct = round(100.0 * export.polls / (slow + 1), 1)
            self._ok({"percentComplete": pct, "status": "inProgress"})
        elif st.faults.fail_export:
            self._ok({"fileId": None, "percentComplete": 100, "status": "failed"})
        else:
            if export.file_id is None:
                export.file_id = f"{uuid.uuid4()}-def"
                st.files[export.file_id] = sid
            self._ok({"fileId": export.file_id, "percentComplete": 100.0, "status": "complete"})
        return 200

    def _file(self, sid: str, file_id: str) -> int:
        st = self.state
        if st.files.get(file_id) != sid:
            self._error(404, "Resource not found", "UNF_9")
            return 404
        data = self._download_bytes(st.surveys[sid])
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Disposition", f'attachment; filename="{sid}.zip"')
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if st.faults.trickle > 0:
            # Sent by _dispatch once the state lock is released: a slow body must not hold up other requests.
            self._trickling = (data, st.faults.trickle)
        else:
            self.wfile.write(data)
        return 200

    def _download_bytes(self, source: Path) -> bytes:
        """The zip (or, with zip_content "not-zip", the page) that the file request answers with."""
        st, faults = self.state, self.state.faults
        declared = LIED_SIZE if faults.zip_size_lie else None
        if faults.zip_bomb:
            key = (faults.zip_bomb, declared)
            if key not in st.bombs:
                st.bombs[key] = bomb_zip(f"{source.stem}.csv", faults.zip_bomb, declared_size=declared)
            return st.bombs[key]
        if faults.zip_content:
            name, content = CONTENT_KINDS[faults.zip_content]
            if not name:  # not a zip at all
                return content
        else:
            name = source.name if source.suffix.lower() == ".csv" else f"{source.stem}.csv"
            content = source.read_bytes()
        stem, ext = name.rsplit(".", 1)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for k in range(faults.zip_files):
                zf.writestr(name if k == 0 else f"{stem} ({k + 1}).{ext}", content)
            if declared is not None:
                # The central directory (what a reader trusts for sizes) is written from these at close.
                for info in zf.filelist:
                    info.file_size = declared
        return buf.getvalue()

    def _trickle(self, data: bytes, pause: float) -> None:
        for i in range(0, len(data), TRICKLE_BYTES):
            try:
                self.wfile.write(data[i : i + TRICKLE_BYTES])
                self.wfile.flush()
            except OSError:  # the client gave up and closed the connection
                return
            if self.state.stopping.wait(pause):  # the emulator is shutting down
                return


def bomb_zip(name: str, size: int, *, declared_size: int | None = None) -> bytes:
    """A valid zip holding `name` with `size` bytes of "0,0,0,...", about 1 MB per GB.

    Built without compressing `size` bytes: one 16 MiB block is deflated once with a full flush
    (which resets the compressor, so every further copy of the block deflates to the same bytes),
    and the copies are concatenated. `declared_size` makes the central directory lie about the size.
    """
    if not 0 < size <= MAX_BOMB_BYTES:
        raise ValueError(f"a zip bomb holds 1 to {MAX_BOMB_BYTES} bytes, not {size}")
    block_size = 16 * 1024 * 1024
    block = b"0," * (block_size // 2)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed_block = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    full, rest = divmod(size, block_size)
    crc = 0
    for _ in range(full):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(block[:rest], crc)
    data = packed_block * full + comp.compress(block[:rest]) + comp.flush()
    encoded = name.encode()
    dos_time, dos_date = 0, (2020 - 1980) << 9 | 1 << 5 | 1  # 2020-01-01 00:00
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, dos_time, dos_date, crc, len(data), size, len(encoded), 0)
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, dos_time, dos_date, crc, len(data),
        size if declared_size is None else declared_size, len(encoded), 0, 0, 0, 0, 0, 0,
    )
    head = local + encoded + data
    directory = central + encoded
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(directory), len(head), 0)
    return head + directory + end


def _check_body(body) -> str | None:
    if not isinstance(body, dict):
        return "Invalid request body: expected a JSON object."
    unknown = sorted(set(body) - _KNOWN_KEYS)
    if unknown:
        return f"Invalid request body: unknown parameter {unknown[0]}."
    fmt = body.get("format")
    if fmt is None:
        return "Invalid request body: format is required."
    if fmt not in _FORMATS:
        return f"Invalid format: {fmt}."
    if fmt != "csv":
        return f"This emulator only serves csv exports, not {fmt}."
    if "useLabels" in body and not isinstance(body["useLabels"], bool):
        return "Invalid request body: useLabels must be a boolean."
    for key in ("startDate", "endDate"):
        if key in body and not (isinstance(body[key], str) and _ISO_RE.match(body[key])):
            return f"Invalid {key}: expected an ISO 8601 date-time such as 2020-01-31T00:00:00Z."
    return None


class RunningQualtricsEmulator:
    """A server running in a background thread. Use as a context manager, or call stop()."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread, state: EmulatorState) -> None:
        self._server = server
        self._thread = thread
        self.state = state
        host, port = server.server_address[:2]
        self.port = port
        self.url = f"http://{host!s}:{port}"

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @property
    def log(self) -> list[dict]:
        return self.state.log

    def stop(self) -> None:
        self.state.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "RunningQualtricsEmulator":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def make_server(
    exports: str | Path | Mapping[str, str | Path],
    *,
    token: str = DEFAULT_TOKEN,
    survey_id: str = DEFAULT_SURVEY_ID,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Faults | None = None,
) -> tuple[ThreadingHTTPServer, EmulatorState]:
    if isinstance(exports, Mapping):
        surveys = {sid: Path(p) for sid, p in exports.items()}
    else:
        surveys = {survey_id: Path(exports)}
    for p in surveys.values():
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such export file")
    faults = faults or Faults()
    if faults.zip_content is not None and faults.zip_content not in CONTENT_KINDS:
        raise ValueError(f"zip_content must be one of {', '.join(CONTENT_KINDS)}, not {faults.zip_content!r}")
    if not 0 <= faults.zip_bomb <= MAX_BOMB_BYTES:
        raise ValueError(f"zip_bomb must be 0 to {MAX_BOMB_BYTES} bytes, not {faults.zip_bomb}")
    if faults.zip_files < 0:
        raise ValueError(f"zip_files must be 0 or more, not {faults.zip_files}")
    state = EmulatorState(token=token, surveys=surveys, faults=faults)
    handler = type("QualtricsHandler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server, state


def start_qualtrics_emulator(
    exports: str | Path | Mapping[str, str | Path],
    *,
    token: str = DEFAULT_TOKEN,
    survey_id: str = DEFAULT_SURVEY_ID,
    port: int = 0,
    throttle: int = 0,
    retry_after: int = 1,
    server_errors: int = 0,
    slow_polls: int = 0,
    fail_export: bool = False,
    forbidden: bool = False,
    bad_request: bool = False,
    zip_bomb: int = 0,
    zip_size_lie: bool = False,
    zip_content: str | None = None,
    zip_files: int = 1,
    trickle: float = 0.0,
) -> RunningQualtricsEmulator:
    """Serve `exports` (one file as `survey_id`, or {survey ID: file}) on 127.0.0.1 in a thread."""
    faults = Faults(
        throttle=throttle, retry_after=retry_after, server_errors=server_errors, slow_polls=slow_polls,
        fail_export=fail_export, forbidden=forbidden, bad_request=bad_request, zip_bomb=zip_bomb,
        zip_size_lie=zip_size_lie, zip_content=zip_content, zip_files=zip_files, trickle=trickle,
    )
    server, state = make_server(exports, token=token, survey_id=survey_id, port=port, faults=faults)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="qualtrics-emulator", daemon=True)
    thread.start()
    return RunningQualtricsEmulator(server, thread, state)
