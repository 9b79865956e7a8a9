"""The site's local time: its business day and where that day began."""

from __future__ import annotations

import datetime as dt

from ..db import SiteRuntime
from ..models import EPOCH, EPOCH_UTC


def local_time(site: SiteRuntime, now: dt.datetime) -> dt.datetime:
    """``now`` (naive UTC) in the site's zone: ``now.replace(tzinfo=UTC).astimezone(zone)``, the same
    value, without ``replace`` (see models.utcnow)."""
    if now.tzinfo is not None:  # an aware time is read as UTC's wall clock, as replace() reads it
        now = now.replace(tzinfo=None)
    return (EPOCH_UTC + (now - EPOCH)).astimezone(site.config.site.zone)


def business_day(site: SiteRuntime, now: dt.datetime) -> dt.date:
    """The site's local date: numbers restart at local midnight, not at UTC midnight."""
    return local_time(site, now).date()


def since_local_midnight(site: SiteRuntime, now: dt.datetime) -> dt.datetime:
    """The start of the business day, as naive UTC (how the database keeps times)."""
    local_midnight = dt.datetime.combine(business_day(site, now), dt.time(), site.config.site.zone)
    return local_midnight.astimezone(dt.UTC).replace(tzinfo=None)
