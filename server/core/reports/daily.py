"""The daily summary: what a centre pastes into its report, as figures and as a ready sentence."""

from __future__ import annotations

import datetime as dt

from ..periods import Period
from .figures import summary
from .peaks import peak_hours
from .tally import pct
from .text import summary_text


def daily_summary(db, site, period: Period, now: dt.datetime | None = None, from_tickets: bool = False) -> dict:
    """What a centre pastes into its report: received, served, no-show, early / on time / late
    against the target wait, satisfaction, the busiest hour, and a row per service; with the
    same in a ready sentence (``text``, ``text_en``)."""
    by_service = summary(db, site, period, "service", now, from_tickets)
    peaks = peak_hours(db, site, period, now, from_tickets)
    total = by_service["total"]
    result = {
        "report": "daily",
        "site": by_service["site"],
        "period": by_service["period"],
        "generated_at": by_service["generated_at"],
        "ratings_available": by_service["ratings_available"],
        "received": total["issued"],
        "served": total["served"],
        "served_pct": pct(total["served"], total["issued"]),
        "no_show": total["no_show"],
        "transferred": total["transferred"],
        "not_called": total["not_called"],
        "expired": total["expired"],
        "cancelled": total["cancelled"],
        "lapsed": total["lapsed"],
        "wait_avg": total["wait"]["avg"],
        "wait_max": total["wait"]["max"],
        "service_avg": total["service_time"]["avg"],
        "early": total["early"],
        "on_time": total["on_time"],
        "late": total["late"],
        "target_met_pct": total["target_met_pct"],
        "ratings": total["ratings"],
        "peak": peaks["peak"],
        "days_with_tickets": peaks["days_with_tickets"],
        "services": by_service["rows"],
        "total": total,
    }
    result["text"] = summary_text(result, site.config.site.name, "vi")
    result["text_en"] = summary_text(result, site.config.site.name, "en")
    return result
