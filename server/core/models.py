"""The data model: the tables, as SQLAlchemy Core sees them. Times are naive UTC everywhere; the
business day is the site's local date.

Every table that holds centre data carries ``site_id`` so that one server can later serve
several sites. ``events`` is append-only: wait and service times are derived from it.

The ORM classes (``Ticket``, ``Event``, ...: server/core/mapped.py, mapped onto these tables) are
``models.Ticket`` and so on, as before, but made at their first use: the engine, the idle server's
loops and its start read and write these tables through Core, so a server that has not yet served
what needs the ORM holds neither ``sqlalchemy.orm`` nor the classes (about 7 MB, issue 21).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    text,
)
from sqlalchemy.engine import Engine

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
# the ``by`` of a "finished" event that timed nothing: the counter closed under the number being served,
# or its business day ended (served until then at the latest; nobody knows how long)
UNTIMED_FINISHES = ("close", "end_of_day")


EPOCH = dt.datetime(1970, 1, 1)  # naive UTC, as the database keeps times
EPOCH_UTC = EPOCH.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    """Now as naive UTC: ``datetime.now(UTC).replace(tzinfo=None)``, the same value. ``replace``
    parses its keywords at each call (~9k instructions, twice a ticket with local_time): the aware
    time's distance from the epoch added to the naive epoch is exact, and a few times cheaper."""
    return dt.datetime.now(dt.UTC) - EPOCH_UTC + EPOCH


metadata = MetaData(naming_convention=NAMING)


sites = Table(
    "sites",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
)

# The centre's whole setup (services, counters, displays, ... as config.yaml has it), the
# source of truth once the database exists: config.yaml only seeds an empty database.
# ``version`` grows with every saved change; each server process polls it to stay current.
site_setups = Table(
    "site_setups",
    metadata,
    Column("site_id", ForeignKey("sites.id"), primary_key=True),
    Column("document", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

services = Table(
    "services",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200)),
    Column("range_start", Integer, nullable=False),
    Column("range_end", Integer, nullable=False),
    Column("target_wait_minutes", Integer, nullable=False),
    Column("default_service_minutes", Float, nullable=False),
    # moving average of finished service times: a cache for the wait estimate, derivable from events
    Column("avg_service_seconds", Float),
    Column("active", Boolean, default=True, nullable=False),
    UniqueConstraint("site_id", "code"),
)

priority_classes = Table(
    "priority_classes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200)),
    Column("active", Boolean, default=True, nullable=False),
    UniqueConstraint("site_id", "code"),
)

counters = Table(
    "counters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    # closed (nobody works there: until a clerk signs in or the counter is opened) | open | paused
    Column("state", String(16), default="closed", nullable=False),
    Column("pause_reason", String(200)),
    # normal tickets called in a row while a priority ticket waited (interleave policy)
    Column("normal_streak", Integer, default=0, nullable=False),
    Column("active", Boolean, default=True, nullable=False),
    UniqueConstraint("site_id", "number"),
)

counter_services = Table(
    "counter_services",
    metadata,
    Column("counter_id", ForeignKey("counters.id"), primary_key=True),
    Column("service_id", ForeignKey("services.id"), primary_key=True),
)

