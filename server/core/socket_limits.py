"""What one Socket.IO connection may send (anyone on the LAN can connect): a page subscribes to one to
three rooms and a kiosk agent sends a few events a minute. Past the rate the server drops the connection
(server/web/realtime.py); the kiosk agent keeps under it (kiosk/agent.py), also while it catches up a
backlog of tickets on a printer that takes each at once. The server tells an agent its numbers in the
answer to ``agent.hello`` (an agent of another version follows them); both count with ``Allowance``."""

from __future__ import annotations

import time

EVENTS_BURST = 40
EVENTS_PER_SECOND = 5.0


class Allowance:
    """A token bucket: ``burst`` events at once, then ``per_second``. The server drops a connection whose
    event it cannot ``take``; the agent waits ``seconds_until_next`` before it sends one."""

    __slots__ = ("burst", "per_second", "tokens", "at")

    def __init__(self, burst: float = EVENTS_BURST, per_second: float = EVENTS_PER_SECOND):
        self.burst, self.per_second = burst, per_second
        self.tokens, self.at = float(burst), time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens, self.at = min(self.burst, self.tokens + (now - self.at) * self.per_second), now

    def take(self) -> bool:
        """One event counted, if the allowance has it."""
        self._refill()
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def seconds_until_next(self) -> float:
        """How long until ``take`` has one (0: now)."""
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.per_second
