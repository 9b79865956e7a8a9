"""Webhooks (SPEC "Events out"): the real server posts signed events to a real HTTP receiver on
127.0.0.1 that records what it gets, retries what is not accepted, survives a kill -9, and
delivers each event once when two server processes share PostgreSQL and Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

import pytest
from api_helpers import assert_error, issue
from config_helpers import site_today
from webhook_receiver import Received, Receiver

# quick retries for the tests (the schedule must still cover 24 h), and a short timeout; the worker looks
# for retries come due and for webhooks just registered every 0.2 s instead of every second
POLL = 0.2
FAST = {
    "QUEUEKIOSK_WEBHOOK_RETRY_SECONDS": "0.3,0.3,0.3,86400",
    "QUEUEKIOSK_WEBHOOK_TIMEOUT": "1",
    "QUEUEKIOSK_DELIVERY_POLL_SECONDS": str(POLL),
}


@pytest.fixture
def receivers():
    made = []

    def make() -> Receiver:
        made.append(Receiver())
        return made[-1]

    yield make
    # closed together: each close waits up to 0.5 s for its server's loop to notice (socketserver's poll)
    closing = [threading.Thread(target=receiver.close) for receiver in made]
    for thread in closing:
        thread.start()
    for thread in closing:
        thread.join()


def register(srv, url: str, events: list[str], **extra) -> dict:
    response = srv.session().post(
        "/api/v1/admin/webhooks", json={"url": url, "events": events, **extra}, headers=_admin(srv)
    )
    assert response.status_code == 201, response.text
    return response.json()


def deliveries(srv, webhook_id: int) -> list[dict]:
    response = srv.session().get(f"/api/v1/admin/webhooks/{webhook_id}/deliveries", headers=_admin(srv))
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


def wait_delivered(srv, webhook_id: int, count: int, timeout: float = 15) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        log = deliveries(srv, webhook_id)
        if sum(d["status"] == "delivered" for d in log) >= count:
            return log
        assert time.monotonic() < deadline, log
        time.sleep(0.1)


def counter_action(srv, action: str, counter: int = 1):
    response = srv.session().post(
        f"/api/v1/counters/{counter}/{action}", headers={"Authorization": f"Bearer {srv.token('counter', counter)}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _admin(srv) -> dict:
    return {"Authorization": f"Bearer {srv.token('admin')}"}


def verifies(secret: str, received: Received) -> bool:
    """What docs/integrations.md tells a receiver to do."""
    expected = "sha256=" + hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received.signature)


def test_a_ticket_s_events_arrive_signed_in_order(live_server, receivers):
    srv, receiver = live_server(env=FAST), receivers()
    webhook = register(srv, receiver.url, ["ticket.issued", "ticket.called", "ticket.started", "ticket.finished"])
    secret = webhook["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30  # made for the integrator, shown this once
    listed = srv.session().get("/api/v1/admin/webhooks", headers=_admin(srv)).json()["webhooks"]
    assert [(w["id"], w["secret"]) for w in listed] == [(webhook["id"], "…" + secret[-4:])]

    ticket = issue(srv.session(), "HT")
    for action in ("next", "start", "finish"):
        counter_action(srv, action)
    got = receiver.wait_for(4)
    assert [r.event for r in got] == ["ticket.issued", "ticket.called", "ticket.started", "ticket.finished"]
    assert all(verifies(secret, r) for r in got)
    assert not verifies(secret[:-1], got[0])
    bodies = [r.json for r in got]
    assert [b["event"] for b in bodies] == [r.event for r in got]
    assert {b["data"]["ticket"]["id"] for b in bodies} == {ticket["id"]}
    assert [b["data"]["ticket"]["status"] for b in bodies] == ["waiting", "called", "serving", "done"]
    assert bodies[1]["data"]["counter"] == 1 and bodies[0]["data"]["ticket"]["number"] == ticket["number"]
    assert len({r.delivery for r in got}) == 4 and len({b["id"] for b in bodies}) == 4
    log = wait_delivered(srv, webhook["id"], 4)
    assert [(d["event"], d["attempts"], d["last_status_code"]) for d in log] == [
        ("ticket.finished", 1, 200),
        ("ticket.started", 1, 200),
        ("ticket.called", 1, 200),
        ("ticket.issued", 1, 200),
    ]
    assert [d["delivery"] for d in reversed(log)] == [r.delivery for r in got]


def test_each_webhook_gets_only_the_events_it_asked_for(live_server, receivers):
    srv, issued_only, called_and_rated = live_server(env=FAST), receivers(), receivers()
    register(srv, issued_only.url, ["ticket.issued"])
    register(srv, called_and_rated.url, ["ticket.called", "rating.created"])
    first, second = issue(srv.session(), "HT"), issue(srv.session(), "HT")
    counter_action(srv, "next")
    counter_action(srv, "finish")
    rated = srv.session().post(
        f"/api/v1/tickets/{first['id']}/rating",
        json={"level": "very_satisfied"},
        headers={"Authorization": f"Bearer {srv.token('rating', 1)}"},
    )
    assert rated.status_code == 201, rated.text
    assert [r.json["data"]["ticket"]["id"] for r in issued_only.wait_for(2)] == [first["id"], second["id"]]
    got = called_and_rated.wait_for(2)
    assert [r.event for r in got] == ["ticket.called", "rating.created"]
    assert got[1].json["data"]["rating"]["level"] == "very_satisfied"
    assert got[1].json["data"]["rating"]["ticket"] == first["id"]
    issued_only.stays_at(2)
    called_and_rated.stays_at(2, seconds=0)


def test_a_webhook_is_sent_what_happens_after_it_is_registered(live_server, receivers):
    """With no webhook the worker does not dispatch each event as it is recorded (there is nobody to
    send it to): a webhook registered a moment later is still sent only what happened after it."""
    srv, receiver = live_server(env=FAST), receivers()
    before = issue(srv.session(), "HT")
    time.sleep(4 * POLL)  # the worker has looked again meanwhile (once at least) and found no webhook
    register(srv, receiver.url, ["ticket.issued"])
    after = issue(srv.session(), "HT")
    assert [r.json["data"]["ticket"]["id"] for r in receiver.wait_for(1)] == [after["id"]]
    receiver.stays_at(1)
    assert before["id"] != after["id"]


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_webhook_registered_after_a_busy_morning_gets_exactly_the_next_events(
    request, database, live_server, config_variant, receivers
):
    """Nothing is kept for a webhook that does not exist yet, and one registered through one process
    gets the very next events of every process: on PostgreSQL the ticket right after the answer is
    issued by a second server process sharing the database."""
    from sqlalchemy import func, select

    from queuekiosk.server.core import models as m
    from queuekiosk.server.core.db import create_db_engine

    if database == "postgresql":
        env = {
            **FAST,
            "QUEUEKIOSK_DATABASE_URL": request.getfixturevalue("migrated_pg_url"),
            "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(16),
        }
        config = config_variant()
        a, b = live_server(config, env=env), live_server(config, env=env)
        url = env["QUEUEKIOSK_DATABASE_URL"]
    else:
        a = b = live_server(env=FAST)
        url = f"sqlite:///{a.instance / 'queuekiosk.db'}"
    receiver = receivers()
    morning = [issue(srv.session(), "HT") for srv in (a, b) * 10]
    for srv, action in ((b, "next"), (a, "start"), (b, "finish")):
        counter_action(srv, action)
    webhook = register(a, receiver.url, ["ticket.issued", "ticket.finished"])
    after = [issue(b.session(), "HT"), issue(a.session(), "HT")]  # b's first, at once after a's answer
    called = counter_action(b, "next")  # not asked for
    got = receiver.wait_for(2)
    assert [(r.event, r.json["data"]["ticket"]["id"]) for r in got] == [("ticket.issued", t["id"]) for t in after]
    counter_action(a, "start")
    counter_action(a, "finish")
    got = receiver.wait_for(3)
    assert called["id"] == morning[1]["id"]
    assert (got[2].event, got[2].json["data"]["ticket"]["id"]) == ("ticket.finished", called["id"])
    receiver.stays_at(3)
    assert len(wait_delivered(a, webhook["id"], 3)) == 3
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:  # and nothing was written for the morning, which nobody wanted
            assert conn.execute(select(func.count()).select_from(m.OutboxEvent)).scalar() == 3
    finally:
        engine.dispose()


def test_booking_events_carry_no_personal_data_nor_the_booking_code(live_server, receivers):
    """The repo's config.yaml: HT takes bookings; a test books on the first day with a free slot."""
    import datetime as dt

    srv, receiver = live_server(env=FAST), receivers()
    register(srv, receiver.url, ["booking.created", "booking.cancelled"])
    http = srv.session()
    for ahead in range(1, 7):
        day = (site_today() + dt.timedelta(days=ahead)).isoformat()
        free = [s for s in http.get("/api/v1/services/HT/slots", params={"date": day}).json() if s["free"]]
        if free:
            break
    made = http.post(
        "/api/v1/bookings",
        json={
            "service": "HT",
            "date": day,
            "start": free[0]["start"],
            "name": "Nguyễn Văn An",
            "phone": "0912345678",
            "id_number": "001099012345",
        },
    )
    assert made.status_code == 201, made.text
    booking = made.json()
    assert http.delete(f"/api/v1/bookings/{booking['code']}").status_code == 200
    got = receiver.wait_for(2)
    assert [r.event for r in got] == ["booking.created", "booking.cancelled"]
    assert [r.json["data"]["booking"]["status"] for r in got] == ["booked", "cancelled"]
    assert (
        got[1].json["data"]["booking"]["cancel_reason"] is None
    )  # its holder's (the centre's: test_admin_closed_days)
    assert got[0].json["data"]["booking"]["start"] == free[0]["start"]
    for r in got:
        text = r.body.decode()
        for secret in (
            booking["code"],
            booking["phone"],
            booking["id_number"],
            "0912345678",
            "001099012345",
            "Nguyễn",
            "Nguy\\u1ec5n",
        ):
            assert secret not in text, (secret, text)


