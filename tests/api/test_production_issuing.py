"""Issuing on the production setup (PostgreSQL, several processes, the Redis message queue), issue 21:
tickets of different services are issued side by side, never one behind another's lock; numbers stay
gap-free and unique under concurrent issuing from two processes; and the message queue carries a
busy moment's messages in a few Redis messages, not one per room per ticket. Real PostgreSQL and a
redis-server of the test's own; skipped when either is missing."""

from __future__ import annotations

import json
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from sqlalchemy import text

from queuekiosk.server.core import engine as q
from queuekiosk.server.core.db import create_db_engine
from queuekiosk.server.web.message_queue import batch_messages, channel_of, every_process_pattern

pytestmark = pytest.mark.postgres


def test_a_ticket_of_one_service_is_issued_while_another_service_s_ticket_is_still_being_written(
    make_queue, config, migrated_pg_url
):
    queue = make_queue(config, migrated_pg_url)
    with queue.engine.connect() as holding:
        holding.begin()
        q.issue(holding, queue.site, "HT", check_hours=False)  # HT's number row locked until this commits
        with queue.engine.connect() as other:
            other.begin()
            other.execute(text("SET LOCAL lock_timeout = '2s'"))
            other_service = q.issue(other, queue.site, "CT", check_hours=False)  # no wait on HT's row
            other.commit()
            other.begin()
            other.execute(text("SET LOCAL lock_timeout = '300ms'"))
            # the same service waits for the first transaction: the lock is the service's, nothing wider
            with pytest.raises(Exception, match="lock timeout"):
                q.issue(other, queue.site, "HT", check_hours=False)
            other.rollback()
        holding.commit()
    assert other_service.ticket["service"] == "CT"
    numbers = {(t.service_id, t.number) for t in queue.tickets()}
    assert len(numbers) == 2


@pytest.fixture
def two_processes(migrated_pg_url, redis_server, live_server):
    env = {
        "QUEUEKIOSK_DATABASE_URL": migrated_pg_url,
        "QUEUEKIOSK_MESSAGE_QUEUE": redis_server.url,
        "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(16),
    }
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda _: live_server(env=env), range(2))), migrated_pg_url


def test_two_processes_issuing_at_once_give_every_service_gap_free_unique_numbers_and_every_screen_hears(
    two_processes, redis_server, sio_client
):
    (a, b), url = two_processes
    display = sio_client(a)
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    mark = display.mark()

    published = []  # every message the two processes put on their channels
    listener = redis.Redis.from_url(redis_server.url).pubsub()
    listener.psubscribe(every_process_pattern(redis_server.url))
    assert listener.get_message(timeout=5)["type"] == "psubscribe"
    stop = threading.Event()

    def listen():
        while not stop.is_set():
            message = listener.get_message(timeout=0.2)
            if message and message["type"] == "pmessage":
                published.append(batch_messages(message["data"]))

    thread = threading.Thread(target=listen)
    thread.start()
    services = ["HT", "CT", "DC", "LD", "VH", "TK"]

    def issue_many(args):
        server, worker = args
        session = server.session()
        answers = []
        for i in range(20):
            response = session.post("/api/v1/tickets", json={"service": services[(worker + i) % len(services)]})
            assert response.status_code == 201, response.text
            answers.append(response.json())
        return answers

    with ThreadPoolExecutor(8) as pool:
        tickets = [t for part in pool.map(issue_many, [(a if w % 2 else b, w) for w in range(8)]) for t in part]

    # every ticket B issued reaches A's lobby display (through Redis) as a waiting count of its service
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        counts = {}
        for detail in display.received("queue.changed", since=mark):
            for code, waiting in detail["waiting"].items():
                counts[code] = max(counts.get(code, 0), waiting["waiting"])
        if sum(counts.values()) == len(tickets):
            break
        time.sleep(0.1)
    assert sum(counts.values()) == len(tickets), counts
    stop.set()
    thread.join()
    listener.close()

    engine = create_db_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT origin_service_id, count(*), count(DISTINCT number), min(number), max(number) FROM tickets GROUP BY 1"
            )
        ).all()
    engine.dispose()
    assert sum(r[1] for r in rows) == len(tickets) == 160
    for _service, count, distinct, low, high in rows:
        assert count == distinct == high - low + 1, "no duplicate and no gap"

    emits = [m for batch in published for m in batch if m.get("method") == "emit"]
    assert {m["event"] for m in emits} >= {"ticket.issued", "queue.changed"}
    # a ticket is told to about a dozen rooms: batched, they took at most one Redis message per ticket,
    # and each of its payloads is in it once, naming its rooms
    rooms_told = sum(len(m["room"]) if isinstance(m["room"], list) else 1 for m in emits)
    assert rooms_told > 5 * len(tickets), (rooms_told, len(tickets))
    assert len(published) <= len(tickets), (len(published), len(tickets))
    assert len(emits) <= 3 * len(tickets), (len(emits), len(tickets))


