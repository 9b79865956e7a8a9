"""Work the server does on its own clock: at each local midnight, end the day's waiting tickets and
train the wait predictor on the days before (server/web/waits.py)."""

from __future__ import annotations

import datetime as dt
import logging

import gevent

from ..core import bookings, faults, outbox, sites
from ..core import engine as q
from ..core.env_values import seconds_setting
from ..core.errors import NotFound
from .errors import report_database_fault
from .waits import retrain_quietly

log = logging.getLogger(__name__)

LAPSE_EVERY_SECONDS = 30  # a remote number lapses this long after its deadline at the latest
DAY_END_AFTER_SECONDS = 5  # the day ends this long after local midnight: a timer a little early is still past it


def seconds_to_next_day(site, now: dt.datetime, after: float = DAY_END_AFTER_SECONDS) -> float:
    """From ``now`` (naive UTC) to ``after`` seconds past the site's next local midnight (at least a
    second: a timer that fired a little before midnight looks again just after it)."""
    local = q.local_time(site, now)
    midnight = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (midnight - local).total_seconds() + after)


def site_day_end_loop(state, site_id: str) -> None:
    """At start (the server may have been off at midnight) and after every local midnight of the site:
    one greenlet per site (live_setup.start_site_work), each at its own midnight (its own time zone),
    ended when the site is removed (live_setup.forget_site)."""
    from .realtime import publish

    after = seconds_setting("QUEUEKIOSK_DAY_END_SECONDS", DAY_END_AFTER_SECONDS, 0.1, 3600)
    at_start = True
    try:
        while True:
            try:
                outcome = state.write(outbox.recording(q.expire_past_days))  # ticket.expired goes out too
            except NotFound:  # the site removed meanwhile: the loop ends (AppState.spawn_for)
                raise
            except Exception as error:  # nothing must end the loop: tried again in a minute
                if isinstance(error, faults.DATABASE_ERRORS):  # a busy database at midnight: said as for requests
                    report_database_fault(error, "the day's end", state.site, background=True)
                else:
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
            state.spawn_for(site_id, retrain_quietly, state)
            gevent.sleep(seconds_to_next_day(state.site, q.utcnow(), after))
    except (gevent.GreenletExit, NotFound):  # killed by forget_site, or its site found gone first
        log.info("site removed: its day-end loop stopped")  # (the line names the site)
        raise


def lapse_seconds() -> float:
    """How often the lapse loop looks: ``QUEUEKIOSK_LAPSE_SECONDS`` (the test of a number lapsing sets
    it short), else ``LAPSE_EVERY_SECONDS``."""
    return seconds_setting("QUEUEKIOSK_LAPSE_SECONDS", LAPSE_EVERY_SECONDS, 0.5, 3600)


def lapse_loop(state) -> None:
    """Remote numbers not checked in by their deadline lapse (server/core/bookings/ending.py), and the
    dashboard and webhooks hear it (booking.lapsed), at every site; what a retired site still holds ends."""
    every = lapse_seconds()
    while True:
        gevent.sleep(every)
        state.for_each_site(_lapse_at, state)


def _lapse_at(site_id: str, state) -> None:
    from .realtime import publish

    if state.site.config.site.retired:
        wind_up_retired(state, site_id)
    try:
        outcome = state.write(outbox.recording(bookings.lapse_overdue))
    except NotFound:  # its site removed (for_each_site passes it by)
        raise
    except faults.DATABASE_ERRORS as error:  # a busy database: said as for requests, tried again shortly
        report_database_fault(error, "remote numbers lapsing", state.site, background=True)
        return
    except Exception:  # nothing must end the loop
        log.exception("lapsing the overdue remote numbers failed; trying again shortly")
        return
    publish(state.site, outcome)


def wind_up_retired(state, site_id: str) -> None:
    """End what a retired site still holds (its bookings, its open counters: sites.wind_up), at its
    retirement and then in the lapse loop."""
    from .realtime import publish

    with state.at(site_id):
        try:
            outcome = state.write(outbox.recording(sites.wind_up))
        except faults.DATABASE_ERRORS as error:  # a busy database: said as for requests; the lapse loop tries again
            report_database_fault(error, "a retired site's wind-up", state.site, background=True)
            return
        except Exception:
            log.exception("ending what a retired site holds failed; trying again shortly")
            return
        if outcome.happened:
            log.info("site retired: %d booking(s) cancelled or counter(s) closed", len(outcome.happened))
            publish(state.site, outcome)
