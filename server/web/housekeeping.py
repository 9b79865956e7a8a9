"""Work the server does on its own clock: at each local midnight, end the day's waiting tickets."""

from __future__ import annotations

import datetime as dt
import logging

import gevent

from ..core import engine as q
from ..core import outbox

log = logging.getLogger(__name__)


def seconds_to_next_day(site, now: dt.datetime) -> float:
    """From ``now`` (naive UTC) to a few seconds after the site's next local midnight."""
    local = q.local_time(site, now)
    midnight = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
    return max(1.0, (midnight - local).total_seconds())


def day_end_loop(state) -> None:
    """At start (the server may have been off at midnight) and after every local midnight."""
    from .realtime import publish

    while True:
        try:
            outcome = state.write(outbox.recording(q.expire_past_days))  # ticket.expired goes out too
        except Exception:  # a busy database at midnight must not end the loop
            log.exception("expiring the past days' waiting tickets failed; trying again in a minute")
            gevent.sleep(60)
            continue
        expired = q.expired_count(outcome)
        if expired:
            log.info("end of the business day: %d waiting ticket(s) expired", expired)
        publish(state.site, outcome)
        gevent.sleep(seconds_to_next_day(state.site, q.utcnow()))
