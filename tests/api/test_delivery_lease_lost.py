"""Two server processes on one PostgreSQL database after the delivery worker's lease went with its
connection (a PostgreSQL restart, or an administrator's pg_terminate_backend): the worker that held it
stops delivering until it holds it again, so each webhook event reaches its receiver once, and each
citizen whose booking the centre cancelled gets one message (docs/integrations.md, "Once")."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections import Counter

import pytest
from api_helpers import issue
from faked_clock import FakedClock, next_working_morning, on_a_working_morning
from notify_helpers import TOKENS, outside_servers
from pg_lock_helpers import end_lease_connection
from sqlalchemy import text
from webhook_receiver import Receiver

from queuekiosk.server.core.db import create_db_engine
from queuekiosk.server.web.delivery import LEASE_POLL_SECONDS

pytestmark = pytest.mark.postgres

FAST = {"QUEUEKIOSK_DELIVERY_POLL_SECONDS": "0.05", "QUEUEKIOSK_WEBHOOK_TIMEOUT": "2"}


@pytest.fixture
def outside():
    yield from outside_servers()


@pytest.fixture
def two_processes(live_server, config_variant, migrated_pg_url, tmp_path):
    """``start(config)``: two servers on one migrated PostgreSQL database with one secret key, the delivery
    lease's connection ended once both run; with the engine the test reads the database by."""
    engine = create_db_engine(migrated_pg_url)
    env = {
        **TOKENS,
        **FAST,
        **on_a_working_morning(tmp_path),
        "QUEUEKIOSK_DATABASE_URL": migrated_pg_url,
        "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(32),
    }

    def start(config):
        servers = live_server(config, env=env), live_server(config, env=env)
        end_lease_connection(engine)
        return servers

    yield start
    engine.dispose()


def test_each_event_is_delivered_once_after_the_lease_connection_ended(two_processes, config_variant):
    receiver = Receiver()
    try:
        a, b = two_processes(config_variant())
        hook = a.session().post(
            "/api/v1/admin/webhooks",
            json={"url": receiver.url, "events": ["ticket.issued"]},
            headers={"Authorization": f"Bearer {a.token('admin')}"},
        )
        assert hook.status_code == 201, hook.text
        tickets = [issue(srv.session(), "HT") for srv in (a, b) * 6]
        receiver.wait_for(12)
        receiver.stays_at(12)  # (not each event twice: both processes delivering)
        assert sorted(r.json["data"]["ticket"]["id"] for r in receiver.received) == sorted(t["id"] for t in tickets)
    finally:
        receiver.close()


