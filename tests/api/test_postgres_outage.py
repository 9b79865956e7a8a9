"""PostgreSQL out of reach while screens are open: the server reaches PostgreSQL through a TCP link
the test can cut (the machine's PostgreSQL itself is never stopped). A request answers 503
database_busy; a screen that subscribes is told the same in its acknowledgement, not left without
an answer; once the link is back, both are served again without a restart. PostgreSQL ending the
server's connections, or failing over, while the server is at rest costs the next requests nothing.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import socketio
from api_helpers import assert_error, issue
from conftest import SioClient
from pg_link_helpers import CuttableLink, MovedAddressLink
from sqlalchemy import Column, Integer, MetaData, Table, insert, text

from queuekiosk.server.core.db import create_db_engine
from queuekiosk.server.core.lease import Lease
from queuekiosk.server.core.pg_commit import XACT


@pytest.mark.postgres
def test_a_screen_subscribing_while_postgresql_is_out_of_reach_is_told_so(live_server, migrated_pg_url, sio_client):
    link = CuttableLink()
    try:
        srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url.replace(":5432/", f":{link.port}/")})
        http = srv.session()
        assert issue(http, "HT")["number"] == 1001
        display = sio_client(srv)

        link.cut()
        answer = display.subscribe({"display": "lobby"})
        assert answer["error"]["code"] == "database_busy", answer
        assert answer["error"]["message"].startswith("Cơ sở dữ liệu đang bận")
        assert_error(http.post("/api/v1/tickets", json={"service": "HT"}), 503, "database_busy")
        # the look said as a look (the minute's line, which the ticket's refusal then joins)
        assert "Nothing could be read (subscribe display: " in srv.log(), srv.log()[-3000:]

        link.mend()  # back: the same screen subscribes, issuing goes on where it stopped
        assert display.subscribe({"display": "lobby"}) == {"ok": True}
        assert display.wait_for("state")["kind"] == "display"
        assert issue(http, "HT")["number"] == 1002
        assert "message handler error" not in srv.log()
    finally:
        link.close()


@pytest.mark.postgres
def test_a_device_connecting_while_postgresql_is_out_of_reach_is_told_so_and_connects_once_it_is_back(
    live_server, migrated_pg_url
):
    """A device with a token (a keypad, a kiosk agent; a signed-in page with its session) whose Socket.IO
    connection comes while PostgreSQL is out of reach (the centre's server up before its database, after a
    power cut) is refused at once with database_busy, in the words of a request's 503 (the pages, the keypad
    and the agent then try again by themselves). Before, its token could not be looked up and its connect was
    left unanswered on an open transport: a page waited for ever, live no more, and the server logged a
    traceback. Once PostgreSQL is back, its connect is taken and it hears its counter."""
    link = CuttableLink()
    device = None
    try:
        srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url.replace(":5432/", f":{link.port}/")})
        token = srv.token("counter", 1)
        http = srv.session()
        link.cut()
        device = SioClient(srv.url, reconnection=False)
        refusals = []
        device.sio.on("connect_error", refusals.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            device.connect(auth={"token": token}, wait_timeout=10)
        assert [refusal["data"]["code"] for refusal in refusals] == ["database_busy"], refusals
        assert refusals[0]["message"].startswith("Cơ sở dữ liệu đang bận")

        link.mend()  # what the page, the keypad or the agent does by itself: connect again
        device.connect(auth={"token": token}, wait_timeout=10)
        assert device.subscribe({"counter": 1}) == {"ok": True}
        since = device.mark()
        issue(http, "HT")
        assert device.wait_for("queue.changed", since=since)
        log = srv.log()
        assert "Traceback" not in log and "handler error" not in log, log[-3000:]
    finally:
        if device is not None:
            device.close()
        link.close()


@pytest.mark.postgres
def test_a_postgresql_host_that_takes_connections_and_never_answers_is_an_outage_not_a_hang(
    live_server, migrated_pg_url
):
    """A request is answered 503 while PostgreSQL's address accepts connections and says nothing (psycopg would
    wait 130 s, past the kiosk's 10 s: the server sets connect_timeout, db.PG_CONNECTION_LIMITS); afterwards issuing goes on."""
    link = CuttableLink()
    try:
        srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url.replace(":5432/", f":{link.port}/")})
        http = srv.session()
        assert issue(http, "HT")["number"] == 1001

        link.silence()
        # (a request that hung would end here in requests' ReadTimeout, failing the test)
        assert_error(http.post("/api/v1/tickets", json={"service": "HT"}, timeout=90), 503, "database_busy")

        link.mend()
        assert issue(http, "HT")["number"] == 1002  # nothing issued, nothing lost in between
        assert "Traceback" not in srv.log()
    finally:
        link.close()


