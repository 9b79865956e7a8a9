"""Removing a site on SQLite deletes rows that may hold the highest ids of their tables, and SQLite gives
such ids again (no AUTOINCREMENT). A cookie names its user by id and name, so a saved cookie never
becomes the account made later under the same id; and no event is given an id below one the session
checks read past, so a password change after a removal still ends the sessions it should. Real server
over HTTP and Socket.IO.
"""

from __future__ import annotations

import time

import pytest
from api_helpers import assert_error
from faked_clock import on_a_working_morning
from site_helpers import MISTAKE, bearer, live_connection, made_by_mistake, told_to_go
from sqlalchemy import create_engine, text

PASSWORD = "mat-khau-2026"
HERE = "/api/v1/sites/xa-nham"


@pytest.fixture
def admin(live_server, tmp_path):
    """A server of each test's own (test_sites_remove's is shared by its file): both tests here add,
    remove and add again the same site, xa-nham."""
    server = live_server(env=on_a_working_morning(tmp_path / "clock"))
    yield server, bearer(server, server.token("admin"))


def user_id(server, name: str) -> int:
    with create_engine(server.database_url).connect() as db:
        return db.execute(text("SELECT id FROM users WHERE username = :name"), {"name": name}).scalar_one()


def signed_in(server, name: str, at: str = HERE, counter: int | None = 1):
    http = server.session()
    answer = http.post(f"{at}/auth/login", json={"username": name, "password": PASSWORD, "counter": counter})
    assert answer.status_code == 200, answer.text
    http.headers["X-CSRFToken"] = answer.json()["csrf_token"]
    return http


def assert_refused(cookie) -> None:
    assert_error(cookie.get(f"{HERE}/auth/me"), 401, "unauthorized")
    assert cookie.post(f"{HERE}/admin/tokens", json={"role": "admin", "name": "taken"}).status_code in (401, 403)


def test_a_saved_cookie_never_becomes_an_account_made_after_a_removal(admin):
    server, http = admin
    assert http.post("/api/v1/admin/sites", json=MISTAKE).status_code == 201
    added = http.post(f"{HERE}/admin/users", json={"username": "nham.lan", "password": PASSWORD, "role": "clerk"})
    assert added.status_code == 201, added.text
    old_id = user_id(server, "nham.lan")
    first = clerk_removed_with_the_site_after_add(server, http, "nham.lan")

    # the same name made again takes the same id: the disabled clerk's cookie stays ended
    again = http.post(f"{HERE}/admin/users", json={"username": "nham.lan", "password": PASSWORD, "role": "clerk"})
    assert again.status_code == 201, again.text
    assert user_id(server, "nham.lan") == old_id  # (what this test is about: SQLite gave the id again)
    assert_refused(first)
    second = clerk_removed_with_the_site_after_add(server, http, "nham.lan")

    # an installation admin made now takes that id too: neither cookie becomes that admin's
    made = http.post("/api/v1/admin/users", json={"username": "newadmin", "password": PASSWORD, "role": "admin"})
    assert made.status_code == 201, made.text
    assert user_id(server, "newadmin") == old_id
    for cookie in (first, second):
        assert_refused(cookie)
    assert signed_in(server, "newadmin", counter=None).get(f"{HERE}/auth/me").json()["role"] == "admin"


def clerk_removed_with_the_site_after_add(server, http, name: str):
    """``name``, a clerk of the mistaken site just added, signs in there (its cookie kept); then it is
    disabled, and the site removed and added again. The cookie."""
    cookie = signed_in(server, name)
    assert cookie.get(f"{HERE}/auth/me").json()["name"] == name
    assert http.post(f"{HERE}/counters/1/close").status_code == 200
    assert http.patch(f"{HERE}/admin/users/{name}", json={"active": False}).status_code == 200
    assert_refused(cookie)
    assert http.delete("/api/v1/admin/sites/xa-nham").status_code == 204
    assert http.post("/api/v1/admin/sites", json=MISTAKE).status_code == 201
    return cookie


def test_a_live_session_ends_at_a_password_change_made_after_a_removal(admin, sio_client):
    """The live check reads the session-ending events since the newest id it read two rounds before:
    an event given an id below that (the removed site's ids given again) was never read."""
    server, http = admin
    server.add_user("gs", PASSWORD, "supervisor")
    supervisor = signed_in(server, "gs", at="/api/v1", counter=None)
    dashboard = live_connection(sio_client, server, supervisor)
    assert dashboard.subscribe({"dashboard": True}) == {"ok": True}
    made = made_by_mistake(server, http)  # the newest events are the mistaken site's
    assert http.patch(f"{HERE}/admin/users/nham.lan", json={"active": False}).status_code == 200
    assert http.delete(f"{HERE}/admin/tokens/{made['token']['id']}").status_code in (200, 204)
    time.sleep(5)  # two rounds of the live check (every 2 s) read past them
    assert http.delete("/api/v1/admin/sites/xa-nham").status_code == 204
    # at once, before the next round reads the newest id anew
    assert http.patch("/api/v1/admin/users/gs", json={"password": "mat-khau-moi-2026"}).status_code == 200
    assert told_to_go(dashboard, within=10), "a live connection outlived a password change"
    assert_error(supervisor.get("/api/v1/auth/me"), 401, "unauthorized")
