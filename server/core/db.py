"""Database engine, migrations on start, and loading the configured centre into the database."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from select import POLLIN
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, delete, event, func, insert, inspect, select, text, update
from sqlalchemy.engine import Connection, Engine, Row, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InvalidatePoolError

from . import models as m
from . import sqlite_memory
from .config import Config, ConfigError, parse_stored
from .errors import QueueError
from .pg_again import _IDLE, begin, first_statement_again

if TYPE_CHECKING:  # the ORM is loaded where a session is first made (session_factory), not by a server's start
    from sqlalchemy.orm import Session, sessionmaker

    from .sites import Successor

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 824_771_001  # any constant shared by every queuekiosk process
READS_ONLY = "queuekiosk_reads_only"  # an execution option: see reads_engine


def default_database_url(instance_dir: Path) -> str:
    return os.environ.get("QUEUEKIOSK_DATABASE_URL") or f"sqlite:///{instance_dir / 'queuekiosk.db'}"


def create_db_engine(url: str, busy_seconds: float = 30) -> Engine:
    """``busy_seconds``: how long a SQLite write waits for another process's write lock."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_seconds)
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 cooperates with gevent
    pool = database_pool_size()
    limits = pg_limits(parsed.query) if parsed.get_backend_name() == "postgresql" else {}
    # (hide_parameters as SQLite's, below)
    engine = create_engine(url, pool_size=pool, max_overflow=pool, hide_parameters=True, connect_args=limits)
    _wait_on_the_hub()
    _ping_when_idle(engine)
    _deferred_events(engine)
    first_statement_again(engine)
    return engine


# A PostgreSQL host that stops answering (a cable, a reboot, a failover to a host that accepts and says
# nothing yet) is an outage, answered 503 within seconds, not requests and the group writer hanging: a
# connect gives up after 5 s (psycopg's default is 130 s), a connection whose host went silent fails
# within ~20 s (keepalives, and TCP's own limit for unacknowledged data), not the system's ~15 minutes.
# A round trip under way when a failover moves the address (a virtual IP) is never answered: the first
# keepalive probe, 2 s after the last word (was 10, past the kiosk's 10 s for the writes queued behind),
# meets the new holder's reset. 18 unanswered probes a second apart make tcp_user_timeout's ~20 s where
# libpq does not apply that (macOS, tcp_user_timeout=0 in the URL), not 5 s, which a short blip reaches.
# Each is libpq's setting of that name; one given in QUEUEKIOSK_DATABASE_URL's query (or libpq's
# PGCONNECT_TIMEOUT) is kept.
PG_CONNECTION_LIMITS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 2,
    "keepalives_interval": 1,
    "keepalives_count": 18,
    "tcp_user_timeout": 20_000,  # milliseconds
}
# PostgreSQL's side of the same connection gives up as soon (its defaults: the system's, ~2 hours): a
# session whose client gave up in a network stall ends and rolls back, its row locks (the services'
# numbers) freed, instead of holding them, idle in its transaction, for hours after the network is back
PG_SERVER_LIMITS = (
    "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=3 -c tcp_keepalives_count=3 -c tcp_user_timeout=20000"
)


def _their_connect_timeout(query):
    """The connect timeout the URL's ``query`` gives, else libpq's PGCONNECT_TIMEOUT (libpq reads it itself)."""
    return query.get("connect_timeout") or os.environ.get("PGCONNECT_TIMEOUT")


def pg_connect_timeout(query) -> str:
    """The seconds a connection made by ``pg_limits``' rule waits for an answer to its connect (to name
    them in a message): the URL's or libpq's environment's, else ours."""
    return str(_their_connect_timeout(query) or PG_CONNECTION_LIMITS["connect_timeout"])


