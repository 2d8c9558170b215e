"""Faults a peer can be told to show: refusals, an outage, slowness, lost answers.

The windows (``down_for``, ``slow_for``) are measured on an injectable monotonic clock, so a test
can move time on instead of sleeping. The delay of a slow answer is a real wait (the client's
timeout must fire), cut short by ``reset()`` or by stopping the server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]  # seconds, monotonic


@dataclass(frozen=True)
class Refusal:
    """Answer with this status at once, applying nothing."""

    status: int
    code: str


class Faults:
    """The fault state of one simulator. Every method is thread-safe."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._fail_count = 0
        self._fail_status = 503
        self._down_until = float("-inf")
        self._slow_until = float("-inf")
        self._slow_delay = 0.0
        self._lose_count = 0
        self.refused = 0  # requests answered by fail_next or down_for
        self.slowed = 0  # requests delayed by slow_for
        self.lost = 0  # answers lost by lose_answers (the message was applied)

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next ``n`` requests are answered ``status`` without being applied."""
        if n < 0 or not 400 <= status <= 599:
            raise ValueError("n >= 0 and an error status (4xx or 5xx) expected")
        with self._lock:
            self._fail_count = n
            self._fail_status = status

    def down_for(self, seconds: float) -> None:
        """Every request is answered 503 for ``seconds`` from now."""
        with self._lock:
            self._down_until = self._clock() + seconds

    def slow_for(self, seconds: float, delay: float) -> None:
        """For ``seconds`` from now, every request waits ``delay`` seconds before it is handled
        (long enough, chosen by the test, for the client's timeout to fire)."""
        if delay < 0:
            raise ValueError("delay >= 0 expected")
        with self._lock:
            self._slow_until = self._clock() + seconds
            self._slow_delay = delay

    def lose_answers(self, n: int) -> None:
        """The next ``n`` messages that are applied are answered 500, as if the answer were lost:
        the client must retry, and the retry must come back ``duplicate``."""
        if n < 0:
            raise ValueError("n >= 0 expected")
        with self._lock:
            self._lose_count = n

    def reset(self) -> None:
        """No fault any more; requests waiting in ``slow_for`` are woken."""
        with self._lock:
            self._fail_count = 0
            self._down_until = float("-inf")
            self._slow_until = float("-inf")
            self._slow_delay = 0.0
            self._lose_count = 0
            woken, self._wake = self._wake, threading.Event()
        woken.set()

    # -- used by the server -------------------------------------------------------------------

    def admit(self) -> Refusal | None:
        """What a request meets on arrival: a refusal, or None (go on, after any slowness)."""
        with self._lock:
            now = self._clock()
            if now < self._down_until:
                self.refused += 1
                return Refusal(503, "DOWN")
            if self._fail_count > 0:
                self._fail_count -= 1
                self.refused += 1
                return Refusal(self._fail_status, "INJECTED_FAILURE")
            delay = self._slow_delay if now < self._slow_until else 0.0
            if delay > 0:
                self.slowed += 1
            wake = self._wake
        if delay > 0:
            wake.wait(delay)
        return None

    def take_lost_answer(self) -> bool:
        """True when the answer to a message just applied is to be lost."""
        with self._lock:
            if self._lose_count == 0:
                return False
            self._lose_count -= 1
            self.lost += 1
            return True

    def wake_all(self) -> None:
        """Wakes the requests waiting in ``slow_for`` (the server is stopping)."""
        with self._lock:
            woken, self._wake = self._wake, threading.Event()
        woken.set()
