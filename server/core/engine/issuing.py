"""Issuing a ticket: the kiosk's one command."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from base64 import urlsafe_b64encode
from types import SimpleNamespace
from typing import TYPE_CHECKING

from sqlalchemy import Date, DateTime, Integer, String, bindparam, insert, text

from ..config import WEEKDAYS
from ..db import SiteRuntime
from ..errors import NotFound, QueueError, TooMany
from ..i18n import Listed, Localized, Phrase
from ..models import utcnow
from .clock import local_time
from .estimates import Estimator, promised_wait, waiting_ahead
from .numbering import ESTIMATE_INPUTS_SQL, QUEUE_COUNTS_SQL, TAKE_NUMBER_SQL, next_number, shown_counts
from .prepared import JsonRows, Prepared
from .records import T, connection, record_event
from .types import NOBODY, Actor, Happened, Outcome
from .views import ticket_view

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_TICKET_KEYS = (
    "public_id",
    "site_id",
    "origin_service_id",
    "service_id",
    "number",
    "business_day",
    "priority_id",
    "kiosk_id",
    "status",
    "issued_at",
    "transfers",
)
_INSERT_TICKET = Prepared(insert(T).returning(T.c.id), keys=_TICKET_KEYS)  # built once: see numbering.py, prepared.py
# on SQLite the new ticket's id is the cursor's lastrowid: a RETURNING runs through an ephemeral table there
_INSERT_TICKET_NO_RETURNING = Prepared(insert(T), keys=_TICKET_KEYS)
# On PostgreSQL the number, the ticket and its "issued" event are one statement, one round trip
# instead of three; what it stores is what next_number, _INSERT_TICKET and record_event store (the
# event's detail byte for byte the JSON record_event writes). Tickets of different services lock
# different number rows: they never wait for each other.
# Several tickets issued side by side in a batch of the group writer (pg_writer.Gathered): one
# statement, whose rows are what the statement above gives each, run one after another in their
# order. Each queue's number row is taken once (in (day, service) order, as a batch takes its rows)
# for all its tickets: its k-th of t tickets gets the number, waiting count and priority count the
# row had after its k-th increment. The tickets' values go as one JSON array (prepared.JsonRows): sent
# as 13 arrays, psycopg's writing them took 6 % of a ticket's instructions in one process and 8 % in two
# (callgrind_production). A time is issue()'s naive UTC: JSON holds its ISO text, which PostgreSQL reads
# back to the microsecond.
_ISSUE_MANY_ON_POSTGRESQL = JsonRows(
    "WITH input AS (SELECT * FROM ROWS FROM (json_to_recordset(%(rows)s::json) AS (service integer, day date,"
    " start integer, priority integer, public_id varchar, site_id varchar, priority_id integer, kiosk_id varchar,"
    " now timestamp, user_id integer, token_id integer, detail_head varchar, detail_tail varchar))"
    " WITH ORDINALITY AS i(service, day, start, priority, public_id, site_id, priority_id, kiosk_id, now, user_id,"
    " token_id, detail_head, detail_tail, n)"
    "), ranked AS (SELECT *, row_number() OVER queue AS k, count(*) OVER everyone AS tickets,"
    " sum(priority) OVER queue AS priorities_so_far, sum(priority) OVER everyone AS priorities"
    " FROM input WINDOW everyone AS (PARTITION BY day, service), queue AS (everyone ORDER BY n)"
    "), seq AS ("
    " INSERT INTO number_sequences (service_id, business_day, last_number, waiting, priority_waiting)"
    " SELECT service, day, start + tickets - 1, tickets, priorities FROM ranked WHERE k = 1 ORDER BY day, service"
    " ON CONFLICT (service_id, business_day) DO UPDATE SET"
    " last_number = number_sequences.last_number + excluded.waiting,"
    " waiting = number_sequences.waiting + excluded.waiting,"
    " priority_waiting = number_sequences.priority_waiting + excluded.priority_waiting"
    f" RETURNING service_id, business_day, last_number, {QUEUE_COUNTS_SQL}"
    "), numbered AS (SELECT r.*, s.last_number - r.tickets + r.k AS number, s.waiting - r.tickets + r.k AS waiting,"
    " s.priority_waiting - r.priorities + r.priorities_so_far AS priority_waiting"
    " FROM ranked r JOIN seq s ON s.service_id = r.service AND s.business_day = r.day"
    "), ticket AS ("
    " INSERT INTO tickets (public_id, site_id, origin_service_id, service_id, number, business_day,"
    " priority_id, kiosk_id, status, issued_at, transfers)"
    " SELECT public_id, site_id, service, service, number, day, priority_id, kiosk_id, 'waiting', now, 0"
    " FROM numbered ORDER BY n RETURNING id, public_id"
    "), event AS ("
    " INSERT INTO events (site_id, kind, at, ticket_id, service_id, counter_id, user_id, token_id, detail)"
    " SELECT x.site_id, 'issued', x.now, ticket.id, x.service, NULL, x.user_id, x.token_id,"
    " CAST(x.detail_head || x.number || x.detail_tail AS json) FROM numbered x JOIN ticket USING (public_id)"
    " ORDER BY x.n"
    f") SELECT x.number, x.waiting, x.priority_waiting, {ESTIMATE_INPUTS_SQL.replace(':service', 'x.service').replace(':day', 'x.day')},"
    " ticket.id"
    " FROM numbered x JOIN ticket USING (public_id) ORDER BY x.n"
)
_ISSUE_ON_POSTGRESQL = Prepared(
    text(
        f"WITH seq AS ({TAKE_NUMBER_SQL}), ticket AS ("
        " INSERT INTO tickets (public_id, site_id, origin_service_id, service_id, number, business_day,"
        " priority_id, kiosk_id, status, issued_at, transfers)"
        " SELECT :public_id, :site_id, :service, :service, last_number, :day, :priority_id, :kiosk_id,"
        " 'waiting', :now, 0 FROM seq RETURNING id, number"
        "), event AS ("
        " INSERT INTO events (site_id, kind, at, ticket_id, service_id, counter_id, user_id, token_id, detail)"
        " SELECT :site_id, 'issued', :now, id, :service, NULL, :user_id, :token_id,"
        " CAST(:detail_head || number || :detail_tail AS json) FROM ticket"
        ") "
        f"SELECT seq.last_number, seq.waiting, seq.priority_waiting, {ESTIMATE_INPUTS_SQL}, ticket.id FROM seq, ticket"
    ).bindparams(
        bindparam("day", type_=Date()),
        bindparam("now", type_=DateTime()),
        *(
            bindparam(name, type_=String())
            for name in ("public_id", "site_id", "kiosk_id", "detail_head", "detail_tail")
        ),
        *(
            bindparam(name, type_=Integer())
            for name in ("service", "start", "priority", "priority_id", "user_id", "token_id")
        ),
    ),
    many=_ISSUE_MANY_ON_POSTGRESQL,
)


# On SQLite the "issued" event with its detail's JSON written here: json.dumps of the detail at every
# ticket (through the JSON type's bind processor) was ~4 % of a ticket's time. The text is the one
# record_event stores, byte for byte: the detail's JSON around its number, made once per priority and
# kiosk (both known to the site's setup by then, so a handful of entries).
_INSERT_ISSUED_EVENT = Prepared(
    text(
        "INSERT INTO events (site_id, kind, at, ticket_id, service_id, counter_id, user_id, token_id, detail)"
        " VALUES (:site_id, 'issued', :now, :ticket_id, :service, NULL, :user_id, :token_id, :detail)"
    ).bindparams(
        bindparam("now", type_=DateTime()),
        bindparam("site_id", type_=String()),
        bindparam("detail", type_=String()),
        *(bindparam(name, type_=Integer()) for name in ("ticket_id", "service", "user_id", "token_id")),
    )
)
_DETAIL_AROUND_NUMBER: dict[tuple, tuple[str, str]] = {}


def _detail_around_number(serialize, priority: str | None, kiosk: str | None) -> tuple[str, str]:
    """An "issued" event's detail as ``serialize`` writes it (the engine's JSON serializer, as
    record_event's statement uses it): the text before and after its number."""
    key = (serialize, priority, kiosk)
    parts = _DETAIL_AROUND_NUMBER.get(key)
    if parts is None:
        if len(_DETAIL_AROUND_NUMBER) > 1_000:  # setups change while a server runs: never unbounded
            _DETAIL_AROUND_NUMBER.clear()
        head, _, tail = serialize({"number": None, "priority": priority, "kiosk": kiosk}).partition("null")
        parts = _DETAIL_AROUND_NUMBER[key] = (head, tail)
    return parts


