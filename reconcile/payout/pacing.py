"""Pacing for calls to a throttled service: a thread-safe token bucket whose rate adapts (slow
start, then AIMD), and exponential backoff with full jitter.

Platforms throttle bursts ("Rate exceeded", HTTP 429) at rates users report as low as 1-3 calls per
second, and client libraries' own retries give up after a few attempts. So the payout paces itself:
every call first takes a token; a throttled answer cuts the rate multiplicatively, and each success
lets it grow again towards the ceiling. Stdlib only; no I/O besides sleeping.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Callable


class TokenBucket:
    """Hands out tokens at `rate` per second with at most `burst` saved up.

    `acquire()` reserves the next token under a lock and sleeps outside it, so N threads calling
    it concurrently are spread out evenly instead of waking together.
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._rate = float(rate)
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock()

    @property
    def rate(self) -> float:
        return self._rate

    def set_rate(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        with self._lock:
            self._refill(self._clock())
            self._rate = float(rate)

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._last)
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._last = now

    def reserve(self) -> float:
        """Take a token now (possibly going into debt); return how long the caller must wait."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._tokens -= 1.0
            if self._tokens >= 0:
                return 0.0
            # A negative balance is a queue of reservations: the caller waits until it is repaid.
            return -self._tokens / self._rate

    def acquire(self) -> float:
        """Block until a token is available; return the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait


DEFAULT_CEILING = 100.0  # calls/s when no --rate is given: the pacer finds the service's limit below it
START_RATE = 2.0  # where a run starts: under the 1-3 calls/s users report some platforms sustain
SLOW_START_DOUBLINGS = 2.0  # per second of successful calls, until the first throttling


class AdaptivePacer:
    """A TokenBucket whose rate starts low, grows fast until the first throttling, then follows
    additive-increase / multiplicative-decrease.

    - slow start: until the service first throttles, each success multiplies the rate by
      2^(SLOW_START_DOUBLINGS/rate), which doubles it every half second of calls (like TCP's slow
      start), up to `max_rate`: from 2 to 100 calls/s in about 3 s. (Doubling once a second took 6 s,
      a tenth of a 1,000-assignment run at 100/s; the simulation in tests/test_pacing.py throttles
      no more calls either way, at limits of 1-100/s.)

    - `on_throttle()`: rate *= `decrease` (not below `min_rate`). Several threads usually hit the
      same throttling burst together; one cut per cooldown window (about two calls' worth of
      time, at least `cooldown`) keeps them from collapsing the rate for a single overload.
    - `on_success()`: the rate creeps back up by `increase` calls/second per second of successful
      calls (each success adds increase/rate), never above `max_rate`. Growing per second rather
      than per call keeps the climb equally gentle at 3 calls/s and at 100.
    - `increase` defaults to a tenth of the rate the last cut left (back from a cut in about three
      seconds), not to a share of `max_rate`: with no --rate the ceiling is 100 calls/s, and a climb
      of 5 calls/s every second against a service that allows 3 spent about two calls in five on
      being throttled (issue 11; tests/test_pacing.py simulates it on a fake clock).
    """

    def __init__(
        self,
        max_rate: float,
        *,
        start_rate: float | None = None,
        min_rate: float = 0.2,
        decrease: float = 0.7,
        increase: float | None = None,
        burst: float | None = None,
        cooldown: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_rate <= 0:
            raise ValueError("max_rate must be positive")
        if not 0 < decrease < 1:
            raise ValueError("decrease must be between 0 and 1")
        self.max_rate = float(max_rate)
        self.min_rate = min(float(min_rate), self.max_rate)
        self.decrease = decrease
        # None: follows the rate found (see on_throttle); until the first cut, as if cut at the ceiling.
        self._fixed_increase = increase
        self.increase = increase if increase is not None else self._increase_after_cut(self.max_rate)
        # A burst of 1 at low rates; a few tokens at high rates smooth scheduling jitter.
        burst = burst if burst is not None else max(1.0, min(self.max_rate / 20.0, 5.0))
        self.cooldown = cooldown
        self._clock = clock
        start = self.max_rate if start_rate is None else min(max(float(start_rate), self.min_rate), self.max_rate)
        self._bucket = TokenBucket(start, burst, clock=clock, sleep=sleep)
        self._lock = threading.Lock()
        self._last_cut = float("-inf")
        self.throttled = 0
        self.successes = 0

    @property
    def rate(self) -> float:
        return self._bucket.rate

    def acquire(self) -> float:
        return self._bucket.acquire()

    def on_success(self) -> None:
        with self._lock:
            self.successes += 1
            rate = self._bucket.rate
            if rate < self.max_rate:
                grown = rate * 2.0 ** (SLOW_START_DOUBLINGS / rate) if not self.throttled else rate + self.increase / rate
                self._bucket.set_rate(min(self.max_rate, grown))

    def on_throttle(self) -> bool:
        """Record a throttled call; return True when this one cut the rate."""
        with self._lock:
            self.throttled += 1
            now = self._clock()
            if now - self._last_cut < max(self.cooldown, 2.0 / self._bucket.rate):
                return False
            self._last_cut = now
            cut = max(self.min_rate, self._bucket.rate * self.decrease)
            self._bucket.set_rate(cut)
            if self._fixed_increase is None:
                self.increase = self._increase_after_cut(cut)
            return True

    @staticmethod
    def _increase_after_cut(rate: float) -> float:
        return max(0.1 * rate, 0.02)


def backoff_delay(
    attempt: int,
    *,
    base: float = 0.2,
    cap: float = 20.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (0-based): full jitter, uniform(0, min(cap, base*2^n)).

    Full jitter spreads retrying threads apart, which matters when they all failed together.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    ceiling = min(cap, base * (2.0 ** min(attempt, 30)))
    r = rng if rng is not None else random
    return r.uniform(0.0, ceiling)
