"""The summary report: a period's figures per service, counter, clerk, day or hour of day, and in total."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, select

from ..i18n import translate
from ..periods import Period
from . import kept
from .clock import LocalClock, iso, utcnow
from .rows import key_view, row_labels, row_order
from .tally import Tally, add_tally, add_to_total, merged, row_of
from .tickets import (
    CALLED,
    DONE,
    FINAL_AT,
    FINISHED,
    LEVEL_AT,
    MARKED_NO_SHOW,
    NO_SHOW,
    ORIGIN_AT,
    RATINGS,
    STATUS_AT,
    TRANSFERRED,
    C,
    E,
    T,
    connection,
    epoch_seconds,
    events_of,
    gather,
    has_ratings,
    rating_who,
    read_services,
    read_tickets,
    tickets_with_event,
)

GROUPS = ("service", "counter", "clerk", "day", "hour")


def summary(
    db, site, period: Period, group_by: str = "service", now: dt.datetime | None = None, from_tickets: bool = False
) -> dict:
    """The figures of ``period`` per ``group_by`` (service, counter, clerk, day, hour) and in total:
    of the days kept (kept.py) as kept, of the others from their tickets (all of them with
    ``from_tickets``: the reference the kept figures are tested and measured against)."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    conn = connection(db)
    services = read_services(conn, site)
    targets = {sid: s["target"] for sid, s in services.items()}
    kept_days = kept.plan(db, site, period, now, targets, (group_by,), from_tickets)  # the days kept, counted once
    conn = connection(db)  # (a Session given is committed when days were kept)
    rows, total = kept_days.rows(group_by)
    for part in kept_days.counted:  # the other days, from their tickets
        counted, counted_total = count_rows(conn, site, part, group_by, targets)
        for key, tally in counted.items():
            mine = rows.get(key)
            if mine is None:
                rows[key] = tally
            else:
                add_tally(mine, tally)
        add_tally(total, counted_total)

    kept.fetch_times([*rows.values(), total])  # the few kept times the medians and 90th percentiles need, at once
    labels = row_labels(conn, site, group_by, services, rows)
    keys = row_order(site, period, group_by, services, rows, labels)
    by_ticket = group_by in ("service", "day", "hour")
    view_rows = []
    numbers = (
        dict(conn.execute(select(C.c.id, C.c.number).where(C.c.site_id == site.id)).all())
        if group_by == "counter"
        else {}
    )
    for key in keys:
        tally = rows.get(key) or Tally()
        label_vi, label_en = labels.get(key, (str(key), str(key)))
        # the row's key: a service code, a counter number, "user:<id>", a date or an hour
        shown = (
            services[key]["code"]
            if group_by == "service"
            else numbers.get(key)
            if group_by == "counter"
            else key_view(key)
        )
        view_rows.append({"key": shown, "label": label_vi, "label_en": label_en, **tally.view(with_issued=by_ticket)})
    return {
        "report": "summary",
        "group_by": group_by,
        "site": {"id": site.id, "name": site.config.site.name},
        "period": period.view(),
        "generated_at": iso(now or utcnow()),
        "ratings_available": has_ratings(conn),
        "rows": view_rows,
        "total": {
            "key": None,
            "label": translate("report_total", "vi"),
            "label_en": translate("report_total", "en"),
            **total.view(),
        },
    }


def count_rows(conn, site, period, group_by, targets) -> tuple[dict, Tally]:
    """The rows of ``group_by`` and the total of the period's tickets, counted from the tickets."""
    count = {
        "service": _by_service,
        "day": _by_time,
        "hour": _by_time,
        "counter": _by_counter,
        "clerk": _by_clerk,
    }[group_by]
    return count(conn, site, period, group_by, targets)


def _by_service(conn, site, period, group_by, targets) -> tuple[dict, Tally]:
    """Issued, called, waits and transfers to the service chosen; the outcome to the one it ended in."""
    rows: dict[int, Tally] = {}
    for profile, alike in gather(read_tickets(conn, site, period)).items():
        row_of(rows, profile[ORIGIN_AT]).add_issue(alike, profile, targets[profile[ORIGIN_AT]])
        row_of(rows, profile[FINAL_AT]).add_outcome(alike, profile)
    return rows, merged(rows.values())


