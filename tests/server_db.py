"""A test server's database, prepared from the test process.

``seed``: before a first start on SQLite, a copy of the session's migrated template, so that
the server does not spend its start migrating (it loads its config as on an empty file).

``create_token`` / ``add_user``: what ``queuekiosk token create`` and ``user add`` store, through
the server's own functions (server/core/auth.py), without a CLI process: starting one costs a second
or more, writing two rows milliseconds. Tests whose subject is the command line run it instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from queuekiosk.server.core import auth
from queuekiosk.server.core.db import create_db_engine, session_factory

# every test server of one database shares it, as the processes of an installation must
# (server/web/first_start.py refuses a process whose key is not the one the database recorded)
TEST_PERSON_KEY = "test-person-key-shared-by-every-test-server"


def database_url(env: dict, workdir: Path) -> str:
    """The database a server started with ``env`` in ``workdir`` uses (as server/core/db.py's
    default_database_url decides it, from that server's environment instead of this one)."""
    if env.get("QUEUEKIOSK_DATABASE_URL"):
        return env["QUEUEKIOSK_DATABASE_URL"]
    instance = Path(env["QUEUEKIOSK_INSTANCE"])
    return f"sqlite:///{(workdir / instance).resolve() / 'queuekiosk.db'}"


def seed(template: Path, url: str) -> None:
    """A synced copy of ``template`` as the SQLite file of ``url``, unless that file exists. Synced
    like the file SQLite would have made itself (a test may cut the power)."""
    path = Path(url.removeprefix("sqlite:///"))
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(template, "rb") as source, open(path, "wb") as copy:
        shutil.copyfileobj(source, copy)
        os.fsync(copy.fileno())
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _write(url: str, change):
    """``change(session)`` in one transaction; the engine is closed at once, so that nothing of
    this process keeps the database open (a test may restore, replace or kill it next)."""
    engine = create_db_engine(url)
    try:
        with session_factory(engine).begin() as session:
            return change(session)
    finally:
        engine.dispose()


def create_token(
    url: str, role: str, counter: int | None = None, kiosk: str | None = None, name: str | None = None
) -> str:
    """A bearer token, named as ``token create`` names it by default."""
    name = name or f"{role}{f' counter {counter}' if counter else ''}{f' {kiosk}' if kiosk else ''}"
    return _write(url, lambda session: auth.create_token(session, role, name, counter, kiosk=kiosk))


def token_id(url: str, token: str) -> int:
    """The id ``token list`` shows for the bearer token ``token``."""
    from sqlalchemy import select

    from queuekiosk.server.core import models as m

    return _write(
        url, lambda session: session.scalars(select(m.ApiToken.id).filter_by(token_hash=auth.hash_token(token))).one()
    )


def add_user(url: str, name: str, password: str, role: str, counter: int | None = None) -> None:
    def add(session):
        auth.add_user(session, name, password, role, counter)

    _write(url, add)


def change_stored_setup(url: str, change) -> None:
    """``change(document)`` on the first site's saved setup, as a setup saved by an older version (or by
    hand) holds it: not checked, and not seen by a running server until its next change reads it."""
    from sqlalchemy import select, update

    from queuekiosk.server.core import models as m

    def write(session):
        site_id, document = session.execute(select(m.site_setups.c.site_id, m.site_setups.c.document)).first()
        document = dict(document)
        change(document)
        session.execute(update(m.site_setups).where(m.site_setups.c.site_id == site_id).values(document=document))

    _write(url, write)


def add_stored_service(url: str, service: dict) -> None:
    """``service`` (config.yaml's keys: code, name.vi, numbers) added to the first site's saved setup and its
    row, as an older version saved it (not checked: "ht" beside "HT", say, which it allowed)."""
    from sqlalchemy import insert, select

    from queuekiosk.server.core import models as m

    change_stored_setup(url, lambda document: document["services"].append(service))
    numbers = service["numbers"]

    def add(session):
        site_id = session.execute(select(m.site_setups.c.site_id)).scalars().first()
        row = {"site_id": site_id, "code": service["code"], "name": service["name"]["vi"]}
        row.update(range_start=numbers["start"], range_end=numbers["end"], target_wait_minutes=15)
        session.execute(insert(m.services).values(**row, default_service_minutes=10.0, active=True))

    _write(url, add)


def migrate_down_and_up(engine, revision: str) -> None:
    """Downgrade the database to ``revision`` (as it was before a migration), then upgrade it to head."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from queuekiosk.server.core.db import MIGRATIONS

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
        command.upgrade(cfg, "head")
