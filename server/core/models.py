"""The data model. Times are naive UTC everywhere; the business day is the site's local date.

Every table that holds centre data carries ``site_id`` so that one server can later serve
several sites. ``events`` is append-only: wait and service times are derived from it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The partial indexes' predicate for PostgreSQL is given to each index when a PostgreSQL engine
# first connects, not here: a `postgresql_where` at import would load SQLAlchemy's PostgreSQL
# dialect into every server, on SQLite too (about 2 MB). Before any DDL or schema comparison
# there is a connection, so each index has its predicate whenever PostgreSQL can see it.
_POSTGRESQL_WHERE: list[tuple[Index, str]] = []


def _partial_index(name: str, *columns: str, where: str, **options) -> Index:
    """An index of the rows matching ``where`` (SQL), on SQLite and on PostgreSQL alike."""
    index = Index(name, *columns, sqlite_where=text(where), **options)
    _POSTGRESQL_WHERE.append((index, where))
    return index


@event.listens_for(Engine, "do_connect")
def _declare_postgresql_predicates(dialect, *_connect_args) -> None:
    if dialect.name == "postgresql" and _POSTGRESQL_WHERE:
        for index, where in _POSTGRESQL_WHERE:
            index.dialect_kwargs["postgresql_where"] = text(where)
        _POSTGRESQL_WHERE.clear()


# stable constraint names, so Alembic migrations look the same on SQLite and PostgreSQL
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

HELD_STATES = ("called", "serving")  # a ticket in these states is held by exactly one counter


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))


class SiteSetup(Base):
    """The centre's whole setup (services, counters, displays, ... as config.yaml has it), the
    source of truth once the database exists: config.yaml only seeds an empty database.
    ``version`` grows with every saved change; each server process polls it to stay current."""

    __tablename__ = "site_setups"
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    document: Mapped[dict] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("site_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    range_start: Mapped[int] = mapped_column(Integer)
    range_end: Mapped[int] = mapped_column(Integer)
    target_wait_minutes: Mapped[int] = mapped_column(Integer)
    default_service_minutes: Mapped[float] = mapped_column(Float)
    # moving average of finished service times: a cache for the wait estimate, derivable from events
    avg_service_seconds: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PriorityClass(Base):
    __tablename__ = "priority_classes"
    __table_args__ = (UniqueConstraint("site_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Counter(Base):
    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("site_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    # closed (nobody works there: until a clerk signs in or the counter is opened) | open | paused
    state: Mapped[str] = mapped_column(String(16), default="closed")
    pause_reason: Mapped[str | None] = mapped_column(String(200))
    # normal tickets called in a row while a priority ticket waited (interleave policy)
    normal_streak: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CounterService(Base):
    __tablename__ = "counter_services"
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)


class NumberSequence(Base):
    """Per service and business day: the last number given (the source of gap-free numbers),
    and how many tickets wait in that queue now (kept in step by the engine, so issuing and
    calling never count the queue)."""

    __tablename__ = "number_sequences"
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)
    business_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)
    waiting: Mapped[int] = mapped_column(Integer, default=0)
    priority_waiting: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("origin_service_id", "business_day", "number", name="uq_tickets_number"),
        Index("ix_tickets_queue", "site_id", "status", "service_id", "issued_at"),
        # "next" takes the first of each kind from each queue (engine/choosing.py): these kinds apart
        _partial_index(
            "ix_tickets_priority_queue", "site_id", "status", "service_id", "issued_at", where="priority_id IS NOT NULL"
        ),
        _partial_index(
            "ix_tickets_transferred", "target_counter_id", "status", "issued_at", where="target_counter_id IS NOT NULL"
        ),
        _partial_index("ix_tickets_due", "site_id", "status", "due_at", where="due_at IS NOT NULL"),
        # the database itself refuses a second ticket held by one counter
        _partial_index(
            "uq_tickets_held_by_counter", "counter_id", unique=True, where="status IN ('called', 'serving')"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)  # unguessable, for /t/<id>
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    origin_service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))  # current queue
    number: Mapped[int] = mapped_column(Integer)
    business_day: Mapped[dt.date] = mapped_column(Date)
    priority_id: Mapped[int | None] = mapped_column(ForeignKey("priority_classes.id"))
    kiosk_id: Mapped[str | None] = mapped_column(String(32))
    # waiting | called | serving | done | no_show | expired (the day ended first); the moves between
    # them are the engine's (engine/records.py TRANSITIONS); remote: see REMOTE_STATUS
    status: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    called_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # first call: ends the wait
    last_called_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"))  # holder
    target_counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"))
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    # who made the latest call and who ended it (finished, no-show): what the events say, kept on
    # the ticket so that a report by clerk need not read a year of events
    called_by_user_id: Mapped[int | None] = mapped_column(Integer)
    called_by_token_id: Mapped[int | None] = mapped_column(Integer)
    ended_by_user_id: Mapped[int | None] = mapped_column(Integer)
    ended_by_token_id: Mapped[int | None] = mapped_column(Integer)
    # None: a walk-in; "booked": checked in with a booking; "remote": a same-day number taken from a phone
    origin: Mapped[str | None] = mapped_column(String(8))
    # a booked citizen checked in within the grace window is called ahead of walk-ins from this time
    # (the slot's start); None for everyone else (server/core/bookings/)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # the dossier ("mã hồ sơ") and the procedure served, as the clerk typed or scanned them (server/core/dossiers.py)
    dossier_code: Mapped[str | None] = mapped_column(String(40))
    procedure: Mapped[str | None] = mapped_column(String(32))


class Event(Base):
    """Append-only log of every step: who, which counter, when."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_site_at", "site_id", "at"),
        Index("ix_events_ticket", "ticket_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    detail: Mapped[dict | None] = mapped_column(JSON)


class PrintJob(Base):
    """One ticket to print, written in the same transaction as the ticket, so none is lost.

    ``content`` is what the paper says (printers/content.py TicketContent as JSON), fixed when the
    job is made: a reprint is a new job. A pending job survives restarts until it is printed
    or given up (``failed``, with the reason in ``last_error``).
    """

    __tablename__ = "print_jobs"
    __table_args__ = (Index("ix_print_jobs_queue", "site_id", "printer_id", "status", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    printer_id: Mapped[str] = mapped_column(String(32))  # a printer of config.yaml
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))  # None: a test print
    status: Mapped[str] = mapped_column(String(16))  # pending | printed | failed
    content: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


class PrinterState(Base):
    """A printer's last known state, saved by the one server process that knows it (the one that
    drives the printer, or the one its kiosk agent is connected to), so that every process shows
    the same state and a restart starts from it."""

    __tablename__ = "printer_states"
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    printer_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # a printer of config.yaml
    state: Mapped[str] = mapped_column(String(16))  # printers.drivers.PRINTER_STATES
    detail: Mapped[str | None] = mapped_column(String(300))
    reported_by: Mapped[str] = mapped_column(String(100))  # the saving process: host:pid:random
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # admin | supervisor | clerk
    full_name: Mapped[str | None] = mapped_column(String(200))  # shown on reports instead of the login name
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"))  # None: every site
    counter_number: Mapped[int | None] = mapped_column(Integer)  # a clerk's assigned counter
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # admin | supervisor | counter | kiosk | display
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"))
    counter_number: Mapped[int | None] = mapped_column(Integer)
    kiosk_id: Mapped[str | None] = mapped_column(String(32))  # a kiosk token bound to one kiosk
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256; the token is shown once
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


RATING_LEVELS = ("very_satisfied", "satisfied", "unsatisfied")


class Rating(Base):
    """A citizen's rating of one served ticket, from the rating tablet of the counter that finished it.

    ``user_id`` is the clerk who finished the ticket (from its "finished" event), ``token_id``
    the rating tablet that sent it. One rating per ticket: the database refuses a second.
    """

    __tablename__ = "ratings"
    __table_args__ = (
        Index("ix_ratings_site_day", "site_id", "business_day"),
        Index("ix_ratings_user_day", "user_id", "business_day"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    level: Mapped[str] = mapped_column(String(16))  # very_satisfied | satisfied | unsatisfied
    reasons: Mapped[list] = mapped_column(JSON)  # codes of config.yaml rating.reasons (unsatisfied only)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    business_day: Mapped[dt.date] = mapped_column(Date)


class IdempotencyKey(Base):
    """The answer to a counter action sent with an ``Idempotency-Key`` header, kept for a day.

    Written in the same transaction as the action, so a repeated request (a keypad that lost
    the answer and sends again) gets this answer back instead of acting a second time.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)  # "token:<id>" or "user:<id>"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256 (person_key) of method, path, body
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Webhook(Base):
    """A receiver of signed event POSTs (see server/core/outbox.py). ``secret`` is kept as given
    because signing needs it; the API shows it once, at creation, then only masked."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    url: Mapped[str] = mapped_column(String(500))
    events: Mapped[list] = mapped_column(JSON)  # kinds it wants, e.g. ["ticket.issued"]
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False: deleted (deliveries kept)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class OutboxEvent(Base):
    """One event for the outside world (webhooks, notifications), written in the same transaction
    as the change it tells of, so that none is lost and none told of a change that did not happen.
    ``dispatched_at`` is set when the delivery worker has made its deliveries."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        _partial_index("ix_outbox_events_pending", "id", where="dispatched_at IS NULL"),
        Index("ix_outbox_events_site_created_at", "site_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    kind: Mapped[str] = mapped_column(String(40))  # ticket.issued, rating.created, ...
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class WebhookDelivery(Base):
    """One event to one webhook, tried until a 2xx answer or the retry schedule ends.
    ``delivery_id`` is sent as X-Queuekiosk-Delivery, the same on every retry and replay."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"))
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed (retries given up)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


REMOTE_STATUS = "remote"  # a remote number's ticket until its citizen checks in: not called, not counted waiting


class Booking(Base):
    """A citizen's place in a slot, or a same-day remote number (server/core/bookings/).

    Personal data only as a masked form and a keyed hash: ``person_hash`` is the HMAC of the ID
    number (else of the phone), what "one number per person" and a check-in by ID card match on.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_site_day", "site_id", "business_day", "status"),
        Index("ix_bookings_person", "person_hash", "business_day"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # unguessable: shown, in the QR code, manages it
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    kind: Mapped[str] = mapped_column(String(8))  # slot (a slot on a day) | remote (a same-day number, "lấy số từ xa")
    business_day: Mapped[dt.date] = mapped_column(Date)
    slot_start: Mapped[dt.datetime | None] = mapped_column(DateTime)
    slot_end: Mapped[dt.datetime | None] = mapped_column(DateTime)
    deadline: Mapped[dt.datetime | None] = mapped_column(DateTime)  # remote: checked in by then, or it lapses
    name: Mapped[str] = mapped_column(String(100))
    phone_masked: Mapped[str] = mapped_column(String(16))
    id_masked: Mapped[str | None] = mapped_column(String(16))
    person_hash: Mapped[str] = mapped_column(String(64))
    # booked | checked_in | cancelled | lapsed (remote, past its deadline)
    status: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    token_id: Mapped[int | None] = mapped_column(Integer)  # the integration that booked it, if one did
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class BookingSlot(Base):
    """Places taken in one slot of a service: raised only while below the slot's capacity, in the
    booking's transaction, so no slot is ever oversold."""

    __tablename__ = "booking_slots"
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)
    slot_start: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    taken: Mapped[int] = mapped_column(Integer)