def test_a_failing_receiver_is_retried_with_the_same_delivery_until_it_accepts(live_server, receivers):
    srv, receiver = live_server(env=FAST), receivers()
    receiver.answers = [500, "hang", 503]  # an error, no answer within the timeout, an error, then 200
    webhook = register(srv, receiver.url, ["ticket.issued"])
    issue(srv.session(), "HT")
    got = receiver.wait_for(4)
    assert len({r.delivery for r in got}) == 1 and len({r.body for r in got}) == 1
    assert all(verifies(webhook["secret"], r) for r in got)
    [log] = wait_delivered(srv, webhook["id"], 1)
    assert (log["status"], log["attempts"], log["last_status_code"], log["last_error"]) == ("delivered", 4, 200, None)
    receiver.stays_at(4)


def test_deliveries_give_way_to_a_steady_stream_of_requests_but_still_go(live_server, receivers):
    """The worker waits for a pause between requests before each step, but not for ever: a receiver
    hears of the first tickets while the kiosk is still issuing without a break, and gets every
    ticket, in order, once it stops."""
    srv, receiver = live_server(env=FAST), receivers()
    register(srv, receiver.url, ["ticket.issued"])
    http = srv.session()
    issued = []
    services = ["HT", "CT", "DC", "LD", "VH", "TK"]  # ~6,000 numbers today: one service's 999 may not last
    while not receiver.received:  # (the worker takes its lease at its next look: up to a few seconds)
        assert len(issued) < 5000, "no delivery while requests kept coming"
        issued.append(issue(http, services[len(issued) % len(services)])["id"])
    got = receiver.wait_for(len(issued), timeout=60)
    assert [r.json["data"]["ticket"]["id"] for r in got] == issued


