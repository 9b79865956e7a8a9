"""Sessions end for good (issue 20, point 8): a cookie saved before logout, a password change or
a disabled account no longer answers or acts; another session of the same user is not ended by
one logout. Real server, real cookies, the real command line.
"""

from __future__ import annotations

import server_db
from api_helpers import assert_error
from site_helpers import live_connection, told_to_go
from sqlalchemy import func, select

from queuekiosk.server.core import models as m

PASSWORD = "mat-khau-dung-1"


def log_in(srv, name="lan"):
    http = srv.session()
    answer = http.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    http.headers["X-CSRFToken"] = answer.json()["csrf_token"]
    return http


def copy_of(srv, http):
    """Another client holding a saved copy of ``http``'s cookie and CSRF header."""
    thief = srv.session()
    thief.cookies.update(http.cookies)
    thief.headers["X-CSRFToken"] = http.headers["X-CSRFToken"]
    return thief


def assert_works(http):
    assert http.get("/api/v1/auth/me").status_code == 200
    paused = http.post("/api/v1/counters/1/pause", json={"reason": "họp"})
    assert paused.status_code == 200, paused.text
    assert http.post("/api/v1/counters/1/resume").status_code == 200


def assert_ended(http):
    assert_error(http.get("/api/v1/auth/me"), 401, "unauthorized")
    assert_error(http.post("/api/v1/counters/1/pause", json={"reason": "họp"}), 401, "unauthorized")


def test_a_cookie_saved_before_logout_stops_working(live_server):
    srv = live_server()
    srv.add_user("lan", PASSWORD, "clerk", counter=1)
    http = log_in(srv)
    other_pc = log_in(srv)  # the same clerk signed in elsewhere
    saved = copy_of(srv, http)
    assert_works(saved)
    assert http.post("/api/v1/auth/logout").status_code == 204
    assert_ended(saved)
    assert_works(other_pc)  # one logout ends its own session only


def test_a_password_change_or_a_disabled_account_ends_every_open_session(live_server):
    srv = live_server()
    srv.add_user("lan", PASSWORD, "clerk", counter=1)
    srv.add_user("mai", PASSWORD, "clerk", counter=2)
    before_change, bystander = log_in(srv), log_in(srv, "mai")
    srv.cli("user", "password", "lan", input="mat-khau-moi-2\n")
    assert_ended(before_change)
    after_change = srv.session()
    assert after_change.post("/api/v1/auth/login", json={"username": "lan", "password": "mat-khau-moi-2"}).ok
    saved = copy_of(srv, after_change) if "X-CSRFToken" in after_change.headers else after_change
    srv.cli("user", "disable", "lan")
    srv.cli("user", "enable", "lan")  # enabled again: the sessions from before stay ended
    assert_error(saved.get("/api/v1/auth/me"), 401, "unauthorized")
    assert bystander.get("/api/v1/auth/me").status_code == 200


def test_a_live_connection_ends_with_its_session(live_server, sio_client):
    """A dashboard or console left open kept its live events after its session's logout or its
    user's password change (only a revoked token or a disabled account closed it)."""
    srv = live_server()
    srv.add_user("sup", PASSWORD, "supervisor")
    srv.add_user("lan", PASSWORD, "clerk", counter=1)
    supervisor, other_pc, clerk = log_in(srv, "sup"), log_in(srv, "sup"), log_in(srv)
    dashboard = live_connection(sio_client, srv, supervisor)
    kept = live_connection(sio_client, srv, other_pc)  # the same supervisor signed in elsewhere
    console = live_connection(sio_client, srv, clerk)
    for client, room in ((dashboard, {"dashboard": True}), (kept, {"dashboard": True}), (console, {"counter": 1})):
        assert client.subscribe(room) == {"ok": True}
    saved_cookie = live_connection(sio_client, srv, supervisor)  # connected before the logout, quiet

    assert supervisor.post("/api/v1/auth/logout").status_code == 204
    srv.cli("user", "password", "lan", input="mat-khau-moi-2\n")
    for client in (dashboard, console, saved_cookie):
        assert told_to_go(client), "a live connection outlived its session"
    mark = kept.mark()
    ticket = srv.session().post("/api/v1/tickets", json={"service": "HT"}).json()
    kept.wait_for("ticket.issued", lambda event: event["ticket"]["id"] == ticket["id"], since=mark)
    assert not kept.disconnects  # one logout ends its own session only
    assert "ticket.issued" not in dashboard.names(), dashboard.names()
    again = live_connection(sio_client, srv, supervisor)  # the saved cookie, connecting anew
    assert again.subscribe({"dashboard": True})["error"]["code"] == "unauthorized"


def test_the_live_check_reads_each_session_ending_event_once(live_server, sio_client):
    """The check of live connections read every session-ending event since the oldest login at
    every round (a dashboard open for weeks: weeks of events every 2 s). An event it has read
    already is not read again: shown by an old event changed, in the database, into this
    session's logout once the check is past it, which no longer ends the connection."""

    def newest_event(session):
        return session.scalar(select(func.max(m.Event.id)))

    srv = live_server()
    srv.add_user("sup", PASSWORD, "supervisor")
    watched = log_in(srv, "sup")
    login = server_db._write(srv.database_url, newest_event)
    dashboard = live_connection(sio_client, srv, watched)
    assert dashboard.subscribe({"dashboard": True}) == {"ok": True}
    assert srv.session().post("/api/v1/tickets", json={"service": "HT"}).ok
    old = server_db._write(srv.database_url, newest_event)  # after the login: this session's events
    assert old > login

    def one_round_passes():
        """A logout seen by the check: at least one round of it has run since."""
        http = log_in(srv, "sup")
        client = live_connection(sio_client, srv, http)
        assert client.subscribe({"dashboard": True}) == {"ok": True}
        assert http.post("/api/v1/auth/logout").status_code == 204
        assert told_to_go(client)

    for _ in range(3):  # the check reads again the events of the round before its last (late commits)
        one_round_passes()

    def into_its_logout(session):
        event = session.get(m.Event, old)
        event.kind, event.detail = "logout", {"session": login}

    server_db._write(srv.database_url, into_its_logout)
    for _ in range(2):
        one_round_passes()
    assert not dashboard.disconnects, "the check read again events it had read before"
    mark = dashboard.mark()
    ticket = srv.session().post("/api/v1/tickets", json={"service": "HT"}).json()
    dashboard.wait_for("ticket.issued", lambda event: event["ticket"]["id"] == ticket["id"], since=mark)
    assert watched.post("/api/v1/auth/logout").status_code == 204  # its own logout still ends it
    assert told_to_go(dashboard)
