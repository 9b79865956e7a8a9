"""Facts of the whole installation kept in its database (models ``installation``).

Every process of one installation must hash ID numbers and phones with the same person key
(core/bookings/people.py): with another key, one citizen's CCCD is another person to it and
gets a second number. The database keeps a fingerprint of the key it was first used with;
a process whose key differs is refused at start (server/web/first_start.py), and so is a weak key,
with which the hashes could be found by trying every number: there are only about 10^12.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import re
import socket
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .env_values import seconds_setting
from .faults import DATABASE_ERRORS, safe_text
from .lease import Lease
from .models import bookings, installation, sites

log = logging.getLogger(__name__)

PERSON_KEY = "person_key"
KEY_MIN_LENGTH = 32
KEY_MIN_DISTINCT = 8  # random text of 32 characters has about 15 (hexadecimal) or 25 different ones
MAKE_KEY = 'python3 -c "import secrets; print(secrets.token_hex(32))"'  # said by the refusals


# the env file of docs/deployment.md leaves each value to fill in as <what to write>: a word, a space,
# more words, in < > (a password or key that merely holds a < and a > is not taken for it)
EXAMPLE_TEXT = re.compile(r"<[a-z0-9][^<>]* [^<>]*>")


def env_placeholders(environ=os.environ) -> list[str]:
    """The QUEUEKIOSK_* variables still holding docs/deployment.md's example text in <…> (a password,
    a key, an address not filled in), by name: every command and server start refuses them."""
    return sorted(
        name for name, value in environ.items() if name.startswith("QUEUEKIOSK_") and EXAMPLE_TEXT.search(value)
    )


def weak_key(key: bytes) -> bool:
    """A secret anyone could guess: shorter than KEY_MIN_LENGTH characters ("changeme", "123"), of
    very few different characters ("a" * 32), or the documentation's example text, written in <...>
    (docs/deployment.md's env file), copied as it is."""
    text = key.decode("utf-8", errors="replace").strip()
    return len(text) < KEY_MIN_LENGTH or len(set(text)) < KEY_MIN_DISTINCT or bool(EXAMPLE_TEXT.search(text))


def weak_key_refusal(url: str, key: bytes) -> str:
    """What a weak ``key`` is told (a catalog key), from the database at ``url`` read as it is, never
    made or migrated: to make one when nothing is recorded (a new database), to change it when the
    database was used with it, and to copy the installation's own key when it records another."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from .db import create_db_engine

    parsed = make_url(url)
    recorded = None
    if parsed.get_backend_name() != "sqlite" or Path(parsed.database or "").is_file():
        engine = create_db_engine(url)
        try:
            with engine.connect() as conn:
                used = inspect(conn).has_table(installation.name)
            if used:
                recorded = recorded_person_key(engine)
        finally:
            engine.dispose()
    if recorded is None:
        return "cli_person_key_weak"
    return "cli_person_key_weak_used" if recorded == fingerprint(key) else "cli_person_key_differs"


def fingerprint(key: bytes) -> str:
    """Says whether two keys are one, and nothing about the key (an HMAC of a fixed text)."""
    return hmac.new(key, b"queuekiosk person key fingerprint", hashlib.sha256).hexdigest()[:32]


def same_person_key(engine: Engine, key: bytes) -> bool:
    """True when ``key`` is the one the database was first used with (recorded now if none was);
    processes starting together record one fingerprint, the others compare with it."""
    mine = fingerprint(key)
    recorded = recorded_person_key(engine)
    if recorded is None:
        try:
            with engine.begin() as conn:
                conn.execute(insert(installation).values(name=PERSON_KEY, value=mine))
            return True
        except IntegrityError:  # another process recorded its key meanwhile
            recorded = recorded_person_key(engine)
    return recorded == mine


def recorded_person_key(engine: Engine) -> str | None:
    """The fingerprint of the key the database was first used with; None before any start."""
    with engine.connect() as conn:
        return conn.execute(select(installation.c.value).where(installation.c.name == PERSON_KEY)).scalar()


def bookings_to_check_in(engine: Engine) -> int:
    """Bookings of today and later not checked in yet, today each site's own (its time zone): after
    a change of key they are found by their code only."""
    with engine.connect() as conn:
        zones = conn.execute(select(sites.c.id, sites.c.timezone)).all()
        return sum(
            conn.execute(
                select(func.count()).where(
                    bookings.c.site_id == site_id,
                    bookings.c.status == "booked",
                    bookings.c.business_day >= dt.datetime.now(ZoneInfo(zone)).date(),
                )
            ).scalar_one()
            for site_id, zone in zones
        )


# the lease every running server process holds, shared, for its lifetime (web/first_start.py), and
# ``queuekiosk person-key change`` alone: no process goes on hashing with the key it replaces
RUNNING = "queuekiosk-running"


def running_label() -> str:
    """How this process is named as a holder of the RUNNING lease (PostgreSQL keeps 63 characters of it)."""
    return f"queuekiosk {socket.gethostname()} pid {os.getpid()}"


def hold_running(engine: Engine, instance_dir: Path) -> Lease:
    """Held (keep a reference) while this server process runs; waits for a key change under way."""
    lease = Lease(engine, instance_dir, RUNNING, shared=True, label=running_label())
    lease.try_take(wait=True)
    return lease


# PostgreSQL ends a lease with its connection (a restart, pg_terminate_backend) without a word: each
# server looks this often (``QUEUEKIOSK_LEASE_CHECK_SECONDS``, lease_check_seconds), and takes it again.
# One that cannot (a key change holds it alone) says so in a row of ``installation`` (_unleased_name: the
# process), which a key change refuses while fresh.
LEASE_CHECK_SECONDS = 2.0
UNLEASED = "unleased:"
UNLEASED_FRESH_SECONDS = 10.0
KEY_CHANGED_EXIT = 3  # gunicorn's "worker failed to boot": its master stops too, and systemd starts it again


def lease_check_seconds() -> float:
    """How often a server looks at its running lease, and so how long ``queuekiosk person-key change``
    waits for a server that lost it to say so: ``QUEUEKIOSK_LEASE_CHECK_SECONDS`` (0.2-4: a look must
    come well within UNLEASED_FRESH_SECONDS; the tests of a lost lease shorten it), else 2 s. The
    servers and the command must read the same value (the same env file)."""
    return seconds_setting("QUEUEKIOSK_LEASE_CHECK_SECONDS", LEASE_CHECK_SECONDS, 0.2, 4)


def keep_running(engine: Engine, lease: Lease, key: bytes, sleep=time.sleep) -> None:
    """For as long as the server runs (a greenlet of its own): the RUNNING lease held, taken again
    when it was lost, with a log line each way. Taken again under another person key than this
    process's (changed meanwhile), the process ends: it would give a citizen a second number."""
    lost_at = None
    every = lease_check_seconds()
    while True:
        sleep(every)
        try:
            if lost_at is None:
                if not lease.lost():
                    continue
                lost_at = time.monotonic()
                log.warning(
                    "The running lease (it tells `queuekiosk person-key change` that this server runs) was lost "
                    "with its connection: PostgreSQL restarted, or the connection was ended; taking it again"
                )
            if not lease.try_take(refused=lambda conn: _record_unleased(conn, lease.label)):
                continue  # `person-key change` holds it alone: it refuses on reading the row
            if recorded_person_key(engine) != fingerprint(key):  # read again next round if it fails
                log.critical(
                    "The person key was changed (`queuekiosk person-key change`) while this server's running "
                    "lease was lost: this process stops issuing and ends; start it again with the new key "
                    "(systemd does, from the env file)"
                )
                os._exit(KEY_CHANGED_EXIT)
            log.warning("The running lease was taken again (lost for %.0f s)", time.monotonic() - lost_at)
            lost_at = None
            with engine.begin() as conn:
                conn.execute(delete(installation).where(installation.c.name == _unleased_name()))
        except DATABASE_ERRORS:  # PostgreSQL still away: requests say so; the next look tries again
            continue
        except Exception:
            log.exception("Keeping the running lease failed; trying again in %g s", every)


def _unleased_name() -> str:
    """This process, short (the column holds 64 characters): its pid and 8 characters of its host's name."""
    return f"{UNLEASED}{os.getpid()}@{hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]}"


def _record_unleased(conn, label: str) -> None:
    """On the connection that just failed to take the lease (alive, unlike a pooled one after a restart):
    the database's time and the process's label."""
    try:
        now = conn.execute(text("SELECT extract(epoch FROM now())")).scalar()  # the database's clock
        conn.execute(delete(installation).where(installation.c.name == _unleased_name()))
        conn.execute(insert(installation).values(name=_unleased_name(), value=f"{float(now)} {label}"[:200]))
        conn.commit()
    except DATABASE_ERRORS as error:
        log.warning(
            "This server could not record that it runs without its running lease (`queuekiosk person-key "
            "change` may not see it): %s",
            (safe_text(error).strip().splitlines() or ["?"])[0],
        )


def unleased_servers(engine: Engine) -> list[str]:
    """The servers running without the RUNNING lease now, unable to take it again (PostgreSQL only)."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        if not inspect(conn).has_table(installation.name):  # a database not made yet (its first migrate)
            return []
        now = conn.execute(text("SELECT extract(epoch FROM now())")).scalar()
        rows = conn.execute(select(installation.c.value).where(installation.c.name.startswith(UNLEASED))).all()
    seen = [value.split(" ", 1) + [""] for (value,) in rows]
    return sorted(label for at, label, *_ in seen if float(now) - float(at) < UNLEASED_FRESH_SECONDS)


def change_person_key(engine: Engine, key: bytes) -> None:
    """``key`` is the installation's from now on (``queuekiosk person-key change``): the hashes made
    with the previous one no longer match a citizen's number."""
    with engine.begin() as conn:
        conn.execute(delete(installation).where(installation.c.name == PERSON_KEY))
        conn.execute(insert(installation).values(name=PERSON_KEY, value=fingerprint(key)))
