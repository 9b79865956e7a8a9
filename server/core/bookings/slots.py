"""A service's booking settings, its slots on a day, the booking window and the grace window."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, bindparam, select, text
from sqlalchemy.engine import Connection

from .. import engine as q
from ..config import WEEKDAYS, Hours
from ..config import Booking as BookingSettings
from ..db import SiteRuntime
from ..errors import Invalid, NotFound, QueueError
from ..models import utcnow
from ..periods import vn_date
from .records import SETUPS, connection, service_name


def settings_of(site: SiteRuntime, service: str) -> tuple[BookingSettings, int]:
    """The service's booking settings and row id; refused where it takes no bookings."""
    if site.config.site.retired:  # merged into another site: it takes no bookings
        raise site.retired_refusal()
    service_cfg = site.config.service(service)
    service_id = site.service_ids.get(service)
    if service_cfg is None or service_id is None:
        raise NotFound("unknown_service", service=service)
    if service_cfg.booking is None:
        raise QueueError("booking_not_offered", service=service_name(site, service_id))
    q.require_served(site, service)  # no counter would call the booked citizen
    return service_cfg.booking, service_id


def to_utc(local: dt.datetime) -> dt.datetime:
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def closing_at(site: SiteRuntime, day: dt.date, hours: Hours | None = None) -> dt.datetime:
    """The closing time of ``day`` (UTC) under ``hours`` (the site's, or a setup just saved): a remote
    number's latest deadline."""
    return to_utc(dt.datetime.combine(day, (hours or site.config.site.hours).close, site.config.site.zone))


def to_local(site: SiteRuntime, utc_naive: dt.datetime) -> dt.datetime:
    return q.local_time(site, utc_naive)