def test_a_receiver_that_never_accepts_is_given_up_after_the_schedule(live_server, receivers):
    srv, receiver = live_server(env={**FAST, "QUEUEKIOSK_WEBHOOK_RETRY_SECONDS": "1,86400"}), receivers()
    receiver.answers = [500, 500, 500]
    webhook = register(srv, receiver.url, ["ticket.issued"])
    issue(srv.session(), "HT")
    receiver.wait_for(2)
    deadline = time.monotonic() + 10
    while (log := deliveries(srv, webhook["id"]))[0]["next_attempt_at"] is None or log[0]["attempts"] < 2:
        assert time.monotonic() < deadline, log
        time.sleep(0.1)
    # two attempts made; the next one is a day away (the schedule covers 24 h)
    assert (log[0]["status"], log[0]["attempts"], log[0]["last_status_code"]) == ("pending", 2, 500)
    assert log[0]["last_error"].startswith("HTTP 500")


def test_a_retry_schedule_under_24_hours_is_refused_at_start(live_server):
    srv = live_server(env={"QUEUEKIOSK_WEBHOOK_RETRY_SECONDS": "10,60,600"}, start=False)
    with pytest.raises(RuntimeError) as refused:
        srv.start()
    said = str(refused.value)
    assert "the webhook retry schedule '10,60,600' must be positive seconds adding up to 24 h or more" in said
    assert "Traceback" not in said


