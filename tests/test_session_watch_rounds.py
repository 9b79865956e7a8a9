"""auth.SessionWatch's rounds (realtime.follow_session_ends, every 2 s) on a real SQLite database: what a
round reads again of the events, and what it has told already; and the loop going on through faults. On
PostgreSQL an event's id is handed out before it commits, so an event may appear after one with a higher id
was read; no test of a whole server can make that happen on purpose: here the events are written with their
ids, in the order they commit."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, insert

from queuekiosk.server.core import models as m
from queuekiosk.server.core.auth import Principal, SessionWatch


def _events_table(url: str, **connect_args):
    """A database holding only the events, and ``commit(id, kind, **detail)``: one event committed with
    the id it was handed out."""
    engine = create_engine(url, connect_args=connect_args)
    m.metadata.create_all(engine, tables=[m.events])

    def commit(event_id: int, kind: str, **detail) -> None:
        row = {"id": event_id, "site_id": "s", "kind": kind, "at": datetime(2026, 12, 6), "detail": detail}
        with engine.begin() as conn:
            conn.execute(insert(m.events), [row])

    return engine, commit


@pytest.fixture
def events():
    """``commit`` (``_events_table``), and a round of one watch: (the keys lapsed, the sign-outs told)."""
    engine, commit = _events_table("sqlite://")
    watch = SessionWatch()

    def round_with(principals: dict) -> tuple[list, list]:
        with engine.connect() as conn:
            gone, signed_out = watch.round(conn, principals)
        return sorted(gone), sorted(signed_out)

    yield commit, round_with
    engine.dispose()


def test_a_late_committed_sign_out_still_closes_and_is_told_once(events):
    commit, round_with = events
    commit(1, "login", username="lan")
    commit(2, "login", username="vy")  # (her page connects later)
    commit(3, "password_changed", username="hoa", signed_out=[["s", 3]])  # before this process started
    commit(4, "login", username="mai")
    lan, mai, vy = (Principal("clerk", name, login_event=login) for name, login in (("lan", 1), ("mai", 4), ("vy", 2)))

    assert round_with({"lan-tab": lan, "mai-tab": mai}) == ([], [])  # the first round: where to start only

    # lan's new password gets id 5 but commits only after the next round; mai's account, id 6, at once
    commit(6, "user_disabled", username="mai", signed_out=[["s", 2]])
    assert round_with({"lan-tab": lan, "mai-tab": mai}) == (["mai-tab"], [("s", 2)])

    commit(5, "password_changed", username="lan", signed_out=[["s", 1]])
    # lan's tab was checked up to id 6 already; vy's is seen for the first time, read from her login
    assert round_with({"lan-tab": lan, "vy-tab": vy}) == (["lan-tab"], [("s", 1)])  # not 6's again, nor 3's

    assert round_with({"vy-tab": vy}) == ([], [])  # nothing is told twice


class _Stop(Exception):
    """Ends the loop after its planned rounds (in place of its sleep)."""


class _Clients:
    """Socket.IO's side of the loop (its network library): closing a client fails (its disconnect handler
    raising), the first emit fails, the others are heard."""

    def __init__(self):
        self.heard = []

    def disconnect(self, sid, namespace=None):
        raise RuntimeError(f"the disconnect handler of {sid} failed")

    def emit(self, event, data, to=None, **_kwargs):
        if not self.heard:
            self.heard.append("(failed)")
            raise RuntimeError("the first emit failed")
        self.heard.append((event, data, to))


def test_the_loop_goes_on_and_says_each_fault_as_it_should(tmp_path, monkeypatch, caplog):
    """A client whose closing or telling fails, a busy database, an event it cannot read: the loop (both
    duties' only one) goes on; a busy database is said once an outage, a fault of the server every time."""
    import gevent

    from queuekiosk.server.web import realtime

    engine, commit = _events_table(f"sqlite:///{tmp_path / 'events.db'}", timeout=0)  # busy: no wait
    locker = sqlite3.connect(tmp_path / "events.db", isolation_level=None)  # another program holding it
    before_round = {
        2: lambda: commit(2, "password_changed", username="lan", signed_out=[["s", 1], ["s", 2]]),
        3: lambda: locker.execute("BEGIN EXCLUSIVE"),
        5: lambda: locker.execute("COMMIT"),
        6: lambda: locker.execute("BEGIN EXCLUSIVE"),
        7: lambda: (locker.execute("COMMIT"), commit(3, "user_disabled", username="mai", signed_out=[["s"]])),
        9: lambda: locker.execute("DROP TABLE events"),  # a query the database refuses as wrong
    }
    rounds = iter(range(2, 11))

    def sleep(_seconds):
        number = next(rounds)
        if number == 10:
            raise _Stop
        before_round.get(number, lambda: None)()

    commit(1, "login", username="lan")
    clients = _Clients()
    monkeypatch.setattr(realtime.socketio, "server", clients)
    monkeypatch.setattr(realtime, "principals", {"lan-tab": Principal("clerk", "lan", login_event=1)})
    monkeypatch.setattr(gevent, "sleep", sleep)
    caplog.set_level(logging.WARNING, logger="queuekiosk.realtime")
    try:
        with pytest.raises(_Stop):  # rounds 1 to 9 ran
            realtime.follow_session_ends(SimpleNamespace(reads=engine, sites={"s"}))
    finally:
        locker.close()
        engine.dispose()

    assert clients.heard == ["(failed)", ("counter.signed_out", {"counter": 2}, "s:dashboard")]
    said = [(r.levelname, r.getMessage().splitlines()[0], r.exc_info is not None) for r in caplog.records]
    busy = "could not read the session-ending events (trying again): (sqlite3.OperationalError) database is locked"
    unreadable = "could not follow the session-ending events (a fault of the server); trying again"
    assert said == [
        ("ERROR", "could not close a lapsed connection", True),  # round 2
        ("ERROR", "could not tell the dashboards of site s that counter 1 signed out", True),
        ("WARNING", busy, False),  # rounds 3 and 4
        ("ERROR", "could not close a lapsed connection", True),  # round 5: tried again (its event, read again)
        ("WARNING", busy, False),  # round 6
        ("ERROR", unreadable, True),  # rounds 7 and 8: mai's malformed sign-out
        ("ERROR", unreadable, True),
        ("ERROR", "could not read the session-ending events (a fault of the server)", False),  # round 9
    ]
    assert "Traceback" in caplog.records[-1].getMessage()  # (faults.log_internal's: no PostgreSQL DETAIL in it)
