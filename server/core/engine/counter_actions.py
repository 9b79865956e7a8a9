"""What a clerk does at a counter: next (or a number), recall, start, finish, no-show, transfer,
pause, resume, open and close (a counter closed under its number puts the number back in its queue)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import DateTime, Float, Integer, and_, bindparam, func, or_, select, update

from .. import models as m
from ..db import ROW_ORDER, SiteRuntime
from ..errors import Invalid, NotFound, QueueError
from ..i18n import Phrase
from ..models import utcnow
from .choosing import choose_for, waiting_number
from .clock import business_day
from .estimates import with_position
from .issuing import require_served
from .named_rows import Named
from .numbering import RowChanges, queue_changed, queue_delta
from .reading import calls_withdrawn
from .records import (
    HELD_STATUS,
    SEQ,
    SET_COUNTER,
    C,
    E,
    S,
    T,
    actor_columns,
    connection,
    counter_row,
    held_ticket,
    record_event,
    reload,
    require_held,
    set_ticket,
)
from .types import NOBODY, Actor, Happened, Outcome
from .views import queued_at, ticket_view

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

EMA_WEIGHT = 0.2  # weight of the newest service time in the service's moving average
# built once (see numbering.py): the moving average, "weighted" being seconds x EMA_WEIGHT
_SERVICE_AVERAGE = Named(
    update(S)
    .where(S.c.id == bindparam("service_id"))
    .values(
        avg_service_seconds=func.coalesce(
            S.c.avg_service_seconds * (1 - EMA_WEIGHT) + bindparam("weighted", type_=Float()),
            bindparam("seconds", type_=Float()),
        )
    )
)


# a ticket's step and the row it leaves, in one statement each (RETURNING instead of a reload); built
# once, so "next" builds no statement of its own (each cost more than running it), and run straight
# on the database's cursor (named_rows.py: SQLAlchemy's execute cost more than SQLite's work)
_BY_USER, _BY_TOKEN = bindparam("by_user", type_=Integer()), bindparam("by_token", type_=Integer())
_STEP_AT = bindparam("step_at", type_=DateTime())
_CALL = Named(
    update(T)
    .where(T.c.id == bindparam("ticket"), T.c.status == "waiting")
    .values(
        status="called",
        counter_id=bindparam("call_counter", type_=Integer()),
        target_counter_id=None,
        called_at=func.coalesce(T.c.called_at, _STEP_AT),
        last_called_at=_STEP_AT,
        started_at=None,
        called_by_user_id=_BY_USER,
        called_by_token_id=_BY_TOKEN,
    )
    .returning(*T.c)
)
_END_UNSTARTED = Named(
    update(T)
    .where(T.c.id == bindparam("ticket"), T.c.status == "called")
    .values(status="no_show", finished_at=_STEP_AT, ended_by_user_id=_BY_USER, ended_by_token_id=_BY_TOKEN)
    .returning(*T.c)
)
_FINISH = {
    held_status: Named(
        update(T)
        .where(T.c.id == bindparam("ticket"), T.c.status == held_status)
        .values(
            status="done",
            finished_at=_STEP_AT,
            started_at=bindparam("started", type_=DateTime()),
            ended_by_user_id=_BY_USER,
            ended_by_token_id=_BY_TOKEN,
        )
        .returning(*T.c)
    )
    for held_status in m.HELD_STATES
}


class _Held(NamedTuple):
    """What "next" needs of the counter's current ticket."""

    id: int
    status: str
    service_id: int
    started_at: dt.datetime | None
    last_called_at: dt.datetime | None


# "next" reads the counter (locked, as counter_row) and its current ticket (as held_ticket) in one statement
_COUNTER_AND_HELD = Named(
    select(C, *(T.c[name].label(f"held_{name}") for name in _Held._fields))
    .select_from(C.outerjoin(T, and_(T.c.counter_id == C.c.id, HELD_STATUS)))  # the partial index (records.py)
    .where(C.c.id == bindparam("counter_id"))
    .with_for_update(of=C)
)


def _counter_and_held(conn, site: SiteRuntime, number: int):
    """The counter's row (its columns) and its current ticket (None when it holds none)."""
    counter_id = site.counter_ids.get(number)
    if counter_id is None:
        raise NotFound("unknown_counter", counter=number)
    row = _COUNTER_AND_HELD.first(conn, {"counter_id": counter_id})
    if row is None:
        raise NotFound("unknown_counter", counter=number)
    held = None if row.held_id is None else _Held(*(getattr(row, f"held_{name}") for name in _Held._fields))
    return row, held