def test_replay_sends_the_delivery_again_with_its_id(live_server, receivers):
    srv, receiver = live_server(env=FAST), receivers()
    webhook = register(srv, receiver.url, ["ticket.issued"])
    issue(srv.session(), "HT")
    [first] = receiver.wait_for(1)
    [log] = wait_delivered(srv, webhook["id"], 1)
    replayed = srv.session().post(
        f"/api/v1/admin/webhooks/{webhook['id']}/deliveries/{log['id']}/replay", headers=_admin(srv)
    )
    assert replayed.status_code == 202, replayed.text
    assert (replayed.json()["status"], replayed.json()["delivered_at"]) == ("pending", None)  # not the old time
    again = receiver.wait_for(2)[1]
    assert (again.delivery, again.body) == (first.delivery, first.body)
    [log_again] = wait_delivered(srv, webhook["id"], 1)
    assert log_again["delivered_at"] >= log["delivered_at"], (log_again, log)
    assert_error(
        srv.session().post(f"/api/v1/admin/webhooks/{webhook['id']}/deliveries/999/replay", headers=_admin(srv)),
        404,
        "delivery_unknown",
    )


def test_an_event_committed_before_a_kill_9_is_delivered_after_the_restart(live_server, receivers):
    """At least once: the first delivery is in flight (the receiver has it, the server has no answer)
    when the server is killed; the two events behind it were committed and never sent."""
    srv, receiver = live_server(env={**FAST, "QUEUEKIOSK_WEBHOOK_TIMEOUT": "30"}), receivers()
    receiver.answers = ["hang"]
    webhook = register(srv, receiver.url, ["ticket.issued"])
    tickets = [issue(srv.session(), "HT") for _ in range(3)]
    [in_flight] = receiver.wait_for(1)
    srv.stop(graceful=False)  # kill -9
    receiver.release()
    srv.start()
    got = receiver.wait_for(4)
    assert got[1].delivery == in_flight.delivery and got[1].body == in_flight.body
    assert [r.json["data"]["ticket"]["id"] for r in got[1:]] == [t["id"] for t in tickets]
    wait_delivered(srv, webhook["id"], 3)
    receiver.stays_at(4)