def test_each_redis_database_has_its_own_channel():
    assert channel_of("redis://127.0.0.1:6379/0") == channel_of("redis://127.0.0.1:6379") == "flask-socketio"
    assert channel_of("redis://127.0.0.1:6379/3") != channel_of("redis://127.0.0.1:6379/4")


def test_a_pooled_connection_is_pinged_only_after_lying_idle_and_a_dead_one_is_replaced(migrated_pg_url, monkeypatch):
    from queuekiosk.server.core import db

    engine = create_db_engine(migrated_pg_url)
    pings = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(1) or ping(conn))
    try:
        for _ in range(3):  # back in the pool a moment ago: used without a ping
            with engine.connect() as conn:
                backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        assert pings == []

        with create_db_engine(migrated_pg_url).connect() as admin:  # the server ends the pooled connection
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            admin.commit()
        monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # as if it had lain idle
        with engine.connect() as conn:  # pinged, found dead, replaced: the caller notices nothing
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != backend
        assert pings
    finally:
        engine.dispose()


def test_a_pooled_connection_postgresql_ended_a_moment_ago_is_replaced_before_use(migrated_pg_url, monkeypatch):
    """PostgreSQL ends a session that lay in the pool only a moment (a restart, a failover,
    pg_terminate_backend): its notice and the session's end reach the socket, which the checkout looks
    at (no round trip), so the connection is pinged, found dead and replaced before use: the first
    request after the restart notices nothing, instead of being told that the database is busy."""
    engine = create_db_engine(migrated_pg_url)
    admin = create_db_engine(migrated_pg_url)
    pings = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(1) or ping(conn))
    try:
        with engine.connect() as conn:
            backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with admin.connect() as conn:  # (waits until the backend is gone)
            assert conn.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": backend}).scalar()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != backend
        assert len(pings) == 1
    finally:
        engine.dispose()
        admin.dispose()


def test_issuing_on_postgresql_stores_what_sqlite_stores(make_queue, config, migrated_sqlite_url, migrated_pg_url):
    """PostgreSQL issues in one statement (number, ticket, event): the rows are those of the usual path."""
    import datetime as dt

    from sqlalchemy import select

    from queuekiosk.server.core import models as m

    now = dt.datetime(2026, 3, 2, 2, 30, 0, 123456)  # 09:30 in Hanoi
    stored = {}
    for name, url in (("sqlite", migrated_sqlite_url), ("postgresql", migrated_pg_url)):
        queue = make_queue(config, url)
        with queue.engine.begin() as conn:
            first = q.issue(conn, queue.site, "HT", now=now)
            second = q.issue(conn, queue.site, "HT", "elderly", "kiosk-1", now=now)
        with queue.engine.connect() as conn:
            events = conn.execute(
                select(m.Event.kind, m.Event.at, m.Event.service_id, m.Event.counter_id, m.Event.detail).order_by(
                    m.Event.id
                )
            ).all()
            details = conn.execute(text("SELECT CAST(detail AS TEXT) FROM events ORDER BY id")).scalars().all()
            sequence = conn.execute(text("SELECT last_number, waiting, priority_waiting FROM number_sequences")).all()
        tickets = [
            (t.number, t.business_day, t.status, t.issued_at, t.kiosk_id, t.priority_id is not None, t.transfers)
            for t in queue.tickets()
        ]
        views = [{k: v for k, v in o.ticket.items() if k != "id"} for o in (first, second)]
        stored[name] = (events, details, sequence, tickets, views)
        assert [e.ticket_id for e in queue.events()] == [t.id for t in queue.tickets()]
    assert stored["postgresql"] == stored["sqlite"]
    events, details, sequence, tickets, views = stored["postgresql"]
    assert details[1] == '{"number": 1002, "priority": "elderly", "kiosk": "kiosk-1"}'
    assert sequence == [(1002, 2, 1)] and [t[0] for t in tickets] == [1001, 1002]