def _step(conn, statement, ticket_id: int, now, actor: Actor | None, **params):
    """Run one of the steps above on ``ticket_id``; the ticket's row after it."""
    actor = actor or NOBODY
    row = statement.first(
        conn, {"ticket": ticket_id, "step_at": now, "by_user": actor.user_id, "by_token": actor.token_id, **params}
    )
    if row is None:  # cannot happen under the row lock; refuse rather than corrupt
        raise QueueError("internal")
    return row


def finish_held(conn, site, counter, held, now, actor, happened, by: str, finished_at=None) -> None:
    """The counter's ticket is done. Its service time runs from "start"; "finish" on a ticket
    called and never started dates the start at the call (the clerk says the service happened).
    ``by="next"`` on such a ticket follows the site's ``policy.unstarted_at_next``: a no-show,
    or served without a service time (nobody pressed "start", so nobody knows how long it took).
    ``by="close"``: served without a service time (the clerk left at some time before the close),
    and served by whoever held the number, not by who closed the counter (kept as ``closed_by``);
    ``by="end_of_day"`` (day_end): the same, the ticket finished at ``finished_at`` (its day's
    closing time at the latest), its event at ``now``. Both are models.UNTIMED_FINISHES."""
    detail = {"by": by}
    if by == "close":
        detail["closed_by"] = {"user_id": actor.user_id, "token_id": actor.token_id} if actor else None
    untimed = by in m.UNTIMED_FINISHES  # served until then at the latest: nobody knows how long
    if untimed:
        actor = holder(conn, held.id)
    started = held.started_at
    if started is None and by == "next":
        if site.config.policy.unstarted_at_next == "no_show":
            _end_unstarted_as_no_show(conn, site, counter, held, now, actor, happened)
            return
    elif started is None:
        started = held.last_called_at
    seconds = max(0.0, (now - started).total_seconds()) if started is not None and not untimed else None
    done = _step(conn, _FINISH[held.status], held.id, finished_at or now, actor, started=started)
    if seconds is not None:  # the service's moving average learns from timed services only
        _SERVICE_AVERAGE.execute(
            conn, {"service_id": held.service_id, "weighted": seconds * EMA_WEIGHT, "seconds": seconds}
        )
    record_event(
        conn,
        site,
        "finished",
        now,
        actor,
        held.id,
        held.service_id,
        counter.id,
        {"service_seconds": None if seconds is None else round(seconds, 3), **detail},
    )
    happened.append(Happened("ticket.finished", ticket_view(site, done), counter.number))


# who last called, recalled or started a ticket: the clerk or device that held it
_HOLDER = Named(
    select(E.c.user_id, E.c.token_id)
    .where(E.c.ticket_id == bindparam("ticket"), or_(*(E.c.kind == kind for kind in ("called", "recalled", "started"))))
    .order_by(E.c.id.desc())
    .limit(1)
)


def holder(conn, ticket_id: int) -> Actor:
    row = _HOLDER.first(conn, {"ticket": ticket_id})
    return NOBODY if row is None else Actor(row.user_id, row.token_id)


def _end_unstarted_as_no_show(conn, site, counter, held, now, actor, happened) -> None:
    """ "next" over a ticket called and never started: the citizen did not come."""
    ended = _step(conn, _END_UNSTARTED, held.id, now, actor)
    record_event(conn, site, "no_show", now, actor, held.id, held.service_id, counter.id, {"by": "next"})
    happened.append(Happened("ticket.no_show", ticket_view(site, ended), counter.number))


def _open(conn, site, counter, now, actor, happened) -> None:
    """A paused counter resumes, a closed one opens: it serves again."""
    if counter.state != "open":
        conn.execute(SET_COUNTER, {"counter_id": counter.id, "state": "open", "pause_reason": None})
        record_event(
            conn, site, "resumed" if counter.state == "paused" else "opened", now, actor, counter_id=counter.id
        )
        happened.append(counter_changed(conn, site, counter, now, {"state": "open"}))