_SERVICES_BY_CODE: dict[int, tuple] = {}  # id(config) -> (config, {code: service})


def _service_of(config, code: str):
    """``config.service(code)`` (the first service of that code, or None) from a dict made once per
    setup: the setup's list walked by a generator was ~2 % of a ticket's time on the hub. A setup is
    never changed in place (a saved change makes a new one)."""
    held = _SERVICES_BY_CODE.get(id(config))
    if held is None or held[0] is not config:
        if len(_SERVICES_BY_CODE) > 64:  # setups change while a server runs: never unbounded
            _SERVICES_BY_CODE.clear()
        by_code = {}
        for one in config.services:
            by_code.setdefault(one.code, one)
        held = _SERVICES_BY_CODE[id(config)] = (config, by_code)
    return held[1].get(code)


# Public ids made ahead, each secrets.token_urlsafe(9): 9 random bytes, 12 URL-safe characters. One
# os.urandom (a getrandom system call) for 455 tickets instead of one a ticket: 9-byte pieces of it
# encode to the 12-character pieces of its encoding. A forked child drops its parent's: two processes
# never give out the same id. (list.pop and extend are atomic: no two threads take one id.)
_PUBLIC_IDS: list[str] = []
_IDS_AHEAD = 455
os.register_at_fork(after_in_child=_PUBLIC_IDS.clear)


