"""Who may call what: every HTTP route and every Socket.IO event and room × every kind of caller.

The routes, the Socket.IO handlers, the room kinds and the roles are read from the app itself
(``app.url_map``, the handlers registered on the Socket.IO server, ``realtime.ROOM_KINDS``,
``auth.TOKEN_ROLES`` and ``auth.USER_ROLES``), so a new route, event, room or role without a
line in the tables (tests/api/role_matrix_helpers.py) makes these tests fail until someone decides
who may use it. The tables are docs/api.md's "Who may do what".

A refusal is 401 ``unauthorized`` without an identity, 403 ``forbidden_role`` for a wrong role
and 403 ``forbidden_counter`` for the wrong counter, in the error format of every refusal (over
Socket.IO: the acknowledgement ``{"error": {"code", "message"}}``). A refused request changes
nothing and pushes nothing; a refused subscription gets no snapshot and none of the room's events.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import pytest
import server_db
import socketio
from api_helpers import assert_error, drain, issue, print_jobs
from config_helpers import site_today
from PIL import Image
from role_matrix_helpers import (
    COUNTERS,
    EVENTS,
    HTTP,
    LEAVER,
    PASSWORD,
    PROVINCE_READ_ONLY,
    ROOMS,
    SOCKET_LIFECYCLE,
    SPARE_TOKEN,
    TOKEN_CALLERS,
    UNAUTHORIZED,
    USER_CALLERS,
    Caller,
    Route,
    act_on_counter,
    anyone,
    as_reader,
)

# --- the app, as it registers itself, and its callers ------------------------------------------------


def set_up(srv, users, tokens, instance, template) -> dict:
    """Add the users and tokens to the server's database (as ``queuekiosk user add`` and ``token create``
    store them: tests/server_db.py, from this process) and read what ``create_app`` registers, on an app
    of its own (in ``instance``, its database a copy of the migrated ``template``) with the server's
    environment and folder."""
    from queuekiosk.server.core import auth
    from queuekiosk.server.web import realtime
    from queuekiosk.server.web.app import create_app
    from queuekiosk.server.web.extensions import socketio as app_socketio

    for name, role, counter in users:
        server_db.add_user(srv.database_url, name, PASSWORD, role, counter)
    made = []
    for role, bound in tokens:
        kiosk, counter = (bound, None) if isinstance(bound, str) else (None, bound)
        token = server_db.create_token(srv.database_url, role, counter, kiosk=kiosk, name=role)
        made.append([token, server_db.token_id(srv.database_url, token)])
    server_db.seed(template, f"sqlite:///{instance / 'queuekiosk.db'}")
    with pytest.MonkeyPatch.context() as env:
        for name in [n for n in os.environ if n.startswith("QUEUEKIOSK_") and n not in srv.env]:
            env.delenv(name)
        for name, value in srv.env.items():
            if name.startswith("QUEUEKIOSK_"):
                env.setenv(name, value)
        env.setenv("QUEUEKIOSK_INSTANCE", str(instance))  # the app below has a database of its own
        env.chdir(srv.workdir)
        app = create_app(srv.config_path)
        app.extensions["queuekiosk"].engine.dispose()
    return {
        "tokens": made,
        "routes": sorted(
            [rule.rule, method] for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}
        ),
        "events": sorted(app_socketio.server.handlers["/"]),
        "rooms": list(realtime.ROOM_KINDS),
        "roles": {"token": list(auth.TOKEN_ROLES), "user": list(auth.USER_ROLES)},
    }


def log_in(srv, name: str) -> dict:
    """The headers of a page logged in as ``name``: its session cookie and CSRF token."""
    with srv.session() as http:
        answer = http.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return {
            "Cookie": "; ".join(f"{c.name}={c.value}" for c in http.cookies),
            "X-CSRFToken": answer.json()["csrf_token"],
        }


def sign_in_again(world) -> None:
    """New sessions for the logged-in callers (the same people, logged in again)."""
    fresh = {}
    for i, caller in enumerate(world.callers):
        if caller.login:
            name = f"{caller.role}-user"
            fresh.setdefault(name, log_in(world.srv, name))
            headers = fresh[name] if caller.csrf else {"Cookie": fresh[name]["Cookie"]}
            world.callers[i] = replace(caller, headers=headers)


@dataclass
class World:
    srv: object
    app: dict  # what set_up() read from create_app
    callers: list
    spare: list  # [token, id] of SPARE_TOKEN

    def caller(self, role: str, login: bool = False) -> Caller:
        return next(c for c in self.callers if c.role == role and c.login == login and c.csrf)

    @property
    def socket_callers(self) -> list:
        """A Socket.IO connection sends no CSRF token: the clerk without one is the clerk."""
        return [c for c in self.callers if c.csrf]


@pytest.fixture(scope="module")
def world(module_live_server, config_variant, tmp_path_factory, sqlite_template) -> World:
    """config.yaml with two kiosks printing through kiosk agents (printers p1, p2) and a slide on the
    lobby display; a caller of every token role and every user role, plus a clerk without CSRF token."""
    config = config_variant()
    config["printers"] = [{"id": p, "driver": "agent"} for p in ("p1", "p2")]
    config["kiosks"] = [
        {"id": "kiosk-1", "printer": "p1", "services": "all"},
        {"id": "kiosk-2", "printer": "p2", "services": "all"},
    ]
    config["displays"][0]["slides"] = ["slide.png"]
    srv = module_live_server(config, start=False)
    Image.new("RGB", (8, 8), "navy").save(srv.workdir / "slide.png")
    srv.start()

    users = [(f"{role}-user", role, counter) for role, counter in USER_CALLERS]
    app = set_up(
        srv, [*users, LEAVER], [*TOKEN_CALLERS, SPARE_TOKEN], tmp_path_factory.mktemp("registered"), sqlite_template
    )
    callers = [Caller("anonymous")]
    for (role, bound), (token, _id) in zip(TOKEN_CALLERS, app["tokens"]):
        kiosk, counter = (bound, None) if isinstance(bound, str) else (None, bound)
        callers.append(
            Caller(
                f"{role} token" + (f" of counter {counter}" if counter else "") + (f" of {kiosk}" if kiosk else ""),
                role,
                counter,
                kiosk,
                token=token,
                headers={"Authorization": f"Bearer {token}"},
            )
        )
    for name, role, counter in users:
        label, headers = f"logged-in {role}" + (f" of counter {counter}" if counter else ""), log_in(srv, name)
        callers.append(Caller(label, role, counter, login=True, headers=headers))
        if role == "clerk":
            callers.append(
                Caller(
                    label + " without X-CSRFToken",
                    role,
                    counter,
                    login=True,
                    csrf=False,
                    headers={"Cookie": headers["Cookie"]},
                )
            )
    return World(srv, app, callers, app["tokens"][-1])


def test_every_role_has_a_caller(world):
    assert sorted(world.app["roles"]["token"]) == sorted({role for role, _ in TOKEN_CALLERS})
    assert sorted(world.app["roles"]["user"]) == sorted(role for role, _ in USER_CALLERS)


# --- HTTP -----------------------------------------------------------------------------------------


def expected(route: Route, method: str, caller: Caller, args: dict, rule: str = ""):
    if not caller.csrf and method != "GET" and not route.csrf_exempt:
        return 403, "csrf_failed"
    if caller.role == "province" and method != "GET" and not rule.startswith("/api/v1/auth/"):
        return PROVINCE_READ_ONLY  # on every route that changes something, even one anyone may call
    return route.policy(caller if route.province_own else as_reader(caller), args.get("counter"))


def url_of(rule: str, args: dict) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(args[m.group(1)]), rule)


def http_snapshot(http, admin: Caller, tickets: dict) -> dict:
    """Everything a wrongly let-in request could change: queues, counters, the tickets, their print jobs."""
    get = lambda path: http.get(path, headers=admin.headers).json()  # noqa: E731
    return {
        "queue": get("/api/v1/queue"),
        "counters": [get(f"/api/v1/counters/{n}") for n in COUNTERS],
        "tickets": {name: get(f"/api/v1/tickets/{t['id']}") for name, t in tickets.items()},
        "jobs": {name: print_jobs(http, t["id"]) for name, t in tickets.items()},
        "rating": get(f"/api/v1/tickets/{tickets['rated']['id']}/rating"),
    }


def book_a_slot(http) -> dict:
    """A booking of config.yaml's HT in the first free slot of the next days: its code names it in the URLs."""
    for ahead in range(1, 6):
        day = (site_today() + dt.timedelta(days=ahead)).isoformat()
        free = [s for s in http.get("/api/v1/services/HT/slots", params={"date": day}).json() if s["free"]]
        if free:
            answer = http.post(
                "/api/v1/bookings",
                json={
                    "service": "HT",
                    "date": day,
                    "start": free[0]["start"],
                    "name": "Ma Trận",
                    "phone": "0900000002",
                },
            )
            assert answer.status_code == 201, answer.text
            return answer.json()
    raise AssertionError("config.yaml's HT has no free slot in the next days")