def slot_times(
    site: SiteRuntime, settings: BookingSettings, day: dt.date, hours: Hours | None = None
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The day's slots as (start, end), local and aware: from opening to closing time, none on a
    day the site is closed (its weekdays and holidays, as the kiosk keeps them). ``hours``: other
    opening hours than the site's (a setup just saved)."""
    hours, zone = hours or site.config.site.hours, site.config.site.zone
    opening = dt.datetime.combine(day, hours.open, zone)
    if not hours.is_open(opening):
        return []
    closing = dt.datetime.combine(day, hours.close, zone)
    step = dt.timedelta(minutes=settings.slot_minutes)
    slots, start = [], opening
    while start + step <= closing:
        slots.append((start, start + step))
        start += step
    return slots


def booking_window(site: SiteRuntime, settings: BookingSettings, now: dt.datetime) -> tuple[dt.date, dt.date]:
    today = q.business_day(site, now)
    return today, today + dt.timedelta(days=settings.days_ahead)


def check_day(site, settings, day: dt.date, now: dt.datetime) -> None:
    first, last = booking_window(site, settings, now)
    if not first <= day <= last:
        raise Invalid("invalid_booking_date", field="date", first=vn_date(first), last=vn_date(last))


def slots(
    conn: Connection, site: SiteRuntime, service: str, day: dt.date, now: dt.datetime | None = None
) -> list[dict]:
    """The slots of ``day`` still ahead, each with its free places."""
    now = now or utcnow()
    settings, service_id = settings_of(site, service)
    check_day(site, settings, day, now)
    times = [(s, e) for s, e in slot_times(site, settings, day) if to_utc(s) > now]
    if not times:
        return []
    booked = booked_over(connection(conn), site, service_id, day, to_utc(times[0][0]), to_utc(times[-1][1]))
    return [
        {
            "start": f"{s:%H:%M}",
            "end": f"{e:%H:%M}",
            "free": max(0, settings.per_slot - most_at_once(booked, to_utc(s), to_utc(e))),
        }
        for s, e in times
    ]


# a text statement, as booking._TAKE_PLACE, since every booking runs it
_OVERLAPPING = (
    text(
        "SELECT slot_start, slot_end, count(*) FROM bookings WHERE site_id = :site AND business_day = :day "
        "AND status != 'cancelled' AND service_id = :service AND kind = 'slot' "
        "AND slot_start < :end AND slot_end > :start GROUP BY slot_start, slot_end"
    )
    .bindparams(
        bindparam("day", type_=Date()),
        bindparam("start", type_=DateTime()),
        bindparam("end", type_=DateTime()),
    )
    .columns(slot_start=DateTime(), slot_end=DateTime())
)


def booked_over(
    conn: Connection, site: SiteRuntime, service_id: int, day: dt.date, start: dt.datetime, end: dt.datetime
) -> list[tuple]:
    """The service's slot bookings of ``day`` that hold their places (all but the cancelled) and overlap
    [``start``, ``end``) (UTC), as (start, end, how many) UTC, for ``most_at_once``: a slot's own, and with
    another grid of slots those of the old one; the day's listed slots', from the first to the last."""
    values = {"site": site.id, "service": service_id, "day": day, "start": start, "end": end}
    return conn.execute(_OVERLAPPING, values).all()


def most_at_once(booked: list[tuple], start: dt.datetime, end: dt.datetime) -> int:
    """The most of ``booked`` ((start, end, how many), UTC) holding one moment of the slot [start, end): the
    places it has fewer. With one grid of slots, its own bookings. Bookings made on another grid (before the
    opening time or the slot length was changed) keep the time their holders were told, each counted over
    its own time (not the whole slot's): at no moment are more than ``per_slot`` citizens booked, and a
    place that one more booking would not take over that is offered."""
    held = [(s, e, n) for s, e, n in booked if s < end and e > start]
    moments = [start, *(s for s, _, _ in held if s > start)]  # where the count of overlapping ones can rise
    return max(sum(n for s, e, n in held if s <= t < e) for t in moments)


def open_days(site: SiteRuntime, service: str, now: dt.datetime | None = None) -> list[str]:
    """The days of the booking window on which the service has slots (what the /book page offers)."""
    now = now or utcnow()
    settings, _ = settings_of(site, service)
    first, last = booking_window(site, settings, now)
    days = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return [d.isoformat() for d in days if any(to_utc(s) > now for s, _ in slot_times(site, settings, d))]


def slot_of(site, settings, day: dt.date, start: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    hours = site.config.site.hours
    if day in hours.holidays:  # (a page drawn before the holiday was saved): the holiday, not "no such time"
        raise Invalid("booking_holiday", field="date", date=vn_date(day))
    if WEEKDAYS[day.weekday()] not in hours.days:
        raise Invalid("booking_closed_day", field="date", date=vn_date(day), days=q.working_days(hours.days))
    for s, e in slot_times(site, settings, day):
        if f"{s:%H:%M}" == start:
            if to_utc(s) <= now:
                break  # begun already
            return to_utc(s), to_utc(e)
    raise Invalid("invalid_slot", field="start", start=start, date=vn_date(day))


def closed_by(
    site: SiteRuntime, hours: Hours, day: dt.date, slot_start: dt.datetime | None = None, slot_end=None
) -> str | None:
    """The field of ``hours`` that leaves a booking of ``day`` at a closed door, or None: its day a holiday
    ("hours.holidays") or no longer a working day ("hours.days"), or its slot (``slot_start``/``slot_end``,
    UTC; none for a remote number), at the local time its holder was told, beginning before the opening
    time ("hours.open") or ending after the closing time ("hours.close")."""
    if day in hours.holidays:
        return "hours.holidays"
    if WEEKDAYS[day.weekday()] not in hours.days:
        return "hours.days"
    if slot_start is not None:
        start, end = to_local(site, slot_start), to_local(site, slot_end)
        if start.time() < hours.open:
            return "hours.open"
        if end.date() > start.date() or end.time() > hours.close:
            return "hours.close"
    return None


def check_hours_saved(
    conn: Connection,
    site: SiteRuntime,
    day: dt.date,
    slot_start: dt.datetime | None = None,
    slot_end=None,
    service: str | None = None,
) -> None:
    """A booking (or remote number) taken with ``site``'s setup while a new one with other opening hours
    is saved, in this process (queued behind the save) or in another (which takes it up within half a
    second): refused, saying to try again, when the saved hours close its day or slot (``closed_by``),
    so that it never stays booked where the save's cancellation of the stranded bookings missed it; and a
    slot of ``service`` no longer a slot of the saved setup (its opening time or slot length moved the
    grid), so that the new grid's bookings, which count the places of the old one's (``most_at_once``),
    never miss one made on the old grid after they read it.
    The setup's row is read first in the booking's transaction, and on PostgreSQL held shared: a save,
    which holds it for update, then waits for the booking to commit (and sees it), or the booking for
    the save (and sees the new version)."""
    query = select(SETUPS.c.version).where(SETUPS.c.site_id == site.id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    version = conn.execute(query).scalar()
    if version is None or version <= site.version:
        return
    document = conn.execute(select(SETUPS.c.document).where(SETUPS.c.site_id == site.id)).scalar_one()
    hours = Hours.of(document["site"]["hours"])
    if hours != site.config.site.hours and closed_by(site, hours, day, slot_start, slot_end) is not None:
        raise QueueError("booking_hours_changed", date=vn_date(day))
    if (
        slot_start is not None
        and service is not None
        and not _on_saved_grid(site, document, hours, service, day, slot_start, slot_end)
    ):
        raise QueueError("booking_hours_changed", date=vn_date(day))


def _on_saved_grid(
    site: SiteRuntime, document: dict, hours: Hours, service: str, day: dt.date, slot_start, slot_end
) -> bool:
    """Whether the slot [``slot_start``, ``slot_end``) (UTC) is one of ``service``'s in the saved setup
    ``document``: its start and its end (a shorter slot length keeps some starts, 30 to 15 minutes all of
    the old ones, and a booking of the old length would overlap the next new slot unseen). A service that
    no longer takes bookings there is left to the checks of the setup it is taken up with."""
    settings = saved_settings(document, service)
    if settings is None:
        return True
    return any(to_utc(s) == slot_start and to_utc(e) == slot_end for s, e in slot_times(site, settings, day, hours))


def saved_settings(document: dict | None, service: str) -> BookingSettings | None:
    """``service``'s booking settings in a stored setup ``document`` (a save's, or another site's), or None
    where it takes no bookings there."""
    saved = next((s.get("booking") for s in (document or {}).get("services", []) if s.get("code") == service), None)
    return BookingSettings.of(saved) if isinstance(saved, dict) else None


def grace(site: SiteRuntime, service_id: int) -> dt.timedelta:
    service = site.config.service(site.service_codes.get(service_id, ""))
    return dt.timedelta(minutes=service.booking.grace_minutes if service and service.booking else 0)
