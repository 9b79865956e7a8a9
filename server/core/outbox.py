"""Events for the outside world: the outbox, webhooks and their deliveries (SPEC "Events out").

An action's events are written to ``outbox_events`` in the action's own transaction
(``recording``), so an event exists exactly when its change was committed; only the events someone
will read are written (those a webhook of the site subscribes to, or all of a site that notifies
citizens). The delivery worker
(server/web/delivery.py) then makes one delivery per subscribed webhook (``dispatch``), sends
the due ones and marks their results (``mark_results``): any 2xx ends a delivery; anything else is
tried again on ``RETRY_DELAYS`` (about 32 hours in all), then given up ("failed"); an admin may
replay any delivery, with the same delivery id.

No personal data leaves: a ticket is described by the whitelisted fields of ``TICKET_FIELDS``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from . import models as m
from .db import read_bare
from .engine.prepared import Prepared
from .errors import Invalid, NotFound
from .models import utcnow
from .web_address import web_address

E = m.outbox_events
W = m.webhooks
D = m.webhook_deliveries

# the engine's Happened kinds that leave the building, and the name each goes out under
OUTSIDE_NAMES = {
    **{
        f"ticket.{step}": f"ticket.{step}"
        for step in "issued called recalled started finished no_show transferred requeued expired".split()
    },
    "rating.received": "rating.created",
    **{f"booking.{step}": f"booking.{step}" for step in ("created", "cancelled", "checked_in", "lapsed")},
}
EVENT_KINDS = tuple(OUTSIDE_NAMES.values())

# what a ticket event tells about the ticket: never more (a later field may hold personal data)
TICKET_FIELDS = (
    "id",
    "number",
    "display",
    "service",
    "origin_service",
    "priority",
    "status",
    "issued_at",
    "queued_at",  # where its wait starts: a remote number's check-in (its issued_at is the phone request's)
    "called_at",
    "started_at",
    "finished_at",
    "counter",
    "target_counter",
    "kiosk",
    "business_day",
    "waiting_ahead",
    "eta_minutes",
    "dossier_code",  # the dossier (mã hồ sơ) and the procedure served, once the clerk set them
    "procedure",
)
# what a booking event tells: not its code (the key to cancel it), nor even the masked phone or ID number
BOOKING_FIELDS = (
    "kind",
    "service",
    "date",
    "start",
    "end",
    "deadline",
    "status",
    "cancel_reason",  # the centre's reason where it cancelled it (its day or hours closed, its site retired)
    "number",
    "created_at",
    "checked_in_at",
)

# seconds to wait after each failed attempt: 13 attempts over about 32 hours, then given up
RETRY_DELAYS = (10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 28800, 28800)
KEEP_DAYS = 30  # the delivery log, and the events behind it, are kept this long


# --- writing events -----------------------------------------------------------------------


def event_data(happened) -> dict:
    """The ``data`` of an outside event from an engine Happened."""
    if happened.kind == "rating.received":
        return {"rating": happened.detail["rating"]}
    if happened.kind.startswith("booking."):
        booking = happened.detail["booking"]
        return {"booking": {k: booking[k] for k in BOOKING_FIELDS if k in booking}}
    data = {"ticket": {k: happened.ticket[k] for k in TICKET_FIELDS if k in happened.ticket}}
    if happened.counter is not None:
        data["counter"] = happened.counter
    if "from_counter" in happened.detail:
        data["from_counter"] = happened.detail["from_counter"]
    return data


_INSERT_EVENT = insert(E)
_INSERT_ONE = Prepared(_INSERT_EVENT, keys=("site_id", "kind", "payload", "created_at"))  # an action's usual one event
# the kinds the site's webhooks want: run at every action, straight on the driver's cursor (a few µs on
# SQLite, against the tens of µs of the row it usually spares)
_SUBSCRIBED = Prepared(select(W.c.events).where(W.c.site_id == bindparam("site_id"), W.c.active.is_(True)))
_KINDS_OF_TEXT: dict[str, frozenset] = {}  # a webhook's ``events`` as SQLite returns it -> its kinds


_WANTED = "queuekiosk.outbox_wanted"  # in conn.info: (the transaction, {site id: its kinds' reader}) of the last look


def _every_kind() -> None:
    return None


def wanted(conn, site) -> Callable[[], frozenset | None]:
    """A reader of the outside kinds someone will read at ``site``: None for every kind when the site
    tells citizens their turn (the delivery worker plans notices again at each change it finds in the
    outbox), else those its active webhooks subscribe to (often none). Asked now and read when the
    reader is called: among side-by-side actions of the PostgreSQL group writer the look goes ahead
    of the actions' statements in their next round trip (Prepared.rows_later), none of its own.
    Read in the caller's transaction: a webhook whose registration committed before it, in any
    process, is seen (on SQLite the writer holds the database's write lock; on PostgreSQL each
    statement sees what was committed before it began), so every action begun after a registration
    was answered writes the events that webhook wants. Asked once per transaction of a Core
    connection (a group writer's batch): its actions all reached the writer before the batch began,
    so before that look; a webhook added or removed in the transaction itself drops what was asked."""
    if site.config.notifications.channels:
        return _every_kind
    looked = None
    if isinstance(conn, Connection):
        transaction = conn.get_transaction()
        held = conn.info.get(_WANTED)
        if held is not None and held[0] is transaction:
            looked = held[1]
            reader = looked.get(site.id)
            if reader is not None:
                return reader
        else:
            looked = {}
            conn.info[_WANTED] = (transaction, looked)
    rows = _SUBSCRIBED.rows_later(conn, {"site_id": site.id})
    reader = functools.cache(lambda: _kinds_of(rows()))  # (an error is not kept: it is asked again)
    if looked is not None:
        looked[site.id] = reader
    return reader


def _kinds_of(rows) -> frozenset:
    kinds = frozenset()
    for (events,) in rows:
        if isinstance(events, str):  # SQLite's raw JSON text; psycopg (and the ORM) hand a list
            parsed = _KINDS_OF_TEXT.get(events)
            if parsed is None:
                if len(_KINDS_OF_TEXT) > 1000:
                    _KINDS_OF_TEXT.clear()
                parsed = _KINDS_OF_TEXT[events] = frozenset(json.loads(events))
            events = parsed
        kinds = kinds.union(events)
    return kinds


def _webhooks_changed(conn) -> None:
    """A webhook added or removed in this transaction: the next action looks again."""
    if isinstance(conn, Connection):
        conn.info.pop(_WANTED, None)


def record(conn, site, happened: list, now: dt.datetime | None = None, kinds: frozenset | None = None) -> int:
    """Write the outside events among ``happened`` to the outbox, in the caller's transaction: only
    those of ``kinds`` when given (what ``wanted`` found someone will read)."""
    now = now or utcnow()
    rows = [
        {"site_id": site.id, "kind": name, "payload": event_data(h), "created_at": now}
        for h in happened
        if (name := OUTSIDE_NAMES.get(h.kind)) is not None and (kinds is None or name in kinds)
    ]
    if len(rows) == 1:
        _INSERT_ONE.execute(conn, rows[0])
    elif rows:
        conn.execute(_INSERT_EVENT, rows)
    return len(rows)


def recording(action):
    """``action(conn, site, ...) -> Outcome``, which also records, in its transaction, the outside
    events someone will read (``wanted``): no row for what no webhook and no notice would use, which
    was the largest single item of a ticket's write that nobody consumed."""

    def act(conn, site, *args, **kwargs):
        # asked before the action: on PostgreSQL it runs before the action's statements, which lock rows
        kinds_wanted = wanted(conn, site)
        outcome = action(conn, site, *args, **kwargs)
        kinds = kinds_wanted()
        outcome.recorded = record(conn, site, outcome.happened, kinds=kinds) if kinds is None or kinds else 0
        return outcome

    return act


# --- webhooks -----------------------------------------------------------------------------


def mask(secret: str) -> str:
    return "…" + secret[-4:]


def webhook_view(row, secret_in_full: bool = False) -> dict:
    return {
        "id": row.id,
        "url": row.url,
        "events": list(row.events),
        "secret": row.secret if secret_in_full else mask(row.secret),
        "created_at": _iso(row.created_at),
    }


def check_events(events: list[str]) -> list[str]:
    """The kinds, each once, in a stable order; an unknown kind is refused by name."""
    for kind in events:
        if kind not in EVENT_KINDS:
            raise Invalid("webhook_event_unknown", field="events", event=kind, known=", ".join(EVENT_KINDS))
    if not events:
        raise Invalid("webhook_events_empty", field="events")
    return [kind for kind in EVENT_KINDS if kind in events]


def check_url(url: str) -> str:
    """An absolute http(s) address with a host; nothing else can be posted to."""
    if not web_address(url):
        raise Invalid("webhook_url_invalid", field="url", url=url)
    return url


def add_webhook(conn, site, url: str, events: list[str], secret: str | None = None) -> dict:
    """A new webhook; its view shows the secret in full (this once): one is made when none is given."""
    secret = secret or "whsec_" + secrets.token_urlsafe(32)
    _webhooks_changed(conn)
    webhook_id = conn.execute(
        insert(W).values(
            site_id=site.id,
            url=check_url(url),
            events=check_events(events),
            secret=secret,
            active=True,
            created_at=utcnow(),
        )
    ).inserted_primary_key[0]
    return webhook_view(_webhook(conn, site, webhook_id), secret_in_full=True)


def webhooks(conn, site) -> list[dict]:
    rows = conn.execute(select(W).where(W.c.site_id == site.id, W.c.active.is_(True)).order_by(W.c.id))
    return [webhook_view(row) for row in rows]


def remove_webhook(conn, site, webhook_id: int) -> dict:
    """The webhook stops (its log is kept until it ages out); its pending deliveries are given up."""
    row = _webhook(conn, site, webhook_id)
    now = utcnow()
    _webhooks_changed(conn)
    conn.execute(update(W).where(W.c.id == row.id).values(active=False))
    conn.execute(
        update(D)
        .where(D.c.webhook_id == row.id, D.c.status == "pending")
        .values(status="failed", next_attempt_at=None, last_error="webhook deleted", last_attempt_at=now)
    )
    return webhook_view(row)


def _webhook(conn, site, webhook_id: int):
    row = conn.execute(select(W).where(W.c.id == webhook_id, W.c.site_id == site.id, W.c.active.is_(True))).first()
    if row is None:
        raise NotFound("webhook_unknown", webhook=webhook_id)
    return row


def deliveries(
    conn, site, webhook_id: int, limit: int = 100, status: str | None = None, delivery: int | None = None
) -> list[dict]:
    """The webhook's latest deliveries (or just ``delivery``), newest first."""
    _webhook(conn, site, webhook_id)
    query = (
        select(D, E.c.kind, E.c.created_at.label("occurred_at"))
        .join(E, E.c.id == D.c.event_id)
        .where(D.c.webhook_id == webhook_id)
        .order_by(D.c.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(D.c.status == status)
    if delivery is not None:
        query = query.where(D.c.id == delivery)
    return [
        {
            "id": row.id,
            "delivery": row.delivery_id,
            "event": row.kind,
            "event_id": row.event_id,
            "occurred_at": _iso(row.occurred_at),
            "status": row.status,
            "attempts": row.attempts,
            "last_status_code": row.last_status_code,
            "last_error": row.last_error,
            "last_attempt_at": _iso(row.last_attempt_at),
            "next_attempt_at": _iso(row.next_attempt_at),
            "delivered_at": _iso(row.delivered_at),
        }
        for row in conn.execute(query)
    ]


def replay(conn, site, webhook_id: int, delivery: int) -> dict:
    """Send a delivery again now, with the same delivery id; a failure is retried on the schedule from its
    start. Pending again, it shows no delivery time until the receiver takes it again."""
    _webhook(conn, site, webhook_id)
    changed = conn.execute(
        update(D)
        .where(D.c.id == delivery, D.c.webhook_id == webhook_id)
        .values(status="pending", attempts=0, next_attempt_at=utcnow(), delivered_at=None)
    )
    if changed.rowcount != 1:
        raise NotFound("delivery_unknown", delivery=delivery, webhook=webhook_id)
    return deliveries(conn, site, webhook_id, delivery=delivery)[0]


# --- the worker's side --------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One POST to make: everything the worker needs, read in one query."""

    id: int
    delivery_id: str
    webhook_id: int
    url: str
    secret: str
    kind: str
    body: bytes
    site_id: str = ""  # the event's site: the one a log line about the delivery names

    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "User-Agent": "queuekiosk-webhooks",
            "X-Queuekiosk-Event": self.kind,
            "X-Queuekiosk-Delivery": self.delivery_id,
            "X-Queuekiosk-Signature": sign(self.secret, self.body),
        }


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body(event_id: int, kind: str, site_id: str, occurred_at: dt.datetime, payload: dict) -> bytes:
    """The JSON sent: made from the stored event, so every retry sends the very same bytes."""
    return json.dumps(
        {"id": event_id, "event": kind, "site": site_id, "occurred_at": _iso(occurred_at), "data": payload},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


# the worker's statements, built once (it runs them every round)
_ACTIVE_HOOKS = select(W.c.id, W.c.site_id, W.c.events, W.c.created_at).where(W.c.active.is_(True))
_ACTIVE_HOOK_IDS = select(W.c.id).where(W.c.active.is_(True))
_UNDISPATCHED = (
    select(E.c.id, E.c.site_id, E.c.kind, E.c.created_at).where(E.c.dispatched_at.is_(None)).order_by(E.c.id)
)
_ANY_UNDISPATCHED = select(E.c.id).where(E.c.dispatched_at.is_(None)).limit(1)
_MARK_ALL_DISPATCHED = (
    update(E).where(E.c.dispatched_at.is_(None)).values(dispatched_at=bindparam("now", type_=E.c.dispatched_at.type))
)


def dispatch(conn, site=None, limit: int = 100, now: dt.datetime | None = None) -> int:
    """Make the deliveries of events not yet dispatched, one per webhook that wants each (every site)
    and was registered by the time it happened: a webhook is sent what happens from its registration
    on, however late the worker dispatches. With no webhook, every event not yet dispatched is
    marked so at once (nobody to make deliveries for)."""
    now = now or utcnow()
    hooks = conn.execute(_ACTIVE_HOOKS).all()
    if not hooks:
        conn.execute(_MARK_ALL_DISPATCHED, {"now": now})
        return 0
    events = conn.execute(_UNDISPATCHED.limit(limit)).all()
    if not events:
        return 0
    rows = [
        {
            "delivery_id": str(uuid.uuid4()),
            "webhook_id": hook.id,
            "event_id": event.id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event in events
        for hook in hooks
        if hook.site_id == event.site_id and event.kind in hook.events and event.created_at >= hook.created_at
    ]
    if rows:
        conn.execute(insert(D), rows)
    conn.execute(update(E).where(E.c.id.in_([e.id for e in events])).values(dispatched_at=now))
    return len(rows)


def undispatched(conn) -> bool:
    """Whether any event waits to be dispatched (every site)."""
    return bool(read_bare(conn, _ANY_UNDISPATCHED))  # (the delivery worker asks every second)


def active_webhooks(conn) -> set[int]:
    """The ids of the webhooks being delivered to (every site)."""
    return {hook_id for (hook_id,) in read_bare(conn, _ACTIVE_HOOK_IDS)}


def due(conn, now: dt.datetime | None = None, limit: int = 200, skip_webhooks=()) -> list[Delivery]:
    """Pending deliveries whose time has come, oldest event first, except those of ``skip_webhooks``."""
    now = now or utcnow()
    query = (
        select(
            D.c.id,
            D.c.delivery_id,
            D.c.webhook_id,
            W.c.url,
            W.c.secret,
            E.c.id.label("event_id"),
            E.c.kind,
            E.c.site_id,
            E.c.created_at,
            E.c.payload,
        )
        .join(W, W.c.id == D.c.webhook_id)
        .join(E, E.c.id == D.c.event_id)
        .where(D.c.status == "pending", D.c.next_attempt_at <= now, W.c.active.is_(True))
        .order_by(D.c.event_id, D.c.id)
        .limit(limit)
    )
    if skip_webhooks:
        query = query.where(D.c.webhook_id.not_in(list(skip_webhooks)))
    return [
        Delivery(
            row.id,
            row.delivery_id,
            row.webhook_id,
            row.url,
            row.secret,
            row.kind,
            body(row.event_id, row.kind, row.site_id, row.created_at, row.payload),
            row.site_id,
        )
        for row in conn.execute(query)
    ]


def retry_delays(text: str | None) -> tuple[float, ...]:
    """A retry schedule from "10,30,60,..." (seconds); None or empty: ``RETRY_DELAYS``. However it
    is set, the retries cover at least 24 hours (SPEC)."""
    if not text or not text.strip():
        return RETRY_DELAYS
    try:
        delays = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"the webhook retry schedule {text!r} is not a list of seconds such as 10,60,600") from None
    if any(delay <= 0 for delay in delays) or sum(delays) < 24 * 3600:
        raise ValueError(f"the webhook retry schedule {text!r} must be positive seconds adding up to 24 h or more")
    return delays


def next_attempt(attempts: int, now: dt.datetime, delays=RETRY_DELAYS) -> dt.datetime | None:
    """When to try again after ``attempts`` failed attempts; None: give up."""
    if attempts > len(delays):
        return None
    return now + dt.timedelta(seconds=delays[attempts - 1])


def mark_results(
    conn, site, results: list[tuple[int, int | None, str | None]], delays=RETRY_DELAYS, now: dt.datetime | None = None
) -> dict[int, str]:
    """Record attempts, each ``(delivery, HTTP status or None, error)``: delivered on a 2xx answer, else
    pending again, or failed when the schedule is over. The new status of each delivery."""
    now = now or utcnow()
    statuses = {}
    accepted: dict[int, list[int]] = {}  # by status code (one UPDATE for each, most often only 200)
    for delivery, code, _error in results:
        if code is not None and 200 <= code < 300:
            accepted.setdefault(code, []).append(delivery)
    for code, ids in accepted.items():
        conn.execute(
            update(D)
            .where(D.c.id.in_(ids), D.c.status == "pending")
            .values(
                status="delivered",
                attempts=D.c.attempts + 1,
                last_status_code=code,
                last_attempt_at=now,
                delivered_at=now,
                next_attempt_at=None,
                last_error=None,
            )
        )
        statuses.update(dict.fromkeys(ids, "delivered"))
    for delivery, code, error in results:
        if delivery in statuses:
            continue
        attempts = conn.execute(select(D.c.attempts).where(D.c.id == delivery)).scalar_one() + 1
        later = next_attempt(attempts, now, delays)
        statuses[delivery] = "pending" if later else "failed"
        conn.execute(
            update(D)
            .where(D.c.id == delivery, D.c.status == "pending")
            .values(
                status=statuses[delivery],
                attempts=attempts,
                last_status_code=code,
                last_attempt_at=now,
                next_attempt_at=later,
                last_error=(error or f"HTTP {code}")[:300],
            )
        )
    return statuses


def prune(conn, site=None, now: dt.datetime | None = None) -> int:
    """Forget finished deliveries, and dispatched events, older than ``KEEP_DAYS``."""
    before = (now or utcnow()) - dt.timedelta(days=KEEP_DAYS)
    removed = conn.execute(delete(D).where(D.c.created_at < before, D.c.status != "pending")).rowcount
    referenced = select(D.c.event_id).where(D.c.event_id == E.c.id).exists()
    removed += conn.execute(
        delete(E).where(and_(E.c.created_at < before, E.c.dispatched_at.is_not(None), ~referenced))
    ).rowcount
    return removed


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") + "Z" if value else None
