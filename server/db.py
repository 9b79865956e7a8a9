"""Database engine, migrations on start, and loading the configured centre into the database."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, delete, event, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from . import models as m
from .config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 824_771_001  # any constant shared by every queuekiosk process


def default_database_url(instance_dir: Path) -> str:
    return os.environ.get("QUEUEKIOSK_DATABASE_URL") or f"sqlite:///{instance_dir / 'queuekiosk.db'}"


def create_db_engine(url: str, busy_seconds: float = 30) -> Engine:
    """``busy_seconds``: how long a SQLite write waits for another process's write lock."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_seconds)
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 cooperates with gevent
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _sqlite_engine(url: str, busy_seconds: float) -> Engine:
    # One connection per process: under gevent a second connection waiting on SQLite's lock
    # blocks the whole hub in C; waiting for the pool instead yields to other greenlets.
    engine = create_engine(
        url, pool_size=1, max_overflow=0, pool_timeout=60,
        connect_args={"check_same_thread": False, "timeout": busy_seconds},
    )
    synchronous = os.environ.get("QUEUEKIOSK_SQLITE_SYNCHRONOUS", "FULL").upper()
    if synchronous not in ("FULL", "NORMAL", "EXTRA"):
        raise ValueError(f"QUEUEKIOSK_SQLITE_SYNCHRONOUS is {synchronous!r}; use NORMAL or FULL (docs/configuration.md)")

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
        # take the write lock at BEGIN, so a transaction never fails half-way on an upgrade
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


class Lease:
    """Something only one process may do at a time (drive a printer), across server processes.

    PostgreSQL: an advisory lock held on a connection of its own (outside the pool, so leases
    never starve requests); SQLite, whose processes share one machine: a file lock in the
    instance folder. Either is released when the process ends, however it ends.
    """

    def __init__(self, engine: Engine, instance_dir: Path, name: str):
        self._engine = engine
        self._path = instance_dir / f"{name}.lock"
        self._key = zlib.crc32(name.encode())
        self._held = None  # the connection or open file that holds the lock

    def try_take(self) -> bool:
        if self._held is not None:
            return True
        if self._engine.dialect.name == "postgresql":
            conn = create_engine(self._engine.url, poolclass=NullPool).connect()
            if conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}).scalar():
                conn.commit()
                self._held = conn
            else:
                conn.close()
            return self._held is not None
        self._path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(self._path, "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return False
        self._held = lock
        return True


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest migration, in a child process.

    Alembic and what it loads weigh about 12 MB; the long-running server never needs them again.
    """
    url = engine.url.render_as_string(hide_password=False)
    result = subprocess.run([sys.executable, "-m", "queuekiosk.server.db", url],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the database migration failed:\n{result.stderr.strip()}")


def _migrate_here(url: str) -> None:
    import logging

    from alembic import command
    from alembic.config import Config as AlembicConfig

    logging.getLogger("alembic").setLevel(logging.WARNING)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = create_db_engine(url)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    engine.dispose()


@dataclass
class SiteRuntime:
    """The configured centre with the database ids of its services, priorities and counters."""

    config: Config
    service_ids: dict[str, int] = field(default_factory=dict)
    priority_ids: dict[str, int] = field(default_factory=dict)
    counter_ids: dict[int, int] = field(default_factory=dict)
    counter_service_ids: dict[int, list[int]] = field(default_factory=dict)  # counter number -> services
    # the reverse maps, filled by index()
    service_codes: dict[int, str] = field(default_factory=dict)
    priority_codes: dict[int, str] = field(default_factory=dict)
    counter_numbers: dict[int, int] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.config.site.id

    def index(self):
        self.service_codes = {v: k for k, v in self.service_ids.items()}
        self.priority_codes = {v: k for k, v in self.priority_ids.items()}
        self.counter_numbers = {v: k for k, v in self.counter_ids.items()}
        return self


def _upsert(session: Session, model, where: dict, values: dict):
    row = session.scalars(select(model).filter_by(**where)).first()
    if row is None:
        row = model(**where, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    session.flush()
    return row


def load_site(session: Session, config: Config) -> SiteRuntime:
    """Make the database match config.yaml. What left the config is deactivated, never deleted."""
    site_cfg = config.site
    _upsert(session, m.Site, {"id": site_cfg.id}, {"name": site_cfg.name, "timezone": site_cfg.timezone})
    runtime = SiteRuntime(config)
    site = {"site_id": site_cfg.id}

    for model in (m.Service, m.PriorityClass, m.Counter):
        for row in session.scalars(select(model).filter_by(**site)):
            row.active = False
    for s in config.services:
        row = _upsert(session, m.Service, {**site, "code": s.code}, {
            "name": s.name.vi, "name_en": s.name.en, "range_start": s.numbers.start,
            "range_end": s.numbers.end, "target_wait_minutes": s.target_wait_minutes,
            "default_service_minutes": s.default_service_minutes, "active": True,
        })
        runtime.service_ids[s.code] = row.id
    for p in config.priorities:
        row = _upsert(session, m.PriorityClass, {**site, "code": p.code},
                      {"name": p.name.vi, "name_en": p.name.en, "active": True})
        runtime.priority_ids[p.code] = row.id
    for c in config.counters:
        row = _upsert(session, m.Counter, {**site, "number": c.number}, {"name": c.label, "active": True})
        runtime.counter_ids[c.number] = row.id
        session.execute(delete(m.CounterService).where(m.CounterService.counter_id == row.id))
        service_ids = [runtime.service_ids[code] for code in config.counter_services(c)]
        session.add_all(m.CounterService(counter_id=row.id, service_id=sid) for sid in service_ids)
        runtime.counter_service_ids[c.number] = service_ids
    session.flush()
    return runtime.index()


def prepare_database(engine: Engine, config: Config, instance_dir: Path) -> SiteRuntime:
    """Migrate to the newest schema and load the config; safe when several processes start at once."""
    with _migration_lock(engine, instance_dir):
        migrate(engine)
        with Session(engine) as session, session.begin():
            return load_site(session, config)


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


if __name__ == "__main__":  # the child process of migrate()
    _migrate_here(sys.argv[1])