def new_public_id() -> str:
    try:
        return _PUBLIC_IDS.pop()
    except IndexError:
        text = urlsafe_b64encode(os.urandom(9 * _IDS_AHEAD)).decode()
        _PUBLIC_IDS.extend([text[start : start + 12] for start in range(0, len(text), 12)])
        return _PUBLIC_IDS.pop()


def require_served(site: SiteRuntime, service: str, refused: str = "service_unserved_new") -> None:
    """Refuse to put a number where no counter is set up to serve (open now or not): nobody would ever call
    it. ``refused`` keys what the refusal says it stops (a new number or booking, or a transfer)."""
    config = site.config
    if not config.served(service):
        name = _service_of(config, service).name
        raise QueueError("service_unserved", service=Localized(name.vi, name.en), refused=Phrase(refused))


def working_days(days: list[str]) -> Phrase:
    """The working days as the kiosk's closed screen names them (kiosk daysText in queuekiosk.js):
    "Thứ Hai đến Thứ Bảy" for a run of three or more, else "Thứ Hai, Thứ Tư, Thứ Sáu"."""
    indexes = [i for i, day in enumerate(WEEKDAYS) if day in days]
    names = [Phrase(f"kiosk_day_{WEEKDAYS[i]}") for i in indexes]
    if len(indexes) >= 3 and indexes[-1] - indexes[0] == len(indexes) - 1:
        return Phrase("kiosk_days_range", first=names[0], last=names[-1])
    return Listed(names, ", ")


def closed_refusal(hours, local_now: dt.datetime) -> QueueError:
    """Why no number now: a holiday, a day that is not a working day (naming the working days), else the
    hours (not "outside 07:30–17:00" at noon on a Sunday, nor "come back at 7:30" on a holiday)."""
    times = {"open": hours.open.strftime("%H:%M"), "close": hours.close.strftime("%H:%M")}
    if local_now.date() in hours.holidays:
        return QueueError("closed_holiday", **times)
    if WEEKDAYS[local_now.weekday()] not in hours.days:
        return QueueError("closed_day", days=working_days(hours.days), **times)
    return QueueError("closed", **times)


