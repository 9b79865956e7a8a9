"""A report's rows: which ones it shows, in which order, and their labels (vi, en)."""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import select

from ..i18n import translate
from ..periods import Period, vn_date
from .tickets import TOK, C, U

MAX_DAYS_OF_HOURS = 24  # a period shorter than this many hours lists the hours it touches, in its own order


def row_labels(conn, site, group_by, services, rows) -> dict:
    if group_by == "service":
        return {sid: (s["name"], s["name_en"] or s["name"]) for sid, s in services.items()}
    if group_by == "counter":
        labels = {
            r.id: (
                r.name or translate("report_counter_n", "vi", number=r.number),
                translate("report_counter_n", "en", number=r.number),
            )
            for r in conn.execute(select(C.c.id, C.c.number, C.c.name).where(C.c.site_id == site.id))
        }
        labels[None] = (translate("report_unknown", "vi"), translate("report_unknown", "en"))
        return labels
    if group_by == "clerk":
        labels = {None: (translate("report_unknown", "vi"), translate("report_unknown", "en"))}
        users = [k[1] for k in rows if k and k[0] == "user"]
        tokens = [k[1] for k in rows if k and k[0] == "token"]
        if users:
            for r in conn.execute(select(U.c.id, U.c.username, U.c.full_name).where(U.c.id.in_(users))):
                # the name people know (set in /admin), with the login name that tells two namesakes apart
                label = f"{r.full_name} ({r.username})" if r.full_name else r.username
                labels[("user", r.id)] = (label, label)
        if tokens:
            for r in conn.execute(select(TOK.c.id, TOK.c.name).where(TOK.c.id.in_(tokens))):
                labels[("token", r.id)] = (
                    translate("report_device", "vi", name=r.name),
                    translate("report_device", "en", name=r.name),
                )
        return labels
    if group_by == "day":
        return {day: (vn_date(day), vn_date(day)) for day in rows if isinstance(day, dt.date)}
    return {}


def hour_label(hour: int) -> str:
    return f"{hour:02d}:00–{(hour + 1) % 24:02d}:00"


def row_order(site, period: Period, group_by, services, rows, labels) -> list:
    config = site.config
    if group_by == "service":
        known = [sid for sid, s in services.items() if s["active"]]
        return sorted(set(known) | set(rows), key=lambda sid: services[sid]["order"])
    if group_by == "counter":
        active = [site.counter_ids[c.number] for c in config.counters]
        extra = sorted((k for k in rows if k not in active), key=lambda k: (k is None, labels.get(k, ("",))[0]))
        return active + extra
    if group_by == "clerk":
        return sorted(rows, key=lambda k: (k is None, k is not None and k[0] == "token", labels.get(k, ("",))[0]))
    if group_by == "day":
        hours = config.site.hours
        open_days = {
            d
            for d in period.days()
            if ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d.weekday()] in hours.days and d not in hours.holidays
        }
        for day in open_days | set(rows):
            labels.setdefault(day, (vn_date(day), vn_date(day)))
        return sorted(open_days | set(rows))
    # hour of day
    span_hours = (period.end - period.start).total_seconds() / 3600
    if span_hours < MAX_DAYS_OF_HOURS:  # e.g. 22:00 to 02:00: 22, 23, 0, 1 in that order
        start_hour = period.start.hour
        touched = {(start_hour + i) % 24 for i in range(math.ceil(span_hours + period.start.minute / 60))}
        keys = sorted(touched | set(rows), key=lambda h: (h - start_hour) % 24)
    else:
        hours = config.site.hours
        last = hours.close.hour if hours.close.minute == 0 else hours.close.hour + 1
        keys = sorted(set(range(hours.open.hour, last)) | set(rows))
    for hour in keys:
        labels[hour] = (hour_label(hour), hour_label(hour))
    return keys


def key_view(key):
    if isinstance(key, dt.date):
        return key.isoformat()
    if isinstance(key, tuple):
        return f"{key[0]}:{key[1]}"
    return key
