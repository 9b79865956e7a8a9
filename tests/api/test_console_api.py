"""What the clerk console, the keypad client and the rating tablet rely on, against a real server.

- ``Idempotency-Key`` on counter actions: a repeated request is answered again, never done twice
- CSRF: a clerk's session changes nothing without the session's token in ``X-CSRFToken``
- ratings: only the counter's rating tablet rates, only the ticket it just finished, once;
  a clerk cannot rate, cannot act on another counter, cannot read single ratings or reports
- the clerk's own figures for today; a clearer refusal for a number another counter took
"""

from __future__ import annotations

import threading
import uuid

import pytest
from api_helpers import assert_error, drain, issue
from faked_clock import on_a_working_morning

COUNTERS = (1, 2, 3, 4, 5, 6)
CLERK1 = ("lan", "mật-khẩu-quầy-1")
CLERK2 = ("hoa", "mật-khẩu-quầy-2")
LEVELS = ("very_satisfied", "satisfied", "unsatisfied")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def server(module_live_server, tmp_path_factory):
    """conftest's module server (the repo's config.yaml, --ignore-hours), its clock at 09:00 on a working
    day (tests/faked_clock.py): the clerk's figures for today and the tickets issued then called stay
    one day's whatever the hour the module runs at (the site's midnight is 17:00 UTC)."""
    return module_live_server(env=on_a_working_morning(tmp_path_factory.mktemp("clock")))


@pytest.fixture(scope="module")
def tokens(server) -> dict:
    made = server.tokens(
        ("admin", None), ("supervisor", None), ("counter", 1), ("counter", 2), ("rating", 1), ("rating", 2)
    )
    return {(role if counter is None else f"{role}{counter}"): value for (role, counter), value in made.items()}


@pytest.fixture(scope="module")
def clerks(server):
    server.add_user(*CLERK1, role="clerk", counter=1)
    server.add_user(*CLERK2, role="clerk", counter=2)
    return {1: CLERK1, 2: CLERK2}


@pytest.fixture(autouse=True)
def drained(server, tokens):
    drain(server, tokens["admin"], COUNTERS)
    yield


def login(server, clerk) -> object:
    """A keep-alive session logged in as ``clerk``, sending its CSRF token like the console page."""
    http = server.session()
    answer = http.post("/api/v1/auth/login", json={"username": clerk[0], "password": clerk[1]})
    assert answer.status_code == 200, answer.text
    http.headers["X-CSRFToken"] = answer.json()["csrf_token"]
    return http


def act(http, counter: int, action: str, headers=None, json=None):
    return http.post(f"/api/v1/counters/{counter}/{action}", headers=headers or {}, json=json)


def status_of(http, ticket_id: str) -> str:
    return http.get(f"/api/v1/tickets/{ticket_id}").json()["status"]


# --- Idempotency-Key --------------------------------------------------------------------------


def test_a_repeated_key_is_answered_again_and_done_once(server, http, tokens, sio_client):
    display = sio_client()
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    first, second = issue(http, "HT"), issue(http, "HT")
    headers = {**bearer(tokens["counter1"]), "Idempotency-Key": "press-" + uuid.uuid4().hex}

    called = act(http, 1, "next", headers)
    assert called.status_code == 200 and called.json()["id"] == first["id"]
    assert "Idempotent-Replayed" not in called.headers
    again = act(http, 1, "next", headers)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == called.json()
    assert status_of(http, second["id"]) == "waiting", "the repeated press called a second ticket"
    assert status_of(http, first["id"]) == "called", "the repeated press finished the first ticket"
    display.wait_for("ticket.called", lambda e: e["ticket"]["id"] == first["id"])  # the one call's event...
    display.assert_silent(display.mark(), prefixes=("ticket.called",), duration=0.5)  # ...and no second one
    assert len([e for e in display.received("ticket.called") if e["ticket"]["id"] == first["id"]]) == 1

    # the same key for another request is refused; another caller's key is its own
    assert_error(act(http, 1, "finish", headers), 422, "idempotency_key_reused")
    assert_error(act(http, 1, "next", headers, json={"number": second["number"]}), 422, "idempotency_key_reused")
    other = act(http, 2, "next", {**bearer(tokens["counter2"]), "Idempotency-Key": headers["Idempotency-Key"]})
    assert other.status_code == 200 and other.json()["id"] == second["id"]

    # a new key is a new press
    assert act(http, 1, "start", bearer(tokens["counter1"])).status_code == 200
    fresh = act(http, 1, "next", {**bearer(tokens["counter1"]), "Idempotency-Key": uuid.uuid4().hex})
    assert fresh.status_code == 204
    assert status_of(http, first["id"]) == "done"