def counter_changed(conn, site, counter, now, detail: dict) -> Happened:
    """``counter.changed``, told also to the pages of today's numbers transferred to this counter (whatever
    their service): their wait is promised only while it is open (estimates.py ``_at_counter``)."""
    sent_here = conn.execute(
        select(T.c.public_id).where(
            T.c.target_counter_id == counter.id, T.c.status == "waiting", T.c.business_day == business_day(site, now)
        )
    ).scalars()
    return Happened("counter.changed", None, counter.number, detail, tuple(sent_here))


def call_next(
    session: Session,
    site: SiteRuntime,
    counter_number: int,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
    number: int | None = None,
) -> Outcome:
    """Finish the counter's current ticket (if any) and call the next one, or ``number`` if given.

    Returns an Outcome whose ticket is None when nobody is waiting.
    """
    now = now or utcnow()
    conn = connection(session)
    counter, held = _counter_and_held(conn, site, counter_number)
    day = business_day(site, now)
    happened: list[Happened] = []

    if number is not None:
        chosen = waiting_number(conn, site, counter, day, number)
    if held is not None:
        finish_held(conn, site, counter, held, now, actor, happened, by="next")
    _open(conn, site, counter, now, actor, happened)  # pressing next opens a closed counter

    streak = counter.normal_streak
    if number is None:
        chosen, streak = choose_for(conn, site, counter, day, now)
    if chosen is None:
        return Outcome(None, happened)

    row = _step(conn, _CALL, chosen.id, now, actor, call_counter=counter.id)
    if streak != counter.normal_streak:
        conn.execute(SET_COUNTER, {"counter_id": counter.id, "normal_streak": streak})
    waiting = queue_delta(conn, site, row.service_id, row.business_day, -1, chosen.priority, sent=chosen.sent)
    record_event(
        conn,
        site,
        "called",
        now,
        actor,
        row.id,
        row.service_id,
        counter.id,
        {"repeat_call": True}
        if chosen.called_before
        # its wait in the lobby, as the reports and the console count it: from joining the queue, a remote
        # number's check-in (views.queued_at), not the phone request
        else {"wait_seconds": round((now - queued_at(row)).total_seconds(), 3)},
    )
    view = ticket_view(site, row)
    happened += [Happened("ticket.called", view, counter.number), waiting]
    return Outcome(view, happened)


def _act_on_called(
    session,
    site: SiteRuntime,
    counter_number: int,
    actor: Actor | None,
    now: dt.datetime,
    kind: str,
    refusal: str,
    **values,
) -> Outcome:
    """recall, start, no-show: a step on the counter's ticket, allowed only while it is called."""
    conn = connection(session)
    counter = counter_row(conn, site, counter_number)
    held = require_held(conn, counter)
    if held.status != "called":
        raise QueueError(refusal, number=held.number)
    set_ticket(conn, held.id, "called", **values)
    record_event(conn, site, kind, now, actor, held.id, held.service_id, counter.id)
    view = ticket_view(site, reload(conn, held.id))
    return Outcome(view, [Happened(f"ticket.{kind}", view, counter.number)])


def recall(
    session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None, now: dt.datetime | None = None
) -> Outcome:
    now = now or utcnow()
    return _act_on_called(
        session, site, counter_number, actor, now, "recalled", "ticket_not_called", last_called_at=now
    )


def start(
    session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None, now: dt.datetime | None = None
) -> Outcome:
    now = now or utcnow()
    return _act_on_called(
        session, site, counter_number, actor, now, "started", "already_serving", status="serving", started_at=now
    )


def finish(
    session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None, now: dt.datetime | None = None
) -> Outcome:
    now = now or utcnow()
    conn = connection(session)
    counter = counter_row(conn, site, counter_number)
    held = require_held(conn, counter)
    happened: list[Happened] = []
    finish_held(conn, site, counter, held, now, actor, happened, by="finish")
    return Outcome(happened[0].ticket, happened)


def no_show(
    session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None, now: dt.datetime | None = None
) -> Outcome:
    now = now or utcnow()
    return _act_on_called(
        session,
        site,
        counter_number,
        actor,
        now,
        "no_show",
        "ticket_not_called",
        status="no_show",
        finished_at=now,
        **actor_columns("ended_by", actor),
    )


