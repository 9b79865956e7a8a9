"""auth.SessionWatch's rounds (realtime.follow_session_ends, every 2 s) on a real SQLite database: what a
round reads again of the events, and what it has told already. On
PostgreSQL an event's id is handed out before it commits, so an event may appear after one with a higher id
was read; no test of a whole server can make that happen on purpose: here the events are written with their
ids, in the order they commit."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, insert

from queuekiosk.server.core import models as m
from queuekiosk.server.core.auth import Principal, SessionWatch


def _events_table(url: str, **connect_args):
    """A database holding only the events, and ``commit(id, kind, **detail)``: one event committed with
    the id it was handed out (``whole_detail``: a detail as it is, of any JSON shape)."""
    engine = create_engine(url, connect_args=connect_args)
    m.metadata.create_all(engine, tables=[m.events])

    def commit(event_id: int, kind: str, whole_detail=None, **detail) -> None:
        detail = detail if whole_detail is None else whole_detail
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


def test_a_malformed_sign_out_is_skipped_once_and_the_rest_still_done(events, caplog):
    """An event whose ``signed_out`` is not a list of [site, counter], or whose whole detail is not an
    object (no command writes one today): its good entries and every other event are still told, its
    session still closed, the bad entries said in the log once, not at each round that reads the event
    again."""
    commit, round_with = events
    commit(1, "login", username="lan")
    commit(2, "login", username="mai")
    lan, mai = Principal("clerk", "lan", login_event=1), Principal("clerk", "mai", login_event=2)
    tabs = {"lan-tab": lan, "mai-tab": mai}
    assert round_with(tabs) == ([], [])

    commit(3, "password_changed", username="lan", signed_out=[["s"], ["s", 1], "s4", ["s", "2"], [None, 5]])
    commit(4, "user_disabled", username="mai", signed_out={"s": 3})
    commit(5, "password_changed", ["lan", ["s", 7]])  # (whose? it ends no session)
    commit(6, "user_changed", username="hoa", signed_out=[["s", 6]])
    assert round_with(tabs) == (["lan-tab", "mai-tab"], [("s", 1), ("s", 6)])
    assert round_with({}) == ([], [])  # (the overlap reads 3 to 6 again)
    assert round_with({}) == ([], [])
    skipped = [record.getMessage() for record in caplog.records if "signed_out" in record.getMessage()]
    assert skipped == [
        "event 3 (password_changed): 4 entries of signed_out are not [site, counter]; skipped",
        "event 4 (user_disabled): signed_out is not a list of [site, counter]; skipped",
        "event 5 (password_changed): its detail is not an object, so no signed_out; skipped",
    ]