@pytest.mark.postgres
def test_postgresql_s_side_of_a_connection_gives_up_on_a_silent_client_as_soon(pg_url):
    """A session whose client went silent in a network stall ends within ~20 s on PostgreSQL's side too (its
    default: the system's ~2 hours, row locks held meanwhile); a setting in the URL's options wins."""
    for url, user_timeout in ((pg_url, "20000"), (pg_url + "?options=-c%20tcp_user_timeout%3D7000", "7000")):
        engine = create_db_engine(url)
        try:
            with engine.connect() as conn:
                said = {
                    name: conn.execute(text(f"SHOW {name}")).scalar()
                    for name in ("tcp_user_timeout", "tcp_keepalives_idle")
                }
        finally:
            engine.dispose()
        assert said == {"tcp_user_timeout": user_timeout, "tcp_keepalives_idle": "10"}, (url, said)


@pytest.mark.postgres
def test_a_lease_s_own_connection_gets_postgresql_s_limits_too(pg_url, tmp_path):
    """A printer's lease (an advisory lock on a connection of its own, outside the pool) whose client vanished in
    a network stall is released on PostgreSQL's side within ~20 s, not the system's ~2 hours: its session carries
    the pool's server-side limits; a value the URL gives (its options, its connect_timeout) wins over both sides'."""
    given = "?connect_timeout=9&options=-c%20tcp_user_timeout%3D7000"
    assert _lease_connection_limits(pg_url, tmp_path) == {
        "tcp_user_timeout": "20000",
        "tcp_keepalives_idle": "10",
        "connect_timeout": "5",
    }
    assert _lease_connection_limits(pg_url + given, tmp_path) == {
        "tcp_user_timeout": "7000",
        "tcp_keepalives_idle": "10",
        "connect_timeout": "9",
    }


def _lease_connection_limits(url: str, tmp_path) -> dict:
    """PostgreSQL's limits (SHOW) and libpq's connect_timeout of a lease's own connection: a second lease's,
    refused the lock a first one holds."""
    engine = create_db_engine(url)
    holder, second = Lease(engine, tmp_path, "printer-lobby"), Lease(engine, tmp_path, "printer-lobby")
    said = {}

    def look(conn):
        said.update(
            {name: conn.execute(text(f"SHOW {name}")).scalar() for name in ("tcp_user_timeout", "tcp_keepalives_idle")}
        )
        said["connect_timeout"] = conn.connection.dbapi_connection.info.get_parameters().get("connect_timeout")

    try:
        assert holder.try_take()
        assert not second.try_take(refused=look)
    finally:
        holder.release()
        engine.dispose()
    return said


