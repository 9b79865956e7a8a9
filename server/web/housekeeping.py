"""Work the server does on its own clock: at each local midnight, end the day's waiting tickets and
train the wait predictor on the days before (server/web/waits.py)."""

from __future__ import annotations

import datetime as dt
import logging
import os

import gevent

from ..core import bookings, outbox
from ..core import engine as q
from .waits import retrain_quietly

log = logging.getLogger(__name__)

LAPSE_EVERY_SECONDS = 30  # a remote number lapses this long after its deadline at the latest
NEW_SITES_SECONDS = 5  # how soon a site added while the server runs gets its day-end loop


def seconds_to_next_day(site, now: dt.datetime) -> float:
    """From ``now`` (naive UTC) to a few seconds after the site's next local midnight."""
    local = q.local_time(site, now)
    midnight = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
    return max(1.0, (midnight - local).total_seconds())


def day_end_loop(state) -> None:
    """One loop per site, each at its own local midnight (its own time zone); a site added while
    the server runs gets its loop within ``NEW_SITES_SECONDS``."""
    started: set[str] = set()
    while True:
        for site_id in list(state.sites):
            if site_id not in started:
                started.add(site_id)
                gevent.spawn(site_day_end_loop, state, site_id)
        gevent.sleep(NEW_SITES_SECONDS)


def site_day_end_loop(state, site_id: str) -> None:
    """At start (the server may have been off at midnight) and after every local midnight of the site."""
    from .realtime import publish

    with state.at(site_id):  # its log lines name the site (server/core/logs.py name_sites_by)
        at_start = True
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
            # at start the screens are already right unless something ended (the last item is always
            # the queue's counts): a site added while serving is not sent counts out of the blue
            if not at_start or len(outcome.happened) > 1:
                publish(state.site, outcome)
            at_start = False
            # a few seconds, beside the requests: the formula until it is done
            gevent.spawn(retrain_quietly, state, site_id)
            gevent.sleep(seconds_to_next_day(state.site, q.utcnow()))


def lapse_seconds() -> float:
    """How often the lapse loop looks: ``QUEUEKIOSK_LAPSE_SECONDS`` (read when the loop starts; the
    test of a number lapsing sets it short), else ``LAPSE_EVERY_SECONDS``; a value that is not
    0.5-3600 seconds is logged and the default kept."""
    value = os.environ.get("QUEUEKIOSK_LAPSE_SECONDS")
    if not value:
        return LAPSE_EVERY_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0
    if not 0.5 <= seconds <= 3600:
        log.error(
            "QUEUEKIOSK_LAPSE_SECONDS is %r, not 0.5-3600 seconds: looking every %d s", value, LAPSE_EVERY_SECONDS
        )
        return LAPSE_EVERY_SECONDS
    return seconds


def lapse_loop(state) -> None:
    """Remote numbers not checked in by their deadline lapse (server/core/bookings/ending.py), and the
    dashboard and webhooks hear it (booking.lapsed), at every site."""
    from .realtime import publish

    every = lapse_seconds()
    while True:
        gevent.sleep(every)
        for site_id in list(state.sites):
            with state.at(site_id):
                try:
                    outcome = state.write(outbox.recording(bookings.lapse_overdue))
                except Exception:  # a busy database must not end the loop
                    log.exception("lapsing the overdue remote numbers failed; trying again shortly")
                    continue
                publish(state.site, outcome)
