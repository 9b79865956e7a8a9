"""Rate limits: issuing per address and per kiosk, booking per address (config ``limits``, each site
its own, counted per site), and login attempts per address and per user name (for the whole
installation: a user name is the installation's, and a guesser gets no more tries by asking at
every site). Each limit is a fixed window (server/core/limit_rules.py reads "10/minute;200/day").
Counts live in this process's memory, or in Redis, through the ``limits`` library, when several
processes share ``QUEUEKIOSK_MESSAGE_QUEUE`` (the library is imported only then: a server on one
process does without its 1.2 MB). A refusal is ``QueueError`` 429 with the seconds to wait, which
the error handler sends as ``Retry-After``.

While Redis is unreachable the limits fail over to this process's own memory (a warning in the
log and on the supervisor's dashboard): issuing and logging in keep working, each process
counting alone, until Redis answers again.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time

from ..core.errors import TooMany
from ..core.i18n import translate
from ..core.limit_rules import Limit, parse_limits

log = logging.getLogger("queuekiosk.ratelimits")

LOGIN_ATTEMPTS = "10/minute;50/hour"  # logins that failed or are being checked, before a 429
REDIS_TIMEOUT_SECONDS = 1.0  # a Redis that hangs costs a request at most this long
RETRY_SHARED_SECONDS = 5.0  # while Redis is down, try it again this often (not on every request)
SWEEP_SECONDS = 60.0  # ended windows are dropped this often, so that one-off callers do not pile up


class _MemoryWindows:
    """Fixed windows counted in this process: a window starts at its first hit and lasts the limit's
    length; every hit counts, refused ones too (as the ``limits`` library counts them)."""

    def __init__(self):
        self._windows: dict[tuple, list] = {}  # (amount, seconds, *identity) -> [count, ends at (monotonic)]
        self._lock = threading.Lock()
        self._sweep_at = 0.0

    def _window(self, limit: Limit, identity: tuple, now: float, start: bool) -> list | None:
        key = (limit.amount, limit.seconds, *identity)
        window = self._windows.get(key)
        if (window is None or window[1] <= now) and start:
            window = self._windows[key] = [0, now + limit.seconds]
        return window if window is not None and window[1] > now else None

    def hit(self, limit: Limit, *identity: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if now >= self._sweep_at:
                self._windows = {key: window for key, window in self._windows.items() if window[1] > now}
                self._sweep_at = now + SWEEP_SECONDS
            window = self._window(limit, identity, now, start=True)
            window[0] += 1
            return window[0] <= limit.amount

    def seconds_left(self, limit: Limit, *identity: str) -> float:
        now = time.monotonic()
        with self._lock:
            window = self._window(limit, identity, now, start=False)
            return window[1] - now if window else 0.0

    def give_back(self, limit: Limit, *identity: str) -> None:
        with self._lock:
            window = self._window(limit, identity, time.monotonic(), start=False)
            if window:
                window[0] -= 1


class _RedisWindows:
    """The same fixed windows counted in Redis by the ``limits`` library (its keys and expiries)."""

    def __init__(self, storage_uri: str):
        from limits.limits import GRANULARITIES
        from limits.storage import storage_from_string
        from limits.strategies import FixedWindowRateLimiter

        self._limiter = FixedWindowRateLimiter(
            storage_from_string(
                storage_uri,
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
        )
        self._item = functools.lru_cache(maxsize=64)(
            lambda limit: GRANULARITIES[limit.unit](limit.amount, limit.multiples)
        )

    def hit(self, limit: Limit, *identity: str) -> bool:
        return self._limiter.hit(self._item(limit), *identity)

    def seconds_left(self, limit: Limit, *identity: str) -> float:
        return self._limiter.get_window_stats(self._item(limit), *identity).reset_time - time.time()

    def give_back(self, limit: Limit, *identity: str) -> None:
        item = self._item(limit)
        self._limiter.storage.incr(item.key_for(*identity), item.get_expiry(), amount=-1)


class _NeverRaised(Exception):
    pass


class _FailoverLimiter:
    """A fixed-window limiter on the shared storage, or on local memory while that is unreachable."""

    def __init__(self, storage_uri: str):
        self._local = _MemoryWindows()
        self._shared = None if storage_uri.startswith("memory") else _RedisWindows(storage_uri)
        if self._shared is not None:
            from limits.errors import StorageError

            self._storage_error = StorageError
        else:
            self._storage_error = _NeverRaised
        self._lock = threading.Lock()
        self._retry_shared_at = 0.0
        self.shared_down = False

    def run(self, operation):
        """``operation(limiter)`` on the shared limiter, or on the local one while the shared one is down."""
        if self._shared is None or time.monotonic() < self._retry_shared_at:
            return operation(self._local)
        try:
            result = operation(self._shared)
        except self._storage_error as error:
            with self._lock:
                self._retry_shared_at = time.monotonic() + RETRY_SHARED_SECONDS
                news, self.shared_down = not self.shared_down, True
            if news:
                log.warning(
                    "Rate limits: Redis is unreachable (%s); each server process now counts issuing and "
                    "logins in its own memory until Redis answers again. Start Redis (systemctl start "
                    "redis-server) or check QUEUEKIOSK_MESSAGE_QUEUE.",
                    error.storage_error,
                )
            return operation(self._local)
        if self.shared_down:
            self.shared_down = False
            log.warning("Rate limits: Redis answers again; the limits are shared by every process once more.")
        return result


def _site_id() -> str:
    """The site of the request being answered (server/web/app.py), "" outside one."""
    from flask import current_app, has_request_context

    return current_app.extensions["queuekiosk"].site_id if has_request_context() else ""


@functools.lru_cache(maxsize=64)
def _parsed(limit: str) -> tuple[Limit, ...]:
    return parse_limits(limit)


class RateLimits:
    """One per process, for every site: each request is counted against its own site's ``limits``
    (given to ``check_issue``; a changed setup applies at once), and a site's counts are its own."""

    def __init__(self, storage_uri: str = "memory://"):
        self._limiter = _FailoverLimiter(storage_uri)
        self._login = parse_limits(LOGIN_ATTEMPTS)

    def check_issue(self, limits, address: str | None, kiosk: str | None, kiosk_proven: bool = False) -> None:
        """Count one ticket against ``limits`` (the request's site's config ``limits``); refuse it past
        a limit (an exempt address is never counted).

        A kiosk's own limit counts only callers that proved to be that kiosk (its token): a kiosk
        name anyone can type is counted per name and address, so another device cannot use it up."""
        if limits.exempt(address):
            return
        for value, kind in ((limits.tickets_per_address, "address"), (limits.tickets_per_kiosk, "kiosk")):
            if not value or (kind == "kiosk" and kiosk is None):
                continue
            who = address if kind == "address" else kiosk if kiosk_proven else f"{kiosk}@{address}"
            # a site's counts are its own (and kiosk-1 of one site is not kiosk-1 of another)
            self._hit(_parsed(value), "issue", kind, f"{_site_id()}/{who}", code="too_many_tickets")

    def check(self, limit: str | None, kind: str, who: str | None, code: str) -> None:
        """Count one request of ``kind`` by ``who`` against ``limit`` ("5/minute;20/day", from the
        request's site's config ``limits``; None: no limit); refuse it past the limit. Each site
        counts its own: a citizen's bookings at one site use up nothing of their allowance at another."""
        if limit:
            self._hit(_parsed(limit), kind, f"{_site_id()}/{who}", code=code)

    def count_login(self, address: str | None, username: str) -> None:
        """Count a login attempt before its password is checked, atomically, so that parallel guesses
        cannot all pass a check made before any of them is counted; refuse it past the limit."""
        for who in self._login_keys(address, username):
            self._hit(self._login, "login", who, code="too_many_logins")

    def login_succeeded(self, address: str | None, username: str) -> None:
        """Give back the attempt of a right password: a clerk logging in all day is never throttled."""

        def refund(limiter):
            for who in self._login_keys(address, username):
                for limit in self._login:
                    limiter.give_back(limit, "login", who)

        self._limiter.run(refund)

    @staticmethod
    def _login_keys(address: str | None, username: str) -> tuple[str, str]:
        return f"address:{address}", f"user:{username.strip().lower()}"

    def notes(self) -> list[dict]:
        """For the supervisor's dashboard: while Redis is down, each process counts the limits alone."""
        if not self._limiter.shared_down:
            return []
        return [
            {
                "item": "rate_limits",
                "message": translate("limits_redis_down", "vi"),
                "message_en": translate("limits_redis_down", "en"),
                "detail": None,
            }
        ]

    def _hit(self, limits: tuple[Limit, ...], *identity: str, code: str) -> None:
        def hit(limiter):
            for limit in limits:
                if not limiter.hit(limit, *identity):
                    return TooMany(code, retry_after=max(1, math.ceil(limiter.seconds_left(limit, *identity))))
            return None

        refusal = self._limiter.run(hit)
        if refusal is not None:
            raise refusal