@pytest.mark.postgres
def test_connections_terminated_under_load_are_an_outage_not_a_fault_of_the_server(
    live_server, migrated_pg_url, _pg_admin
):
    """PostgreSQL ends the server's connections while numbers are being issued (pg_terminate_backend, as
    an administrator or a restart does; SQLSTATE 57P01, or the connection lost): each request is served
    or answered 503 database_busy, never 500; no number is lost or given twice, and issuing goes on."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    http = srv.session()
    assert issue(http, "HT")["number"] == 1001
    database = migrated_pg_url.rsplit("/", 1)[1]
    answers: list = []
    done = threading.Event()

    def issuer():
        session = srv.session()
        while not done.is_set():
            answers.append(session.post("/api/v1/tickets", json={"service": "HT"}))

    threads = [threading.Thread(target=issuer) for _ in range(4)]
    for thread in threads:
        thread.start()
    ended = 0
    try:
        for _ in range(5):  # (after some answers, not some time: a fast machine used up the day's numbers)
            answered = len(answers)
            while len(answers) < answered + 20:
                time.sleep(0.01)
            ended += _pg_admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchone()[0]
    finally:
        done.set()
        for thread in threads:
            thread.join(30)
    assert ended > 0
    refused = [a for a in answers if a.status_code != 201]
    for answer in refused:
        assert_error(answer, 503, "database_busy")
    numbers = sorted(a.json()["number"] for a in answers if a.status_code == 201)
    assert len(numbers) > 10
    assert issue(http, "HT")["number"] == 1002 + len(numbers)  # none lost, none twice, nor used by a refusal
    assert numbers == list(range(1002, 1002 + len(numbers)))
    assert "A fault of the server" not in srv.log()


@pytest.mark.postgres
def test_a_transaction_ended_by_postgresql_s_idle_timeout_is_an_outage(live_server, migrated_pg_url, _pg_admin):
    """PostgreSQL ends a session left idle in its transaction (idle_in_transaction_session_timeout,
    SQLSTATE 25P03: psycopg's InternalError, not an OperationalError): the request that met it is
    answered 503 database_busy with Retry-After, never 500 "a fault of the server"; the log has the
    once-a-minute busy line, no request's traceback. Without the timeout, everything is served again."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    http = srv.session()
    ticket = issue(http, "HT")
    database = migrated_pg_url.rsplit("/", 1)[1]
    _pg_admin.execute(f"ALTER DATABASE \"{database}\" SET idle_in_transaction_session_timeout = '1ms'")
    _pg_admin.execute(  # the server's connections made again, with the timeout
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,)
    )
    answers = [http.get(path) for _ in range(20) for path in ("/api/v1/queue", f"/api/v1/tickets/{ticket['id']}")]
    _pg_admin.execute(f'ALTER DATABASE "{database}" RESET idle_in_transaction_session_timeout')
    _pg_admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))
    statuses = [a.status_code for a in answers]
    assert 500 not in statuses, srv.log()[-3000:]
    refused = [a for a in answers if a.status_code != 200]
    assert refused, statuses  # (the timeout did end sessions)
    for answer in refused:
        assert_error(answer, 503, "database_busy")
        assert answer.headers["Retry-After"] == "2"
    log = srv.log()
    assert "Database busy: the database did not take the write in time or could not be reached" in log
    assert "A fault of the server" not in log and "unexpected error on" not in log, log
    # Connections ended just now (or opening while they were ended) may each answer one 503 first;
    # within a few seconds every request is served again, and stays served.
    served = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and served[-5:] != [200] * 5:
        served.append(http.get(f"/api/v1/tickets/{ticket['id']}").status_code)
    assert served[-5:] == [200] * 5, served
    assert set(served) <= {200, 503}, served