def issue(
    session: Session,
    site: SiteRuntime,
    service: str,
    priority: str | None = None,
    kiosk: str | None = None,
    now: dt.datetime | None = None,
    actor: Actor | None = None,
    check_hours: bool = True,
    estimator: Estimator | None = None,
    check_served: bool = True,
) -> Outcome:
    """A new waiting ticket with its number, people ahead and promised wait (``estimator``: the
    trained wait predictor, see estimates.py; without it, the usual formula). ``check_served=False``:
    a booking made earlier checks in even where no counter serves its service any more."""
    now = now or utcnow()
    if now.tzinfo is not None:  # read as UTC's wall clock, as clock.local_time reads it: the database
        now = now.replace(tzinfo=None)  # keeps naive UTC, which a batch's JSON and one ticket's statement store alike
    config = site.config
    if config.site.retired:  # merged into another site: it gives no numbers
        raise site.retired_refusal()
    service_cfg = _service_of(config, service)
    service_id = site.service_ids.get(service)
    if service_cfg is None or service_id is None:
        raise NotFound("unknown_service", service=service)
    if check_served:
        require_served(site, service)
    priority_id = None
    if priority is not None:
        priority_id = site.priority_ids.get(priority)
        if priority_id is None:
            raise NotFound("unknown_priority", priority=priority)
    if kiosk is not None:
        kiosk_cfg = config.kiosk(kiosk)
        if kiosk_cfg is None:
            raise NotFound("unknown_kiosk", kiosk=kiosk)
        if service not in config.kiosk_services(kiosk_cfg):
            raise QueueError("service_not_at_kiosk", kiosk=kiosk, service=service)
    hours = config.site.hours
    local_now = local_time(site, now)
    if check_hours and not hours.is_open(local_now):
        raise closed_refusal(hours, local_now)

    conn = connection(session)
    day = local_now.date()  # business_day(site, now): the site's local date
    public_id = new_public_id()
    actor = actor or NOBODY
    ticket_id = None
    # the "issued" event's detail around its number, as record_event writes it
    head, tail = _detail_around_number(conn.dialect._json_serializer or json.dumps, priority, kiosk)
    if conn.dialect.name == "postgresql":
        number, waiting, priority_waiting, avg_seconds, open_counters, ticket_id = _ISSUE_ON_POSTGRESQL.one(
            conn,
            {
                "service": service_id,
                "day": day,
                "start": service_cfg.numbers.start,
                "priority": int(priority_id is not None),
                "public_id": public_id,
                "site_id": site.id,
                "priority_id": priority_id,
                "kiosk_id": kiosk,
                "now": now,
                "user_id": actor.user_id,
                "token_id": actor.token_id,
                "detail_head": head,
                "detail_tail": tail,
            },
        )
    else:
        number, waiting, priority_waiting, avg_seconds, open_counters = next_number(
            conn, service_id, day, service_cfg.numbers.start, priority_id is not None
        )
    # waiting, priority_waiting: the queue's counts (its numbers sent to one counter, which only that
    # counter calls, left out: numbering.py), as the lobby, the status and the next queue.changed count it
    # (never below 0, as every path shows them: numbering.shown_counts)
    counts = shown_counts(service, waiting, priority_waiting)
    waiting = counts["waiting"]
    if number > service_cfg.numbers.end:
        # the caller rolls back, so the sequence does not move: no gap, no partial write
        raise QueueError("range_exhausted", service=service, end=service_cfg.numbers.end)
    if service_cfg.daily_limit is not None and number - service_cfg.numbers.start >= service_cfg.daily_limit:
        reopens = hours.next_opening(local_now).astimezone(dt.UTC).replace(tzinfo=None)
        retry_after = math.ceil((reopens - now).total_seconds())
        raise TooMany("daily_limit_reached", service=service, limit=service_cfg.daily_limit, retry_after=retry_after)
    ticket = SimpleNamespace(
        public_id=public_id,
        site_id=site.id,
        origin_service_id=service_id,
        service_id=service_id,
        number=number,
        business_day=day,
        priority_id=priority_id,
        kiosk_id=kiosk,
        status="waiting",
        issued_at=now,
        transfers=0,
    )
    if ticket_id is None:
        if conn.dialect.name == "sqlite":
            ticket.id = _INSERT_TICKET_NO_RETURNING.inserted_id(conn, vars(ticket))
            _INSERT_ISSUED_EVENT.execute(
                conn,
                {
                    "site_id": site.id,
                    "now": now,
                    "ticket_id": ticket.id,
                    "service": service_id,
                    "user_id": actor.user_id,
                    "token_id": actor.token_id,
                    "detail": f"{head}{number}{tail}",
                },
            )
        else:
            (ticket.id,) = _INSERT_TICKET.one(conn, vars(ticket))
            detail = {"number": number, "priority": priority, "kiosk": kiosk}
            record_event(conn, site, "issued", now, actor, ticket.id, service_id, detail=detail)
    else:
        ticket.id = ticket_id
    # a new ticket has none of these yet; set here, ticket_view reads them without failing a lookup
    # (getattr's default: each miss formats an AttributeError, seven a ticket)
    ticket.called_at = ticket.counter_id = ticket.target_counter_id = ticket.last_called_at = None
    ticket.started_at = ticket.finished_at = ticket.origin = ticket.due_at = None
    ticket.dossier_code = ticket.procedure = None
    if priority_id is None:
        # a walk-in (a booked citizen's due time is set after this, at check-in) is the newest normal
        # ticket, which choose_next calls last whatever the policy: it is never the oldest nor due, and
        # heads the normal tickets only as the last one, when any priority ticket left is older and
        # goes first. Everyone waiting in its queue is ahead of it (tests/test_call_order.py): as the
        # status says, and one fewer than the queue's count the lobby shows
        ahead = max(waiting - 1, 0)  # (never below 0: a guard)
    else:  # a priority ticket passes normal ones as the policy says: counted as "next" calls (rare)
        ahead = waiting_ahead(conn, site, ticket, now)
    eta, eta_range = promised_wait(
        conn,
        site,
        service_id,
        ahead,
        priority=priority_id is not None,
        ticket_id=ticket.id,
        now=now,
        estimator=estimator,
        pace=(avg_seconds, open_counters),
    )
    view = ticket_view(site, ticket)  # a new dict: added to in place, not copied (~3k instructions)
    view["waiting_ahead"], view["eta_minutes"], view["eta_range"] = ahead, eta, eta_range
    changed = Happened("queue.changed", detail={"waiting": {service: counts}})
    return Outcome(view, [Happened("ticket.issued", view), changed])
