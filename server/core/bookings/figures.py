"""Bookings' figures for the reports: booked, remote, cancelled (of them by the centre), on time, late,
no-shows, lapsed, and the day's tickets by origin."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..db import SiteRuntime
from ..models import utcnow
from .records import B, T, connection
from .slots import grace


def booking_figures(
    conn: Connection, site: SiteRuntime, first: dt.date, last: dt.date, now: dt.datetime | None = None
) -> dict:
    """Per service and day from ``first`` to ``last``: slots booked and numbers taken remotely,
    cancelled (and of those, ``cancelled_by_centre``: its site retired, its day or hours closed), checked
    in (on time or late; a remote number only on time, and counted again in ``remote_checked_in``), no-shows (a slot whose grace window passed with nobody checked in), lapsed
    remote numbers, and the day's tickets by origin; with totals, the no-show rate and punctuality over
    slots only (a remote number is never a no-show nor late: it would only dilute them), and the booked
    share of all tickets."""
    now = now or utcnow()
    conn = connection(conn)
    rows: dict[tuple, dict] = {}

    def row(day, service_id) -> dict:
        key = (day, site.service_codes.get(service_id))
        return rows.setdefault(key, {"date": day.isoformat(), "service": key[1], **dict.fromkeys(FIGURES, 0)})

    bookings = conn.execute(
        select(B.c.kind, B.c.status, B.c.business_day, B.c.service_id, B.c.slot_start, T.c.due_at, B.c.cancel_reason)
        .outerjoin(T, T.c.id == B.c.ticket_id)
        .where(B.c.site_id == site.id, B.c.business_day.between(first, last))
    )
    for kind, status, day, service_id, slot_start, due_at, cancel_reason in bookings:
        figures = row(day, service_id)
        figures["booked" if kind == "slot" else "remote"] += 1
        if status == "cancelled":
            figures["cancelled"] += 1
            figures["cancelled_by_centre"] += cancel_reason is not None
        elif status == "checked_in":  # a remote number checks in only before its deadline: on time
            figures["on_time" if kind == "remote" or due_at is not None else "late"] += 1
            figures["remote_checked_in"] += kind == "remote"
        elif kind == "slot" and status == "booked" and now > slot_start + grace(site, service_id):
            figures["no_show"] += 1
        elif kind == "remote" and status == "lapsed":
            figures["lapsed"] += 1
    tickets = conn.execute(
        select(T.c.business_day, T.c.origin_service_id, T.c.origin, func.count())
        .where(T.c.site_id == site.id, T.c.business_day.between(first, last))
        .group_by(T.c.business_day, T.c.origin_service_id, T.c.origin)
    )
    for day, service_id, origin, count in tickets:
        row(day, service_id)["walk_in" if origin is None else "tickets_booked"] += count
    days = [rows[key] for key in sorted(rows, key=lambda k: (k[0], k[1] or ""))]
    totals = {name: sum(r[name] for r in days) for name in FIGURES}
    slots_on_time = totals["on_time"] - totals["remote_checked_in"]
    slots_checked_in = slots_on_time + totals["late"]
    slots_due = slots_checked_in + totals["no_show"]
    tickets_all = totals["walk_in"] + totals["tickets_booked"]
    totals.update(
        no_show_rate=round(totals["no_show"] / slots_due, 3) if slots_due else None,
        punctuality=round(slots_on_time / slots_checked_in, 3) if slots_checked_in else None,
        booked_share=round(totals["tickets_booked"] / tickets_all, 3) if tickets_all else None,
    )
    return {"from": first.isoformat(), "to": last.isoformat(), "days": days, "totals": totals}


FIGURES = (
    "booked",
    "remote",
    "cancelled",
    "cancelled_by_centre",
    "on_time",
    "late",
    "remote_checked_in",
    "no_show",
    "lapsed",
    "walk_in",
    "tickets_booked",
)
