"""Rate limits, with the ``limits`` library: issuing per address and per kiosk (config ``limits``),
and wrong passwords per address and per user name. Counts live in memory, or in Redis when
several processes share ``QUEUEKIOSK_MESSAGE_QUEUE``. A refusal is ``QueueError`` 429 with the
seconds to wait, which the error handler sends as ``Retry-After``.
"""

from __future__ import annotations

import math
import time

from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from .engine import QueueError

LOGIN_FAILURES = "10/minute;50/hour"  # wrong passwords before a 429 (a clerk mistyping is far below)


class RateLimits:
    def __init__(self, config_limits, storage_uri: str = "memory://"):
        self._config = config_limits
        self._window = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self._issue = [(parse_many(value), kind) for value, kind in (
            (config_limits.tickets_per_address, "address"), (config_limits.tickets_per_kiosk, "kiosk")) if value]
        self._login = parse_many(LOGIN_FAILURES)

    def check_issue(self, address: str | None, kiosk: str | None) -> None:
        """Count one ticket; refuse it past a limit (an exempt address is never counted)."""
        if not self._issue or self._config.exempt(address):
            return
        for items, kind in self._issue:
            if kind == "kiosk" and kiosk is None:
                continue
            self._hit(items, "issue", kind, address if kind == "address" else kiosk, code="too_many_tickets")

    def check_login(self, address: str | None, username: str) -> None:
        """Refuse a login while this address or user name has too many recent failures."""
        for who in (f"address:{address}", f"user:{username.strip().lower()}"):
            for item in self._login:
                if not self._window.test(item, "login", who):
                    raise self._refusal(item, "login", who, "too_many_logins")

    def login_failed(self, address: str | None, username: str) -> None:
        for who in (f"address:{address}", f"user:{username.strip().lower()}"):
            for item in self._login:
                self._window.hit(item, "login", who)

    def _hit(self, items, *identity: str, code: str) -> None:
        for item in items:
            if not self._window.hit(item, *identity):
                raise self._refusal(item, *identity, code)

    def _refusal(self, item, *identity_and_code) -> QueueError:
        *identity, code = identity_and_code
        reset = self._window.get_window_stats(item, *identity).reset_time
        return QueueError(code, 429, retry_after=max(1, math.ceil(reset - time.time())))