def test_every_route_lets_in_only_whom_it_should(world, sio_client):
    srv = world.srv
    app_routes = {tuple(route) for route in world.app["routes"]}
    assert not app_routes - HTTP.keys(), f"routes without a line in HTTP: {sorted(app_routes - HTTP.keys())}"
    assert not HTTP.keys() - app_routes, f"lines in HTTP for routes now gone: {sorted(HTTP.keys() - app_routes)}"

    # counter 1 holds nothing, HT waiting; counter 2 holds a CT ticket, one more CT waiting (printed at
    # kiosk-2); a ticket finished at counter 1 and rated by its tablet
    http = srv.session()
    admin = world.caller("admin")
    drain(srv, admin.token, COUNTERS)
    tickets = {"rated": issue(http, "HT")}
    for action in ("next", "finish"):
        assert http.post(f"/api/v1/counters/1/{action}", headers=admin.headers).status_code == 200
    assert (
        http.post(
            f"/api/v1/tickets/{tickets['rated']['id']}/rating",
            headers=world.caller("rating").headers,
            json={"level": "satisfied"},
        ).status_code
        == 201
    )
    tickets["called"] = issue(http, "CT")
    assert http.post("/api/v1/counters/2/next", headers=admin.headers).json()["id"] == tickets["called"]["id"]
    tickets["waiting"] = issue(http, "CT", kiosk="kiosk-2")
    tickets["waiting_ht"] = issue(http, "HT")
    audio_url = http.get("/api/v1/announcements/preview", params={"number": 1001, "counter": 1}).json()["audio_url"]
    booked = book_a_slot(http)
    defaults = {
        "ticket_id": "waiting",
        "display_id": "lobby",
        "kiosk_id": "kiosk-1",
        "index": 0,
        "code": booked["code"],
        "key": audio_url.rpartition("/")[2].removesuffix(".wav"),
    }

    calls = []  # (caller, method, url, route, expected)
    for (rule, method), route in HTTP.items():
        for args in route.args:
            args = {**defaults, **args}
            url = url_of(rule, {**args, "ticket_id": tickets[args["ticket_id"]]["id"]})
            calls += [
                (caller, method, url, route, expected(route, method, caller, args, rule)) for caller in world.callers
            ]

    def send(caller, method, url, route):
        http.cookies.clear()  # each caller is only its own headers; a login or logout answer changes no one
        return http.request(
            method, url, headers=caller.headers, params=route.query, json=route.body if method == "POST" else None
        )

    watcher = sio_client(srv, auth={"token": admin.token})
    for room in [
        {"dashboard": True},
        *({"counter": n} for n in COUNTERS),
        {"rating": 1},
        {"rating": 2},
        *({"ticket": t["id"]} for t in tickets.values()),
    ]:
        assert watcher.subscribe(room) == {"ok": True}, room
    before = http_snapshot(http, admin, tickets)
    mark = watcher.mark()

    violations = []
    for caller, method, url, route, refusal in calls:  # every refusal first: then nothing may have changed
        if refusal is not None:
            try:
                assert_error(send(caller, method, url, route), *refusal)
            except AssertionError as wrong:
                violations.append(f"{method} {url} as {caller.label}: expected {refusal}, got {str(wrong)[:300]}")
    # a clerk's own counter does not call another counter's number (a CT ticket: counter 1 serves HT)
    taken = send(
        world.caller("clerk", login=True),
        "POST",
        "/api/v1/counters/1/next",
        Route(act_on_counter, body={"number": tickets["waiting"]["number"]}),
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "ticket_not_waiting", taken.text
    after = http_snapshot(http, admin, tickets)
    violations += [
        f"the refused requests changed {key}: {before[key]} -> {after[key]}"
        for key in before
        if after[key] != before[key]
    ]
    time.sleep(0.3)
    pushed = [(name, data) for name, data in watcher.events[mark:] if not name.startswith("printer.")]
    if pushed:
        violations.append(f"the refused requests pushed events: {pushed}")

    # a logout really ends the caller's session (a saved cookie stops working): it goes last
    last = HTTP[("/api/v1/auth/logout", "POST")]
    for caller, method, url, route, refusal in sorted(calls, key=lambda call: call[3] is last):
        if refusal is None:
            response = send(caller, method, url, route)
            if (
                response.status_code in (401, 403)
                or response.status_code >= 500
                or (method == "GET" and response.status_code != 200)
            ):
                violations.append(
                    f"{method} {url} as {caller.label}: expected to be let in, "
                    f"got {response.status_code} {response.text[:200].strip()}"
                )
    sign_in_again(world)  # the logouts above ended the logged-in callers' sessions for good
    assert not violations, f"{len(violations)} of {len(calls)} calls answered wrongly:\n" + "\n".join(violations)


# --- Socket.IO --------------------------------------------------------------------------------------


def ack_problem(ack, refusal) -> str | None:
    """What is wrong with the acknowledgement ``ack`` for an expected ``refusal`` (None: accepted)."""
    error = ack.get("error") if isinstance(ack, dict) else None
    if refusal is None:
        return None if isinstance(ack, dict) and not error else f"refused: {ack}"
    if not error or error.get("code") != refusal[1] or not str(error.get("message") or "").strip():
        return f"expected the refusal {refusal[1]}, got {ack}"
    return None


def test_every_socket_event_and_room_lets_in_only_whom_it_should(world, sio_client):
    srv = world.srv
    events = set(world.app["events"]) - SOCKET_LIFECYCLE
    assert events == {"subscribe", *EVENTS}, f"Socket.IO events without a line in EVENTS (or gone): {events}"
    assert set(world.app["rooms"]) == set(ROOMS), f"room kinds without a line in ROOMS (or gone): {world.app['rooms']}"
    admin = world.caller("admin")
    drain(srv, admin.token, COUNTERS)  # no counter holds a ticket: the events below are those of this test
    http = srv.session()
    ticket = issue(http, "TK")

    violations = []
    clients = {}
    accepted = {}  # caller label -> the subscriptions let in
    private = [
        (kind, payload) for kind, (policy, payloads) in ROOMS.items() if policy is not anyone for payload in payloads
    ]
    public = [
        (kind, {kind: ticket["id"]} if kind == "ticket" else payload)
        for kind, (policy, payloads) in ROOMS.items()
        if policy is anyone
        for payload in payloads
    ]

    def subscribe(caller, client, kind, payload):
        refusal = ROOMS[kind][0](as_reader(caller), payload.get(kind) if kind in ("counter", "rating") else None)
        problem = ack_problem(client.subscribe(payload), refusal)
        if problem:
            violations.append(f"subscribe {payload} as {caller.label}: {problem}")
        if refusal is None:
            accepted[caller.label].append(payload)

    for caller in world.socket_callers:
        client = clients[caller.label] = sio_client(srv, **caller.sio_kwargs())
        accepted[caller.label] = []
        for kind, payload in private:  # the public rooms come last: their events would blur the check below
            subscribe(caller, client, kind, payload)
        for name, (policy, data) in EVENTS.items():
            ack = client.sio.call(name, data, timeout=5)
            problem = ack_problem(ack, policy(caller))
            if problem:
                violations.append(f"{name} {data} as {caller.label}: {problem}")

    # what happens at counter 2 (a CT ticket: counter 1 does not serve CT) reaches only those let
    # into counter 2's room, its rating room or the dashboard
    marks = {label: client.mark() for label, client in clients.items()}
    ct = issue(http, "CT")
    for action in ("next", "finish"):
        assert http.post(f"/api/v1/counters/2/{action}", headers=admin.headers).status_code == 200
    sees_counter2 = {
        label
        for label, rooms in accepted.items()
        if {"counter": 2} in rooms or {"rating": 2} in rooms or {"dashboard": True} in rooms
    }
    assert sees_counter2, "nobody may watch counter 2: the check below would prove nothing"
    for label in sees_counter2:
        clients[label].wait_for("rating.ask", lambda data: data["ticket"]["id"] == ct["id"], since=marks[label])
    time.sleep(0.3)
    for label, client in clients.items():
        if label not in sees_counter2:
            leaked = [(name, data) for name, data in client.events[marks[label] :] if name != "state"]
            if leaked:
                violations.append(f"{label} got counter 2's events without being let into its rooms: {leaked}")

    # and the counter-bound callers do hear their own counter (so their silence above means something)
    marks = {label: client.mark() for label, client in clients.items()}
    ht = issue(http, "HT")
    for action in ("next", "finish"):
        assert http.post(f"/api/v1/counters/1/{action}", headers=admin.headers).status_code == 200
    for caller in world.socket_callers:
        if caller.counter == 1:
            name = "rating.ask" if caller.role == "rating" else "ticket.issued"
            clients[caller.label].wait_for(
                name, lambda data: data["ticket"]["id"] == ht["id"], since=marks[caller.label]
            )

    for caller in world.socket_callers:
        for kind, payload in public:
            subscribe(caller, clients[caller.label], kind, payload)
    time.sleep(0.2)
    for label, client in clients.items():
        if len(client.received("state")) != len(accepted[label]):
            violations.append(
                f"{label}: {len(client.received('state'))} snapshots for "
                f"{len(accepted[label])} accepted subscriptions {accepted[label]}"
            )
    assert not violations, f"{len(violations)} Socket.IO answers wrong:\n" + "\n".join(violations)


def test_a_kiosk_agent_reports_only_on_its_own_printers_jobs(world, sio_client):
    """An agent printing for kiosk-1 (printer p1) can neither mark printed nor fail a job of p2, nor
    report p2's state, nor hear of p2's jobs; the same calls on its own printer's jobs work."""
    srv = world.srv
    http = srv.session()
    own = issue(http, "HT", kiosk="kiosk-1")
    other = issue(http, "HT", kiosk="kiosk-2")
    [own_job], [other_job] = print_jobs(http, own["id"]), print_jobs(http, other["id"])

    bound = next(c for c in world.callers if c.kiosk == "kiosk-1")
    agent_client = sio_client(srv, auth={"token": bound.token})
    hello = agent_client.sio.call("agent.hello", {"kiosk": "kiosk-1", "printed": [other_job["id"]]}, timeout=5)
    assert hello.get("printer") == "p1", hello
    fetched = agent_client.sio.call("print.fetch", None, timeout=5)["jobs"]
    assert own_job["id"] in [job["id"] for job in fetched]
    assert other_job["id"] not in [job["id"] for job in fetched], fetched
    for printed in (True, False):
        agent_client.sio.call("print.done", {"job": other_job["id"], "printed": printed, "error": "x"}, timeout=5)
    assert agent_client.sio.call("printer.report", {"state": "paper_out"}, timeout=5) == {"ok": True}

    mark = agent_client.mark()
    issue(http, "HT", kiosk="kiosk-2")
    issue(http, "HT", kiosk="kiosk-1")
    agent_client.wait_for("print.wake", since=mark)
    assert [data["printer"] for data in agent_client.received("print.wake", since=mark)] == ["p1"]
    assert print_jobs(http, other["id"]) == [other_job], "an agent of p1 changed a job of p2"
    printers_now = {
        p["printer"]: p for p in http.get("/api/v1/printers", headers=world.caller("admin").headers).json()["printers"]
    }
    assert printers_now["p1"]["state"] == "paper_out"
    assert printers_now["p2"]["state"] != "paper_out"

    # its own printer's jobs: the same calls work
    assert agent_client.sio.call("print.done", {"job": own_job["id"], "printed": True}, timeout=5) == {"ok": True}
    assert print_jobs(http, own["id"])[0]["status"] == "printed"


def test_a_revoked_token_or_a_disabled_user_is_dropped_from_socketio(world, sio_client):
    """``queuekiosk token revoke`` and ``user disable`` while the device and the clerk are connected:
    within seconds their connections are closed and counter 1's events stop reaching them; the token
    connects no more, and the clerk's old cookie is nobody."""
    srv = world.srv
    http = srv.session()
    cookie = log_in(srv, LEAVER[0])["Cookie"]
    token, token_id = world.spare
    keypad, clerk = sio_client(srv, auth={"token": token}), sio_client(srv, headers={"Cookie": cookie})
    watcher = sio_client(srv, auth={"token": world.caller("admin").token})
    for client in (keypad, clerk, watcher):
        assert client.subscribe({"counter": 1}) == {"ok": True}

    with ThreadPoolExecutor(max_workers=2) as pool:
        commands = (("token", "revoke", str(token_id)), ("user", "disable", LEAVER[0]))
        list(pool.map(lambda args: srv.cli(*args), commands))
    deadline = time.monotonic() + 10
    while (keypad.disconnects == 0 or clerk.disconnects == 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert keypad.disconnects and clerk.disconnects, "a revoked token or a disabled user stays connected"
    marks = [keypad.mark(), clerk.mark(), watcher.mark()]
    ticket = issue(http, "HT")
    watcher.wait_for("ticket.issued", lambda data: data["ticket"]["id"] == ticket["id"], since=marks[2])
    time.sleep(0.3)
    assert keypad.names(since=marks[0]) == [] and clerk.names(since=marks[1]) == []

    with pytest.raises(socketio.exceptions.ConnectionError):
        sio_client(srv, auth={"token": token})
    again = sio_client(srv, headers={"Cookie": cookie}).subscribe({"counter": 1})
    assert ack_problem(again, UNAUTHORIZED) is None, again