@pytest.mark.postgres
def test_the_first_requests_after_postgresql_ended_an_idle_server_s_connections_are_served(
    live_server, migrated_pg_url, _pg_admin
):
    """PostgreSQL ends every connection of a server at rest (a restart, a failover, an administrator's
    pg_terminate_backend) and is back at once: the first citizen at the kiosk, the first clerk's "next"
    and the first look at the queue are served, not told that the database is busy; no number is lost
    or given twice. (The group writer's kept connection and the pool's idle ones are dead, not yet
    known to be.)"""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    http = srv.session()
    keypad = {"Authorization": f"Bearer {srv.token('counter', 1)}"}
    assert issue(http, "HT")["number"] == 1001
    assert http.get("/api/v1/queue").status_code == 200  # (the pool holds a connection that read)
    database = migrated_pg_url.rsplit("/", 1)[1]

    def end_the_server_s_connections() -> None:
        ended = _pg_admin.execute(  # each waited for until its backend is gone (10 s at most)
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchone()[0]
        assert ended > 0

    # Three turns: a background look of the server's (its saved setup's, every half second) may come
    # upon a dead connection first and so warn the pool; a request must not depend on that luck.
    for turn in range(3):
        end_the_server_s_connections()
        assert issue(http, "HT")["number"] == 1002 + turn  # the group writer's kept connection
        end_the_server_s_connections()
        called = http.post("/api/v1/counters/1/next", headers=keypad)  # the token's look, then the writer
        assert called.status_code == 200, called.text
        assert called.json()["number"] == 1001 + turn
        end_the_server_s_connections()
        queue = http.get("/api/v1/queue")  # the pool's connections only
        assert queue.status_code == 200, queue.text
        assert next(s for s in queue.json()["services"] if s["code"] == "HT")["waiting"] == 1
    assert "A fault of the server" not in srv.log()


@pytest.mark.postgres
def test_the_first_ticket_after_a_failover_that_moved_the_address_is_issued(live_server, migrated_pg_url):
    """A failover moves PostgreSQL's address (a virtual IP) while the old primary dies: nothing arrives
    on the server's idle connections, each is found dead only when used. The first citizen at the
    kiosk is still served: the group writer's batch, lost on its first round trip, runs again on a
    fresh connection, not on another of the pool's dead ones; no number is lost or given twice."""
    link = MovedAddressLink()
    try:
        srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": _at_first_use(migrated_pg_url, link)})
        http = srv.session()
        assert issue(http, "HT")["number"] == 1001
        # Two turns whose failover came, the server at rest, just before the ticket's batch: its first
        # round trip is certainly the first to find a connection lost. (Before, each turn's failover came
        # a moment before the ticket, and a background look of the server's, every half second, or the
        # delivery worker's, could come upon a dead connection first and warn the pool, the batch then
        # taking a fresh one: on a loaded machine, in all three turns of 1 of 6 suite runs, the line
        # below missing.) A third turn keeps that: the ticket must not depend on that luck either.
        for turn in range(3):
            _fill_the_pool(srv)
            if turn < 2:
                link.fail_over_before(XACT.encode())  # (with the BEGIN of the group writer's next batch)
            else:
                link.fail_over()
            ticket = http.post("/api/v1/tickets", json={"service": "HT"})
            assert link.failed_over.is_set()
            assert ticket.status_code == 201, ticket.text
            assert ticket.json()["number"] == 1002 + turn
        log = srv.log()
        assert "A fault of the server" not in log
        # (seen by IT staff: once a turn that failed over at the batch, at least)
        assert log.count("was found lost at its start: it runs again on a fresh one") >= 2, log
    finally:
        link.close()


def _at_first_use(url: str, link) -> str:
    """``url`` through ``link``, its idle connections found dead only when used: probed by TCP keepalives after
    10 minutes, not the server's 2 s (a turn of a loaded machine's takes longer, and the probe's reset would
    have the pool replace the connection at its checkout: a path of its own, not the one these tests are about)."""
    return url.replace(":5432/", f":{link.port}/") + "?keepalives_idle=600"


def _look_at_the_queue(srv):
    return srv.session().get("/api/v1/queue")


@pytest.mark.postgres
def test_the_first_reads_after_a_failover_that_moved_the_address_are_served(live_server, migrated_pg_url):
    """After a failover that moved PostgreSQL's address, the pool's idle connections are dead without a
    word: the first look at the queue and a clerk's first "next" (its token looked up first) are
    served, the read that found its connection lost run again on a fresh one, not answered 503."""
    link = MovedAddressLink()
    try:
        srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": _at_first_use(migrated_pg_url, link)})
        http = srv.session()
        keypad = {"Authorization": f"Bearer {srv.token('counter', 1)}"}
        for turn in range(3):  # (a background look may find a dead connection first: not luck, three turns)
            assert issue(http, "HT")["number"] == 1001 + turn
            _fill_the_pool(srv)
            link.fail_over()
            queue = http.get("/api/v1/queue")
            assert queue.status_code == 200, queue.text
            assert next(s for s in queue.json()["services"] if s["code"] == "HT")["waiting"] == 1
            _fill_the_pool(srv)
            link.fail_over()
            called = http.post("/api/v1/counters/1/next", headers=keypad)
            assert called.status_code == 200, called.text
            assert called.json()["number"] == 1001 + turn
        assert "A fault of the server" not in srv.log()
        assert "found lost by a transaction's first statement: it runs again on a fresh one" in srv.log()
    finally:
        link.close()


@pytest.mark.postgres
def test_without_the_group_writer_the_first_ticket_after_a_failover_is_issued(live_server, migrated_pg_url):
    """QUEUEKIOSK_PG_GROUP_COMMIT=0 (each write its own transaction): the first ticket after a failover
    that moved the address is issued, its transaction run again on a fresh connection (its first
    statement found the connection lost: nothing of it happened); no number is lost or given twice."""
    link = MovedAddressLink()
    try:
        address = _at_first_use(migrated_pg_url, link)
        srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": address, "QUEUEKIOSK_PG_GROUP_COMMIT": "0"})
        http = srv.session()
        assert issue(http, "HT")["number"] == 1001
        for turn in range(3):
            _fill_the_pool(srv)
            link.fail_over()
            ticket = http.post("/api/v1/tickets", json={"service": "HT"})
            assert ticket.status_code == 201, ticket.text
            assert ticket.json()["number"] == 1002 + turn
        assert issue(http, "HT")["number"] == 1005
        assert "A fault of the server" not in srv.log()
        assert "found lost by a transaction's first statement: it runs again on a fresh one" in srv.log()
    finally:
        link.close()


def _fill_the_pool(srv) -> None:
    """Looks side by side: the pool holds connections of a moment ago."""
    with ThreadPoolExecutor(4) as looks:
        assert {r.status_code for r in looks.map(_look_at_the_queue, [srv] * 8)} == {200}


KIOSK_WAITS = 10  # seconds a kiosk waits for its ticket before it gives up (queuekiosk.js API_TIMEOUT_MS)


@pytest.mark.postgres
def test_a_ticket_whose_write_was_under_way_at_a_failover_is_issued_before_the_kiosk_gives_up(
    live_server, config_variant, migrated_pg_url
):
    """A failover that moved the address comes as the group writer's batch of a citizen's ticket goes
    out: the old primary took its first round trip (the BEGIN, ...) and died. No answer ever comes,
    and nothing says so on the connection until the server's TCP keepalive probe, which the address's
    new holder answers with a reset. The ticket is issued, on a fresh connection, before the kiosk
    gives up (before, the first probe came 10 s after the last word: the kiosk had given up, its number
    issued to nobody); no number is lost or given twice."""
    config = config_variant()
    config["printers"] = [{"id": "kiosk-1", "driver": "agent"}]  # (no printing's writes: the ticket's is caught)
    link = MovedAddressLink()
    try:
        srv = live_server(config, env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url.replace(":5432/", f":{link.port}/")})
        http = srv.session()
        assert issue(http, "HT")["number"] == 1001
        link.fail_over_at(XACT.encode())  # (with the BEGIN of the group writer's next batch)
        ticket = http.post("/api/v1/tickets", json={"service": "HT"}, timeout=KIOSK_WAITS)
        assert link.failed_over.is_set()
        assert ticket.status_code == 201, ticket.text
        assert ticket.json()["number"] == 1002
        assert issue(http, "HT")["number"] == 1003
        assert "A fault of the server" not in srv.log()
        assert "was found lost at its start: it runs again on a fresh one" in srv.log()
    finally:
        link.close()


