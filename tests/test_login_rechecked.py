"""A login checks the password in a read, then writes its "login" event in a write of its own
(session_routes.login, auth.record_login): a change of the account committed between the two (``queuekiosk
user password``, /admin) must refuse the login, not let a session of the old password outlive the
change. Deterministic on a real SQLite database: the change is committed between the two calls."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
from in_process_app_helpers import in_process_app
from sqlalchemy import create_engine, insert, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from queuekiosk.server.core import models as m
from queuekiosk.server.core.auth import principal_for_login, record_login
from queuekiosk.server.core.errors import NotSignedIn

SITE = SimpleNamespace(id="s")
OLD, NEW = "mat-khau-cu", "mat-khau-moi"


@pytest.fixture
def engine():
    engine = create_engine("sqlite://")
    m.metadata.create_all(engine, tables=[m.users, m.events])
    with engine.begin() as conn:
        row = {"username": "lan", "password_hash": generate_password_hash(OLD), "role": "clerk", "counter_number": 3}
        conn.execute(insert(m.users), [row])
    yield engine
    engine.dispose()


def _checked(engine, password: str):
    with Session(engine) as db:  # (the login route's read)
        return principal_for_login(db, "lan", password)


def _logins(engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(m.events.c.id).where(m.events.c.kind == "login")).all())


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("password_changed", {"password_hash": generate_password_hash(NEW)}),  # queuekiosk user password
        ("user_disabled", {"active": False}),  # queuekiosk user disable
        ("user_changed", {"counter_number": 4}),  # /admin moves the clerk to another counter
    ],
)
def test_a_login_checked_before_a_change_of_the_account_is_refused(engine, kind, change):
    user = _checked(engine, OLD)
    with engine.begin() as conn:  # the change commits between the login's read and its write
        conn.execute(update(m.users).where(m.users.c.id == user.id).values(**change))
        event = {"site_id": "s", "kind": kind, "at": datetime(2026, 12, 6), "detail": {"username": "lan"}}
        conn.execute(insert(m.events), [event])
    with pytest.raises(NotSignedIn) as refused, engine.begin() as conn:
        record_login(conn, SITE, user, counter=3, at_counter=True)
    assert refused.value.code == "bad_login"
    assert _logins(engine) == 0  # no session of the old account


def test_a_login_of_an_unchanged_account_is_recorded(engine):
    user = _checked(engine, OLD)
    with engine.begin() as conn:
        assert record_login(conn, SITE, user, counter=3, at_counter=True)
    assert _logins(engine) == 1


@pytest.fixture
def kiosk_app(tmp_path, migrated_sqlite_url, monkeypatch):
    """The real app in this process (SQLite, limits in memory), with a clerk "lan" at counter 1."""
    from queuekiosk.server.core.auth import add_user

    app = in_process_app(tmp_path, migrated_sqlite_url, monkeypatch, "login-rechecked")
    app_state = app.extensions["queuekiosk"]
    with app_state.Session() as db:
        add_user(db, "lan", OLD, "clerk", counter=1, site_id=app_state.site.id)
        db.commit()
    yield app
    app_state.engine.dispose()


def test_a_login_refused_at_its_write_is_logged_and_counts_as_a_failed_attempt(kiosk_app, monkeypatch):
    from queuekiosk.server.web.api import session_routes

    app_state = kiosk_app.extensions["queuekiosk"]

    def moved_then_written(conn, site, seen, **detail):  # /admin moved the clerk since the route's read
        moved = 3 - seen.counter_number  # 1 <-> 2
        conn.execute(update(m.users).where(m.users.c.id == seen.id).values(counter_number=moved))
        return record_login(conn, site, seen, **detail)

    monkeypatch.setattr(session_routes, "record_login", moved_then_written)
    http = kiosk_app.test_client()
    login = {"username": "lan", "password": OLD}
    refused = http.post("/api/v1/auth/login", json=login)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "bad_login"
    with app_state.engine.connect() as conn:
        failed = conn.execute(select(m.events.c.detail).where(m.events.c.kind == "login_failed")).scalars().all()
    assert [(f["username"], f["reason"]) for f in failed] == [("lan", "account_changed")]
    for _ in range(9):  # up to the limit of 10 failed attempts (tests/api/test_login_throttle.py)
        assert http.post("/api/v1/auth/login", json=login).status_code == 401
    assert http.post("/api/v1/auth/login", json=login).status_code == 429  # none was given back