def test_writes_deferred_to_the_commit_are_seen_by_later_reads_and_a_failing_one_undoes_the_transaction(
    make_queue, config, migrated_pg_url
):
    import datetime as dt

    from sqlalchemy.exc import IntegrityError

    from queuekiosk.server.core.db import write_transaction
    from queuekiosk.server.core.engine.records import record_event

    queue = make_queue(config, migrated_pg_url)
    now = dt.datetime(2026, 3, 2, 2, 30)
    with write_transaction(queue.engine) as conn:
        issued = q.issue(conn, queue.site, "HT", now=now)
        record_event(conn, queue.site, "note", now, None, detail={"n": 1})  # kept for the COMMIT ...
        # ... and sent before a statement of SQLAlchemy's, which sees it
        assert conn.execute(text("SELECT count(*) FROM events WHERE kind = 'note'")).scalar() == 1
        record_event(conn, queue.site, "note", now, None, detail={"n": 2})
    assert [e.kind for e in queue.events()] == ["issued", "note", "note"]

    with pytest.raises(IntegrityError):  # raised by the COMMIT it went with: nothing of it stays
        with write_transaction(queue.engine) as conn:
            q.issue(conn, queue.site, "HT", now=now)
            record_event(conn, queue.site, "note", now, None, ticket_id=10**9)  # no such ticket
    assert [t.number for t in queue.tickets()] == [issued.ticket["number"]]
    with write_transaction(queue.engine) as conn:  # the number was not used up
        assert q.issue(conn, queue.site, "HT", now=now).ticket["number"] == issued.ticket["number"] + 1


def test_a_write_that_runs_nothing_sends_postgresql_nothing(pg_url, _pg_admin):
    """A write (each its own transaction: QUEUEKIOSK_PG_GROUP_COMMIT=0) whose action found nothing to
    do and ran no statement costs its request no BEGIN and COMMIT of nothing, two round trips for
    naught: PostgreSQL's session under it shows no statement since the one before it."""
    from queuekiosk.server.core.db import write_transaction

    engine = create_db_engine(pg_url)
    last_seen = "SELECT query, state_change FROM pg_stat_activity WHERE pid = %s"
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1")).all()
            session = conn.connection.dbapi_connection.info.backend_pid
        before = _pg_admin.execute(last_seen, (session,)).fetchone()
        with write_transaction(engine) as conn:
            assert conn.connection.dbapi_connection.info.backend_pid == session  # (the pooled connection)
        assert _pg_admin.execute(last_seen, (session,)).fetchone() == before
    finally:
        engine.dispose()


def test_the_database_pool_of_a_process_is_set_by_the_environment(monkeypatch):
    url = "postgresql://postgres@127.0.0.1:5432/unused"  # nothing connects: the pool is only sized
    engine = create_db_engine(url)
    assert (engine.pool.size(), engine.pool._max_overflow) == (10, 10)
    monkeypatch.setenv("QUEUEKIOSK_DATABASE_POOL", "4")
    engine = create_db_engine(url)
    assert (engine.pool.size(), engine.pool._max_overflow) == (4, 4)
    for wrong in ("0", "many", "-3"):
        monkeypatch.setenv("QUEUEKIOSK_DATABASE_POOL", wrong)
        with pytest.raises(ValueError, match="QUEUEKIOSK_DATABASE_POOL"):
            create_db_engine(url)


def test_a_payload_told_to_several_rooms_reaches_each_room_of_another_process_as_it_would_its_own(redis_server):
    """Two processes' message queues on one Redis: B tells one payload to four rooms (one entry in
    its batch); on A a client in two of them gets it once per room, as a client of B would, and a
    payload with binary parts still arrives whole."""
    import socketio

    from queuekiosk.server.web.message_queue import BoundedRedisManager

    def process():
        manager = BoundedRedisManager(redis_server.url)
        server = socketio.Server(client_manager=manager, async_mode="threading")
        manager.initialize()  # the listener, as when a first client connects
        return server, manager

    (a, a_manager), (b, b_manager) = process(), process()
    received = []
    a._send_eio_packet = lambda _eio_sid, packet: received.append(packet.data)
    a_manager.connect("eio-a", "/")
    sid = a_manager.sid_from_eio_sid("eio-a", "/")
    for room in ("site:counter:1", "site:display:lobby"):
        a_manager.enter_room(sid, "/", room)
    time.sleep(0.5)  # both listeners subscribed

    payload = {"ticket": {"number": 1001, "service": "HT"}}
    for room in ("site:dashboard", "site:counter:1", "site:display:lobby", "site:ticket:abc"):
        b.emit("ticket.issued", payload, to=room)
    b.emit("voice", {"clip": b"\x00\x01"}, to="site:display:lobby")
    deadline = time.monotonic() + 5
    while len(received) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more comes
    assert [json.loads(p[p.index("[") :])[0] for p in received if "ticket.issued" in str(p)] == ["ticket.issued"] * 2
    assert any("voice" in str(p) for p in received), received
    assert b_manager.batches >= 1