def transfer(
    session: Session,
    site: SiteRuntime,
    counter_number: int,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
    service: str | None = None,
    to_counter: int | None = None,
) -> Outcome:
    """Put the current ticket back in another queue: a service, or one counter. Same number."""
    now = now or utcnow()
    if service is None and to_counter is None:
        raise Invalid("transfer_target_missing")
    if service is not None and service not in site.service_ids:
        raise NotFound("unknown_service", service=service)
    if to_counter is not None and to_counter not in site.counter_ids:
        raise NotFound("unknown_counter", counter=to_counter)
    if to_counter == counter_number:
        raise QueueError("transfer_same_counter", counter=counter_number)
    if service is not None and to_counter is None:  # (sent to one counter, that counter calls it)
        require_served(site, service, refused="service_unserved_transfer")
    conn = connection(session)
    counter = counter_row(conn, site, counter_number)
    held = require_held(conn, counter)
    withdrawn = calls_withdrawn(conn, held)  # (before its transfer is recorded)
    new_service = site.service_ids[service] if service is not None else held.service_id
    target = site.counter_ids[to_counter] if to_counter is not None else None
    set_ticket(
        conn,
        held.id,
        held.status,
        status="waiting",
        counter_id=None,
        service_id=new_service,
        target_counter_id=target,
        started_at=None,
        transfers=held.transfers + 1,
    )
    queue_delta(conn, site, new_service, held.business_day, +1, held.priority_id is not None, sent=target is not None)
    record_event(
        conn,
        site,
        "transferred",
        now,
        actor,
        held.id,
        new_service,
        counter.id,
        {
            "from_service": site.service_codes[held.service_id],
            "to_service": site.service_codes[new_service],
            "to_counter": to_counter,
        },
    )
    row = reload(conn, held.id)
    view = with_position(conn, site, row, now=now)
    return Outcome(
        view,
        [
            Happened(
                "ticket.transferred",
                view,
                counter.number,
                {"from_counter": counter.number, "withdrawn_calls": withdrawn},
            ),
            queue_changed(conn, site, row.business_day, held.service_id, new_service),
        ],
    )