@pytest.mark.postgres
def test_a_first_statement_ended_by_an_administrator_while_it_runs_is_not_run_again(pg_url, _pg_admin):
    """An administrator ends (pg_terminate_backend) a session whose transaction's first statement is
    running: the statement had started, so it fails (503-class) and is not started again on a fresh
    connection; what it did that no rollback undoes (a sequence's number) happened once."""
    psycopg = pytest.importorskip("psycopg")
    engine = create_db_engine(pg_url)
    holder = psycopg.connect(pg_url, autocommit=True)  # (advisory locks are a database's own)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE SEQUENCE pgfail2_s"))
        with engine.connect() as conn:  # the pool holds a connection whose transaction is over
            conn.execute(text("SELECT 1")).all()
        database = pg_url.rsplit("/", 1)[1]
        holder.execute("SELECT pg_advisory_lock(7731)")  # the statement waits for it: it runs until ended
        outcome = []

        def first_statement():
            with engine.connect() as conn:
                try:
                    outcome.append(conn.execute(text("SELECT nextval('pgfail2_s'), pg_advisory_lock(7731)")).all())
                except Exception as error:
                    outcome.append(error)

        runner = threading.Thread(target=first_statement)
        runner.start()
        waiting = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
        while not (pids := _pg_admin.execute(waiting, (database,)).fetchall()):
            assert not outcome, outcome  # (it must still be waiting for the lock)
            time.sleep(0.05)
        _pg_admin.execute("SELECT pg_terminate_backend(%s)", pids[0])
        holder.close()  # the lock free: a statement run again would now get through
        runner.join()
        assert isinstance(outcome[0], Exception), outcome
        assert isinstance(outcome[0].orig, psycopg.OperationalError)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT last_value FROM pgfail2_s")).scalar() == 1  # (started once)
    finally:
        holder.close()
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("returning", [False, True], ids=["executemany", "insertmanyvalues"])
def test_a_write_of_several_rows_that_opens_a_transaction_on_a_lost_connection_is_written_once(
    pg_url, returning, caplog
):
    """A write of several rows (psycopg's executemany; with RETURNING, SQLAlchemy's insertmanyvalues,
    which reads the rows from the cursor it holds) as the first statement on a pooled connection lost
    by a failover that moved the address: its BEGIN finds the connection lost before anything of it
    was sent, and it is written on a fresh connection, once (no action of the server does this as a
    transaction's first statement today: its writes of several rows follow a read or a write)."""
    link = MovedAddressLink()
    engine = create_db_engine(_at_first_use(pg_url, link))
    try:
        table = Table("pgfail2_t", MetaData(), Column("id", Integer, primary_key=True), Column("v", Integer))
        with engine.begin() as conn:
            table.create(conn)
        with engine.connect() as conn:
            before = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            conn.commit()
            link.fail_over()
            write = insert(table).returning(table.c.v) if returning else insert(table)
            paged = conn.execution_options(insertmanyvalues_page_size=2)  # (insertmanyvalues: 2 batches)
            result = paged.execute(write, [{"v": 1}, {"v": 2}, {"v": 3}])
            if returning:  # (read from the cursor SQLAlchemy held)
                assert sorted(result.scalars()) == [1, 2, 3]
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != before  # (on a fresh connection)
            conn.commit()
        with engine.connect() as conn:
            assert sorted(conn.execute(text("SELECT v FROM pgfail2_t")).scalars()) == [1, 2, 3]
        assert "found lost by a transaction's first statement" in caplog.text
    finally:
        engine.dispose()
        link.close()