def test_a_deleted_webhook_is_sent_nothing_more(live_server, receivers):
    srv, receiver = live_server(env=FAST), receivers()
    webhook = register(srv, receiver.url, ["ticket.issued"])
    issue(srv.session(), "HT")
    receiver.wait_for(1)
    removed = srv.session().delete(f"/api/v1/admin/webhooks/{webhook['id']}", headers=_admin(srv))
    assert removed.status_code == 200, removed.text
    assert srv.session().get("/api/v1/admin/webhooks", headers=_admin(srv)).json()["webhooks"] == []
    issue(srv.session(), "HT")
    receiver.stays_at(1)
    assert_error(
        srv.session().delete(f"/api/v1/admin/webhooks/{webhook['id']}", headers=_admin(srv)), 404, "webhook_unknown"
    )


def test_bad_input_names_the_field_and_registers_nothing(live_server):
    srv = live_server()
    http, admin = srv.session(), _admin(srv)
    good = {"url": "https://example.test/hook", "events": ["ticket.called"]}
    for change, code, field in (
        ({"url": "ftp://example.test/"}, "webhook_url_invalid", "url"),
        ({"url": "not a url"}, "webhook_url_invalid", "url"),
        ({"url": "http:///nohost"}, "webhook_url_invalid", "url"),
        ({"events": []}, "invalid_field", "events"),
        ({"events": ["ticket.teleported"]}, "webhook_event_unknown", "events"),
        ({"events": "ticket.called"}, "invalid_field", "events"),
        ({"secret": "short"}, "invalid_field", "secret"),
        ({"colour": "blue"}, "invalid_field", "colour"),
    ):
        assert_error(http.post("/api/v1/admin/webhooks", json={**good, **change}, headers=admin), 422, code, field)
    assert http.get("/api/v1/admin/webhooks", headers=admin).json()["webhooks"] == []
    english = srv.session(language="en").post("/api/v1/admin/webhooks", json={**good, "events": ["x.y"]}, headers=admin)
    assert "x.y" in english.json()["error"]["message"] and "ticket.called" in english.json()["error"]["message"]
    made = http.post("/api/v1/admin/webhooks", json={**good, "secret": "s" * 20}, headers=admin)
    assert made.status_code == 201 and made.json()["secret"] == "s" * 20
    assert_error(
        http.get(f"/api/v1/admin/webhooks/{made.json()['id']}/deliveries?status=lost", headers=admin),
        422,
        "delivery_status_unknown",
        "status",
    )
    assert_error(http.get("/api/v1/admin/webhooks/999/deliveries", headers=admin), 404, "webhook_unknown")
    # only admins
    assert_error(
        http.get("/api/v1/admin/webhooks", headers={"Authorization": f"Bearer {srv.token('supervisor')}"}),
        403,
        "forbidden_role",
    )
    assert_error(http.post("/api/v1/admin/webhooks", json=good), 401, "unauthorized")


@pytest.mark.postgres
def test_two_processes_deliver_each_event_once(migrated_pg_url, redis_url, live_server, config_variant, receivers):
    env = {  # (a database already migrated, as for the others: what the first process would have made it)
        **FAST,
        "QUEUEKIOSK_DATABASE_URL": migrated_pg_url,
        "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(16),
        "QUEUEKIOSK_MESSAGE_QUEUE": redis_url,
    }
    config = config_variant()
    a, b = live_server(config, env=env), live_server(config, env=env)
    receiver = receivers()
    webhook = register(a, receiver.url, ["ticket.issued", "ticket.called"])
    tickets = [issue(srv.session(), "HT") for srv in (a, b) * 5]
    for srv in (b, a, b):
        counter_action(srv, "next")
    got = receiver.wait_for(13)
    receiver.stays_at(13)
    assert len({r.delivery for r in got}) == 13 and len({r.json["id"] for r in got}) == 13
    assert sorted(r.json["data"]["ticket"]["id"] for r in got if r.event == "ticket.issued") == sorted(
        t["id"] for t in tickets
    )
    assert len(wait_delivered(b, webhook["id"], 13)) == 13