def pg_limits(query, client_limits: dict = PG_CONNECTION_LIMITS) -> dict:
    """The ``connect_args`` of a PostgreSQL connection made from a URL whose query is ``query``:
    ``client_limits`` (libpq's) but those the URL's ``query`` (or the environment) sets itself, and
    ``PG_SERVER_LIMITS`` ahead of the URL's own ``options`` (or libpq's PGOPTIONS), which PostgreSQL reads
    later: theirs win. The pool's connections and a lease's own (lease.py) are made by this one rule."""
    given = set(query) | ({"connect_timeout"} if _their_connect_timeout(query) else set())
    limits = {name: value for name, value in client_limits.items() if name not in given}
    theirs = query.get("options", os.environ.get("PGOPTIONS", ""))
    limits["options"] = f"{PG_SERVER_LIMITS} {theirs}".strip()
    return limits


def _wait_on_the_hub() -> None:
    """Under gevent, psycopg waits for its socket through gevent's emulation of ``select.poll``: a
    Python object, a registration and a list of results at every round trip, about a tenth of a
    server process's CPU while issuing on PostgreSQL (py-spy). Here it waits on one io watcher of
    the hub instead. Waits with a time limit (psycopg's own, rare) stay psycopg's."""
    import sys

    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("select"):
        return
    from gevent import get_hub
    from psycopg import waiting

    if getattr(waiting.wait, "queuekiosk", False):
        return
    theirs = waiting.wait
    events = {waiting.Wait.R: 1, waiting.Wait.W: 2, waiting.Wait.RW: 3}  # libev's READ, WRITE
    # what woke the watcher, as psycopg's generators take it: for RW either (they try both harmlessly)
    ready = {waiting.Wait.R: waiting.Ready.R, waiting.Wait.W: waiting.Ready.W, waiting.Wait.RW: waiting.Ready.RW}

    # A wait to write (W, or RW: psycopg's pipeline mode asks it at every statement it queues, and
    # again to send the next) is most often over at once: the socket has room. A look that does not
    # wait (the real poll, one system call; not select, which refuses a descriptor of 1024 or more,
    # as a worker with many displays' sockets open gives a new connection) then answers it without
    # a turn of the hub.
    poll = monkey.get_original("select", "poll")
    from select import POLLIN, POLLOUT

    must_read = waiting.Wait.R
    asked = {waiting.Wait.W: POLLOUT, waiting.Wait.RW: POLLIN | POLLOUT}

    def wait(gen, fileno, interval=0.0, timeout=None):
        if timeout is not None:
            return theirs(gen, fileno, interval=interval, timeout=timeout)
        hub = get_hub()
        try:
            state = next(gen)
            while True:
                if state != must_read:
                    looking = poll()
                    looking.register(fileno, asked[state])
                    found = looking.poll(0)
                    ready_now = found[0][1] if found else 0
                    if ready_now & POLLOUT:  # (saying readable only when it is: else psycopg reads for nothing)
                        state = gen.send(waiting.Ready.RW if ready_now & POLLIN else waiting.Ready.W)
                        continue
                watcher = hub.loop.io(fileno, events[state])
                try:
                    hub.wait(watcher)
                finally:
                    watcher.close()
                state = gen.send(ready[state])
        except StopIteration as done:
            return done.value

    wait.queuekiosk = True
    waiting.wait = wait


IDLE_PING_SECONDS = 10.0
DEFAULT_POOL = 10


def database_pool_size() -> int:
    """PostgreSQL connections a process keeps (``QUEUEKIOSK_DATABASE_POOL``, default 10), and as many
    more at a peak: N processes use up to 2 × N × this of the server's ``max_connections`` (100 by
    default), so a machine with many processes keeps it lower."""
    value = os.environ.get("QUEUEKIOSK_DATABASE_POOL", "").strip()
    if not value:
        return DEFAULT_POOL
    if not value.isdigit() or not 1 <= int(value) <= 500:
        raise ValueError(f"QUEUEKIOSK_DATABASE_POOL is {value!r}; give a whole number of connections from 1 to 500")
    return int(value)


DEFERRED = "queuekiosk.deferred"  # Connection.info: writes of a write_transaction that go out with its COMMIT
# Connection.info, in a batch of the PostgreSQL group writer (writer.py): the number rows its actions
# lock, taken in one order (see NumberRowOrder)
ROW_ORDER = "queuekiosk.row_order"
# Connection.info, while the group writer runs a run of issuing's actions side by side (pg_writer.Gathered):
# what collects their statements, to send them in one round trip
GATHER = "queuekiosk.gather"


