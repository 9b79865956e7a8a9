"""Tokens and users for a test server, written into its database from the test process.

What ``queuekiosk token create`` and ``user add`` store, through the server's own functions
(server/auth.py), without a CLI process: starting one costs seconds, writing two rows costs
milliseconds. Tests whose subject is the command line run the real command instead.
"""

from __future__ import annotations

from pathlib import Path

from queuekiosk.server import auth
from queuekiosk.server.db import create_db_engine, session_factory


def database_url(env: dict, workdir: Path) -> str:
    """The database a server started with ``env`` in ``workdir`` uses (as server/db.py's
    default_database_url decides it, from that server's environment instead of this one)."""
    if env.get("QUEUEKIOSK_DATABASE_URL"):
        return env["QUEUEKIOSK_DATABASE_URL"]
    instance = Path(env["QUEUEKIOSK_INSTANCE"])
    return f"sqlite:///{(workdir / instance).resolve() / 'queuekiosk.db'}"


def _write(url: str, change):
    """``change(session)`` in one transaction; the engine is closed at once, so that nothing of
    this process keeps the database open (a test may restore, replace or kill it next)."""
    engine = create_db_engine(url)
    try:
        with session_factory(engine).begin() as session:
            return change(session)
    finally:
        engine.dispose()


def create_token(url: str, role: str, counter: int | None = None, kiosk: str | None = None,
                 name: str | None = None) -> str:
    """A bearer token, named as ``token create`` names it by default."""
    name = name or f"{role}{f' counter {counter}' if counter else ''}{f' {kiosk}' if kiosk else ''}"
    return _write(url, lambda session: auth.create_token(session, role, name, counter, kiosk=kiosk))


def add_user(url: str, name: str, password: str, role: str, counter: int | None = None) -> None:
    def add(session):
        auth.add_user(session, name, password, role, counter)

    _write(url, add)
