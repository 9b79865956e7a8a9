"""Facts of the whole installation kept in its database (models ``installation``).

Every process of one installation must hash ID numbers and phones with the same person key
(core/bookings/people.py): with another key, one citizen's CCCD is another person to it and
gets a second number. The database keeps a fingerprint of the key it was first used with;
a process whose key differs is refused at start (server/web/first_start.py).
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .models import installation

PERSON_KEY = "person_key"


def fingerprint(key: bytes) -> str:
    """Says whether two keys are one, and nothing about the key (an HMAC of a fixed text)."""
    return hmac.new(key, b"queuekiosk person key fingerprint", hashlib.sha256).hexdigest()[:32]


def same_person_key(engine: Engine, key: bytes) -> bool:
    """True when ``key`` is the one the database was first used with (recorded now if none was);
    processes starting together record one fingerprint, the others compare with it."""
    mine = fingerprint(key)
    query = select(installation.c.value).where(installation.c.name == PERSON_KEY)
    with engine.connect() as conn:
        recorded = conn.execute(query).scalar()
    if recorded is None:
        try:
            with engine.begin() as conn:
                conn.execute(insert(installation).values(name=PERSON_KEY, value=mine))
            return True
        except IntegrityError:  # another process recorded its key meanwhile
            with engine.connect() as conn:
                recorded = conn.execute(query).scalar()
    return recorded == mine
