"""A local Prolific API v1 service on 127.0.0.1 that speaks the real wire format (JSON over HTTP).

A client pointed at it (base URL http://127.0.0.1:PORT instead of https://api.prolific.com) runs its
real `requests` code path end to end. Shapes, units and rules follow /work/shared/PROLIFIC.md §1 and
§7; where Prolific's documentation is silent the choice is marked GUESS here and in PROLIFIC.md §6.
The emulator shares no code with the project's Prolific client: it reads exports with its own
parser (prolific_export.py) and computes fees with its own arithmetic, so each can catch the other.

What it is for: Prolific's `POST /bulk-bonus-payments/{id}/pay/` is NOT idempotent (every accepted
call pays every row again), pays asynchronously, and shows the result in `bonus_payments` only
later. The emulator reproduces exactly that, plus the failures that make a careless client pay
twice: a response lost after the payout was scheduled, 5xx before anything happened, 429s.

State is seeded from Prolific submissions exports (one study per file) and kept in memory behind
one lock. Asynchronous work (bulk approvals, payouts) is queued with a due time and applied, in due
order, at the start of every request (nothing can observe state except through a request, so this
is indistinguishable from a background thread, and needs no timers). Money is Decimal in
minor units (pence/cents) throughout and goes onto the wire as JSON numbers without passing
through float.

Rules chosen here (documented, tested):
  * fees = amount x fee_rate, vat = fees x vat_rate, each rounded half-up to 0.01 of a minor unit
    (so 850 -> fees 283.33 at exactly 1/3; Prolific's docs example shows 283.34, reproduced with
    fee_rounding="up"); total_amount = amount + fees + vat.
  * The balance is debited by a bulk bonus's total_amount when a payout settles; an accepted pay
    call reserves that much at once, so available_balance = balance - payouts not yet settled.
    Approving moves no money (rewards were funded when the study was published).
  * A participant ID in csv_bonuses pays that participant's latest submission of the study.
  * SCREENED OUT submissions start with one bonus_payments entry: the fixed screen-out reward.

Test hooks (not Prolific's API; no auth, no faults) under /__emulator__/: GET audit, GET state,
GET stats, POST reset-stats, POST settle, GET/POST faults (change fault settings while serving,
optionally for some routes only, e.g. drop only the pay call's response).

Public API:
    start_emulator(exports, *, study_ids=(), token=..., balance="10000.00", ...) -> RunningEmulator
    build_server(...same options...) -> server (bound, not serving)
    serve_until_signalled(exports, *, announce=print, **options) -> final stats (the CLI command)

Layout: prolific_export.py reads (and writes) export files; prolific_state.py holds the workspace
and the JSON shapes; prolific_routes.py has one handler per endpoint; this module is the HTTP
server, the fault injection, the options and the ways to run it.
"""

from __future__ import annotations

import hmac
import json
import re
import signal
import socket
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

from ..errors import InputError
from ..money import AmountError, parse_amount
from .prolific_export import derived_completion_code, normalise_status, read_export
from .prolific_routes import PAY_TEMPLATE, Request, match_route
from .prolific_state import (
    FEE_ROUNDINGS,
    Answer,
    ApiError,
    ProlificState,
    Settings,
    not_found,
    now_iso,
    dumps,
)

DEFAULT_TOKEN = "emulator-token"
DEFAULT_BALANCE = "10000.00"
DEFAULT_FEE_RATE = Decimal(1) / Decimal(3)  # academic rate; exactly 1/3 at Decimal's precision
DEFAULT_BULK_MAX = 1000
DEFAULT_SCREEN_OUT_REWARD = "0.10"
DEFAULT_REWARD = "1.00"  # GUESS: the export has no reward column; --reward sets it
CURRENCIES = ("GBP", "USD")
BONUS_ID_FORMATS = ("hex", "uuid")
FAULT_STATUSES = (500, 502, 503)
_HEX24_RE = re.compile(r"^[0-9a-f]{24}$")
_RATE_RE = re.compile(r"^(?P<num>\d+(?:\.\d+)?)(?:/(?P<den>\d+(?:\.\d+)?))?$")


# ---------------------------------------------------------------- faults


