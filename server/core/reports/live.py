"""The supervisor dashboard's live overview: waiting per service against its target, each counter's
state and since when, today's figures so far, and the alerts (long waits, printers in trouble)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from .. import models as m
from ..i18n import translate
from ..periods import named_period
from ..staffing import signed_in
from .clock import iso_ms, local_midnight_utc, utcnow
from .tally import Tally, add_to_total, rounded
from .tickets import C, E, T, connection, gather, queued_at, read_services, read_tickets


def live_overview(db, site, now: dt.datetime | None = None) -> dict:
    """What a supervisor watches now: per service the people waiting and the longest wait against
    its target; per counter its state and since when (serving which number, idle, paused and why);
    today's figures so far. Times are UTC ISO strings; the page counts the seconds on from them."""
    conn = connection(db)
    now = now or utcnow()
    day, since = local_midnight_utc(site, now)
    services = read_services(conn, site)
    waiting = {
        sid: (count, prio, oldest)
        for sid, count, prio, oldest in conn.execute(
            # the longest wait in the lobby: a remote number's from its check-in, as the reports
            # (a waiting ticket has joined the queue: a remote number waits only once checked in)
            select(T.c.service_id, func.count(), func.count(T.c.priority_id), func.min(queued_at()))
            .where(T.c.site_id == site.id, T.c.business_day == day, T.c.status == "waiting")
            .group_by(T.c.service_id)
        )
    }
    service_view = []
    for s in site.config.services:
        sid = site.service_ids[s.code]
        count, prio, oldest = waiting.get(sid, (0, 0, None))
        longest = (now - oldest).total_seconds() if oldest else None
        service_view.append(
            {
                "code": s.code,
                "name": s.name.vi,
                "name_en": s.name.en,
                "waiting": count,
                "priority": prio,
                "oldest_issued_at": iso_ms(oldest),
                "longest_wait_seconds": rounded(longest),
                "target_wait_minutes": s.target_wait_minutes,
                "over_target": longest is not None and longest > s.target_wait_minutes * 60,
            }
        )
    held = {
        r.counter_id: r
        for r in conn.execute(
            select(
                T.c.counter_id,
                T.c.number,
                T.c.service_id,
                T.c.status,
                T.c.last_called_at,
                T.c.started_at,
                T.c.called_at,
            ).where(T.c.site_id == site.id, T.c.status.in_(m.HELD_STATES))
        )
    }
    last_step = {
        r.counter_id: (r.kind, r.at)
        for r in conn.execute(
            select(E.c.counter_id, E.c.kind, E.c.at).where(
                E.c.id.in_(
                    select(func.max(E.c.id))
                    .where(
                        E.c.site_id == site.id,
                        E.c.at >= since,
                        E.c.counter_id.is_not(None),
                        E.c.kind.in_(
                            ("called", "finished", "no_show", "transferred", "paused", "resumed", "opened", "closed")
                        ),
                    )
                    .group_by(E.c.counter_id)
                )
            )
        )
    }
    at_counters = signed_in(conn, site, now)
    counter_view = []
    for r in conn.execute(
        select(C.c.id, C.c.number, C.c.name, C.c.state, C.c.pause_reason)
        .where(C.c.site_id == site.id, C.c.active.is_(True))
        .order_by(C.c.number)
    ):
        ticket = held.get(r.id)
        step = last_step.get(r.id)
        if ticket is not None:
            activity = "serving" if ticket.status == "serving" else "called"
            since_at = ticket.started_at if ticket.status == "serving" else ticket.last_called_at
        elif r.state in ("paused", "closed"):  # nobody serves there: since the pause or the closing
            activity = r.state
            since_at = step[1] if step and step[0] == r.state else None
        else:
            activity = "idle"
            since_at = step[1] if step else None
        counter_view.append(
            {
                "number": r.number,
                "name": r.name,
                "state": r.state,
                "activity": activity,
                "pause_reason": r.pause_reason,
                "since": iso_ms(since_at),
                # who is signed in there (a closed counter too: closed under its clerk, not opened yet)
                "signed_in": at_counters.get(r.number, []),
                "services": [site.service_codes[s] for s in site.counter_service_ids.get(r.number, [])],
                "ticket": None
                if ticket is None
                else {
                    "number": ticket.number,
                    "service": site.service_codes.get(ticket.service_id),
                    "status": ticket.status,
                    "called_at": iso_ms(ticket.called_at),
                },
            }
        )
    today = _today_figures(conn, site, day, {sid: s["target"] for sid, s in services.items()})
    return {
        "day": day.isoformat(),
        "now": iso_ms(now),
        "services": service_view,
        "counters": counter_view,
        "today": today,
    }


def _today_figures(conn, site, day: dt.date, targets: dict) -> dict:
    total = Tally()
    today = named_period(day.isoformat(), site.config.site.zone)  # the business day, as its hours
    for profile, alike in gather(read_tickets(conn, site, today)).items():
        add_to_total(total, alike, profile, targets)
    view = total.view()
    return {
        "issued": view["issued"],
        "served": view["served"],
        "no_show": view["no_show"],
        "wait_avg": view["wait"]["avg"],
        "target_met_pct": view["target_met_pct"],
    }


PRINTER_ALERT_STATES = ("paper_near_end", "paper_out", "offline")


def alerts(overview: dict, printers: list[dict]) -> list[dict]:
    """Waits past their service's target, and printers that need paper or are offline."""
    found = []
    for s in overview["services"]:
        if s["over_target"]:
            found.append(
                {
                    "kind": "wait",
                    "service": s["code"],
                    "longest_wait_seconds": s["longest_wait_seconds"],
                    "target_wait_minutes": s["target_wait_minutes"],
                    "message": translate(
                        "dash_alert_wait",
                        "vi",
                        service=s["name"],
                        minutes=int(s["longest_wait_seconds"] // 60),
                        target=s["target_wait_minutes"],
                    ),
                    "message_en": translate(
                        "dash_alert_wait",
                        "en",
                        service=s["name_en"] or s["name"],
                        minutes=int(s["longest_wait_seconds"] // 60),
                        target=s["target_wait_minutes"],
                    ),
                }
            )
    for p in printers:
        if p.get("state") in PRINTER_ALERT_STATES:
            found.append(
                {
                    "kind": "printer",
                    "printer": p["printer"],
                    "state": p["state"],
                    "message": translate(
                        "dash_alert_printer",
                        "vi",
                        printer=p["printer"],
                        state=translate(f"printer_state_{p['state']}", "vi"),
                    ),
                    "message_en": translate(
                        "dash_alert_printer",
                        "en",
                        printer=p["printer"],
                        state=translate(f"printer_state_{p['state']}", "en"),
                    ),
                }
            )
    return found


def live_view(db, site, printers: list[dict], now: dt.datetime | None = None) -> dict:
    """The overview with the printers and their alerts: what ``GET /api/v1/reports/live`` answers and the
    dashboard room's snapshot carries. ``printers`` is each printer's state and jobs, as the web layer
    knows them (server/web/printing.py ``printers_view``)."""
    overview = live_overview(db, site, now)
    return {**overview, "printers": printers, "alerts": alerts(overview, printers)}