def test_each_citizen_is_told_once_of_the_centres_cancel_after_the_lease_connection_ended(
    two_processes, config_variant, outside
):
    sms, _zalo, _smtp, settings = outside
    config = config_variant()
    config["notifications"] = settings
    a, b = two_processes(config)
    http, supervisor = a.session(), a.session()
    supervisor.headers["Authorization"] = f"Bearer {a.token('supervisor')}"
    today = dt.date.fromisoformat(issue(http, "CT")["business_day"])
    day = today + dt.timedelta(days=2 if (today + dt.timedelta(days=2)).weekday() != 6 else 3)
    starts = [s["start"] for s in http.get("/api/v1/services/HT/slots", params={"date": day.isoformat()}).json()]
    phones = [f"0912{n:06d}" for n in range(24)]
    for n, phone in enumerate(phones):
        srv = (a, b)[n % 2]
        body = {
            "service": "HT",
            "name": "Nguyễn Văn An",
            "date": day.isoformat(),
            "start": starts[n // 2],
            "phone": phone,
        }
        booked = srv.session().post("/api/v1/bookings", json=body)
        assert booked.status_code == 201, booked.text
        opted = srv.session().post(
            f"/api/v1/bookings/{booked.json()['code']}/notifications",
            json={"channel": "sms", "address": phone, "language": "vi"},
        )
        assert opted.status_code == 201, opted.text
    holidays = supervisor.get("/api/v1/admin/site").json()["holidays"]
    saved = supervisor.patch("/api/v1/admin/site", json={"holidays": [*holidays, day.isoformat()], "confirm": True})
    assert saved.status_code == 200, saved.text
    sms.wait_for(len(phones))
    sms.stays_at(len(phones))
    assert Counter(json.loads(r.body)["to"] for r in sms.received) == Counter("84" + p[1:] for p in phones)


def test_a_standby_taking_over_hours_after_its_start_settles_at_once_a_notice_cut_off_meanwhile(
    live_server, config_variant, outside, migrated_pg_url, tmp_path
):
    """B starts as a standby while A delivers; A claims a cancel notice and the SMS gateway holds its answer.
    Two hours later A stops: the notice, claimed after B started but over an hour ago, may have gone, so B's
    first round as the holder gives it up, its address erased (not an hour later, nor sent again)."""
    sms, _zalo, _smtp, settings = outside
    sms.answers = ["hang"]
    config = config_variant()
    config["notifications"] = {**settings, "sms": {**settings["sms"], "timeout_seconds": 30}}
    clock = FakedClock(tmp_path / "clock", next_working_morning())  # each process's starts at its own start
    env = {**TOKENS, **FAST, **clock.env(), "QUEUEKIOSK_DATABASE_URL": migrated_pg_url}
    env["QUEUEKIOSK_SECRET_KEY"] = secrets.token_hex(32)
    a, _b = _holder_and_standby_cancel_a_booking(live_server, config, env, ["sms"])
    sms.wait_for(1)  # A sends it: the gateway holds its answer
    notices = "SELECT status, address_sealed IS NULL FROM cancel_notices"
    assert _rows(migrated_pg_url, notices) == [("sending", False)]
    clock.set(clock.start + dt.timedelta(hours=2))
    a.stop()
    assert _until(migrated_pg_url, notices, [("failed", True)], 20), _rows(migrated_pg_url, notices)
    assert len(sms.received) == 1


def test_a_zalo_message_the_other_worker_dropped_is_not_counted_again(
    live_server, config_variant, outside, migrated_pg_url, tmp_path
):
    """A citizen opted in by SMS and by Zalo, which has no template for cancellations (its message can never
    go). A's worker picks both messages; the SMS gateway holds its answer to the first, and meanwhile A's
    lease goes with its connection: B, holding it now, drops the Zalo message and says so in its log. Once
    the gateway answers, A finds it dropped already and says nothing of it: the logs count it once."""
    sms, zalo, _smtp, settings = outside
    sms.answers = ["hang"]
    config = config_variant()
    config["notifications"] = {**settings, "sms": {**settings["sms"], "timeout_seconds": 30}}
    env = {**TOKENS, **FAST, **on_a_working_morning(tmp_path), "QUEUEKIOSK_DATABASE_URL": migrated_pg_url}
    env["QUEUEKIOSK_SECRET_KEY"] = secrets.token_hex(32)
    a, b = _holder_and_standby_cancel_a_booking(live_server, config, env, ["sms", "zalo"])
    sms.wait_for(1)  # A sends the SMS (the gateway holds its answer); the Zalo message waits behind it
    notices = "SELECT channel, status FROM cancel_notices ORDER BY channel"
    assert _rows(migrated_pg_url, notices) == [("sms", "sending"), ("zalo", "pending")]
    engine = create_db_engine(migrated_pg_url)
    for _ in range(5):  # until B holds the lease and drops it (A may take it again first: then once more)
        end_lease_connection(engine)
        if _until(migrated_pg_url, notices, [("sms", "sending"), ("zalo", "dropped")], 2 * LEASE_POLL_SECONDS):
            break
    engine.dispose()
    assert _rows(migrated_pg_url, notices) == [("sms", "sending"), ("zalo", "dropped")]
    sms.release()  # A goes on: the SMS marked sent, then the Zalo message found dropped
    assert _until(migrated_pg_url, notices, [("sms", "sent"), ("zalo", "dropped")], 10)
    time.sleep(2)  # (A's line, were it to count the message too, would come at once after the SMS is marked)
    said = [line for server in (a, b) for line in server.log().splitlines() if "cancel notice" in line]
    assert len(said) == 1 and "1 cancel notice by zalo dropped: no Zalo template" in said[0], said
    assert zalo.received == []


def _holder_and_standby_cancel_a_booking(live_server, config, env, channels: list[str]) -> tuple:
    """A, holding the delivery lease, then B, a standby, on ``env``'s database; a citizen's booking two working
    days ahead, opted in on ``channels`` (their notices made in this order), cancelled by a holiday. (A, B)."""
    a = live_server(config, env=env)
    http = a.session()
    day = dt.date.fromisoformat(issue(http, "CT")["business_day"])  # dispatched by A's worker: A holds the lease
    undispatched = "SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL"
    assert _until(env["QUEUEKIOSK_DATABASE_URL"], undispatched, [(0,)], 20)
    b = live_server(config, env=env)
    day += dt.timedelta(days=2 if (day + dt.timedelta(days=2)).weekday() != 6 else 3)
    body = {"service": "HT", "name": "Nguyễn Văn An", "date": day.isoformat(), "start": "10:00", "phone": "0912000001"}
    booked = http.post("/api/v1/bookings", json=body)
    assert booked.status_code == 201, booked.text
    for channel in channels:
        opted = http.post(
            f"/api/v1/bookings/{booked.json()['code']}/notifications",
            json={"channel": channel, "address": "0912000001", "language": "vi"},
        )
        assert opted.status_code == 201, opted.text
    supervisor = {"Authorization": f"Bearer {a.token('supervisor')}"}
    holidays = http.get("/api/v1/admin/site", headers=supervisor).json()["holidays"]
    closed = {"holidays": [*holidays, day.isoformat()], "confirm": True}
    assert http.patch("/api/v1/admin/site", headers=supervisor, json=closed).status_code == 200
    return a, b


def _until(url: str, query: str, wanted: list[tuple], seconds: float) -> bool:
    """Whether ``query`` gives ``wanted`` within ``seconds``."""
    deadline = time.monotonic() + seconds
    while _rows(url, query) != wanted:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _rows(url: str, query: str) -> list[tuple]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as db:
            return [tuple(row) for row in db.execute(text(query))]
    finally:
        engine.dispose()