@dataclass(frozen=True)
class FaultConfig:
    throttle: float | None = None
    latency_ms: int = 0
    fault_rate: float = 0.0
    drop_response_rate: float = 0.0
    routes: tuple[str, ...] = ()  # faults hit only calls whose "METHOD /template/" contains one of these; () = all

    def applies_to(self, key: str) -> bool:
        return not self.routes or any(r in key for r in self.routes)

    def public(self) -> dict:
        # Rates travel as exact decimals of their shortest repr (the JSON writer refuses floats).
        def exact(x: float | None) -> Decimal | None:
            return None if x is None else Decimal(repr(x))

        return {
            "throttle": exact(self.throttle),
            "latency_ms": self.latency_ms,
            "fault_rate": exact(self.fault_rate),
            "drop_response_rate": exact(self.drop_response_rate),
            "routes": list(self.routes),
        }

    def settings(self) -> dict:
        return {"throttle": self.throttle, "latency_ms": self.latency_ms, "fault_rate": self.fault_rate, "drop_response_rate": self.drop_response_rate, "routes": self.routes}


def fault_config(
    throttle: float | None = None,
    latency_ms: int = 0,
    fault_rate: float = 0.0,
    drop_response_rate: float = 0.0,
    routes: Iterable[str] = (),
) -> FaultConfig:
    """Checked fault settings (InputError with one sentence otherwise)."""
    for name, rate in (("--fault-rate", fault_rate), ("--drop-response-rate", drop_response_rate)):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise InputError(f"{name} must be a probability between 0 and 1, got {rate!r}.")
    if throttle is not None and (isinstance(throttle, bool) or not isinstance(throttle, (int, float)) or throttle <= 0):
        raise InputError(f"--throttle must be a positive number of requests per second, got {throttle!r}.")
    if isinstance(latency_ms, bool) or not isinstance(latency_ms, int) or latency_ms < 0:
        raise InputError(f"--latency-ms must be a whole number of milliseconds, not negative, got {latency_ms!r}.")
    routes = tuple(routes)
    if not all(isinstance(r, str) and r for r in routes):
        raise InputError("fault routes must be non-empty strings such as 'bulk-bonus-payments'.")
    return FaultConfig(throttle, latency_ms, float(fault_rate), float(drop_response_rate), routes)


NO_FAULTS = FaultConfig()


