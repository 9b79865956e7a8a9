"""A test on the real clock whose numbers must stay one business day's: it starts at least ``seconds``
before the site's midnight (17:00 UTC for the repo's config.yaml), waiting out the last ones if it
has to (one test in a day's 1,440 minutes waits, at most a minute).

The other way to keep a test within one day is tests/faked_clock.py's ``on_a_working_morning``, whose
servers must each start as a Python process of their own (libfaketime is preloaded at the start):
about 1-1.5 s of CPU a start, where a server forked from the session's zygote takes 0.1 s
(tests/server_fork.py). A test that needs no particular hour or weekday (its server ignores the
hours) only needs this.
"""

from __future__ import annotations

import datetime as dt
import time

from faked_clock import HCM


def seconds_to_midnight(zone=HCM) -> float:
    now = dt.datetime.now(zone)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), zone)
    return (midnight - now).total_seconds()


def within_one_day(seconds: float = 60, zone=HCM) -> None:
    """Return once the site's midnight is at least ``seconds`` ahead: the next ``seconds`` are one day."""
    left = seconds_to_midnight(zone)
    if left < seconds:
        time.sleep(left + 1)
