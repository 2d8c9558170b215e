"""What every simulated peer has: its fault state, exposed as methods on the peer itself."""

from __future__ import annotations

import time

from simulators.faults import Clock, Faults


class Peer:
    """The fault API of one simulator (``cs.fail_next(2)``, ``platform.down_for(5)``, ...)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.faults = Faults(clock)

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next ``n`` requests are answered ``status`` without being applied."""
        self.faults.fail_next(n, status)

    def down_for(self, seconds: float) -> None:
        """Every request is answered 503 for ``seconds``."""
        self.faults.down_for(seconds)

    def slow_for(self, seconds: float, delay: float) -> None:
        """Every request arriving in the next ``seconds`` waits ``delay`` before it is handled."""
        self.faults.slow_for(seconds, delay)

    def lose_answers(self, n: int) -> None:
        """The next ``n`` applied messages are answered 500 (applied, answer lost)."""
        self.faults.lose_answers(n)

    def reset(self) -> None:
        """Clears every fault (not the data: see ``clear``)."""
        self.faults.reset()
