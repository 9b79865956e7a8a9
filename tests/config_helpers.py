"""Changes to the demo config that several test modules need."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def closed_now(config: dict) -> dict:
    """Opening hours that exclude now: neither today's nor tomorrow's weekday, and both are holidays."""
    today = dt.datetime.now(ZoneInfo(config["site"]["timezone"])).date()
    tomorrow = today + dt.timedelta(days=1)
    excluded = {WEEKDAYS[today.weekday()], WEEKDAYS[tomorrow.weekday()]}
    config["site"]["hours"]["days"] = [d for d in WEEKDAYS if d not in excluded]
    config["site"]["hours"]["holidays"] = [today.isoformat(), tomorrow.isoformat()]
    return config
