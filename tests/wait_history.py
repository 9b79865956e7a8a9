"""Past days of one counter written through the queue engine, for the wait predictor's tests.

A day: ``per_day`` tickets of ``service``, one every ``every`` minutes from 08:00 local, served one
after the other at ``counter`` by that day's clerk, each in the clerk's own number of minutes;
the counter opens with the first call and closes after the last finish. What the predictor learns
from such days is plain: the clerk at the counter sets the pace.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import requests
import server_db
from sqlalchemy import select

from queuekiosk.server.core import auth
from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core.config import load_config
from queuekiosk.server.core.db import create_db_engine, prepare_database, session_factory

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MIN = dt.timedelta(minutes=1)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A wall-clock time in Hà Nội on ``day`` -> naive UTC, as the engine takes it."""
    return dt.datetime.combine(day, dt.time(hour, minute), HCM).astimezone(dt.UTC).replace(tzinfo=None)


PASSWORD = "mật-khẩu-quầy-đủ-dài"


def clerk_ids(engine, *names: str, counter: int | None = None) -> dict[str, int]:
    """Clerk accounts (made if missing, assigned to ``counter``, password ``PASSWORD``) and their ids."""
    with session_factory(engine).begin() as session:
        for name in names:
            if session.scalars(select(m.User).filter_by(username=name)).first() is None:
                auth.add_user(session, name, PASSWORD, "clerk", counter)
        session.flush()
        return {u.username: u.id for u in session.scalars(select(m.User).where(m.User.username.in_(names)))}


def write_day(
    engine,
    site,
    day: dt.date,
    clerk: int,
    minutes: float,
    service: str = "DC",
    counter: int = 4,
    per_day: int = 12,
    every: float = 5.0,
) -> None:
    arrivals = [local(day, 8) + i * every * MIN for i in range(per_day)]
    steps, free = [], local(day, 8, 2)
    for arrival in arrivals:
        called = max(arrival, free) + 0.3 * MIN
        free = called + minutes * MIN
        steps += [(arrival, 0, "issue"), (called, 1, "call"), (free, 2, "finish")]
    actor = q.Actor(user_id=clerk)
    Session = session_factory(engine)
    for at, _order, step in sorted(steps):
        with Session.begin() as session:
            if step == "issue":
                q.issue(session, site, service, now=at, check_hours=False)
            elif step == "call":
                q.call_next(session, site, counter, actor, now=at)
            else:
                q.finish(session, site, counter, actor, now=at)
    with Session.begin() as session:
        q.close_counter(session, site, counter, actor, now=free + MIN)


def write_days(engine, site, days: list[dt.date], clerk_of_day, **kwargs) -> None:
    """``clerk_of_day(day) -> (user id, minutes per citizen)``."""
    for day in days:
        clerk, minutes = clerk_of_day(day)
        write_day(engine, site, day, clerk, minutes, **kwargs)


def centre_with_history(url: str, template, config_path, instance) -> None:
    """A test server's database before its first start: the migrated ``template``, the centre of
    ``config_path``, and the 8 days before yesterday at counter 4 (DC): the quick clerk "nhanh" (4 min a
    citizen) and, on three of the first six, the slow "cham" (16 min), both assigned to counter 4."""
    server_db.seed(template, url)
    engine = create_db_engine(url)
    try:
        site = prepare_database(engine, load_config(config_path), instance)
        clerks = clerk_ids(engine, "nhanh", "cham", counter=4)
        today = dt.datetime.now(HCM).date()
        days = [today - dt.timedelta(days=9 - i) for i in range(8)]
        write_days(
            engine,
            site,
            days,
            lambda day: (clerks["cham"], 16.0) if days.index(day) in (1, 3, 5) else (clerks["nhanh"], 4.0),
        )
    finally:
        engine.dispose()


def wait_until_trained(url: str, timeout: float = 60) -> dict:
    """The server's /healthz once its wait predictor is in use (it trains at start, beside requests)."""
    deadline = time.monotonic() + timeout
    while True:
        health = requests.get(url + "/healthz", timeout=5).json()
        if health.get("wait_prediction"):
            return health
        assert time.monotonic() < deadline, f"no wait predictor after {timeout} s: {health}"
        time.sleep(0.2)
