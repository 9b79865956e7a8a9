"""A ticket as the API, the displays and the events show it."""

from __future__ import annotations

import datetime as dt

from ..db import SiteRuntime
from .prepared import date_text, naive_time_text


def ticket_view(site: SiteRuntime, row) -> dict:
    service = site.service_codes.get(row.service_id)
    return {
        "id": row.public_id,
        "number": row.number,
        "display": str(row.number),
        "service": service,
        "origin_service": site.service_codes.get(row.origin_service_id),
        "priority": site.priority_codes.get(row.priority_id) if row.priority_id else None,
        "status": row.status,
        "issued_at": iso(row.issued_at),
        # when it joined the queue, its wait's start (as the reports count it): the issue, or a remote
        # number's check-in at the centre (None until then)
        "queued_at": iso(queued_at(row)),
        "called_at": iso(row.called_at),
        # the latest call and the start of the service: the clerk console's service timer
        "last_called_at": iso(getattr(row, "last_called_at", None)),
        "started_at": iso(getattr(row, "started_at", None)),
        "finished_at": iso(getattr(row, "finished_at", None)),
        "counter": site.counter_numbers.get(row.counter_id) if row.counter_id else None,
        "target_counter": site.counter_numbers.get(row.target_counter_id) if row.target_counter_id else None,
        "kiosk": row.kiosk_id,
        "business_day": date_text(row.business_day),
        # None: a walk-in; "booked" or "remote" (server/core/bookings/): the console and displays mark it
        "origin": getattr(row, "origin", None),
        "due_at": iso(getattr(row, "due_at", None)),  # a booking checked in on time is called from then
        # the dossier code and the procedure served, set at the counter (server/core/dossiers.py)
        "dossier_code": getattr(row, "dossier_code", None),
        "procedure": getattr(row, "procedure", None),
    }


def queued_at(row) -> dt.datetime | None:
    """When the ticket joined the queue: a remote number ("origin" remote, taken from a phone) at its
    holder's check-in, any other at its issue (a slot's ticket is issued at the check-in); the reports'
    ``queued_at`` (server/core/reports/tickets.py) says the same in SQL."""
    if getattr(row, "origin", None) == "remote":
        return getattr(row, "checked_in_at", None)
    return row.issued_at


def iso(value: dt.datetime | None) -> str | None:
    """A naive UTC time as ISO 8601 with milliseconds and "Z"; None stays None."""
    if not value:
        return None
    if type(value) is dt.datetime and value.tzinfo is None:
        # isoformat(timespec="milliseconds") + "Z", the same text, cut from the text with microseconds
        # that the statement binding this time kept (prepared.naive_time_text: a new ticket's issued_at
        # and queued_at are the ``now`` its INSERT bound, formatted once)
        text = naive_time_text(value)
        return f"{text[:10]}T{text[11:23]}Z"
    return value.isoformat(timespec="milliseconds") + "Z"