# Per service and business day: the last number given (the source of gap-free numbers),
# how many tickets of the service wait now, and how many of them were sent to one counter
# (a transfer: out of the queue, engine/numbering.py), kept in step by the engine under the
# row's lock, so issuing and calling never count the queue.
number_sequences = Table(
    "number_sequences",
    metadata,
    Column("service_id", ForeignKey("services.id"), primary_key=True),
    Column("business_day", Date, primary_key=True),
    Column("last_number", Integer, nullable=False),
    Column("waiting", Integer, default=0, nullable=False),
    Column("priority_waiting", Integer, default=0, nullable=False),
    Column("sent", Integer, default=0, server_default="0", nullable=False),
    Column("priority_sent", Integer, default=0, server_default="0", nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(24), unique=True, nullable=False),  # unguessable, for /t/<id>
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("origin_service_id", ForeignKey("services.id"), nullable=False),
    Column("service_id", ForeignKey("services.id"), nullable=False),  # current queue
    Column("number", Integer, nullable=False),
    Column("business_day", Date, nullable=False),
    Column("priority_id", ForeignKey("priority_classes.id")),
    Column("kiosk_id", String(32)),
    # waiting | called | serving | done | no_show | expired (the day ended first); the moves between
    # them are the engine's (engine/records.py TRANSITIONS); remote: see REMOTE_STATUS
    Column("status", String(16), nullable=False),
    Column("issued_at", DateTime, nullable=False),
    Column("called_at", DateTime),  # first call: ends the wait
    Column("last_called_at", DateTime),
    Column("started_at", DateTime),
    Column("finished_at", DateTime),
    Column("counter_id", ForeignKey("counters.id")),  # holder
    Column("target_counter_id", ForeignKey("counters.id")),
    Column("transfers", Integer, default=0, nullable=False),
    # who made the latest call and who ended it (finished, no-show): what the events say, kept on
    # the ticket so that a report by clerk need not read a year of events
    Column("called_by_user_id", Integer),
    Column("called_by_token_id", Integer),
    Column("ended_by_user_id", Integer),
    Column("ended_by_token_id", Integer),
    # None: a walk-in; "booked": checked in with a booking; "remote": a same-day number taken from a phone
    Column("origin", String(8)),
    # a booked citizen checked in within the grace window is called ahead of walk-ins from this time
    # (the slot's start); None for everyone else (server/core/bookings/)
    Column("due_at", DateTime),
    # a remote number's check-in at the centre, where its wait starts (the ticket view's ``queued_at``);
    # None for everyone else (issued on arrival) and while a remote number is not checked in
    Column("checked_in_at", DateTime),
    # the dossier ("mã hồ sơ") and the procedure served, as the clerk typed or scanned them (server/core/dossiers.py)
    Column("dossier_code", String(40)),
    Column("procedure", String(32)),
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
    _partial_index("uq_tickets_held_by_counter", "counter_id", unique=True, where="status IN ('called', 'serving')"),
)

# Append-only log of every step: who, which counter, when.
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("ticket_id", ForeignKey("tickets.id")),
    Column("service_id", ForeignKey("services.id")),
    Column("counter_id", ForeignKey("counters.id")),
    Column("user_id", ForeignKey("users.id")),
    Column("token_id", ForeignKey("api_tokens.id")),
    Column("detail", JSON),
    Index("ix_events_site_at", "site_id", "at"),
    Index("ix_events_ticket", "ticket_id"),
)

# One ticket to print, written in the same transaction as the ticket, so none is lost.
#
# ``content`` is what the paper says (printers/content.py TicketContent as JSON), fixed when the
# job is made: a reprint is a new job. A pending job survives restarts until it is printed
# or given up (``failed``, with the reason in ``last_error``).
print_jobs = Table(
    "print_jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("printer_id", String(32), nullable=False),  # a printer of config.yaml
    Column("ticket_id", ForeignKey("tickets.id")),  # None: a test print
    Column("status", String(16), nullable=False),  # pending | printed | failed
    Column("content", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("attempts", Integer, default=0, nullable=False),
    Column("last_error", String(500)),
    Index("ix_print_jobs_queue", "site_id", "printer_id", "status", "id"),
)

# A printer's last known state, saved by the one server process that knows it (the one that
# drives the printer, or the one its kiosk agent is connected to), so that every process shows
# the same state and a restart starts from it.
printer_states = Table(
    "printer_states",
    metadata,
    Column("site_id", ForeignKey("sites.id"), primary_key=True),
    Column("printer_id", String(32), primary_key=True),  # a printer of config.yaml
    Column("state", String(16), nullable=False),  # printers.drivers.PRINTER_STATES
    Column("detail", String(300)),
    Column("reported_by", String(100), nullable=False),  # the saving process: host:pid:random
    Column("updated_at", DateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), unique=True, nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),  # admin | supervisor | clerk
    Column("full_name", String(200)),  # shown on reports instead of the login name
    Column("site_id", ForeignKey("sites.id")),  # None: every site
    Column("counter_number", Integer),  # a clerk's assigned counter
    Column("active", Boolean, default=True, nullable=False),
    Column("created_at", DateTime, default=utcnow, nullable=False),
)
# login names are unique regardless of case ("Lan" and "lan" are one name: the sign-in takes either).
# Migration 0017 adds it only to a database whose names allow it (server/core/auth.py name_clashes)
Index("uq_users_username_lower", func.lower(users.c.username), unique=True)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("role", String(16), nullable=False),  # admin | supervisor | counter | kiosk | display
    Column("site_id", ForeignKey("sites.id")),
    Column("counter_number", Integer),
    Column("kiosk_id", String(32)),  # a kiosk token bound to one kiosk
    Column("token_hash", String(64), unique=True, nullable=False),  # sha256; the token is shown once
    Column("created_at", DateTime, default=utcnow, nullable=False),
    Column("revoked_at", DateTime),
)

