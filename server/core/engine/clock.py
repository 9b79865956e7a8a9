"""The site's local time: its business day and where that day began."""

from __future__ import annotations

import datetime as dt

from ..db import SiteRuntime


def local_time(site: SiteRuntime, now: dt.datetime) -> dt.datetime:
    return now.replace(tzinfo=dt.UTC).astimezone(site.config.site.zone)


def business_day(site: SiteRuntime, now: dt.datetime) -> dt.date:
    """The site's local date: numbers restart at local midnight, not at UTC midnight."""
    return local_time(site, now).date()


def since_local_midnight(site: SiteRuntime, now: dt.datetime) -> dt.datetime:
    """The start of the business day, as naive UTC (how the database keeps times)."""
    local_midnight = dt.datetime.combine(business_day(site, now), dt.time(), site.config.site.zone)
    return local_midnight.astimezone(dt.UTC).replace(tzinfo=None)