class TokenBucket:
    """`rate` requests a second, with bursts of up to one second's worth (at least one request)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True
            return False


# ---------------------------------------------------------------- HTTP


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, state: ProlificState, faults: FaultConfig) -> None:
        super().__init__(addr, _Handler)
        self.state = state
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"
        self.set_faults(faults)

    def set_faults(self, faults: FaultConfig) -> None:
        """Replace the fault settings (the test hook POST /__emulator__/faults; a fresh token bucket)."""
        self.faults = faults
        self.bucket = TokenBucket(faults.throttle) if faults.throttle else None

    def handle_error(self, request, client_address) -> None:
        # A client that hangs up mid-call (a killed payer, a timeout) is routine here, not a crash.
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as requests' connection pool expects
    wbufsize = 1 << 16  # headers and body leave in one write
    server: _Server
    server_version = "ProlificEmulator/1.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: request logs are noise, and headers carry the token

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    # -- plumbing

    def _read_body(self) -> bytes | None:
        """The request body; None when Content-Length is not a number (the connection is then closed)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, answer: Answer) -> None:
        if answer.content_type == "application/json":
            data = dumps(answer.body)
        else:
            data = str(answer.body).encode("utf-8")
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type if answer.content_type != "text/csv" else "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # -- dispatch

    def _handle(self, method: str) -> None:
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._send(Answer(400, ApiError(400, "Content-Length is not a number.").body()))
            return
        split = urlsplit(self.path)
        if split.path.startswith("/__emulator__/"):
            self._send(self._hook(method, split.path, body))
            return
        self._api(method, split, body)

    def _set_faults(self, body: bytes) -> Answer:
        # Called with the state lock held: no API call sees half of the new settings.
        try:
            wanted = json.loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return Answer(400, ApiError(400, "The body is not JSON.").body())
        known = set(FaultConfig.__dataclass_fields__)
        if not isinstance(wanted, dict) or set(wanted) - known:
            return Answer(400, ApiError(400, f"Expected a JSON object with some of: {', '.join(sorted(known))}.").body())
        try:
            self.server.set_faults(fault_config(**{**self.server.faults.settings(), **wanted}))
        except (InputError, TypeError) as exc:
            return Answer(400, ApiError(400, str(exc)).body())
        return Answer(200, self.server.faults.public())

    def _hook(self, method: str, path: str, body: bytes) -> Answer:
        state = self.server.state
        name = path[len("/__emulator__/") :].rstrip("/")
        with state.lock:
            now = time.monotonic()
            if (method, name) == ("POST", "settle"):
                return Answer(200, {"applied": state.settle_all(now)})
            state.apply_due(now)
            if (method, name) == ("GET", "audit"):
                # Copies: a pay call's entry is still updated while its answer is under way.
                return Answer(200, {"events": [dict(e) for e in state.audit]})
            if (method, name) == ("GET", "state"):
                return Answer(200, state.snapshot(now))
            if (method, name) == ("GET", "stats"):
                return Answer(200, state.stats())
            if (method, name) == ("POST", "reset-stats"):
                state.reset_stats()
                return Answer(200, {"ok": True})
            if (method, name) == ("GET", "faults"):
                return Answer(200, self.server.faults.public())
            if (method, name) == ("POST", "faults"):
                return self._set_faults(body)
        return Answer(404, ApiError(404, f"No emulator hook {method} {path}.").body())

    def _api(self, method: str, split, raw: bytes) -> None:
        server, state = self.server, self.server.state
        route, params, other_method = match_route(method, split.path)
        key = f"{method} {route.template}" if route else f"{method} (no such route)"
        pay_entry: dict | None = None
        with state.lock:
            # One consistent view of the fault settings (a hook may change them between calls).
            faults, bucket = (server.faults, server.bucket) if server.faults.applies_to(key) else (NO_FAULTS, None)
            state.apply_due(time.monotonic())
            state.calls[key] = state.calls.get(key, 0) + 1
            # Drawn for every call in a fixed order, so one seed gives one sequence of faults.
            fault_draw, drop_draw = state.fault_rng.random(), state.fault_rng.random()
            fault_status = state.fault_rng.choice(FAULT_STATUSES)
            if route is not None and route.template == PAY_TEMPLATE:
                # Every pay call received is audited, whatever becomes of it.
                pay_entry = {
                    "kind": "pay_call",
                    "bulk_id": params["bid"],
                    "outcome": "received",
                    "accepted": False,
                    "pay_call": None,
                    "status": None,
                    "dropped": False,
                    "time": now_iso(),
                }
                state.audit.append(pay_entry)

        answer, refusal = self._gate(faults, bucket, fault_draw, fault_status)
        dispatched = answer is None
        if answer is None:
            if route is None:
                answer = self._error(ApiError(405, f"Method {method} is not allowed here.") if other_method else not_found("Resource"))
            else:
                query = parse_qs(split.query, keep_blank_values=True)
                req = Request(method, params, query, raw, route.template.format(**params), server.base_url, 0.0, pay_entry)
                with state.lock:
                    req.now = time.monotonic()
                    state.apply_due(req.now)
                    try:
                        answer = route.handler(state, req)
                    except ApiError as err:
                        answer = self._error(err, locked=True)
                    if req.effective:
                        state.effective[key] = state.effective.get(key, 0) + 1
        drop = dispatched and drop_draw < faults.drop_response_rate
        with state.lock:
            if pay_entry is not None:
                pay_entry["status"] = answer.status
                if refusal:
                    pay_entry["outcome"] = refusal
                elif pay_entry["outcome"] == "received":
                    pay_entry["outcome"] = "refused"
                pay_entry["dropped"] = drop
            if drop:
                state.counters["dropped"] += 1
        if drop:
            # The action (if any) is done; the client never hears about it.
            self.close_connection = True
            return
        self._send(answer)

    def _gate(self, faults: FaultConfig, bucket: TokenBucket | None, fault_draw: float, fault_status: int) -> tuple[Answer | None, str]:
        """Auth, throttling, latency and server faults, in that order: (an answer and why, or None
        to let the call through)."""
        state = self.server.state
        if not hmac.compare_digest(self.headers.get("Authorization", "").encode(), f"Token {state.settings.token}".encode()):
            return self._error(ApiError(401, "Authentication credentials were not provided or are not valid (expected Authorization: Token <token>).")), "unauthorized"
        if bucket is not None and not bucket.take():
            with state.lock:
                state.counters["throttled"] += 1
            # No Retry-After header (GUESS §6 #8).
            return self._error(ApiError(429, "Request was throttled."), count=False), "throttled"
        if faults.latency_ms > 0:
            time.sleep(faults.latency_ms / 1000.0)
        if fault_draw < faults.fault_rate:
            with state.lock:
                state.counters["faulted"] += 1
            return self._error(ApiError(fault_status, "An error occurred with Prolific's platform; please try again later."), count=False), "server fault"
        return None, ""

    def _error(self, err: ApiError, *, count: bool = True, locked: bool = False) -> Answer:
        if count:
            if locked:
                self.server.state.counters["errors"] += 1
            else:
                with self.server.state.lock:
                    self.server.state.counters["errors"] += 1
        return Answer(err.status, err.body())