def _by_time(conn, site, period, group_by, targets) -> tuple[dict, Tally]:
    """Everything to the local day or hour of day of the issue."""
    by_day = group_by == "day"
    if by_day:  # the business day is the local date of the issue (engine.business_day)
        gathered = gather(read_tickets(conn, site, period, T.c.business_day))
    else:
        clock = LocalClock(period.zone)
        offset = clock.fixed_offset(period)  # one UTC offset all through: no lookup per ticket
        gathered = gather(
            read_tickets(conn, site, period, epoch_seconds(conn, T.c.issued_at)),
            lambda t: (int(((t[2] + offset) if offset is not None else clock.local(t[2])) // 3600) % 24, *t[3:]),
        )
    rows: dict = {}
    for (key, *profile), alike in gathered.items():
        tally = row_of(rows, _date(key) if by_day else key)
        tally.add_issue(alike, profile, targets[profile[ORIGIN_AT]])
        tally.add_outcome(alike, profile)
    return rows, merged(rows.values())


def _date(value) -> dt.date:
    """A DATE column's value: a date from PostgreSQL, ISO text from SQLite."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _by_counter(conn, site, period, group_by, targets, split=False) -> tuple[dict, Tally]:
    """Each step to the counter that did it; ratings to the counter the rating names."""
    return _by_actor(
        conn, site, period, targets, T.c.counter_id, T.c.counter_id, RATINGS.c.counter_id, E.c.counter_id, split
    )


def _by_actor(conn, site, period, targets, caller, ender, rater, event_actor, split=False) -> tuple[dict, Tally]:
    """Each step to whoever did it. A ticket never transferred nor requeued was called once, by
    ``caller`` of its row, and ended (served or absent) by ``ender``: the ticket row says who
    (``counter_id``, or ``called_by_*`` and ``ended_by_*``), so only transferred and requeued tickets
    need their events, whose ``event_actor`` did each step. Ratings go to the ``rater`` the rating names. With ``split``
    the rows are per business day and who, (day, who), and the total a dict of totals per day."""
    rows: dict = {}
    totals: dict = {}
    moved: dict[int, tuple] = {}  # transferred or requeued ticket id -> (wait, service time, origin service, day)
    by_day = (T.c.business_day,) if split else ()
    read_events = (T.c.transfers > 0) | T.c.id.in_(_requeued(site, period))
    tickets = read_tickets(
        conn, site, period, *by_day, case((read_events, T.c.id)), caller, ender, rating_who(conn, rater)
    )
    for key, alike in gather(tickets).items():
        day = _date(key[0]) if split else None
        moved_id, calling, ending, rating, *profile = key[1:] if split else key
        total = totals.get(day)
        if total is None:
            total = totals[day] = Tally()
        add_to_total(total, alike, profile, targets)
        if profile[LEVEL_AT]:
            row_of(rows, (day, rating) if split else rating).add_ratings(alike, profile)
        if moved_id is not None:
            moved[moved_id] = (
                alike.waits[0] if alike.waits else None,
                alike.service_times[0] if alike.service_times else None,
                profile[ORIGIN_AT],
                day,
            )
        elif alike.waits:
            tally = row_of(rows, (day, calling) if split else calling)
            tally.called += len(alike.waits)
            tally.add_waits(alike.waits, targets[profile[ORIGIN_AT]])
            if profile[STATUS_AT] in (DONE, NO_SHOW):  # called, so not expired
                row_of(rows, (day, ending) if split else ending).add_end(alike, profile)
    actions = []
    for ticket_id, kind, who in events_of(conn, list(moved), event_actor):
        wait, service, origin, day = moved[ticket_id]
        actions.append((ticket_id, kind, (day, who) if split else who, wait, service, origin))
    _count_steps(actions, rows, targets)
    return rows, (totals if split else totals.get(None) or Tally())


def _requeued(site, period):
    """The ids of the period's tickets a counter closed under (engine.close_counter's "requeued"): the
    row keeps who called them last, or nobody; their events say which counter and clerk called them
    (the first call, at the counter closed, ends the wait)."""
    return tickets_with_event(site.id, "requeued", *period.utc_bounds())


def _count_steps(actions, rows: dict, targets: dict) -> None:
    """Counter actions, in order, to whoever did them: (ticket id, kind code, who, the ticket's wait,
    its service time, its origin service)."""
    called: set[int] = set()
    for ticket_id, kind, key, wait, service, origin in actions:
        tally = row_of(rows, key)
        if kind == CALLED:
            tally.called += 1
            if ticket_id not in called:  # the first call ends the wait
                called.add(ticket_id)
                if wait is not None:
                    tally.add_waits([wait], targets[origin])
        elif kind == FINISHED:
            tally.served += 1
            if service is not None:
                tally.service_times.append(service)
        elif kind == MARKED_NO_SHOW:
            tally.no_show += 1
        elif kind == TRANSFERRED:
            tally.transferred += 1


def _by_clerk(conn, site, period, group_by, targets, split=False) -> tuple[dict, Tally]:
    """Each step to the clerk (or device) that did it; ratings to the clerk the rating names."""
    rows, total = _by_actor(
        conn,
        site,
        period,
        targets,
        _who(T.c.called_by_user_id, T.c.called_by_token_id),
        _who(T.c.ended_by_user_id, T.c.ended_by_token_id),
        RATINGS.c.user_id,
        _who(E.c.user_id, E.c.token_id),
        split,
    )
    if split:
        return {(day, _clerk(who)): tally for (day, who), tally in rows.items()}, total
    return {_clerk(who): tally for who, tally in rows.items()}, total


def _clerk(who):
    """A clerk's row key from ``_who``: ("user", id), ("token", id) or None."""
    return who if who is None else ("user", who) if who > 0 else ("token", -who)


def count_by_day(conn, site, period, targets) -> dict[dt.date, dict]:
    """The rows of every kept grouping per business day of ``period`` (whole days), counted from the
    tickets read once per grouping: day -> {"total": [(None, Tally)] (none without tickets),
    "service" | "hour" | "counter" | "clerk": [(key, Tally)]}. The same figures as ``count_rows``
    of each day alone."""
    days: dict[dt.date, dict] = {}

    def rows_of(day, grouping) -> dict:
        found = days.get(day)
        if found is None:
            found = days[day] = {g: {} for g in ("service", "hour", "counter", "clerk")}
        return found[grouping]

    clock = LocalClock(period.zone)
    offset = clock.fixed_offset(period)
    tickets = read_tickets(conn, site, period, T.c.business_day, epoch_seconds(conn, T.c.issued_at))
    for (day, *profile), alike in gather(tickets, lambda t: (t[2], *t[4:])).items():
        rows = rows_of(_date(day), "service")
        row_of(rows, profile[ORIGIN_AT]).add_issue(alike, profile, targets[profile[ORIGIN_AT]])
        row_of(rows, profile[FINAL_AT]).add_outcome(alike, profile)
    hour_of = (
        (lambda t: int((t[3] + offset) // 3600) % 24)
        if offset is not None
        else (lambda t: int(clock.local(t[3]) // 3600) % 24)
    )
    for (day, hour, *profile), alike in gather(tickets, lambda t: (t[2], hour_of(t), *t[4:])).items():
        tally = row_of(rows_of(_date(day), "hour"), hour)
        tally.add_issue(alike, profile, targets[profile[ORIGIN_AT]])
        tally.add_outcome(alike, profile)
    for grouping, count in (("counter", _by_counter), ("clerk", _by_clerk)):
        rows, _totals = count(conn, site, period, grouping, targets, True)
        for (day, key), tally in rows.items():
            rows_of(day, grouping)[key] = tally
    result = {}
    for day, found in days.items():
        total = merged(found["service"].values())
        result[day] = {g: list(rows.items()) for g, rows in found.items()}
        result[day]["total"] = [(None, total)] if total.issued else []
    return result


def _who(user_id, token_id):
    """One number for who did a step: the user id, minus the token id for a device, or None."""
    return func.coalesce(user_id, -token_id)
