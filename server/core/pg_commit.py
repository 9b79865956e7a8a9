"""What became of a group-commit batch whose connection was lost once its COMMIT was sent
(pg_writer.py): PostgreSQL is asked, on a fresh connection, about the batch's transaction, whose id
(and session) the batch learnt in its first round trip (``XACT``). The COMMIT may have been lost on
its way (nothing happened) or only its answer (everything happened): before, every caller heard 503
"nothing was changed" either way, and a clerk's call committed so reached no screen."""

from __future__ import annotations

import time

import gevent
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from .db import forget_older_connections

# sent with the batch's BEGIN (PostgreSQL 13 or later): the transaction's id, assigned now (a batch
# that writes gets one at its first write anyway); the session's process, to end it if need be; and when
# the server started: a transaction id is only that server's (a restarted server may give again one
# that left nothing on disk, a promoted replica one the old primary gave)
XACT = "SELECT pg_current_xact_id()::text, pg_backend_pid(), pg_postmaster_start_time()::text"
COMMITTED, ROLLED_BACK, UNKNOWN = "committed", "rolled back", "unknown"
ASK_SECONDS = 4.0  # how long PostgreSQL is asked while it does not answer (a connect gives up after 5 s)

_STATUS = text("SELECT pg_xact_status(CAST(:xid AS xid8)), pg_postmaster_start_time() = CAST(:started AS timestamptz)")
# the old session, if it still holds the transaction: PostgreSQL has not yet seen it end (its end of
# the connection still open), and the COMMIT, if it came, is done or ends before the session does
_END_OLD_SESSION = text(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE pid = :pid AND backend_xid = CAST(CAST(:xid AS xid8) AS xid)"
)


def commit_outcome(engine: Engine, xid: str, backend: int, started: str, seconds: float = ASK_SECONDS) -> str:
    """``COMMITTED`` or ``ROLLED_BACK`` (final: the transaction ``xid`` of the session ``backend``, on
    the server that ``started`` then, ended so), or ``UNKNOWN`` when PostgreSQL gave no answer within
    ``seconds`` or the server answering is another (restarted, or a replica promoted, since). A transaction still
    in progress (its session not yet ended by PostgreSQL: a COMMIT on its way or still being written,
    or the session's client gone without a word) has its session ended, once: a COMMIT PostgreSQL
    had read then finishes first, and one still to come finds no session; then it is asked again.
    The pool's connections made before now are replaced first: the loss was likely not this one's."""
    deadline = time.monotonic() + seconds
    forget_older_connections(engine)
    ended = False
    while True:
        try:
            with engine.connect() as conn:
                status, same_server = conn.execute(_STATUS, {"xid": xid, "started": started}).one()
                if not same_server:
                    return UNKNOWN
                if status == "in progress" and not ended:
                    conn.execute(_END_OLD_SESSION, {"pid": backend, "xid": xid}).all()
                    ended = True
        except DBAPIError:  # (unreachable, or lost again: asked again while time is left)
            status = None
        if status == "committed":
            return COMMITTED
        if status == "aborted":
            return ROLLED_BACK
        if time.monotonic() >= deadline:
            return UNKNOWN
        gevent.sleep(0.05 if status == "in progress" else 0.25)