class OutOfOrder(Exception):
    """An action of a batch would lock a number row below one an earlier action of the batch holds:
    the writer undoes it and runs it at the head of the next batch (writer.py)."""


class NumberRowOrder:
    """The number rows (service, day) a batch's actions lock, in ascending (day, service) order only.
    Two batches of different processes that both take their rows in one order never wait for each
    other in a circle (a deadlock), however their tickets mix services. That holds because every
    action takes its own rows in that order too: most take one; a close, which changes several (the
    number it held, each service of the numbers sent back to their queues), changes them all together
    in that order (engine/numbering.RowChanges), and counters removed together lock theirs first
    (counter_actions.lock_for_closes). This checks the batch's order, not an action's own (the first
    action of a batch is never refused), so a lone action behaves as it did in a transaction of its own."""

    __slots__ = ("held", "mine")

    def __init__(self):
        self.held = None  # the highest row locked by the actions of the batch released so far
        self.mine = None  # the highest row locked by the action running

    def take(self, service, day) -> None:
        if service is None or day is None:
            return
        key = (day, service)
        if self.held is not None and key < self.held:
            raise OutOfOrder(key)
        if self.mine is None or key > self.mine:
            self.mine = key

    def released(self) -> None:
        if self.mine is not None and (self.held is None or self.mine > self.held):
            self.held = self.mine
        self.mine = None

    def undone(self) -> None:
        self.mine = None


@contextlib.contextmanager
def write_transaction(engine: Engine):
    """``engine.begin()``; on PostgreSQL the writes whose answer nobody reads (engine/prepared.py's
    ``execute``: an event, the outbox row) wait and go to the server with the next statement or with
    the COMMIT, in one round trip. Issuing a ticket then takes the number's row lock two round trips
    before the end instead of three: under load, tickets of one service wait less for each other. An
    error of a deferred write is raised by the statement or the COMMIT it went with, and the whole
    transaction rolls back, as before; any statement run through SQLAlchemy sends them first, so
    what it reads is what it would read without this."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        conn.info[DEFERRED] = []
        try:
            with conn.begin():
                yield conn
                send_deferred(conn, commit=True)
        finally:
            if not conn.invalidated:  # (a lost connection's info goes with it; reading it would reconnect)
                conn.info.pop(DEFERRED, None)


def defer(conn, sql: str, values: dict) -> bool:
    """Keep a write for later if ``conn`` is in a write_transaction; whether it was kept."""
    deferred = conn.info.get(DEFERRED)
    if deferred is None:
        return False
    deferred.append((sql, values))
    return True


def send_deferred(conn, commit: bool = False, then: tuple[str, ...] = ()) -> None:
    """The deferred writes (and the COMMIT, or the statements ``then``), as one query of several
    statements: one round trip."""
    deferred = conn.info.get(DEFERRED)
    if not deferred and not then and (not commit or _ran_nothing(conn)):
        return  # (a COMMIT of nothing would cost a BEGIN, sent for it, and its own round trip)
    dbapi = conn.dialect.loaded_dbapi
    try:  # the BEGIN, when these open the transaction: a connection it finds lost is replaced (pg_again)
        begin(conn)
    except dbapi.Error as error:
        raise driver_error(conn, "BEGIN", None, error) from error
    statements, deferred[:] = list(deferred or ()), []
    dbapi_connection = conn.connection.dbapi_connection
    with dbapi.ClientCursor(dbapi_connection) as cursor:  # client-side binding: several statements at once
        script = [cursor.mogrify(sql, values) for sql, values in statements] + (["COMMIT"] if commit else [])
        script += then
        try:
            cursor.execute("; ".join(script))
        except dbapi.Error as error:
            raise driver_error(conn, script[0], None, error) from error


def _ran_nothing(conn: Connection) -> bool:
    """Whether no transaction is open on ``conn``'s connection: a write_transaction ran no statement."""
    return conn.connection.dbapi_connection.pgconn.transaction_status == _IDLE