def test_nobody_waiting_and_pause_answers_are_replayed_too(http, tokens):
    key = {**bearer(tokens["counter1"]), "Idempotency-Key": uuid.uuid4().hex}
    assert act(http, 1, "next", key).status_code == 204
    replay = act(http, 1, "next", key)
    assert (replay.status_code, replay.headers.get("Idempotent-Replayed")) == (204, "true")

    pause = {**bearer(tokens["counter1"]), "Idempotency-Key": uuid.uuid4().hex}
    paused = act(http, 1, "pause", pause, json={"reason": "Họp"})
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    again = act(http, 1, "pause", pause, json={"reason": "Họp"})
    assert again.status_code == 200 and again.json() == paused.json(), "a repeated pause must not be refused"


def test_a_refused_action_is_not_remembered(http, tokens):
    key = {**bearer(tokens["counter1"]), "Idempotency-Key": uuid.uuid4().hex}
    assert_error(act(http, 1, "finish", key), 409, "no_current_ticket")
    ticket = issue(http, "HT")
    assert act(http, 1, "next", bearer(tokens["counter1"])).json()["id"] == ticket["id"]
    finished = act(http, 1, "finish", key)  # the same key, now that there is something to finish
    assert finished.status_code == 200 and finished.json()["status"] == "done"


