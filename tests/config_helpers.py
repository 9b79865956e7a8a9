"""Changes to the demo config that several test modules need."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def site_today(timezone: str = "Asia/Ho_Chi_Minh") -> dt.date:
    """The site's date now (config.yaml's site is in Hà Nội's time, UTC+7): from 17:00 UTC it is the
    machine's UTC date plus one, so a test's "today" or "days ahead" is counted from this, not dt.date.today()."""
    return dt.datetime.now(ZoneInfo(timezone)).date()


def closed_now(config: dict) -> dict:
    """Opening hours that exclude now: neither today's nor tomorrow's weekday, and both are holidays."""
    today = site_today(config["site"]["timezone"])
    tomorrow = today + dt.timedelta(days=1)
    excluded = {WEEKDAYS[today.weekday()], WEEKDAYS[tomorrow.weekday()]}
    config["site"]["hours"]["days"] = [d for d in WEEKDAYS if d not in excluded]
    config["site"]["hours"]["holidays"] = [today.isoformat(), tomorrow.isoformat()]
    return config


def with_procedures(config: dict) -> dict:
    """HT (civil status) with two procedures a clerk picks at the counter: KS (birth) and KH (marriage)."""
    service = next(s for s in config["services"] if s["code"] == "HT")
    service["procedures"] = [
        {"code": "KS", "name": {"vi": "Đăng ký khai sinh", "en": "Birth registration"}},
        {"code": "KH", "name": {"vi": "Đăng ký kết hôn", "en": "Marriage registration"}},
    ]
    return config