@pytest.mark.postgres
def test_a_streamed_read_that_opens_a_transaction_after_a_failover_is_served(pg_url, caplog):
    """A read whose rows come a few at a time (``stream_results``: a server-side cursor, psycopg's
    ServerCursor) as the first statement on a pooled connection lost by a failover that moved the
    address: it is served on a fresh connection through a cursor of its own kind, not answered with a
    fault of the server (no action of the server streams a read today)."""
    psycopg = pytest.importorskip("psycopg")
    link = MovedAddressLink()
    engine = create_db_engine(_at_first_use(pg_url, link))
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            conn.commit()
            link.fail_over()
            streamed = conn.execution_options(stream_results=True, max_row_buffer=2)
            result = streamed.execute(text("SELECT generate_series(1, 5), pg_backend_pid()"))
            assert isinstance(result.cursor, psycopg.ServerCursor)
            rows = result.all()
            assert [n for n, _ in rows] == [1, 2, 3, 4, 5]
            assert {pid for _, pid in rows} != {before}  # (on a fresh connection)
        assert "found lost by a transaction's first statement" in caplog.text
    finally:
        engine.dispose()
        link.close()


@pytest.mark.postgres
def test_a_deferred_write_that_opens_a_transaction_after_a_failover_is_written_once(
    make_queue, config, migrated_pg_url, caplog, _pg_admin
):
    """QUEUEKIOSK_PG_GROUP_COMMIT=0: a write transaction whose first statement is an event kept to go
    with the next statement (a read, a write of several rows) or alone with the COMMIT, after a
    failover that moved the address. The BEGIN ahead of it finds the pooled connection lost; it is
    written on a fresh one (another backend of PostgreSQL's, the move logged), once, and the next
    statement runs there too (none of it had been sent)."""
    import datetime as dt

    from queuekiosk.server.core.db import write_transaction
    from queuekiosk.server.core.engine.records import E, record_event

    link = MovedAddressLink()
    try:
        queue = make_queue(config, _at_first_use(migrated_pg_url, link))
        now = dt.datetime(2026, 3, 2, 2, 30)
        for turn, then in enumerate(("read", "commit", "rows", "read")):
            with queue.engine.connect() as conn:  # the pool holds a connection of a moment ago
                conn.execute(text("SELECT 1")).all()
            before = _sessions(_pg_admin, migrated_pg_url)
            link.fail_over()
            with write_transaction(queue.engine) as conn:
                record_event(conn, queue.site, "note", now, None, detail={"turn": turn})  # kept for later
                if then == "read":  # ... sent ahead of SQLAlchemy's statement, which sees it
                    seen = conn.execute(text("SELECT count(*) FROM events WHERE kind = 'note'")).scalar()
                    assert seen == turn + 1
                elif then == "rows":  # (SQLAlchemy's executemany)
                    row = {"site_id": queue.site.id, "kind": "other", "at": now, "detail": {"turn": turn}}
                    conn.execute(insert(E), [row, row])
            assert _sessions(_pg_admin, migrated_pg_url) - before  # (a session begun since: the connection swapped)
        assert caplog.text.count("found lost by a transaction's first statement") == 4
        notes = [(e.kind, e.detail["turn"]) for e in queue.events() if e.kind in ("note", "other")]
        assert notes == [("note", 0), ("note", 1), ("note", 2), ("other", 2), ("other", 2), ("note", 3)]
    finally:
        link.close()


def _sessions(admin, url: str) -> set[int]:
    """The backends (sessions) PostgreSQL has for the database of ``url``."""
    query = "SELECT pid FROM pg_stat_activity WHERE datname = %s"
    return {pid for (pid,) in admin.execute(query, (url.rsplit("/", 1)[1],))}