def driver_error(conn: Connection, sql: str | None, values, error: Exception, lost: bool = False) -> DBAPIError:
    """The driver's ``error`` of a statement run on ``conn``'s own connection, as SQLAlchemy raises it
    (errors.py answers it), its values hidden as the engine hides them (a citizen's data never in a log)."""
    dbapi = conn.dialect.loaded_dbapi
    return DBAPIError.instance(
        sql,
        values,
        error,
        dbapi.Error,
        dialect=conn.dialect,
        connection_invalidated=lost,
        hide_parameters=conn.engine.hide_parameters,
    )


def _deferred_events(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(conn, _cursor, statement, parameters, *_args):
        gather = conn.info.get(GATHER)
        order = conn.info.get(ROW_ORDER)
        if order is not None and "INTO number_sequences" in statement and isinstance(parameters, dict):
            order.take(parameters.get("service"), parameters.get("day"))  # a queue's count (numbering.py)
            if gather is not None:  # (actions side by side: the row is held from here on)
                order.released()
        if gather is not None:
            gather.flush(conn)  # in order: the statements gathered so far go first
        send_deferred(conn)  # in order: a statement of SQLAlchemy's sees the writes made before it

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn):
        if conn.invalidated:  # the connection was lost: its writes went nowhere, and its info cannot be read
            return
        deferred = conn.info.get(DEFERRED)
        if deferred:
            deferred.clear()  # never sent: nothing to undo


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it lay idle for ``IDLE_PING_SECONDS``, or when
    PostgreSQL spoke on it while it lay idle: one that came back a moment ago is alive, and
    SQLAlchemy's ``pool_pre_ping`` (a round trip at every checkout) was one of a ticket's seven.
    A server that ends a session (a restart, a failover, pg_terminate_backend) says so on it and
    closes it: a look at the socket (one system call, no round trip) sees that, so the first request
    after a restart is not the one that finds out. A connection that fails the ping is replaced (the
    pool tries again: SQLAlchemy's pessimistic handling, through its checkout event); a server
    restart while connections are in use is seen by the statement that fails, and SQLAlchemy then
    replaces every connection of the pool made before it."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        if record is not None:
            record.info["qk_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        idle_since = record.info.get("qk_idle_since")
        if idle_since is None:
            # new, so made after any loss: the mark waits for an older one (a new connection that raised
            # here would make SQLAlchemy connect again, and another greenlet marking the pool meanwhile,
            # three times, ended a request in "This connection is closed", a 500, not an outage's 503)
            return
        if engine.pool in _STALE_POOLS:  # (forget_older_connections)
            _STALE_POOLS.discard(engine.pool)
            raise InvalidatePoolError("a connection of the pool was found lost: those made before it go too")
        if time.monotonic() - idle_since < IDLE_PING_SECONDS and not spoken_on(dbapi_connection):
            return  # back from use a moment ago, and nothing came on it since
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if not engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            raise DisconnectionError("the pooled connection did not answer its ping")


_STALE_POOLS: weakref.WeakSet = weakref.WeakSet()  # pools whose connections made before now are to go


def forget_older_connections(engine: Engine) -> None:
    """Have the pool replace every connection it made before now, as SQLAlchemy does itself when a
    statement of its finds a connection lost: the next checkout raises SQLAlchemy's
    InvalidatePoolError (its public way, from the checkout event), so the pool marks the time and
    replaces each older connection at its checkout. For a connection found lost outside SQLAlchemy's
    statements (the group writer's own round trips): after a failover that moved the address,
    nothing came on the idle ones, and each would be found dead only by the request that used it."""
    _STALE_POOLS.add(engine.pool)


def spoken_on(dbapi_connection) -> bool:
    """Whether an idle psycopg connection has something to read: PostgreSQL's notice that it ends the
    session, or the session's end (otherwise, rarely, a notice or a notification, which the ping
    reads). A look that does not wait (the real poll, as _wait_on_the_hub's); also the lease's
    (server/core/lease.py ``Lease.spoken_on``)."""
    try:
        fileno = dbapi_connection.fileno()
    except Exception:  # noqa: BLE001 - closed: the ping says so
        return True
    looking = _system_poll()()
    looking.register(fileno, POLLIN)
    return bool(looking.poll(0))


@functools.cache
def _system_poll():
    """select.poll as the system has it, also where gevent patched select (asked at the first checkout,
    long after a server's start patched it)."""
    import select as system_select  # (``select`` here is SQLAlchemy's)
    import sys

    monkey = sys.modules.get("gevent.monkey")
    return monkey.get_original("select", "poll") if monkey is not None else system_select.poll


def reads_engine(engine: Engine) -> Engine:
    """``engine`` for transactions that only read (same pool). On SQLite they begin without taking
    the write lock: a read neither waits behind the writes nor fails while another program holds
    the lock (the console's list, the dashboard, the background loops' looks at the queue)."""
    return engine.execution_options(**{READS_ONLY: True})


_BARE_SQL: dict = {}  # (statement, SQLite driver) -> its SQL and parameters, for read_bare


def read_bare(conn: Connection, statement) -> list[tuple]:
    """``conn.execute(statement).all()``, for a look a background loop takes again and again (the saved
    setup's version every half second, the delivery worker's look every second): a statement whose
    parameters are all fixed in it and whose columns need no conversion (integers, text). On SQLite,
    outside a transaction, it runs straight on the cursor, its own read transaction, without
    SQLAlchemy's BEGIN, execution and ROLLBACK around it: 19-23 us of CPU a look instead of 82-86.
    Elsewhere (PostgreSQL, or inside a transaction) as SQLAlchemy runs it."""
    if conn.dialect.name != "sqlite" or conn.in_transaction():
        return [tuple(row) for row in conn.execute(statement)]
    key = (statement, conn.dialect.driver)
    bare = _BARE_SQL.get(key)
    if bare is None:
        compiled = statement.compile(dialect=conn.dialect)
        values = compiled.construct_params()
        bare = _BARE_SQL[key] = (str(compiled), tuple(values[name] for name in compiled.positiontup or ()))
    sql, parameters = bare
    dbapi = conn.dialect.loaded_dbapi
    try:
        cursor = conn.connection.dbapi_connection.execute(sql, parameters)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()
    except dbapi.Error as error:  # as SQLAlchemy raises it (a busy or broken database)
        raise driver_error(conn, sql, parameters, error) from error


def _sqlite_engine(url: str, busy_seconds: float) -> Engine:
    sqlite_memory.statistics_off()  # before the process's first connection, if this is before it
    # One connection per process: under gevent a second connection waiting on SQLite's lock
    # blocks the whole hub in C; waiting for the pool instead yields to other greenlets.
    engine = create_engine(
        url,
        hide_parameters=True,  # an error's text (and a logged traceback) never shows a statement's values
        pool_size=1,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"check_same_thread": False, "timeout": busy_seconds},
    )
    synchronous = os.environ.get("QUEUEKIOSK_SQLITE_SYNCHRONOUS", "FULL").upper()
    if synchronous not in ("FULL", "NORMAL", "EXTRA"):
        raise ValueError(
            f"QUEUEKIOSK_SQLITE_SYNCHRONOUS is {synchronous!r}; use NORMAL or FULL (docs/configuration.md)"
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" hook emit BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before anyone is answered, so a power cut loses no acknowledged
        # ticket; group commit (writer.py) shares one fsync among the requests of a batch
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get(READS_ONLY):
            connection.exec_driver_sql("BEGIN")  # WAL: a reader never waits for, nor holds up, a writer
        else:  # take the write lock at BEGIN, so a transaction never fails half-way on an upgrade
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextlib.contextmanager
def _migration_lock(engine: Engine, instance_dir: Path):
    """One process at a time migrates and loads the config (several workers may start at once)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                conn.commit()
        return
    instance_dir.mkdir(parents=True, exist_ok=True)
    with open(instance_dir / "migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# the newest file in migrations/versions (tests/test_migrations.py checks): a current database
# is recognised by one small query, without loading Alembic (about 12 MB) into every process
HEAD_REVISION = "0025"


class SchemaNotCurrent(RuntimeError):
    """The database was made by another version of queuekiosk; the message says what to run, in
    Vietnamese then English (catalog ``key``), as every refusal at start."""

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key, self.params = key, params

    def __str__(self) -> str:
        from .i18n import LANGUAGES, translate

        return "\n".join(translate(self.key, language, **self.params) for language in LANGUAGES)


def schema_revision(engine: Engine) -> str | None:
    """The schema's migration revision; None for an empty database (no tables of ours yet)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def check_schema(engine: Engine) -> None:
    revision = schema_revision(engine)
    if revision is None:
        raise SchemaNotCurrent("schema_empty")
    if revision != HEAD_REVISION:
        raise SchemaNotCurrent("schema_behind", revision=revision, needed=HEAD_REVISION)


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest migration (Alembic is imported only here)."""
    import logging

    from alembic import command
    from alembic.config import Config as AlembicConfig

    logging.getLogger("alembic").setLevel(logging.WARNING)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def migrate_in_child(engine: Engine) -> None:
    """``migrate`` in a child process, for a server that runs for days: Alembic, Mako and Pygments
    (about 11 MB) are then never loaded into it; only a new database's first start waits for the
    child's imports (a second or two). The database's address, password included, reaches the child
    on its standard input, not on its command line, which any user of the machine can read."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", __name__],
        input=engine.url.render_as_string(hide_password=False),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the database migration failed:\n{done.stderr.strip()}")


@dataclass
class SiteRuntime:
    """The centre's setup as saved in the database, with the ids of its services, priorities and
    counters. A saved change makes a new one (``version`` + 1); nothing changes one in place."""

    config: Config
    version: int = 0
    service_ids: dict[str, int] = field(default_factory=dict)  # the services of the setup (active)
    priority_ids: dict[str, int] = field(default_factory=dict)
    counter_ids: dict[int, int] = field(default_factory=dict)
    counter_service_ids: dict[int, list[int]] = field(default_factory=dict)  # counter number -> services
    # the reverse maps, filled by index(); they also know deactivated rows, for history
    service_codes: dict[int, str] = field(default_factory=dict)
    priority_codes: dict[int, str] = field(default_factory=dict)
    counter_numbers: dict[int, int] = field(default_factory=dict)
    displays_of_counter: dict[int, list[str]] = field(default_factory=dict)
    # a retired site's successor, the serving site its citizens go to now: worked out from every site's
    # runtime as each process takes them up (sites.link_successors)
    successor: Successor | None = None

    @property
    def id(self) -> str:
        return self.config.site.id

    @property
    def retirement(self) -> dict | None:
        """What the site's pages say of its retirement: None while it serves, else the site its citizens
        go to now (``moved_to``: its name, ``moved_to_id``, ``moved_to_address``: its street address
        where its setup has one; all None where it names none)."""
        if not self.config.site.retired:
            return None
        there = self.successor
        if there is None:
            return {"moved_to_id": None, "moved_to": None, "moved_to_address": None}
        return {"moved_to_id": there.id, "moved_to": there.name, "moved_to_address": there.address}

    def retired_refusal(self) -> QueueError:
        """What a retired site answers to a request for a number or a booking: where to go instead."""
        name = self.config.site.name
        if self.successor is None:
            return QueueError("site_retired", site=name)
        return QueueError("site_retired_moved", site=name, moved_to=self.successor.name, moved_to_id=self.successor.id)

    def index(self, every_row: dict[str, dict] | None = None):
        """``every_row``: by table name, id -> code (or number) of its every row, active or not."""
        every_row = every_row or {}
        self.service_codes = {**every_row.get("services", {}), **{v: k for k, v in self.service_ids.items()}}
        self.priority_codes = {**every_row.get("priority_classes", {}), **{v: k for k, v in self.priority_ids.items()}}
        self.counter_numbers = {**every_row.get("counters", {}), **{v: k for k, v in self.counter_ids.items()}}
        self.displays_of_counter = {}
        for display in self.config.displays:
            for number in self.config.display_counters(display):
                self.displays_of_counter.setdefault(number, []).append(display.id)
        return self


# The setup's rows are read and written through Core (models.py's tables): a server's start and its
# poll of the saved setup (live_setup.py) load no ORM. ``db`` is a Connection or an ORM Session (the
# admin's changes, the command line), which runs these statements on its own connection and transaction.


def _upsert(db: Connection | Session, table, where: dict, values: dict):
    """The primary key of the row of ``table`` matching ``where``, made or changed to hold ``values``."""
    key = table.c[table.primary_key.columns.keys()[0]]
    found = db.execute(select(key).filter_by(**where)).scalar()
    if found is None:
        return db.execute(insert(table).values(**where, **values)).inserted_primary_key[0]
    db.execute(update(table).where(key == found).values(**values))
    return found


def load_site(db: Connection | Session, config: Config) -> SiteRuntime:
    """Make the tables of services, priorities and counters match ``config``. What left it is
    deactivated, never deleted: its tickets and reports stay."""
    site_cfg = config.site
    _upsert(db, m.sites, {"id": site_cfg.id}, {"name": site_cfg.name, "timezone": site_cfg.timezone})
    site = {"site_id": site_cfg.id}
    for table in (m.services, m.priority_classes, m.counters):
        db.execute(update(table).where(table.c.site_id == site_cfg.id).values(active=False))
    for s in config.services:
        _upsert(
            db,
            m.services,
            {**site, "code": s.code},
            {
                "name": s.name.vi,
                "name_en": s.name.en,
                "range_start": s.numbers.start,
                "range_end": s.numbers.end,
                "target_wait_minutes": s.target_wait_minutes,
                "default_service_minutes": s.default_service_minutes,
                "active": True,
            },
        )
    for p in config.priorities:
        _upsert(
            db,
            m.priority_classes,
            {**site, "code": p.code},
            {"name": p.name.vi, "name_en": p.name.en, "active": True},
        )
    service_ids = {code: id_ for id_, code in _ids(db, m.services, "code", site_cfg.id).items()}
    for c in config.counters:
        counter_id = _upsert(db, m.counters, {**site, "number": c.number}, {"name": c.label, "active": True})
        db.execute(delete(m.counter_services).where(m.counter_services.c.counter_id == counter_id))
        links = [{"counter_id": counter_id, "service_id": service_ids[code]} for code in config.counter_services(c)]
        if links:
            db.execute(insert(m.counter_services), links)
    return runtime_of(db, config)


def _ids(db: Connection | Session, table, key: str, site_id: str) -> dict:
    """id -> code (or number) of every row of ``table`` at the site, active or not."""
    return dict(db.execute(select(table.c.id, table.c[key]).where(table.c.site_id == site_id)).all())


def runtime_of(db: Connection | Session, config: Config, version: int = 0) -> SiteRuntime:
    """The runtime of a setup whose rows are in the tables (``load_site`` put them there); reads only."""
    every_row = {
        table.name: _ids(db, table, key, config.site.id)
        for table, key in ((m.services, "code"), (m.priority_classes, "code"), (m.counters, "number"))
    }
    ids = {name: {key: id_ for id_, key in rows.items()} for name, rows in every_row.items()}
    runtime = SiteRuntime(config, version)
    try:
        runtime.service_ids = {s.code: ids["services"][s.code] for s in config.services}
        runtime.priority_ids = {p.code: ids["priority_classes"][p.code] for p in config.priorities}
        runtime.counter_ids = {c.number: ids["counters"][c.number] for c in config.counters}
    except KeyError as missing:
        raise RuntimeError(
            f"the saved setup names {missing} but the database has no such row: run `queuekiosk migrate` to repair it"
        ) from None
    runtime.counter_service_ids = {
        c.number: [runtime.service_ids[code] for code in config.counter_services(c)] for c in config.counters
    }
    return runtime.index(every_row)


def stored_setup(db: Connection | Session, site_id: str | None = None) -> Row | None:
    """The saved setup of ``site_id`` (a row of site_setups: site_id, document, version, updated_at),
    or of the first site when none is named: the site saved first (config.yaml seeded it; sites
    added later have later rows), which the single-site paths serve."""
    setups, services = m.site_setups, m.services
    first_service = select(func.min(services.c.id)).where(services.c.site_id == setups.c.site_id).scalar_subquery()
    query = select(setups).order_by(first_service, setups.c.site_id)
    if site_id is not None:
        query = query.where(setups.c.site_id == site_id)
    return db.execute(query.limit(1)).first()


def save_setup(db: Connection | Session, config: Config, first_version: int = 1) -> SiteRuntime:
    """Save ``config`` as the site's setup (a new version; ``first_version`` for a new site) and bring
    the tables in step."""
    runtime = load_site(db, config)
    setups = m.site_setups
    version = db.execute(select(setups.c.version).where(setups.c.site_id == config.site.id)).scalar()
    saved = {"document": config.model_dump(mode="json"), "updated_at": m.utcnow()}
    if version is None:
        runtime.version = first_version
        db.execute(insert(setups).values(site_id=config.site.id, version=first_version, **saved))
    else:
        runtime.version = version + 1
        db.execute(update(setups).where(setups.c.site_id == config.site.id).values(version=version + 1, **saved))
    return runtime


def site_setup(
    db: Connection | Session, config_dir: Path | None = None, site_id: str | None = None
) -> SiteRuntime | None:
    """The saved setup as a runtime (reads only); None when the database holds none yet."""
    row = stored_setup(db, site_id)
    if row is None:
        return None
    return runtime_of(db, parse_stored(row.document, config_dir), row.version)


def prepare_database(
    engine: Engine,
    seed: Config | Callable[[], Config],
    instance_dir: Path,
    config_dir: Path | None = None,
    migrate_apart: bool = False,
) -> SiteRuntime:
    """The centre as the database has it. A new, empty database is created here and its setup seeded from ``seed``
    (a Config, or what makes one: read only when needed); an existing one must be current (else SchemaNotCurrent
    says what to run) and its saved setup wins over ``seed``. Safe when several processes start at once.
    ``migrate_apart``: a new database's schema is made in a child process (``migrate_in_child``), for servers."""
    with _migration_lock(engine, instance_dir):
        if schema_revision(engine) is None:
            (migrate_in_child if migrate_apart else migrate)(engine)
        check_schema(engine)
        with reads_engine(engine).connect() as conn:  # config.yaml checked (a child: seconds) outside the write lock
            first = None if stored_setup(conn) else _first_site(seed() if callable(seed) else seed)
        with engine.begin() as conn:
            return site_setup(conn, config_dir) or save_setup(conn, first)


def _first_site(config: Config) -> Config:
    """A new installation's first site, from config.yaml: it serves (its addresses are the plain ones)."""
    if config.site.retired:
        raise ConfigError(
            "site.retired: a new installation's first site serves citizens: remove `retired` and `moved_to`"
            " from config.yaml (a site is retired with `queuekiosk site retire ID`)"
        )
    return config


def open_database(engine: Engine, config_dir: Path | None = None) -> SiteRuntime:
    """For commands that only read: a current schema and a saved setup, or SchemaNotCurrent; writes nothing."""
    check_schema(engine)
    with engine.connect() as conn:
        runtime = site_setup(conn, config_dir)
    if runtime is None:
        raise SchemaNotCurrent("schema_no_centre")
    return runtime


def session_factory(engine: Engine) -> sessionmaker:
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(engine, expire_on_commit=False)


if __name__ == "__main__":  # migrate_in_child's child: the database's address on standard input
    import sys

    _engine = create_db_engine(sys.stdin.read())
    migrate(_engine)
    _engine.dispose()
