"""Leases: something only one process may do at a time (drive a printer), or every running server
holds together and one command alone (``installation.RUNNING``), across server processes."""

from __future__ import annotations

import contextlib
import fcntl
import os
import weakref
import zlib
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from . import db

# a lease connection never hangs on a PostgreSQL host that went away (a reboot, a cable): a connect gives
# up after 5 s, and a look on a half-open connection fails within about 10 s instead of minutes. Each is
# libpq's setting of that name: one the database URL's query gives (or PGCONNECT_TIMEOUT) wins, and
# PostgreSQL's side of the connection gets the pool's limits (db.pg_limits): a session whose client
# vanished in a network stall ends within ~20 s and its advisory lock (the printer) is free again,
# instead of held for the system's ~2 hours
LEASE_CONNECT_ARGS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # milliseconds
}

_held_leases: weakref.WeakSet = weakref.WeakSet()


class Lease:
    """Something only one process may do at a time (drive a printer), across server processes.

    PostgreSQL: an advisory lock held on a connection of its own (outside the pool, so leases
    never starve requests); SQLite, whose processes share one machine: a file lock in the
    instance folder. Either is released when the process ends, however it ends.

    ``shared``: many processes hold it at once, and it keeps an exclusive holder out (and waits for
    one to finish): every running server holds RUNNING so, and ``queuekiosk person-key change``
    takes it alone. ``label`` names the holder to others (PostgreSQL's application_name); its
    "pid N" follows the process into a forked child (gunicorn --preload).
    """

    def __init__(self, engine: Engine, instance_dir: Path, name: str, shared: bool = False, label: str = ""):
        self._engine = engine
        self._own = None  # PostgreSQL: the engine of the lease's connections (NullPool), made once
        self._path = instance_dir / f"{name}.lock"
        self._key = zlib.crc32(name.encode())
        self._shared, self._label, self._pid = shared, label, os.getpid()
        self._held = None  # the connection or open file that holds the lock
        self._inherited = []  # a forked child's copies of its parent's connection: never used, never closed

    def try_take(self, wait: bool = False, refused: Callable[[Connection], None] | None = None) -> bool:
        """``wait``: until the lock is free (a shared one: until no process holds it alone).
        ``refused`` (PostgreSQL): called with the fresh connection that could not take it, before it closes."""
        if self._held is not None:
            return True
        if self._engine.dialect.name == "postgresql":
            conn = self._lease_engine().connect()
            try:
                call = ("pg_advisory_lock" if wait else "pg_try_advisory_lock") + ("_shared" if self._shared else "")
                taken = conn.execute(text(f"SELECT {call}(:key)"), {"key": self._key}).scalar()
                if wait or taken:  # pg_advisory_lock returns nothing, once it has the lock
                    conn.commit()
                    self._held = conn
                    _held_leases.add(self)
                    return True
                if refused is not None:
                    refused(conn)
            finally:
                if self._held is not conn:  # refused, or PostgreSQL went away half-way
                    with contextlib.suppress(Exception):
                        conn.close()
            return False
        self._path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(self._path, "a")  # never emptied: a holder's file lock is on it
        try:
            fcntl.flock(lock, (fcntl.LOCK_SH if self._shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            lock.close()
            return False
        self._held = lock
        return True

    def _lease_engine(self) -> Engine:
        if self._own is None:
            url = self._engine.url
            args = db.pg_limits(url.query, LEASE_CONNECT_ARGS)
            if self._label:
                args["application_name"] = self._label[:63]
            self._own = create_engine(url, poolclass=NullPool, connect_args=args)
        return self._own

    @property
    def label(self) -> str:
        return self._label

    def lost(self) -> bool:
        """Whether the lock taken went with its connection (PostgreSQL restarted, or an administrator
        ended the connection: pg_terminate_backend), silently: one round trip on it; also in a forked
        child, which never holds its parent's. Never on SQLite, whose file lock ends only with the process."""
        if self._engine.dialect.name != "postgresql":
            return False
        if self._held is None:
            return True
        try:
            self._held.execute(text("SELECT 1"))
            self._held.commit()
            return False
        except DBAPIError:
            with contextlib.suppress(Exception):  # a connection already dead may say so again
                self._held.close()
            self._held = None
            return True

    def spoken_on(self) -> bool:
        """Whether PostgreSQL may have said something on the lease's connection since its last use (the
        notice it sends as it ends the session): a look at its socket, one system call and no round trip
        (server/core/db.py ``spoken_on``). True where only ``lost``'s round trip can tell (not held, or
        its connection closed); never on SQLite, whose file lock ends only with the process. Silence
        is no proof: a connection lost without a word (a host gone without closing it) says nothing."""
        if self._engine.dialect.name != "postgresql":
            return False
        if self._held is None:
            return True
        try:
            return db.spoken_on(self._held.connection.dbapi_connection)
        except Exception:  # noqa: BLE001 - closed or invalidated: the round trip says what it is
            return True

    def _forked(self) -> None:
        """In a forked child: the parent's connection is the parent's (closing it here would end the
        parent's lock too), so it is kept aside, and the lease taken again on a connection of this process."""
        if self._engine.dialect.name != "postgresql" or self._held is None:
            return
        self._inherited.append((self._held, self._own))
        self._held = self._own = None
        self._label, self._pid = self._label.replace(f"pid {self._pid}", f"pid {os.getpid()}"), os.getpid()
        with contextlib.suppress(Exception):  # else installation.keep_running takes it within seconds
            self.try_take()

    def release(self) -> None:
        if self._held is not None:
            if self._engine.dialect.name == "postgresql":
                # free at once: closing alone leaves the lock to the session's end, which PostgreSQL's backend
                # reaches when it is next scheduled (on a loaded machine, after another process's try)
                with contextlib.suppress(Exception):  # a connection already lost took its lock with it
                    unlock = "pg_advisory_unlock_shared" if self._shared else "pg_advisory_unlock"
                    self._held.execute(text(f"SELECT {unlock}(:key)"), {"key": self._key})
                    self._held.commit()
            self._held.close()
            self._held = None

    def holders(self) -> list[str]:
        """The processes holding it, each named ("queuekiosk web-1 pid 4242 (10.0.0.11)"); on SQLite
        from Linux's /proc/locks (none named elsewhere)."""
        if self._engine.dialect.name == "postgresql":
            query = text(
                "SELECT a.application_name, host(a.client_addr), a.pid FROM pg_locks l JOIN pg_stat_activity a"
                " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = :key"
                " AND l.objsubid = 1 AND l.granted AND l.database ="
                " (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.pid <> pg_backend_pid()"
            )
            with self._engine.connect() as conn:
                rows = conn.execute(query, {"key": self._key}).all()
            return [f"{name or 'pid ' + str(pid)}" + (f" ({host})" if host else "") for name, host, pid in rows]
        return _file_lock_holders(self._path)


def _file_lock_holders(path: Path) -> list[str]:
    """The processes of this machine holding a file lock on ``path``, by their command lines."""
    try:
        found = os.stat(path)
        with open("/proc/locks") as locks:
            lines = locks.read().splitlines()
    except OSError:
        return []
    inode = f"{os.major(found.st_dev):02x}:{os.minor(found.st_dev):02x}:{found.st_ino}"
    named = []
    for line in lines:
        fields = line.split()
        if "->" in fields or len(fields) < 6 or fields[5] != inode or int(fields[4]) == os.getpid():
            continue
        try:
            command = Path(f"/proc/{fields[4]}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            command = ""
        named.append(f"pid {fields[4]}" + (f" ({command})" if command else ""))
    return named


def _forked() -> None:
    for lease in list(_held_leases):
        lease._forked()


os.register_at_fork(after_in_child=_forked)  # gunicorn --preload: each worker holds its own lease