class PersonDay(Base):
    """One number per person per service and business day, walk-in, remote or booked: the key refuses a second."""

    __tablename__ = "person_days"
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)
    business_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    person_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))


class NotificationSubscription(Base):
    """A citizen's wish to be told when their turn nears and when they are called, on one channel.
    The address (phone or e-mail) is kept encrypted, and only until the ticket ends; the masked
    form stays for the record."""

    __tablename__ = "notification_subscriptions"
    __table_args__ = (
        UniqueConstraint("ticket_id", "channel"),
        Index("ix_notification_subscriptions_active", "ended_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    channel: Mapped[str] = mapped_column(String(16))  # sms | email | zalo
    address_sealed: Mapped[str | None] = mapped_column(String(1000))  # None once the ticket ended
    address_masked: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Notice(Base):
    """One message to one subscriber. ``key`` ("near:HT", "called:5") is unique per subscription, so a
    message is never made twice; one found "sending" after a restart is not sent again."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("subscription_id", "key"), Index("ix_notices_due", "status", "next_attempt_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("notification_subscriptions.id"))
    key: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON)  # what the text says: number, counter, ahead
    # pending | sending | sent | failed | dropped (too late, outside hours)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class BookingOptIn(Base):
    """A citizen's wish, made when booking, to be told when their turn nears: it becomes a
    NotificationSubscription of the ticket the booking gets at check-in, and is erased with the
    booking's end (cancelled, lapsed) if it never gets one."""

    __tablename__ = "booking_opt_ins"
    __table_args__ = (UniqueConstraint("booking_id", "channel"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    channel: Mapped[str] = mapped_column(String(16))
    address_sealed: Mapped[str] = mapped_column(String(1000))
    address_masked: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SiteDayFigures(Base):
    """One site's figures for one business day that is over, counted once from its tickets and kept:
    the province's comparison of sites (server/core/reports/sites.py) reads a year of fifty sites
    from these rows instead of millions of tickets. A day is kept only once nothing in it can
    change (no ticket waiting or held); ``wait_histogram`` counts the called tickets' waits by
    bucket (reports/sites.py WAIT_BUCKETS) for the 90th percentile."""

    __tablename__ = "site_day_figures"
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    business_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    issued: Mapped[int] = mapped_column(Integer)
    served: Mapped[int] = mapped_column(Integer)
    no_show: Mapped[int] = mapped_column(Integer)
    called: Mapped[int] = mapped_column(Integer)
    target_met: Mapped[int] = mapped_column(Integer)
    wait_sum: Mapped[float] = mapped_column(Float)  # seconds, over the called tickets
    wait_histogram: Mapped[list] = mapped_column(JSON)
    rated: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)  # very satisfied + satisfied
    made_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ReportDayFigures(Base):
    """One site's summary-report figures of one business day that is over, for one grouping
    (``total``, ``service``, ``counter``, ``clerk``, ``hour``, ``peaks``), counted once from its
    tickets and kept (server/core/reports/kept.py): a year's report reads these rows instead of
    150,000 tickets. ``basis`` names what the figures were counted with (the services' target
    waits): kept figures of another basis are counted again. ``figures`` is JSON; ``times`` the
    rows' waits and service times, each row's sorted, as 8-byte floats. A whole month or year is
    kept too (grouping ``m``/``y`` + the grouping, dated on its first day), its times in chunk
    rows of their own (server/core/reports/kept.py says how)."""

    __tablename__ = "report_day_figures"
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    grouping: Mapped[str] = mapped_column(String(8), primary_key=True)
    business_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    basis: Mapped[str] = mapped_column(Text)
    figures: Mapped[str] = mapped_column(Text)
    times: Mapped[bytes] = mapped_column(LargeBinary)
    made_at: Mapped[dt.datetime] = mapped_column(DateTime)