def test_the_same_key_at_the_same_moment_acts_once(server, http, tokens):
    tickets = [issue(http, "HT") for _ in range(3)]
    headers = {**bearer(tokens["counter1"]), "Idempotency-Key": uuid.uuid4().hex}
    answers: list = []
    barrier = threading.Barrier(6)

    def press():
        with server.session() as own:
            barrier.wait()
            response = act(own, 1, "next", headers)
            answers.append((response.status_code, response.json()["id"]))

    threads = [threading.Thread(target=press) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == [(200, tickets[0]["id"])] * 6, answers
    assert [status_of(http, t["id"]) for t in tickets] == ["called", "waiting", "waiting"]


def test_a_malformed_key_is_refused(http, tokens):
    response = act(http, 1, "next", {**bearer(tokens["counter1"]), "Idempotency-Key": "has spaces"})
    assert_error(response, 422, "invalid_field", "Idempotency-Key")


# --- CSRF on the clerk's session ------------------------------------------------------------------


def test_a_session_changes_nothing_without_its_csrf_token(server, http, clerks):
    session = login(server, clerks[1])
    token = session.headers.pop("X-CSRFToken")
    ticket = issue(http, "HT")
    assert_error(act(session, 1, "next"), 403, "csrf_failed")
    assert_error(act(session, 1, "next", {"X-CSRFToken": "forged"}), 403, "csrf_failed")
    assert status_of(http, ticket["id"]) == "waiting"
    assert session.get("/api/v1/counters/1").status_code == 200, "reading needs no token"
    assert session.get("/api/v1/auth/me").json()["csrf_token"]
    called = act(session, 1, "next", {"X-CSRFToken": token})
    assert called.status_code == 200 and called.json()["id"] == ticket["id"]

    # logging out needs it too; the token of the old session is worthless in a new one
    assert_error(session.post("/api/v1/auth/logout"), 403, "csrf_failed")
    assert session.post("/api/v1/auth/logout", headers={"X-CSRFToken": token}).status_code == 204
    again = session.post("/api/v1/auth/login", json={"username": clerks[1][0], "password": clerks[1][1]})
    assert again.json()["csrf_token"] != token
    assert_error(act(session, 1, "finish", {"X-CSRFToken": token}), 403, "csrf_failed")


def test_the_login_takes_json_only(server, clerks):
    http = server.session()
    form = http.post("/api/v1/auth/login", data={"username": clerks[1][0], "password": clerks[1][1]})
    assert_error(form, 415, "json_required")
    plain = http.post(
        "/api/v1/auth/login",
        data='{"username": "lan", "password": "mật-khẩu-quầy-1"}',
        headers={"Content-Type": "text/plain"},
    )
    assert_error(plain, 415, "json_required")
    assert_error(http.get("/api/v1/auth/me"), 401, "unauthorized")


def test_the_counter_page_carries_a_csrf_token(server):
    page = server.session().get("/counter")
    assert page.status_code == 200
    assert '<meta name="csrf-token" content="' in page.text


# --- roles --------------------------------------------------------------------------------------


def test_a_clerk_acts_only_on_their_counter_and_reads_no_reports(server, http, tokens, clerks, sio_client):
    session = login(server, clerks[1])
    waiting = issue(http, "HT")
    for action in ("next", "recall", "finish", "pause"):
        assert_error(act(session, 2, action), 403, "forbidden_counter")
    assert status_of(http, waiting["id"]) == "waiting"
    assert_error(session.get("/api/v1/counters/2"), 403, "forbidden_counter")

    # reports are for supervisors: a logged-in clerk is refused by role
    for path in ("/api/v1/reports/summary", "/api/v1/reports/daily", "/api/v1/audit", "/api/v1/printers"):
        assert_error(session.get(path), 403, "forbidden_role")
    assert_error(session.get("/api/v1/printers"), 403, "forbidden_role")
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    watcher = sio_client(headers={"Cookie": cookie})
    assert watcher.subscribe({"dashboard": True})["error"]["code"] == "forbidden_role"
    assert watcher.subscribe({"counter": 2})["error"]["code"] == "forbidden_counter"
    assert watcher.subscribe({"counter": 1}) == {"ok": True}


# --- ratings ------------------------------------------------------------------------------------


def served_by(http, counter_headers, counter: int, service: str = "HT") -> dict:
    ticket = issue(http, service)
    called = act(http, counter, "next", counter_headers)
    assert called.status_code == 200 and called.json()["id"] == ticket["id"], called.text
    done = act(http, counter, "finish", counter_headers)
    assert done.status_code == 200, done.text
    return ticket


def rate(http, ticket_id: str, token: str | None = None, level: str = "satisfied", reasons=None, headers=None):
    body = {"level": level} if reasons is None else {"level": level, "reasons": reasons}
    return http.post(
        f"/api/v1/tickets/{ticket_id}/rating",
        json=body,
        headers={**(bearer(token) if token else {}), **(headers or {})},
    )


def test_only_the_counters_rating_tablet_rates_and_once(server, http, tokens, clerks):
    session = login(server, clerks[1])
    ticket = issue(http, "HT")
    assert act(session, 1, "next").json()["id"] == ticket["id"]
    assert act(session, 1, "finish").json()["status"] == "done"

    # nobody but the rating tablet of counter 1
    assert_error(rate(session, ticket["id"]), 403, "forbidden_role")  # the clerk who served
    assert_error(rate(http, ticket["id"], tokens["counter1"]), 403, "forbidden_role")
    assert_error(rate(http, ticket["id"], tokens["admin"]), 403, "forbidden_role")
    assert_error(rate(http, ticket["id"]), 401, "unauthorized")
    assert_error(rate(http, ticket["id"], tokens["rating2"]), 409, "rating_closed")  # not finished there

    # the body is checked against config.yaml's reasons
    assert_error(rate(http, ticket["id"], tokens["rating1"], "great"), 422, "invalid_field", "level")
    assert_error(
        rate(http, ticket["id"], tokens["rating1"], "satisfied", ["long_wait"]), 422, "invalid_field", "reasons"
    )
    assert_error(rate(http, ticket["id"], tokens["rating1"], "unsatisfied", ["nope"]), 422, "invalid_field", "reasons")

    stored = rate(http, ticket["id"], tokens["rating1"], "unsatisfied", ["long_wait", "unclear"])
    assert stored.status_code == 201, stored.text
    view = stored.json()
    assert (
        view["ticket"],
        view["number"],
        view["counter"],
        view["clerk"],
        view["service"],
        view["level"],
        view["reasons"],
    ) == (ticket["id"], ticket["number"], 1, CLERK1[0], "HT", "unsatisfied", ["long_wait", "unclear"])
    assert view["at"].endswith("Z")
    assert_error(rate(http, ticket["id"], tokens["rating1"], "very_satisfied"), 409, "already_rated")

    # a supervisor reads it back as stored; a clerk may not
    read = http.get(f"/api/v1/tickets/{ticket['id']}/rating", headers=bearer(tokens["supervisor"]))
    assert read.status_code == 200 and read.json() == view
    assert_error(session.get(f"/api/v1/tickets/{ticket['id']}/rating"), 403, "forbidden_role")


def test_only_the_ticket_finished_last_may_be_rated(http, tokens):
    counter = bearer(tokens["counter1"])
    earlier = served_by(http, counter, 1)
    later = served_by(http, counter, 1)
    assert_error(rate(http, earlier["id"], tokens["rating1"]), 409, "rating_closed")
    assert rate(http, later["id"], tokens["rating1"], "very_satisfied").status_code == 201

    # "next" finishes the current ticket too (one being served): the tablet asks about it
    third = issue(http, "HT")
    fourth = issue(http, "HT")
    assert act(http, 1, "next", counter).json()["id"] == third["id"]
    assert act(http, 1, "start", counter).status_code == 200
    assert act(http, 1, "next", counter).json()["id"] == fourth["id"]
    assert rate(http, third["id"], tokens["rating1"]).status_code == 201
    # a no-show is not a service: nothing to rate
    assert act(http, 1, "no-show", counter).status_code == 200
    assert_error(rate(http, fourth["id"], tokens["rating1"]), 409, "rating_closed")


def test_the_rating_room_asks_with_number_and_service_only(server, http, tokens, clerks, sio_client):
    tablet = sio_client(auth={"token": tokens["rating1"]})
    assert tablet.subscribe({"rating": 1}) == {"ok": True}
    snapshot = tablet.wait_for("state", lambda s: s["kind"] == "rating")
    assert snapshot["ask"] is None and snapshot["counter"]["number"] == 1
    mark = tablet.mark()
    ticket = served_by(http, bearer(tokens["counter1"]), 1, "HT")
    ask = tablet.wait_for("rating.ask", since=mark)
    assert ask["ticket"] == {
        "id": ticket["id"],
        "number": ticket["number"],
        "display": ticket["display"],
        "service": "HT",
    }
    assert set(ask) == {"ticket", "counter", "finished_at", "until"} and ask["counter"] == 1
    assert [e for e in tablet.names(mark) if e.startswith(("ticket.", "queue.", "counter."))] == [], (
        "the tablet's room gets nothing but its questions"
    )

    # a tablet that (re)connects now is asked the same question by its snapshot
    again = sio_client(auth={"token": tokens["rating1"]})
    assert again.subscribe({"rating": 1}) == {"ok": True}
    assert again.wait_for("state", lambda s: s["kind"] == "rating")["ask"]["ticket"]["id"] == ticket["id"]
    assert rate(http, ticket["id"], tokens["rating1"]).status_code == 201
    assert tablet.wait_for("rating.done", since=mark)["ticket"] == ticket["id"]
    third = sio_client(auth={"token": tokens["rating1"]})
    assert third.subscribe({"rating": 1}) == {"ok": True}
    assert third.wait_for("state", lambda s: s["kind"] == "rating")["ask"] is None, "a rated ticket is not asked again"

    # who may listen
    assert tablet.subscribe({"rating": 2})["error"]["code"] == "forbidden_counter"
    assert sio_client().subscribe({"rating": 1})["error"]["code"] == "unauthorized"
    session = login(server, clerks[1])
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    assert sio_client(headers={"Cookie": cookie}).subscribe({"rating": 1})["error"]["code"] == "forbidden_role"
    assert tablet.subscribe({"counter": 1})["error"]["code"] == "forbidden_role", (
        "a tablet cannot act or watch a counter"
    )
    assert_error(act(http, 1, "next", bearer(tokens["rating1"])), 403, "forbidden_role")


def test_a_clerks_figures_for_today(server, http, tokens, clerks, sio_client):
    mine, theirs = login(server, clerks[1]), login(server, clerks[2])
    before = mine.get("/api/v1/me/today").json()
    assert before["user"] == CLERK1[0] and before["counter"] == 1
    served = [issue(http, "HT") for _ in range(3)]
    counter_room = sio_client(headers={"Cookie": "; ".join(f"{c.name}={c.value}" for c in mine.cookies)})
    assert counter_room.subscribe({"counter": 1}) == {"ok": True}
    assert act(mine, 1, "next").status_code == 200
    assert act(mine, 1, "start").status_code == 200
    assert act(mine, 1, "next").status_code == 200  # finishes the first, calls the second
    assert act(mine, 1, "finish").status_code == 200
    assert act(mine, 1, "next").status_code == 200
    assert act(mine, 1, "no-show").status_code == 200
    mark = counter_room.mark()
    assert rate(http, served[1]["id"], tokens["rating1"], "very_satisfied").status_code == 201
    received = counter_room.wait_for("rating.received", since=mark)
    assert received["rating"]["level"] == "very_satisfied" and received["counter"] == 1

    after = mine.get("/api/v1/me/today").json()
    assert after["served"] - before["served"] == 2
    assert after["no_shows"] - before["no_shows"] == 1
    assert after["calls"] - before["calls"] == 3
    assert after["ratings"]["very_satisfied"] - before["ratings"]["very_satisfied"] == 1
    assert after["ratings"]["count"] - before["ratings"]["count"] == 1
    assert after["average_service_seconds"] is not None and after["average_service_seconds"] >= 0
    other = theirs.get("/api/v1/me/today").json()
    assert (other["user"], other["served"], other["ratings"]["count"]) == (CLERK2[0], 0, 0), (
        "another clerk's figures are theirs alone"
    )
    device = http.get("/api/v1/me/today", headers=bearer(tokens["counter1"])).json()
    assert device["counter"] == 1 and device["served"] >= 2
    assert_error(http.get("/api/v1/me/today"), 401, "unauthorized")
    assert_error(http.get("/api/v1/me/today", headers=bearer(tokens["rating1"])), 403, "forbidden_role")


def test_a_number_taken_by_another_counter_says_which(server, http, tokens):
    ticket = issue(http, "HT")
    assert act(http, 1, "next", bearer(tokens["counter1"]), json={"number": ticket["number"]}).status_code == 200
    refused = act(http, 2, "next", bearer(tokens["counter2"]), json={"number": ticket["number"]})
    error = assert_error(refused, 409, "ticket_not_waiting")
    assert error["message"] == f"Số {ticket['number']} vừa được quầy 1 gọi, không còn trong hàng chờ."
    assert error["counter"] == 1
    # in both languages, as every refusal (a console switched to English says it again)
    assert error["translations"]["vi"]["message"] == error["message"], error
    english = f"Number {ticket['number']} has just been called by counter 1; it is no longer waiting."
    assert error["translations"]["en"]["message"] == english, error


def test_rating_tokens_come_from_the_cli(server):
    assert server.cli("token", "create", "--role", "rating", "--counter", "3").stdout.startswith("qk_")
    refused = server.cli("token", "create", "--role", "rating", check=False)
    assert refused.returncode != 0 and "--counter" in refused.stderr


@pytest.mark.postgres
def test_the_same_key_at_the_same_moment_acts_once_on_postgresql(migrated_pg_url, live_server):
    """PostgreSQL runs the requests side by side: the second insert of the key waits for the first
    transaction, then fails, and its action is rolled back with it."""
    pytest.importorskip("psycopg")
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    http = srv.session()
    tickets = [issue(http, "HT") for _ in range(3)]
    headers = {**bearer(srv.token("counter", 1)), "Idempotency-Key": uuid.uuid4().hex}
    answers: list = []
    barrier = threading.Barrier(6)

    def press():
        with srv.session() as own:
            barrier.wait()
            response = act(own, 1, "next", headers)
            answers.append((response.status_code, response.json().get("id")))

    threads = [threading.Thread(target=press) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == [(200, tickets[0]["id"])] * 6, answers
    assert [status_of(http, t["id"]) for t in tickets] == ["called", "waiting", "waiting"]