# ---------------------------------------------------------------- options and running


def _rate(text: Any, name: str) -> Decimal:
    """A rate as a decimal ("0.428") or a fraction ("1/3"); never through float."""
    if isinstance(text, Decimal):
        value = text
    else:
        m = _RATE_RE.match(str(text).strip())
        if not m:
            raise InputError(f"{name} {text!r} is not a rate like 0.428 or 1/3.")
        value = Decimal(m.group("num"))
        if m.group("den") is not None:
            den = Decimal(m.group("den"))
            if den == 0:
                raise InputError(f"{name} {text!r} divides by zero.")
            value = value / den
    if not value.is_finite() or value < 0 or value > 10:
        raise InputError(f"{name} must be between 0 and 10, got {text}.")
    return value


def _cents(text: Any, name: str) -> Decimal:
    try:
        return parse_amount(str(text)) * 100
    except AmountError as exc:
        raise InputError(f"{name}: {exc}.") from None


def _overrides(pairs: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        frm, sep, to = pair.partition("=")
        a, b = normalise_status(frm), normalise_status(to)
        if not sep or a is None or b is None:
            raise InputError(f"--status-override {pair!r} is not FROM=TO with two Prolific statuses (like 'APPROVED=AWAITING REVIEW').")
        out[a] = b
    return out


def build_server(
    exports: Iterable[str],
    *,
    study_ids: Iterable[str] = (),
    token: str | None = None,
    balance: str = DEFAULT_BALANCE,
    currency: str = "GBP",
    fee_rate: Any = None,
    vat_rate: Any = "0",
    fee_rounding: str = "half-up",
    settle_ms: int = 0,
    bonus_lag_ms: int = 0,
    bulk_max: int = DEFAULT_BULK_MAX,
    completion_codes: Iterable[str] = (),
    screen_out_reward: str = DEFAULT_SCREEN_OUT_REWARD,
    reward: str = DEFAULT_REWARD,
    status_overrides: Iterable[str] = (),
    bonus_id_format: str = "hex",
    throttle: float | None = None,
    latency_ms: int = 0,
    fault_rate: float = 0.0,
    drop_response_rate: float = 0.0,
    seed: int = 0,
    port: int = 0,
) -> _Server:
    """Check options, seed the state from the exports and bind 127.0.0.1:port (not yet serving)."""
    paths = [str(p) for p in exports]
    ids = [str(s) for s in study_ids]
    if not paths:
        raise InputError("give at least one --export file (a Prolific submissions export).")
    if len(ids) > len(paths):
        raise InputError(f"{len(ids)} --study-id options for {len(paths)} --export files; give at most one per file, in order.")
    for sid in ids:
        if not _HEX24_RE.match(sid):
            raise InputError(f"--study-id {sid!r} is not a Prolific ID (24 lower-case hexadecimal characters).")
    if currency not in CURRENCIES:
        raise InputError(f"--currency must be GBP or USD, got {currency!r}.")
    if fee_rounding not in FEE_ROUNDINGS:
        raise InputError(f"--fee-rounding must be half-up or up, got {fee_rounding!r}.")
    if bonus_id_format not in BONUS_ID_FORMATS:
        raise InputError(f"--bonus-id-format must be hex or uuid, got {bonus_id_format!r}.")
    faults = fault_config(throttle, latency_ms, fault_rate, drop_response_rate)
    for name, ms in (("--settle-ms", settle_ms), ("--bonus-lag-ms", bonus_lag_ms)):
        if ms < 0:
            raise InputError(f"{name} must not be negative, got {ms}.")
    if bulk_max < 1:
        raise InputError(f"--bulk-max must be at least 1, got {bulk_max}.")
    codes = tuple(c.strip() for c in completion_codes)
    if any(not c for c in codes) or len(set(codes)) != len(codes):
        raise InputError("--completion-code values must be non-empty and different from each other.")
    settings = Settings(
        token=token or DEFAULT_TOKEN,
        balance_cents=_cents(balance, "--balance"),
        currency=currency,
        fee_rate=DEFAULT_FEE_RATE if fee_rate is None else _rate(fee_rate, "--fee-rate"),
        vat_rate=_rate(vat_rate, "--vat-rate"),
        fee_rounding=fee_rounding,
        settle_ms=int(settle_ms),
        bonus_lag_ms=int(bonus_lag_ms),
        bulk_max=int(bulk_max),
        screen_out_cents=_cents(screen_out_reward, "--screen-out-reward"),
        reward_cents=_cents(reward, "--reward"),
        bonus_id_format=bonus_id_format,
    )
    overrides = _overrides(status_overrides)
    state = ProlificState(settings, seed)
    loaded = [read_export(p) for p in paths]
    all_ids = ids + [e.digest[:24] for e in loaded[len(ids) :]]
    if len(set(all_ids)) != len(all_ids):
        raise InputError("two --export files have the same study ID (identical files, or a repeated --study-id); give each its own --study-id.")
    for sid, export in zip(all_ids, loaded):
        derived = derived_completion_code(export.submissions)
        state.add_study(sid, export, codes or ((derived,) if derived else ()), overrides)
    try:
        return _Server(("127.0.0.1", port), state, faults)
    except OSError as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); choose another --port or 0.") from None


