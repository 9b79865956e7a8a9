"""The engine's side of issue 5, with the clock in hand: the rating window, what a rating
keeps, and a clerk's figures for today (from the events log), on SQLite and PostgreSQL.

Times are naive UTC; 2026-11-23 09:00 in Ho Chi Minh City is 02:00 UTC (a Monday).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core.auth import add_user
from queuekiosk.server.core.config import parse_config

MON_9 = dt.datetime(2026, 11, 23, 2, 0)
SEC = dt.timedelta(seconds=1)
MIN = dt.timedelta(minutes=1)


@pytest.fixture
def db(make_queue, config_data, migrated_db_url):
    config_data["rating"] = {"ask_seconds": 30, "window_minutes": 2}
    queue = make_queue(parse_config(config_data, "ratings.yaml"), migrated_db_url)
    with queue.Session.begin() as session:
        add_user(session, "lan", "mật-khẩu-quầy-1", "clerk", 1)
        add_user(session, "hoa", "mật-khẩu-quầy-2", "clerk", 2)
    with queue.Session() as session:
        ids = dict(session.execute(select(m.User.username, m.User.id)).all())
    queue.lan, queue.hoa = q.Actor(user_id=ids["lan"]), q.Actor(user_id=ids["hoa"])
    return queue


def serve(
    db, counter: int, actor, called: dt.datetime, minutes: float, start_after: float | None = None, service: str = "HT"
) -> dict:
    """Issue, call at ``called``, optionally start, finish ``minutes`` after the call (or the start)."""
    ticket = db.run(q.issue, service, now=called - 5 * MIN).ticket
    assert db.run(q.call_next, counter, actor=actor, now=called).ticket["id"] == ticket["id"]
    begun = called
    if start_after is not None:
        begun = called + dt.timedelta(minutes=start_after)
        db.run(q.start, counter, actor=actor, now=begun)
    db.run(q.finish, counter, actor=actor, now=begun + dt.timedelta(minutes=minutes))
    return ticket


def refused(db, *args, **kwargs) -> str:
    with pytest.raises(q.QueueError) as info:
        db.run(q.rate, *args, **kwargs)
    return info.value.code


def test_a_rating_is_taken_within_the_window_and_keeps_who_where_what(db):
    ticket = serve(db, 1, db.lan, MON_9, minutes=4)
    finished = MON_9 + 4 * MIN
    prompt = db.run(q.rating_prompt, 1, now=finished + 10 * SEC)
    assert prompt["ticket"] == {"id": ticket["id"], "number": 1001, "display": "1001", "service": "HT"}
    assert prompt["until"] == q._iso(finished + 30 * SEC)
    assert db.run(q.rating_prompt, 1, now=finished + 31 * SEC) is None, "the tablet stops asking after ask_seconds"
    assert db.run(q.rating_prompt, 2, now=finished + 10 * SEC) is None, "another counter's tablet is not asked"

    assert refused(db, ticket["id"], 1, "satisfied", now=finished + 2 * MIN + SEC) == "rating_closed"
    rated = db.run(
        q.rate,
        ticket["id"],
        1,
        "unsatisfied",
        ["long_wait"],
        actor=q.Actor(token_id=None),
        now=finished + 2 * MIN - SEC,
    ).ticket
    assert (rated["clerk"], rated["counter"], rated["service"], rated["level"], rated["reasons"]) == (
        "lan",
        1,
        "HT",
        "unsatisfied",
        ["long_wait"],
    )
    assert refused(db, ticket["id"], 1, "satisfied", now=finished + 2 * MIN - SEC) == "already_rated"
    assert db.run(q.rating_prompt, 1, now=finished + 10 * SEC) is None, "a rated ticket is not asked again"

    with db.Session() as session:
        row = session.execute(select(m.Rating.__table__)).one()
        kinds = [k for (k,) in session.execute(select(m.Event.kind).order_by(m.Event.id))]
    assert row.business_day == dt.date(2026, 11, 23) and row.at == finished + 2 * MIN - SEC
    assert kinds[-1] == "rated", "the rating is a step in the append-only log too"


def test_a_later_finish_closes_the_earlier_ticket(db):
    first = serve(db, 1, db.lan, MON_9, minutes=2)
    second = serve(db, 1, db.lan, MON_9 + 3 * MIN, minutes=2)
    now = MON_9 + 5 * MIN + SEC
    assert refused(db, first["id"], 1, "satisfied", now=now) == "rating_closed"
    assert refused(db, second["id"], 2, "satisfied", now=now) == "rating_closed", "only the finishing counter's tablet"
    assert refused(db, "no-such-ticket", 1, "satisfied", now=now) == "unknown_ticket"
    assert db.run(q.rate, second["id"], 1, "satisfied", now=now).ticket["number"] == second["number"]


def test_a_clerks_figures_come_from_the_log(db):
    serve(db, 1, db.lan, MON_9, minutes=4)  # 4 min from the call
    rated = serve(db, 1, db.lan, MON_9 + 10 * MIN, minutes=6, start_after=3)  # 6 min from the start
    db.run(q.rate, rated["id"], 1, "very_satisfied", now=MON_9 + 19 * MIN + 30 * SEC)
    db.run(q.issue, "HT", now=MON_9 + 20 * MIN)
    db.run(q.call_next, 1, actor=db.lan, now=MON_9 + 21 * MIN)
    db.run(q.no_show, 1, actor=db.lan, now=MON_9 + 23 * MIN)
    serve(db, 2, db.hoa, MON_9 + 30 * MIN, minutes=1)  # someone else's work

    lan = db.run(q.figures_today, user_id=db.lan.user_id, now=MON_9 + 60 * MIN)
    assert lan == {
        "day": "2026-11-23",
        "served": 2,
        "average_service_seconds": 300.0,
        "no_shows": 1,
        "calls": 3,
        "transferred": 0,
        "ratings": {"count": 1, "very_satisfied": 1, "satisfied": 0, "unsatisfied": 0},
    }
    counter2 = db.run(q.figures_today, counter=2, now=MON_9 + 60 * MIN)
    assert (counter2["served"], counter2["average_service_seconds"]) == (1, 60.0)
    tomorrow = db.run(q.figures_today, user_id=db.lan.user_id, now=MON_9 + dt.timedelta(days=1))
    assert (tomorrow["served"], tomorrow["ratings"]["count"]) == (0, 0), "the figures restart every local day"