def pause(
    session: Session,
    site: SiteRuntime,
    counter_number: int,
    reason: str | None = None,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    now = now or utcnow()
    conn = connection(session)
    counter = counter_row(conn, site, counter_number)
    if counter.state == "paused":
        raise QueueError("counter_paused", counter=counter.number)
    if counter.state == "closed":
        raise QueueError("counter_closed", counter=counter.number)
    held = held_ticket(conn, counter.id)
    if held is not None:
        raise busy(counter, held)
    conn.execute(SET_COUNTER, {"counter_id": counter.id, "state": "paused", "pause_reason": reason})
    record_event(conn, site, "paused", now, actor, counter_id=counter.id, detail={"reason": reason})
    return Outcome(None, [counter_changed(conn, site, counter, now, {"state": "paused", "reason": reason})])


def resume(
    session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None, now: dt.datetime | None = None
) -> Outcome:
    now = now or utcnow()
    conn = connection(session)
    counter = counter_row(conn, site, counter_number)
    if counter.state != "paused":
        raise QueueError("counter_not_paused", counter=counter.number)
    happened: list[Happened] = []
    _open(conn, site, counter, now, actor, happened)
    return Outcome(None, happened)


def open_counter(
    session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None, now: dt.datetime | None = None
) -> Outcome:
    """A clerk takes a closed counter: it serves from now on (an open or paused counter stays as it is)."""
    conn = connection(session)
    counter = counter_row(conn, site, counter_number)
    happened: list[Happened] = []
    if counter.state == "closed":
        _open(conn, site, counter, now or utcnow(), actor, happened)
    return Outcome(None, happened)


def close_counter(
    session: Session,
    site: SiteRuntime,
    counter_number: int,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
    requeue: int | None = None,
    finish: int | None = None,
) -> Outcome:
    """Nobody works at the counter any more: it serves nobody until it is opened again. A number it
    holds refuses the close, unless ``requeue`` or ``finish`` names it (the number the dashboard
    showed there): ``requeue`` puts it back in the waiting list (``_requeue``), ``finish`` ends it as
    served (a citizen being served when the clerk left was most likely served). Another number held
    by then, or none, refuses: someone has worked there since the dashboard looked."""
    if requeue is not None and finish is not None:
        raise Invalid("close_requeue_or_finish")
    named = requeue if finish is None else finish
    conn = connection(session)
    counter = counter_row(conn, site, counter_number)
    if counter.state == "closed":  # closed already: what was transferred to it since goes back all the same
        return _send_back_only(conn, site, counter, now or utcnow(), actor)
    held = held_ticket(conn, counter.id)
    if held is not None and named is None:
        raise busy(counter, held)
    if named is not None and (held is None or held.number != named):
        raise QueueError("close_requeue_moved", counter=counter.number, number=named)
    if finish is not None and held.status != "serving":  # nobody said the citizen came: no "served" to invent
        raise QueueError("close_finish_not_serving", counter=counter.number, number=named)
    return _close(conn, site, counter, held, now or utcnow(), actor, finish=finish is not None)


def close_left_counter(
    session: Session,
    site: SiteRuntime,
    counter_number: int,
    by: str,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    """The counter's only clerk was disabled, or its device's token revoked (``by``, kept on its
    ``closed`` event): it closes. A number it holds is dealt with as the dashboard proposes: being
    served, it ends as served; only called, it goes back to the waiting list."""
    conn = connection(session)
    counter = counter_row(conn, site, counter_number)
    if counter.state == "closed":
        return _send_back_only(conn, site, counter, now or utcnow(), actor)
    held = held_ticket(conn, counter.id)
    finish = held is not None and held.status == "serving"
    return _close(conn, site, counter, held, now or utcnow(), actor, {"by": by}, finish=finish)


def lock_for_closes(conn, site: SiteRuntime, counter_numbers, now: dt.datetime | None = None) -> None:
    """Several counters about to close in one transaction (counters removed from the setup:
    setup_changes.close_removed_counters): their rows, then the queues' rows their closes will change
    (the numbers they hold, today's numbers sent to them), locked first, each in ascending order. Each
    close takes its own rows in (day, service) order (``_close``), but one after another they would not
    be (counter 4's send-back to LD, then counter 5's to CT): on PostgreSQL a batch of issued tickets
    holding CT and wanting LD would wait for them in a circle, and ``queuekiosk config import`` runs
    outside the web layer's retries. On SQLite (one writer) nothing to do."""
    if conn.dialect.name != "postgresql" or not counter_numbers:
        return
    ids = sorted(site.counter_ids[number] for number in counter_numbers)
    conn.execute(select(C.c.id).where(C.c.id.in_(ids)).order_by(C.c.id).with_for_update()).all()
    today = business_day(site, now or utcnow())
    sent = and_(T.c.target_counter_id.in_(ids), T.c.status == "waiting", T.c.business_day == today)
    held = and_(T.c.counter_id.in_(ids), T.c.status.in_(m.HELD_STATES))
    keys = sorted(conn.execute(select(T.c.business_day, T.c.service_id).where(or_(sent, held)).distinct()).all())
    order = conn.info.get(ROW_ORDER)
    for day, service_id in keys:
        if order is not None:  # in a batch of the group writer: the batch's order checked (db.NumberRowOrder)
            order.take(service_id, day)
    for day, service_id in keys:  # one at a time: plainly in that order
        conn.execute(_LOCK_ROW, {"service_id": service_id, "day": day}).all()


_LOCK_ROW = (
    select(SEQ.c.service_id)
    .where(SEQ.c.service_id == bindparam("service_id"), SEQ.c.business_day == bindparam("day"))
    .with_for_update()
)


def _close(conn, site, counter, held, now, actor, detail=None, *, finish: bool = False) -> Outcome:
    """Close the counter, then end or requeue the number it holds (a wait promised to a number requeued
    leaves the counter out) and send today's numbers transferred to it alone back to their service's
    queue, then record the close (after the tickets' steps, as the log replays it). The queues' rows
    change once the tickets have, all together in ascending (day, service) order (numbering.RowChanges:
    the number requeued and those sent back may be of any services and days). One ``queue.changed``
    for the queues changed, after all their steps."""
    conn.execute(SET_COUNTER, {"counter_id": counter.id, "state": "closed", "pause_reason": None})
    happened: list[Happened] = []
    queues: dict[dt.date, set[int]] = {}  # day -> the services whose queue changed
    rows = RowChanges()
    if held is not None and finish:
        finish_held(conn, site, counter, held, now, actor, happened, by="close")
    elif held is not None:
        happened.append(_requeue(conn, site, counter, held, now, actor, rows))
        queues.setdefault(held.business_day, set()).add(held.service_id)
    happened += _send_back_transferred(conn, site, counter, now, actor, queues, rows)
    happened += _queues_changed(conn, site, queues)
    record_event(conn, site, "closed", now, actor, counter_id=counter.id, detail=detail)
    happened.append(Happened("counter.changed", None, counter.number, {"state": "closed"}))
    return Outcome(None, happened)


def _send_back_only(conn, site, counter, now, actor) -> Outcome:
    """A close asked of a counter closed already: no new ``closed`` event, but the numbers transferred to
    it since (the console asks first, and a centre may say yes) go back to their queue all the same."""
    queues: dict[dt.date, set[int]] = {}
    happened = _send_back_transferred(conn, site, counter, now, actor, queues, RowChanges())
    return Outcome(None, happened + _queues_changed(conn, site, queues))


def _queues_changed(conn, site, queues: dict) -> list[Happened]:
    return [queue_changed(conn, site, day, *services) for day, services in sorted(queues.items())]


def _requeue(conn, site, counter, held, now, actor, rows: RowChanges) -> Happened:
    """The counter closes under its number: back in its service's queue, at its place by issue time.
    Not a transfer (nobody sent it anywhere, the reports count none); its first call stays on the
    ticket, so its wait is still the one that call ended (a call again is a repeat call). Its queue's
    row is counted in ``rows``, changed with the close's others (``_send_back_transferred``)."""
    withdrawn = calls_withdrawn(conn, held, requeue=True)
    set_ticket(conn, held.id, held.status, status="waiting", counter_id=None, target_counter_id=None, started_at=None)
    rows.waiting(held.service_id, held.business_day, +1, held.priority_id is not None)
    record_event(conn, site, "requeued", now, actor, held.id, held.service_id, counter.id)
    view = with_position(conn, site, reload(conn, held.id), now=now)
    return Happened("ticket.requeued", view, counter.number, {"withdrawn_calls": withdrawn})


def _send_back_transferred(conn, site, counter, now, actor, queues: dict, rows: RowChanges) -> list[Happened]:
    """Today's numbers transferred to this counter alone and still waiting for it: closed, it calls
    nobody, possibly for the rest of the day, and no other counter may call them (``for_counter``). They
    wait in their service's queue again, at their place by issue time, each with a "requeued" event
    saying so (``transferred_to``: the counter closed), as a number the counter held is requeued
    (``_requeue``). Past days' numbers (``policy.end_of_day: keep``) stay as they are: no day calls
    another day's tickets, so nobody would call them, and nobody is told anything about them. Their
    queues' rows change with ``rows``' others, in (day, service) order, before their events are recorded.

    The counter's row is locked (records.counter_row, FOR UPDATE) before this reads the tickets: on
    PostgreSQL a transfer to this counter not committed yet holds a KEY SHARE lock on the same row (the
    foreign key tickets.target_counter_id), so the close waits for it and sends that number back too
    (a transfer made after the close waits for it instead, and the number waits for the closed counter,
    as one the console's "Quầy 2 đang đóng" question let through would). See records._COUNTER_ROW."""
    today = business_day(site, now)
    back = conn.execute(
        update(T)
        .where(T.c.target_counter_id == counter.id, T.c.status == "waiting", T.c.business_day == today)
        .values(target_counter_id=None)
        .returning(T.c.id, T.c.service_id, T.c.priority_id)
    ).all()
    for service_id in {row.service_id for row in back}:  # counted in their queue again (numbering.py)
        of_service = [row for row in back if row.service_id == service_id]
        rows.sent_back(service_id, today, len(of_service), sum(row.priority_id is not None for row in of_service))
    rows.apply(conn, site)
    happened: list[Happened] = []
    for row in sorted(back):  # (all back already: each one's place among them)
        detail = {"transferred_to": counter.number}
        record_event(conn, site, "requeued", now, actor, row.id, row.service_id, counter.id, detail)
        view = with_position(conn, site, reload(conn, row.id), now=now)
        happened.append(Happened("ticket.requeued", view, counter.number, detail))
    if back:  # their queues' counts rose: told after all the close's steps (_queues_changed)
        queues.setdefault(today, set()).update(row.service_id for row in back)
    return happened


def busy(counter, held) -> QueueError:
    """``counter`` holds ``held``: serving it, or only calling it (nobody is served yet, the citizen may
    not have come): each said as it is, with what to do."""
    state = "counter_busy_called" if held.status == "called" else "counter_busy_serving"
    return QueueError(
        "counter_busy", counter=counter.number, number=held.number, held=Phrase(state, number=held.number)
    )