def _plain(obj: Any) -> Any:
    """State for Python callers: Decimals kept, containers copied (so callers cannot touch the state)."""
    return json.loads(dumps(obj), parse_float=Decimal)


class RunningEmulator:
    """An emulator serving in a background thread. Use as a context manager, or call stop()."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self.port = server.server_address[1]
        self.url = server.base_url
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name=f"prolific-emulator-{self.port}")
        self._thread.start()
        self._stopped = False

    @property
    def token(self) -> str:
        return self._server.state.settings.token

    @property
    def study_ids(self) -> list[str]:
        return list(self._server.state.studies)

    def state(self) -> dict:
        st = self._server.state
        with st.lock:
            now = time.monotonic()
            st.apply_due(now)
            return _plain(st.snapshot(now))

    def audit(self) -> list[dict]:
        st = self._server.state
        with st.lock:
            st.apply_due(time.monotonic())
            return _plain(st.audit)

    def stats(self) -> dict:
        with self._server.state.lock:
            return _plain(self._server.state.stats())

    def settle(self) -> int:
        with self._server.state.lock:
            return self._server.state.settle_all(time.monotonic())

    def reset_stats(self) -> None:
        with self._server.state.lock:
            self._server.state.reset_stats()

    def set_faults(self, **changes: Any) -> dict:
        """Change fault settings while serving (fault_rate, drop_response_rate, throttle, latency_ms,
        routes); returns them. E.g. set_faults(drop_response_rate=1.0, routes=["/pay/"])."""
        with self._server.state.lock:
            self._server.set_faults(fault_config(**{**self._server.faults.settings(), **changes}))
            return self._server.faults.public()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "RunningEmulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(exports: Iterable[str], **options: Any) -> RunningEmulator:
    """Start an emulator on 127.0.0.1 in a background thread; it is ready when this returns.
    Options are build_server's (study_ids, token, balance, settle_ms, fault_rate, seed, ...)."""
    return RunningEmulator(build_server(exports, **options))


def describe_studies(server: _Server) -> list[str]:
    """One line per study, for the command's start-up output."""
    lines = []
    for study in server.state.studies.values():
        code = ", ".join(study.completion_codes) or "none derived (give --completion-code)"
        lines.append(f"study {study.id}: {study.export.path} ({len(study.submission_ids)} submissions, {study.export.era} export, completion code {code})")
    return lines


def serve_until_signalled(
    exports: Iterable[str],
    *,
    announce: Callable[[str], None] = print,
    describe: Callable[[str], None] | None = None,
    **options: Any,
) -> dict:
    """Serve in the foreground until SIGINT or SIGTERM; announce the URL once ready. Returns final stats."""
    server = build_server(exports, **options)
    stop = threading.Event()

    def _on_signal(signum, frame):  # noqa: ARG001 - signal handler signature
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    serving.start()
    try:
        for line in describe_studies(server):
            (describe or announce)(line)
        announce(f"listening on {server.base_url}")
        while not stop.wait(0.2):
            pass
    finally:
        server.shutdown()
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    with server.state.lock:
        server.state.apply_due(time.monotonic())
        out = server.state.stats()
        out["payouts_settled"] = sum(b.times_settled for b in server.state.bulks.values())
        out["pay_calls_accepted"] = sum(b.times_paid for b in server.state.bulks.values())
        return out
