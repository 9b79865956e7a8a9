"""Rate limits, with the ``limits`` library: issuing per address and per kiosk, booking per address
(config ``limits``, each site its own, counted per site), and login attempts per address and per
user name (for the whole installation: a user name is the installation's, and a guesser gets no
more tries by asking at every site). Counts live in memory, or in Redis when
several processes share ``QUEUEKIOSK_MESSAGE_QUEUE``. A refusal is ``QueueError`` 429 with the
seconds to wait, which the error handler sends as ``Retry-After``.

A request's windows (an issuing kiosk's address and kiosk, "10/minute;200/day") are counted in
Redis by one script, one round trip, with the library's keys and its counting: each window in turn
and none after the first that is full, as its limiter counts them one by one.

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
from ..core.i18n import Phrase, translate

log = logging.getLogger("queuekiosk.ratelimits")

LOGIN_ATTEMPTS = "10/minute;50/hour"  # logins that failed or are being checked, before a 429
# refused requests of a kind counted only when accepted (bookings: a wrong phone, a full slot, an SMS
# code sent): enough for a citizen fighting a form, or a commune's NAT full of them, too few to try ID
# card numbers or phones by the thousand (a refusal says whether one holds a number today)
REFUSED_ATTEMPTS = "20/minute;100/day"
REDIS_TIMEOUT_SECONDS = 1.0  # a Redis that hangs costs a request at most this long
RETRY_SHARED_SECONDS = 5.0  # while Redis is down, try it again this often (not on every request)


# FixedWindowRateLimiter.hit (the library's incr_expire script) for several windows in one round
# trip: KEYS the windows' keys, ARGV their expiry and amount in turn; the counts up to the first
# window past its amount, which stops the counting there
_HIT_WINDOWS = """
local counts = {}
for i, key in ipairs(KEYS) do
    local current = redis.call("incrby", key, 1)
    if current == 1 then
        redis.call("expire", key, ARGV[2 * i - 1])
    end
    counts[i] = current
    if current > tonumber(ARGV[2 * i]) then
        break
    end