RATING_LEVELS = ("very_satisfied", "satisfied", "unsatisfied")

# A citizen's rating of one served ticket, from the rating tablet of the counter that finished it.
#
# ``user_id`` is the clerk who finished the ticket (from its "finished" event), ``token_id``
# the rating tablet that sent it. One rating per ticket: the database refuses a second.
ratings = Table(
    "ratings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("ticket_id", ForeignKey("tickets.id"), unique=True, nullable=False),
    Column("counter_id", ForeignKey("counters.id"), nullable=False),
    Column("user_id", ForeignKey("users.id")),
    Column("service_id", ForeignKey("services.id"), nullable=False),
    Column("token_id", ForeignKey("api_tokens.id")),
    Column("level", String(16), nullable=False),  # very_satisfied | satisfied | unsatisfied
    Column("reasons", JSON, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("business_day", Date, nullable=False),
    Index("ix_ratings_site_day", "site_id", "business_day"),
    Index("ix_ratings_user_day", "user_id", "business_day"),
)

# The answer to a counter action sent with an ``Idempotency-Key`` header, kept for a day.
#
# Written in the same transaction as the action, so a repeated request (a keypad that lost
# the answer and sends again) gets this answer back instead of acting a second time.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(40), primary_key=True),  # "token:<id>" or "user:<id>"
    Column("key", String(100), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", JSON),
    Column("created_at", DateTime, nullable=False),
    Index("ix_idempotency_keys_created_at", "created_at"),
)

# A receiver of signed event POSTs (see server/core/outbox.py). ``secret`` is kept as given
# because signing needs it; the API shows it once, at creation, then only masked.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("url", String(500), nullable=False),
    Column("events", JSON, nullable=False),  # kinds it wants, e.g. ["ticket.issued"]
    Column("secret", String(100), nullable=False),
    Column("active", Boolean, default=True, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# One event for the outside world (webhooks, notifications), written in the same transaction
# as the change it tells of, so that none is lost and none told of a change that did not happen.
# ``dispatched_at`` is set when the delivery worker has made its deliveries.
outbox_events = Table(
    "outbox_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("kind", String(40), nullable=False),  # ticket.issued, rating.created, ...
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("dispatched_at", DateTime),
    _partial_index("ix_outbox_events_pending", "id", where="dispatched_at IS NULL"),
    Index("ix_outbox_events_site_created_at", "site_id", "created_at"),
)

# One event to one webhook, tried until a 2xx answer or the retry schedule ends.
# ``delivery_id`` is sent as X-Queuekiosk-Delivery, the same on every retry and replay.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("delivery_id", String(36), unique=True, nullable=False),
    Column("webhook_id", ForeignKey("webhooks.id"), nullable=False),
    Column("event_id", ForeignKey("outbox_events.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, default=0, nullable=False),
    Column("next_attempt_at", DateTime),
    Column("last_status_code", Integer),
    Column("last_error", String(300)),
    Column("created_at", DateTime, nullable=False),
    Column("last_attempt_at", DateTime),
    Column("delivered_at", DateTime),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
)

REMOTE_STATUS = "remote"  # a remote number's ticket until its citizen checks in: not called, not counted waiting

# A citizen's place in a slot, or a same-day remote number (server/core/bookings/).
#
# Personal data only as a masked form and a keyed hash: ``person_hash`` is the HMAC of the ID
# number (else of the phone), what "one number per person" and a check-in by ID card match on.
bookings = Table(
    "bookings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(16), unique=True, nullable=False),  # unguessable: shown, in the QR code, manages it
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("service_id", ForeignKey("services.id"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("business_day", Date, nullable=False),
    Column("slot_start", DateTime),
    Column("slot_end", DateTime),
    Column("deadline", DateTime),  # remote: checked in by then, or it lapses
    Column("name", String(100), nullable=False),
    Column("phone_masked", String(16), nullable=False),
    Column("id_masked", String(16)),
    Column("person_hash", String(64), nullable=False),
    # booked | checked_in | cancelled | lapsed (remote, past its deadline)
    Column("status", String(16), nullable=False),
    Column("ticket_id", ForeignKey("tickets.id")),
    Column("token_id", Integer),  # the integration that booked it, if one did
    Column("created_at", DateTime, nullable=False),
    Column("checked_in_at", DateTime),
    Column("cancelled_at", DateTime),
    # why the centre cancelled it: "site_retired", "closed_day" (its day made a holiday or not a working day),
    # "hours_changed" (its slot now outside the opening hours); None where its holder cancelled it
    Column("cancel_reason", String(16)),
    Index("ix_bookings_site_day", "site_id", "business_day", "status"),
    Index("ix_bookings_person", "person_hash", "business_day"),
    # a ticket's booking, as the reports look up a remote number's check-in (migration 0021)
    Index("ix_bookings_ticket", "ticket_id"),
)

# Places taken in one slot of a service: raised only while below the slot's capacity, in the
# booking's transaction, so no slot is ever oversold.
booking_slots = Table(
    "booking_slots",
    metadata,
    Column("service_id", ForeignKey("services.id"), primary_key=True),
    Column("slot_start", DateTime, primary_key=True),
    Column("taken", Integer, nullable=False),
)

# One number per person per service and business day, walk-in, remote or booked: the key refuses a second.
person_days = Table(
    "person_days",
    metadata,
    Column("service_id", ForeignKey("services.id"), primary_key=True),
    Column("business_day", Date, primary_key=True),
    Column("person_hash", String(64), primary_key=True),
    Column("booking_id", ForeignKey("bookings.id")),
    Column("ticket_id", ForeignKey("tickets.id")),
)

# A citizen's wish to be told when their turn nears and when they are called, on one channel.
# The address (phone or e-mail) is kept encrypted, and only until the ticket ends; the masked
# form stays for the record.
notification_subscriptions = Table(
    "notification_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False),
    Column("channel", String(16), nullable=False),  # sms | email | zalo
    Column("address_sealed", String(1000)),  # None once the ticket ended
    Column("address_masked", String(100), nullable=False),
    Column("language", String(8), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
    UniqueConstraint("ticket_id", "channel"),
    Index("ix_notification_subscriptions_active", "ended_at"),
)

# One message to one subscriber. ``key`` ("near:HT", "near:DC@5", "called:5") is unique per subscription, so a
# message is never made twice; one found "sending" after a restart is not sent again.
notices = Table(
    "notices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subscription_id", ForeignKey("notification_subscriptions.id"), nullable=False),
    Column("key", String(40), nullable=False),
    Column("params", JSON, nullable=False),  # what the text says: number, counter, ahead
    # pending | sending | sent | failed | dropped (too late, outside hours)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, default=0, nullable=False),
    Column("next_attempt_at", DateTime),
    Column("last_error", String(300)),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    UniqueConstraint("subscription_id", "key"),
    Index("ix_notices_due", "status", "next_attempt_at"),
)

# A citizen's wish, made when booking, to be told when their turn nears: it becomes a
# NotificationSubscription of the ticket the booking gets at check-in, and is erased with the
# booking's end (cancelled, lapsed) if it never gets one.
booking_opt_ins = Table(
    "booking_opt_ins",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("booking_id", ForeignKey("bookings.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("address_sealed", String(1000), nullable=False),
    Column("address_masked", String(100), nullable=False),
    Column("language", String(8), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("booking_id", "channel"),
)

# One message to a citizen whose booking the centre cancelled (its day or hours closed, its site
# retired), on a channel they opted in on: the opt-in's sealed address moves here with the cancel, in its
# transaction, and is erased once the message is sent, given up or no longer meant. One per booking and
# channel: never told twice. (server/core/cancel_notices.py)
cancel_notices = Table(
    "cancel_notices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("booking_id", ForeignKey("bookings.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("address_sealed", String(1000)),  # None once it ended
    Column("address_masked", String(100), nullable=False),
    Column("language", String(8), nullable=False),
    Column("params", JSON, nullable=False),  # what the text says: site, date, start, code, reason
    # pending | sending (claimed by a worker: next_attempt_at says when) | sent | failed (given up, or cut off
    # while it went) | dropped (its channel turned off, or Zalo without a template for it)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, default=0, nullable=False),
    Column("next_attempt_at", DateTime),
    Column("last_error", String(300)),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    UniqueConstraint("booking_id", "channel"),
    Index("ix_cancel_notices_due", "status", "next_attempt_at"),
)

# What is stored of an SMS code sent for a booking request (server/core/bookings/sms.py): the request
# and its code are kept nowhere (the citizen's page holds the ``pending`` proof), so only the wrong
# codes typed for it are, keyed by a hash of that proof; at SMS_CODE_TRIES the code is void. A row
# outlives its code by nothing: it goes once the code has expired.
sms_code_guesses = Table(
    "sms_code_guesses",
    metadata,
    Column("proof_hash", String(64), primary_key=True),
    Column("wrong", Integer, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Index("ix_sms_code_guesses_expires_at", "expires_at"),
)

# Facts of the whole installation, one row each. ``person_key``: a fingerprint of the key that hashes
# ID numbers and phones (server/core/installation.py), so that a process started with another key
# (another machine's instance folder) is refused instead of giving one citizen two numbers.
# ``removed_site_version.{id}``: the setup version of a removed site, until its id is used again
# (server/core/sites.py ``_removed_version``).
installation = Table(
    "installation",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

# One site's figures for one business day that is over, counted once from its tickets and kept:
# the province's comparison of sites (server/core/reports/sites.py) reads a year of fifty sites
# from these rows instead of millions of tickets. A day is kept only once nothing in it can
# change (no ticket waiting or held); ``wait_histogram`` counts the called tickets' waits by
# bucket (reports/sites.py WAIT_BUCKETS) for the 90th percentile.
site_day_figures = Table(
    "site_day_figures",
    metadata,
    Column("site_id", ForeignKey("sites.id"), primary_key=True),
    Column("business_day", Date, primary_key=True),
    Column("issued", Integer, nullable=False),
    Column("served", Integer, nullable=False),
    Column("no_show", Integer, nullable=False),
    Column("called", Integer, nullable=False),
    Column("target_met", Integer, nullable=False),
    Column("wait_sum", Float, nullable=False),  # seconds, over the called tickets
    Column("wait_histogram", JSON, nullable=False),
    Column("rated", Integer, nullable=False),
    Column("satisfied", Integer, nullable=False),  # very satisfied + satisfied
    Column("made_at", DateTime, nullable=False),
)

# One site's summary-report figures of one business day that is over, for one grouping
# (``total``, ``service``, ``counter``, ``clerk``, ``hour``, ``peaks``), counted once from its
# tickets and kept (server/core/reports/kept.py): a year's report reads these rows instead of
# 150,000 tickets. ``basis`` names what the figures were counted with (the services' target
# waits): kept figures of another basis are counted again. ``figures`` is JSON; ``times`` the
# rows' waits and service times, each row's sorted, as 8-byte floats. A whole month or year is
# kept too (grouping ``m``/``y`` + the grouping, dated on its first day), its times in chunk
# rows of their own (server/core/reports/kept.py says how).
report_day_figures = Table(
    "report_day_figures",
    metadata,
    Column("site_id", ForeignKey("sites.id"), primary_key=True),
    Column("grouping", String(8), primary_key=True),
    Column("business_day", Date, primary_key=True),
    Column("basis", Text, nullable=False),
    Column("figures", Text, nullable=False),
    Column("times", LargeBinary, nullable=False),
    Column("made_at", DateTime, nullable=False),
)


# the ORM's names, given by mapped.py at their first use
_MAPPED = frozenset(
    {
        "Base",
        "Site",
        "SiteSetup",
        "Service",
        "PriorityClass",
        "Counter",
        "CounterService",
        "NumberSequence",
        "Ticket",
        "Event",
        "PrintJob",
        "PrinterState",
        "User",
        "ApiToken",
        "Rating",
        "IdempotencyKey",
        "Webhook",
        "OutboxEvent",
        "WebhookDelivery",
        "Booking",
        "BookingSlot",
        "PersonDay",
        "NotificationSubscription",
        "Notice",
        "BookingOptIn",
        "SiteDayFigures",
        "ReportDayFigures",
    }
)


def __getattr__(name: str):
    if name in _MAPPED:
        from . import mapped

        return getattr(mapped, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
