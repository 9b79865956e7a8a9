"""Time in reports: the site's local hour of a UTC moment (fast, for a year of tickets), and the
ISO forms reports give times in."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ..periods import Period


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class LocalClock:
    """UTC epoch seconds -> local "epoch" seconds (epoch + UTC offset), cached per quarter hour.

    Every UTC offset in use is a whole number of quarter hours, so one lookup per 900 s of
    time serves every ticket issued in it, and the local hour becomes arithmetic.
    """

    def __init__(self, zone: ZoneInfo):
        self.zone = zone
        self._offsets: dict[int, int] = {}

    def local(self, epoch: float) -> float:
        bucket = int(epoch // 900)
        offset = self._offsets.get(bucket)
        if offset is None:
            moment = dt.datetime.fromtimestamp(bucket * 900, dt.UTC).astimezone(self.zone)
            offset = self._offsets[bucket] = int(moment.utcoffset().total_seconds())
        return epoch + offset

    def fixed_offset(self, period: Period) -> int | None:
        """The UTC offset (s) when it is the same all through ``period`` (checked day by day), else None."""
        start, end = (utc_epoch(b) for b in period.utc_bounds())
        offsets = {self.local(moment) - moment for moment in range(int(start), int(end) + 86400, 86400)}
        return offsets.pop() if len(offsets) == 1 else None


def utc_epoch(value: dt.datetime) -> float:
    return value.replace(tzinfo=dt.UTC).timestamp()


def iso(value: dt.datetime) -> str:
    return value.isoformat(timespec="seconds") + "Z"


def iso_ms(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") + "Z" if value else None


def local_midnight_utc(site, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    zone = site.config.site.zone
    day = now.replace(tzinfo=dt.UTC).astimezone(zone).date()
    return day, dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC).replace(tzinfo=None)