end
return counts
"""


class _FailoverLimiter:
    """A fixed-window limiter on the shared storage, or on local memory while that is unreachable."""

    def __init__(self, storage_uri: str):
        from limits.storage import MemoryStorage, storage_from_string
        from limits.strategies import FixedWindowRateLimiter

        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._shared = (
            None
            if storage_uri.startswith("memory")
            else FixedWindowRateLimiter(
                storage_from_string(
                    storage_uri,
                    wrap_exceptions=True,
                    socket_timeout=REDIS_TIMEOUT_SECONDS,
                    socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                )
            )
        )
        self._lock = threading.Lock()
        self._retry_shared_at = 0.0
        self.shared_down = False

    def run(self, operation):
        """``operation(limiter)`` on the shared limiter, or on the local one while the shared one is down."""
        if self._shared is None or time.monotonic() < self._retry_shared_at:
            return operation(self._local)
        from limits.errors import StorageError

        try:
            result = operation(self._shared)
        except StorageError as error:
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
def _parsed(limit: str):
    from limits import parse_many

    return parse_many(limit)


class RateLimits:
    """One per process, for every site: each request is counted against its own site's ``limits``
    (given to ``check_issue``; a changed setup applies at once), and a site's counts are its own."""

    def __init__(self, storage_uri: str = "memory://"):
        self._storage_uri = storage_uri
        self._hit_windows = None  # _HIT_WINDOWS registered on the shared Redis, at its first use

    # The limits library (about 1.4 MB) is loaded at the first request counted, not at start: an
    # idle server, and one whose kiosks are all exempt addresses, counts nothing (issue 21).
    @property
    def _limiter(self) -> _FailoverLimiter:
        limiter = self.__dict__.get("_made_limiter")
        if limiter is None:
            # making it may switch greenlets (its imports, a storage's connection), so requests that
            # arrive together may each make one: the first made is kept and every request counts on
            # it (a limiter of each would let 60 parallel wrong passwords through, not 10)
            limiter = self.__dict__.setdefault("_made_limiter", _FailoverLimiter(self._storage_uri))
        return limiter

    @functools.cached_property
    def _login(self):
        return _parsed(LOGIN_ATTEMPTS)

    def check_issue(self, limits, address: str | None, kiosk: str | None, kiosk_proven: bool = False) -> None:
        """Count one ticket against ``limits`` (the request's site's config ``limits``); refuse it past
        a limit (an exempt address is never counted).

        A kiosk's own limit counts only callers that proved to be that kiosk (its token): a kiosk
        name anyone can type is counted per name and address, so another device cannot use it up."""
        if limits.exempt(address):
            return
        hits = []
        for value, kind in ((limits.tickets_per_address, "address"), (limits.tickets_per_kiosk, "kiosk")):
            if not value or (kind == "kiosk" and kiosk is None):
                continue
            who = address if kind == "address" else kiosk if kiosk_proven else f"{kiosk}@{address}"
            # a site's counts are its own (and kiosk-1 of one site is not kiosk-1 of another)
            hits += [(item, ("issue", kind, f"{_site_id()}/{who}")) for item in _parsed(value)]
        self._hit_all(hits, code="too_many_tickets")

    def check(self, limit: str | None, kind: str, who: str | None, code: str) -> None:
        """Count one request of ``kind`` by ``who`` against ``limit`` ("5/minute;20/day", from the
        request's site's config ``limits``; None: no limit); refuse it past the limit. Each site
        counts its own: a citizen's bookings at one site use up nothing of their allowance at another."""
        if limit:
            self._hit(_parsed(limit), kind, f"{_site_id()}/{who}", code=code)

    def check_accepted(self, limit: str | None, kind: str, who: str | None, code: str):
        """As ``check``, for a request that counts against ``limit`` only if it is accepted. Each is
        counted first, atomically, both against ``limit`` and as a refused attempt (REFUSED_ATTEMPTS);
        returns ``settle(accepted)``, to call once it is answered: an accepted request gives back its
        attempt, any other its count against ``limit`` (so that typos lock nobody out for a day, and a
        configured limit, or "off", is the whole of what accepted requests may do)."""
        attempts = _parsed(REFUSED_ATTEMPTS)
        tried = (f"{kind}:refused", f"{_site_id()}/{who}")
        self._hit(attempts, *tried, code=code)
        counted = _parsed(limit) if limit else []
        self.check(limit, kind, who, code)

        def settle(accepted: bool) -> None:
            items, identity = (attempts, tried) if accepted else (counted, (kind, f"{_site_id()}/{who}"))
            self._give_back([(item, identity) for item in items])

        return settle

    def count_login(self, address: str | None, username: str) -> None:
        """Count a login attempt before its password is checked, atomically, so that parallel guesses
        cannot all pass a check made before any of them is counted; refuse it past the limit."""
        who = self._login_keys(address, username)
        self._hit_all([(item, ("login", key)) for key in who for item in self._login], code="too_many_logins")

    def login_succeeded(self, address: str | None, username: str) -> None:
        """Give back the attempt of a right password: a clerk logging in all day is never throttled."""

        self._give_back([(item, ("login", who)) for who in self._login_keys(address, username) for item in self._login])

    @staticmethod
    def _login_keys(address: str | None, username: str) -> tuple[str, str]:
        return f"address:{address}", f"user:{username.strip().lower()}"

    def notes(self) -> list[dict]:
        """For the supervisor's dashboard: while Redis is down, each process counts the limits alone."""
        if "_made_limiter" not in self.__dict__ or not self._limiter.shared_down:
            return []
        return [
            {
                "item": "rate_limits",
                "message": translate("limits_redis_down", "vi"),
                "message_en": translate("limits_redis_down", "en"),
                "detail": None,
            }
        ]

    def _give_back(self, counted: list) -> None:
        """Take one back from each (item, identity) that ``_hit_all`` counted (a request that turned out
        not to count: a right password, a booking refused or accepted)."""

        def give_back(limiter):
            for item, identity in counted:
                limiter.storage.incr(item.key_for(*identity), item.get_expiry(), amount=-1)

        self._limiter.run(give_back)

    def _hit(self, items, *identity: str, code: str) -> None:
        self._hit_all([(item, identity) for item in items], code=code)

    def _counts_at_once(self, limiter, hits: list) -> list[int] | None:
        """The counts of ``hits`` ((item, identity) pairs) in one round trip where the storage is the
        library's plain Redis storage; None: count them one by one."""
        from limits.errors import StorageError
        from limits.storage import RedisStorage

        storage = limiter.storage
        if len(hits) < 2 or type(storage) is not RedisStorage:
            return None
        try:
            if self._hit_windows is None:
                self._hit_windows = storage.get_connection().register_script(_HIT_WINDOWS)
            keys = [storage.prefixed_key(item.key_for(*identity)) for item, identity in hits]
            windows = [value for item, _identity in hits for value in (item.get_expiry(), item.amount)]
            return [int(count) for count in self._hit_windows(keys, windows)]
        except storage.base_exceptions as error:
            raise StorageError(error) from error

    def _hit_all(self, hits: list, code: str) -> None:
        """Count each (item, identity) in turn, none after the first past its limit; refuse then."""

        def hit(limiter):
            counts = self._counts_at_once(limiter, hits)
            for i, (item, identity) in enumerate(hits):
                allowed = limiter.hit(item, *identity) if counts is None else counts[i] <= item.amount
                if not allowed:
                    return _too_many(limiter, item, identity, code)
            return None

        if not hits:
            return
        refusal = self._limiter.run(hit)
        if refusal is not None:
            raise refusal


def _too_many(limiter, item, identity: tuple, code: str) -> TooMany:
    """The refusal of a full window: the seconds to wait (``Retry-After``), and the wait in words."""
    reset = limiter.get_window_stats(item, *identity).reset_time
    seconds = max(1, math.ceil(reset - time.time()))
    return TooMany(code, retry_after=seconds, wait=wait_phrase(seconds))


def wait_phrase(seconds: int) -> Phrase:
    """A wait as a person says it: "45 giây", "khoảng 12 phút", "khoảng 24 giờ" (never 86156 seconds)."""
    if seconds <= 60:  # (so that minutes and hours are always two or more)
        return Phrase("wait_seconds", n=seconds)
    if seconds < 5400:  # up to an hour and a half
        return Phrase("wait_minutes", n=math.ceil(seconds / 60))
    return Phrase("wait_hours", n=round(seconds / 3600))
