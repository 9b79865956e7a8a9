"""A group-commit batch whose connection is lost once its COMMIT was sent (server/core/pg_writer.py,
pg_commit.py): the server asks PostgreSQL, on a fresh connection, what became of the batch's
transaction. Committed: its callers are answered as if the COMMIT's answer had come (a ticket 201,
a clerk's call 200 and on the lobby screen), never 503 for a number that was used. Rolled back: it
runs again once on a fresh connection; cut again, its callers hear 503 and no number was used. The
link (pg_link_helpers.CommitCutLink) cuts the connection right after, or right before, it forwards
the COMMIT to the machine's PostgreSQL."""

from __future__ import annotations

import contextlib
import re
import time

import gevent
import pytest
from api_helpers import assert_error, issue
from group_commit_helpers import issue_then_refuse, numbers_by_service, together
from keypad_helpers import keypads, ticket
from pg_link_helpers import CommitCutLink, CuttableLink
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import faults, outbox, pg_writer
from queuekiosk.server.core.db import create_db_engine
from queuekiosk.server.core.engine.prepared import Prepared
from queuekiosk.server.core.errors import QueueError
from queuekiosk.server.core.faults import outcome_unknown
from queuekiosk.server.core.pg_commit import COMMITTED, ROLLED_BACK, SERVER, UNKNOWN, XACT, commit_outcome

pytestmark = pytest.mark.postgres

WRITERS = "RELEASE SAVEPOINT"  # the group writer's COMMIT goes with the release of its last savepoint
# a live server's own writes (the delivery worker's, the lapse and prune loops') must not take the cut
TICKET, CALL = "INSERT INTO tickets", "UPDATE tickets"


@pytest.fixture
def link():
    link = CommitCutLink()
    yield link
    link.close()


def through_link(live_server, database_url: str, link: CommitCutLink, config=None):
    """A live server on PostgreSQL through ``link``, its lapse loop held off (its UPDATE of tickets,
    every 30 s, could take a cut meant for a clerk's call)."""
    url = database_url.replace(":5432/", f":{link.port}/")
    return live_server(config, env={"QUEUEKIOSK_DATABASE_URL": url, "QUEUEKIOSK_LAPSE_SECONDS": "3600"})


def issued_once_through_a_cut(live_server, database_url: str, link: CommitCutLink, when: str):
    """A live server through ``link`` whose second ticket's COMMIT is cut ``when`` (arm's): the ticket is
    issued all the same, 1002, once. The server, and the session that took the tickets."""
    srv = through_link(live_server, database_url, link)
    http = srv.session()
    assert issue(http, "HT")["number"] == 1001
    link.arm(when, TICKET)
    ticket = http.post("/api/v1/tickets", json={"service": "HT"})
    assert link.cuts == 1
    assert ticket.status_code == 201, ticket.text
    assert ticket.json()["number"] == 1002
    return srv, http


# pg_writer's line about a batch whose COMMIT PostgreSQL could not tell of: its size and what its callers heard
_COULD_NOT_TELL = re.compile(
    r"a batch of (\d+) actions to PostgreSQL was lost once its COMMIT was sent \(transaction \d+\):"
    r" PostgreSQL could not tell \([^)]*\): its callers: (.*)$",
    re.MULTILINE,
)
_TOLD_UNKNOWN = "told the outcome is unknown (it may have been written)"
_MAY_HAVE_BEEN_WRITTEN = re.compile(r"Database outcome unknown: .* It may have been written \((.+?): ", re.MULTILINE)


def callers_told_unknown(log: str) -> list[str]:
    """Who heard that the one batch's write PostgreSQL could not tell of may have been done: the caller
    each "Database outcome unknown" line names (a request, or the server's own work, e.g. "printer
    kiosk-1 state", "delivery worker": a live server's background writes may share the batch). Checked
    against the batch's line: its callers all counted, and as many told so as such lines."""
    (batch,) = _COULD_NOT_TELL.findall(log)
    size, said = int(batch[0]), dict(reversed(part.split(" ", 1)) for part in batch[1].split("; "))
    assert sum(int(count) for count in said.values()) == size, batch
    told = _MAY_HAVE_BEEN_WRITTEN.findall(log)
    assert int(said.get(_TOLD_UNKNOWN, 0)) == len(told), (batch, told)
    return told


def test_a_ticket_and_a_call_whose_commit_reached_postgresql_are_answered(
    live_server, migrated_pg_url, sio_client, link
):
    srv = through_link(live_server, migrated_pg_url, link)
    http = srv.session()
    keypad = {"Authorization": f"Bearer {srv.token('counter', 1)}"}
    assert issue(http, "HT")["number"] == 1001
    display = sio_client(srv)
    assert display.subscribe({"display": "lobby"}) == {"ok": True}

    link.arm("after", TICKET)
    ticket = http.post("/api/v1/tickets", json={"service": "HT"})
    assert link.cuts == 1
    assert ticket.status_code == 201, ticket.text  # (before: 503 database_busy, the number used all the same)
    assert ticket.json()["number"] == 1002

    mark = display.mark()
    link.arm("after", CALL)
    called = http.post("/api/v1/counters/1/next", headers=keypad)
    assert link.cuts == 2
    assert called.status_code == 200, called.text  # (before: 503, and the ticket "called" on no screen)
    assert called.json()["number"] == 1001
    display.wait_for("ticket.called", lambda event: event["ticket"]["number"] == 1001, since=mark)

    assert issue(http, "HT")["number"] == 1003  # none given twice, none lost
    waiting = next(s for s in http.get("/api/v1/queue").json()["services"] if s["code"] == "HT")["waiting"]
    assert waiting == 2  # 1002 and 1003: 1001 is called
    log = srv.log()
    assert log.count("PostgreSQL says it committed: its callers are answered") == 2, log[-3000:]
    assert "A fault of the server" not in log


def test_a_ticket_whose_commit_never_reached_postgresql_is_issued_once_or_refused(live_server, migrated_pg_url, link):
    """Cut before PostgreSQL read the COMMIT: the transaction rolled back with its session, and the batch
    runs again on a fresh connection (the citizen gets the next number, once). Cut again there: the
    citizen hears 503 and the number is the next ticket's."""
    srv, http = issued_once_through_a_cut(live_server, migrated_pg_url, link, "before")
    link.arm("before", TICKET, times=2)
    assert_error(http.post("/api/v1/tickets", json={"service": "HT"}), 503, "database_busy")
    assert link.cuts == 3
    assert issue(http, "HT")["number"] == 1003  # the refused one used no number
    log = srv.log()
    assert log.count("PostgreSQL says it rolled back: it runs again on a fresh connection") == 2, log[-3000:]
    assert "A fault of the server" not in log


def test_a_ticket_whose_commit_postgresql_could_not_be_asked_about_is_told_it_may_be_issued(
    live_server, migrated_pg_url, link
):
    """The COMMIT reached PostgreSQL, but the server cannot reach it to ask (a few seconds): the citizen
    hears 503 ``database_outcome_unknown`` (it may have been done: check before trying again), not
    "busy, nothing was changed"; the number was indeed used."""
    srv = through_link(live_server, migrated_pg_url, link)
    http = srv.session()
    assert issue(http, "HT")["number"] == 1001
    link.arm("after", TICKET, then_refuse=True)
    ticket = http.post("/api/v1/tickets", json={"service": "HT"}, headers={"Accept-Language": "vi"})
    link.refusing = False
    assert link.cuts == 1
    assert_error(ticket, 503, "database_outcome_unknown")
    assert "có thể đã được thực hiện" in ticket.json()["error"]["message"]
    assert issue(http, "HT")["number"] == 1003  # 1002 was committed: never given again
    log = srv.log()
    told = callers_told_unknown(log)
    # the citizen's, and no other request's (the others, if any: the server's own writes in that batch)
    assert [caller for caller in told if re.match(r"[A-Z]+ /", caller)] == ["POST /api/v1/tickets"], told
    assert "Nothing was written (POST /api/v1/tickets" not in log


def test_a_ticket_whose_commit_is_held_with_its_session_open_is_issued_once(live_server, migrated_pg_url, link):
    """The COMMIT never reaches PostgreSQL, whose session stays open in the transaction (a client gone
    without a word, PostgreSQL not yet told): asked, PostgreSQL says the transaction is in progress. Its
    session is ended (pg_terminate_backend of that process and transaction), the transaction then rolled
    back, and the batch runs again: the citizen gets the next number, once (not 503 after ASK_SECONDS
    of "in progress")."""
    srv, http = issued_once_through_a_cut(live_server, migrated_pg_url, link, "hold")
    assert link.held_ended.wait(5)  # (the held session was ended by the server's question)
    assert issue(http, "HT")["number"] == 1003  # none given twice, none lost
    log = srv.log()
    assert log.count("PostgreSQL says it rolled back: it runs again on a fresh connection") == 1, log[-3000:]


def test_a_keypad_press_whose_commit_postgresql_could_not_tell_of_is_sent_again_and_done_once(
    live_server, migrated_pg_url, link
):
    """A clerk's "next" at the keypad whose COMMIT's answer was lost, and the server's question about it
    cut too: 503 ``database_outcome_unknown``. The keypad sends the press again with its Idempotency-Key
    (the server answers a press it did with its first answer): meanwhile it says so, not the server's
    "check before trying again" (it showed that while it tried again by itself). The call is made once."""
    srv = through_link(live_server, migrated_pg_url, link)
    http = srv.session()
    first, second = issue(http, "HT"), issue(http, "HT")
    with contextlib.closing(keypads(srv)) as started:
        term = next(started)(1)
        term.wait_for(r"Đang chờ: 2")
        link.arm("after", CALL, then_cut="pg_xact_status")
        term.press("\r")
        term.wait_for(rf"Đã gọi số {first['display']}", timeout=15)
        shown = term.output
    assert link.cuts == 1
    assert "Chưa rõ kết quả — hỏi lại" in shown, shown[-3000:]  # (the keypad's own words)
    assert "trước khi thử lại" not in shown, shown[-3000:]  # (the server's, for a person who would try again)
    assert ticket(http, first["id"])["status"] == "called"
    assert ticket(http, second["id"])["status"] == "waiting"  # (called once)
    assert "Database outcome unknown" in srv.log()


def test_a_keypad_giving_up_on_an_unconfirmed_press_shows_the_counter_as_the_server_has_it(
    live_server, migrated_pg_url, link
):
    """A clerk's "next" whose COMMIT's answer was lost, PostgreSQL out of reach to ask for ASK_SECONDS: the
    503 ``database_outcome_unknown`` comes after the keypad's ``--retry-seconds``, and it gives up. The call
    was committed, but the server sent no event of it: the keypad asks for the counter's state before it
    tells the clerk to check the current number (asking again while PostgreSQL is still out of reach), and
    shows the number called (it showed the number of before the press, and the clerk, told to check it,
    pressed again: the next citizen called too)."""
    srv = through_link(live_server, migrated_pg_url, link)
    http = srv.session()
    first, second = issue(http, "HT"), issue(http, "HT")
    with contextlib.closing(keypads(srv)) as started:
        term = next(started)(1, extra=["--retry-seconds", "1"])
        term.wait_for(r"Đang chờ: 2")
        link.arm("after", CALL, then_refuse=True)
        term.press("\r")
        try:
            srv.wait_log("Database outcome unknown", 15)  # (answered: the keypad gives up)
        finally:
            link.refusing = False  # (PostgreSQL back: the counter's state can be read)
        shown = term.wait_for(r"Chưa xác nhận được “", timeout=10)
    assert link.cuts == 1
    assert ticket(http, first["id"])["status"] == "called"  # (committed)
    assert ticket(http, second["id"])["status"] == "waiting"
    assert f"Số hiện tại: {first['display']}" in shown and "Đang chờ: 1" in shown, shown
    assert "Màn hình vừa cập nhật" in shown, shown


@pytest.mark.parametrize("event", ["agent.hello", "print.done"])
def test_a_kiosk_agents_report_whose_commit_postgresql_could_not_be_asked_about_is_told_it_may_be_done(
    live_server, migrated_pg_url, link, config_variant, sio_client, event
):
    """Over Socket.IO as over HTTP: a kiosk agent's report of a job printed (``agent.hello``'s jobs
    printed unconfirmed, ``print.done``) whose write lost its COMMIT, PostgreSQL out of reach to ask, is
    answered ``database_outcome_unknown`` (it may have been done), in Vietnamese and English, not
    ``database_busy`` ("nothing was changed"; agent.hello's before), nor left unanswered (print.done's
    before: the agent waited out its call)."""
    config = config_variant()
    config["printers"] = [{"id": "kiosk-1", "driver": "agent", "check_seconds": 0.5, "retry_seconds": 0.3}]
    srv = through_link(live_server, migrated_pg_url, link, config)
    issue(srv.session(), "HT", kiosk="kiosk-1")  # (a job for the agent's printer)
    agent = sio_client(srv, auth={"token": srv.kiosk_token()})
    assert agent.sio.call("agent.hello", {"kiosk": "kiosk-1", "printed": []}, timeout=5)["ok"] is True
    (job,) = agent.sio.call("print.fetch", {}, timeout=5)["jobs"]
    link.arm("after", "UPDATE print_jobs SET status", then_refuse=True)
    report = (
        {"kiosk": "kiosk-1", "printed": [job["key"]]} if event == "agent.hello" else {"job": job["id"], "printed": True}
    )
    answer = agent.sio.call(event, report, timeout=15)
    link.refusing = False
    assert link.cuts == 1
    error = answer["error"]
    assert error["code"] == "database_outcome_unknown", answer
    assert "có thể đã được thực hiện" in error["message"]
    assert "may have been done" in error["translations"]["en"]["message"]
    log = srv.log()  # (another caller's "Nothing was written" may be true: a look while PostgreSQL was refused)
    assert event in callers_told_unknown(log) and f"Nothing was written ({event}: " not in log


def saved_printer_state(database_url: str, printer_id: str, state: str, timeout: float = 15) -> None:
    """Wait until the printer's row in ``printer_states`` (what every other process shows) says ``state``."""
    engine = create_db_engine(database_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with engine.connect() as conn:
                saved = conn.scalar(text("SELECT state FROM printer_states WHERE printer_id = :id"), {"id": printer_id})
            if saved == state:
                return
            assert time.monotonic() < deadline, f"printer {printer_id}'s saved state: {saved}, not {state}"
            time.sleep(0.1)
    finally:
        engine.dispose()


def test_a_printers_state_whose_commit_postgresql_could_not_tell_of_is_said_so_and_saved_again(
    live_server, migrated_pg_url, link, config_variant, tmp_path
):
    """A write of the server's own in a batch whose COMMIT was lost before it reached PostgreSQL (rolled
    back), PostgreSQL's answer to the question cut: the spooler's save of a printer's new state. The log
    says it may have been written, as it says of a request's write (before: "Database busy … Nothing was
    written", or, within a minute of another such line, nothing: the batch's count of callers told had no
    line to match), and the state is saved again at the printer's next check (before: the row kept the old
    state, which every other process showed, until the state changed again)."""
    folder = tmp_path / "printed"
    config = config_variant()
    config["printers"] = [{"id": "kiosk-1", "driver": "file", "path": str(folder), "check_seconds": 0.3}]
    srv = through_link(live_server, migrated_pg_url, link, config)
    saved_printer_state(migrated_pg_url, "kiosk-1", "ready")
    link.arm("before", "INSERT INTO printer_states", then_cut="pg_xact_status")
    folder.rmdir()
    folder.write_bytes(b"")  # (a file where its folder was: it cannot print)
    saved_printer_state(migrated_pg_url, "kiosk-1", "offline")
    assert link.cuts == 1
    assert "printer kiosk-1 state" in callers_told_unknown(srv.log())


def test_a_kiosk_agents_printer_state_whose_commit_postgresql_could_not_tell_of_is_saved_again(
    live_server, migrated_pg_url, link, config_variant, sio_client
):
    """The same for a kiosk agent's printer: its agent reports a state only when it changes, so the save
    is made again at the printer's next check here (before: the row kept "ready", kept fresh as this
    process's, and every other process showed a printer out of paper as ready)."""
    config = config_variant()
    config["printers"] = [{"id": "kiosk-1", "driver": "agent", "check_seconds": 0.3}]
    srv = through_link(live_server, migrated_pg_url, link, config)
    agent = sio_client(srv, auth={"token": srv.kiosk_token()})
    assert agent.sio.call("agent.hello", {"kiosk": "kiosk-1", "printed": []}, timeout=5)["ok"] is True
    assert agent.sio.call("printer.report", {"state": "ready"}, timeout=5) == {"ok": True}
    saved_printer_state(migrated_pg_url, "kiosk-1", "ready")
    link.arm("before", "INSERT INTO printer_states", then_cut="pg_xact_status")
    assert agent.sio.call("printer.report", {"state": "paper_out"}, timeout=15) == {"ok": True}
    saved_printer_state(migrated_pg_url, "kiosk-1", "paper_out")
    assert link.cuts == 1
    assert "printer kiosk-1 state" in callers_told_unknown(srv.log())


@pytest.mark.parametrize("careful", [False, True], ids=["gathered", "one-at-a-time"])
@pytest.mark.parametrize("when", ["after", "before"])
def test_a_batch_of_tickets_cut_at_its_commit_gives_each_caller_its_own_number_once(
    make_queue, config, migrated_pg_url, pg_group_writer, link, careful, when
):
    """A batch of 12 tickets, its statements side by side (BEGIN, the transaction's id and the
    savepoint go in its first pipeline) or one action at a time (in its first query), cut at its COMMIT:
    every caller gets a ticket, numbers gap-free, none twice."""
    queue = make_queue(config, migrated_pg_url.replace(":5432/", f":{link.port}/"))
    writer = pg_group_writer(queue.engine, lanes=1)
    (lane,) = writer._lanes
    codes = list(queue.site.service_ids)[:2]
    assert isinstance(together(writer, queue.site, [(q.issue, (codes[0],))])[0], q.Outcome)  # (the lane connected)
    lane.careful = 1 if careful else 0
    link.arm(when, WRITERS)
    results = together(writer, queue.site, [(outbox.recording(q.issue), (codes[i % 2],)) for i in range(12)])
    assert link.cuts == 1
    assert all(isinstance(r, q.Outcome) for r in results), results
    found = numbers_by_service(queue)
    for code in codes:
        start = queue.site.config.service(code).numbers.start
        answered = sorted(r.ticket["number"] for r in results if r.ticket["service"] == code)
        assert found[code] == list(range(start, start + len(found[code]))), code  # gap-free, none twice
        assert answered == found[code][-6:], code
    assert writer.lost_commits == {("committed" if when == "after" else "rolled back"): 1}


_DIVIDE_BY_ZERO = Prepared(text("SELECT 1 / (:one - 1)"))


def issue_then_fail(conn, site, service, **kwargs):
    """Issuing's action that fails once it issued (PostgreSQL refuses its next statement)."""
    outcome = q.issue(conn, site, service, **kwargs)
    _DIVIDE_BY_ZERO.one(conn, {"one": 1})
    return outcome


def test_a_batch_ended_by_a_failed_action_and_cut_before_its_commit_issues_each_ticket_once(
    make_queue, config, migrated_pg_url, pg_group_writer, link
):
    """Five tickets and, last, an action that fails: the batch goes back to its savepoint and commits
    there (the five put off to run again). Cut before that COMMIT reached PostgreSQL, the batch runs
    again: the five put off by the run that failed must not run a second time on top of it (5 numbers,
    not 10)."""
    queue = make_queue(config, migrated_pg_url.replace(":5432/", f":{link.port}/"))
    writer = pg_group_writer(queue.engine, lanes=1)
    code = next(iter(queue.site.service_ids))
    assert isinstance(together(writer, queue.site, [(q.issue, (code,))])[0], q.Outcome)  # (the lane connected)

    link.arm("before", WRITERS)
    jobs = [(outbox.recording(q.issue), (code,)) for _ in range(5)] + [(issue_then_fail, (code,))]
    results = together(writer, queue.site, jobs)
    assert link.cuts == 1
    assert isinstance(results[-1], DBAPIError) and "division by zero" in str(results[-1]), results
    assert all(isinstance(r, q.Outcome) for r in results[:-1]), results
    start = queue.site.config.service(code).numbers.start
    assert numbers_by_service(queue)[code] == list(range(start, start + 6))  # the warm-up's and five
    assert sorted(r.ticket["number"] for r in results[:-1]) == list(range(start + 1, start + 6))
    assert writer.lost_commits == {ROLLED_BACK: 1}


def _read_one(conn, site):
    """An action that is not issuing's: it runs one at a time, after a gathered run of tickets."""
    return conn.execute(text("SELECT 1")).scalar()


@pytest.mark.parametrize("careful", [False, True], ids=["gathered", "one-at-a-time"])
def test_a_batch_whose_connection_is_lost_going_back_to_a_savepoint_tells_its_callers_busy(
    make_queue, config, migrated_pg_url, pg_group_writer, link, careful
):
    """A failed action in the middle of a batch: the batch goes back to its savepoint and sets the next
    (no COMMIT). The connection lost there, nothing of the batch happened: every caller hears the loss
    as a lost connection (SQLAlchemy's, 503 ``database_busy``), not the driver's own error (500), and
    the writer goes on with a fresh connection."""
    queue = make_queue(config, migrated_pg_url.replace(":5432/", f":{link.port}/"))
    writer = pg_group_writer(queue.engine, lanes=1)
    (lane,) = writer._lanes
    code = next(iter(queue.site.service_ids))
    assert isinstance(together(writer, queue.site, [(q.issue, (code,))])[0], q.Outcome)  # (the lane connected)

    lane.careful = 1 if careful else 0
    link.arm("before", at="ROLLBACK TO SAVEPOINT qk_action")
    jobs = [(q.issue, (code,)), (issue_then_fail, (code,)), (q.issue, (code,)), (_read_one, ())]
    results = together(writer, queue.site, jobs)
    assert link.cuts == 1
    assert all(isinstance(r, DBAPIError) and faults.kind_of(r) == "database_busy" for r in results), results
    # found lost by the statements going back to the savepoint themselves (not by the transaction's
    # rollback after them, which happened to give the same code)
    assert all("ROLLBACK TO SAVEPOINT qk_action" in str(r) for r in results), results
    start = queue.site.config.service(code).numbers.start
    assert numbers_by_service(queue)[code] == [start]  # (none of the cut batch's)
    assert together(writer, queue.site, [(q.issue, (code,))])[0].ticket["number"] == start + 1


def test_a_batch_rolled_back_at_its_commit_after_its_callers_gave_up_is_not_run_again(
    make_queue, config, migrated_pg_url, pg_group_writer, link, monkeypatch
):
    """Found rolled back once its callers have likely given up (``RUN_AGAIN_SECONDS`` after the batch
    began; a kiosk waits 10 s), the batch does not run again (a number issued then is one nobody takes):
    its callers hear the loss (503), and no number was used."""
    monkeypatch.setattr(pg_writer, "RUN_AGAIN_SECONDS", 0.0)
    queue = make_queue(config, migrated_pg_url.replace(":5432/", f":{link.port}/"))
    writer = pg_group_writer(queue.engine, lanes=1)
    code = next(iter(queue.site.service_ids))
    assert isinstance(together(writer, queue.site, [(q.issue, (code,))])[0], q.Outcome)
    link.arm("before", WRITERS)
    results = together(writer, queue.site, [(outbox.recording(q.issue), (code,)) for _ in range(3)])
    assert link.cuts == 1
    assert all(isinstance(r, DBAPIError) for r in results), (results, writer.lost_commits)
    assert writer.lost_commits == {ROLLED_BACK: 1}
    start = queue.site.config.service(code).numbers.start
    assert numbers_by_service(queue)[code] == [start]
    assert together(writer, queue.site, [(q.issue, (code,))])[0].ticket["number"] == start + 1


def test_a_batch_whose_callers_waited_behind_another_is_not_run_again_past_their_time(
    make_queue, config, migrated_pg_url, pg_group_writer, link, monkeypatch
):
    """The time a rolled-back batch may run again in is counted from its oldest caller's arrival, not
    from the batch's start: callers that waited behind a slow batch have used part of it."""
    monkeypatch.setattr(pg_writer, "RUN_AGAIN_SECONDS", 0.8)
    queue = make_queue(config, migrated_pg_url.replace(":5432/", f":{link.port}/"))
    writer = pg_group_writer(queue.engine, lanes=1)
    code = next(iter(queue.site.service_ids))
    assert isinstance(together(writer, queue.site, [(q.issue, (code,))])[0], q.Outcome)  # (the lane connected)

    def sleep_then_issue(conn, site, service, **kwargs):
        gevent.sleep(1.2)  # (a slow action: the lane's next batch waits)
        return q.issue(conn, site, service, **kwargs)

    link.arm("before", "ROLLBACK TO")  # (the COMMIT after a failed action: the second batch's only)
    slow = gevent.spawn(together, writer, queue.site, [(sleep_then_issue, (code,))])
    gevent.sleep(0.2)  # (the lane took the slow batch: these wait behind it)
    results = together(writer, queue.site, [(q.issue, (code,)), (issue_then_fail, (code,))])
    assert all(isinstance(r, q.Outcome) for r in slow.get()), slow.value
    assert link.cuts == 1
    assert all(isinstance(r, DBAPIError) for r in results), (results, writer.lost_commits)
    assert writer.lost_commits == {ROLLED_BACK: 1}
    start = queue.site.config.service(code).numbers.start
    assert numbers_by_service(queue)[code] == [start, start + 1]  # (none of the cut batch's)


def issue_as_other_kind(conn, site, _tag, service, **kwargs):
    """Issuing as an action of another kind (its first argument names no service): it runs after the
    batch's tickets, one at a time; its number row above one the batch holds is put off to the next batch."""
    return q.issue(conn, site, service, **kwargs)


def a_batch_cut_at_its_commit_with_refused_and_put_off_actions(
    queue, writer, link, careful: bool, end_session: str = "", **cut
) -> list:
    """One batch of two tickets of the lower service, a third refused once it took its number (undone to
    its savepoint, the two gathered before it with it, then put off to the next batch), an action of
    another kind issuing in the higher service, and last one issuing in the lower, put off to the next
    batch (its row is below the one the batch holds: db.OutOfOrder), whose undoing carries the COMMIT,
    which ``link`` cuts (``cut``: CommitCutLink.arm's). ``careful``: a savepoint at every action (the
    two tickets then stay in the batch). ``end_session``: a URL from which the lane's idle session is
    ended first (pg_terminate_backend): the batch finds its connection lost at its start and runs again
    once, on a fresh one, whose COMMIT is the one cut. Each caller's result or error."""
    (lane,) = writer._lanes
    low, high = sorted(queue.site.service_ids, key=queue.site.service_ids.get)[:2]
    assert isinstance(together(writer, queue.site, [(q.issue, (low,))])[0], q.Outcome)  # (the lane connected)
    if end_session:
        engine = create_db_engine(end_session)
        try:
            with engine.connect() as conn:  # (waits up to 5 s for the session to end)
                pid = lane._connection.connection.dbapi_connection.info.backend_pid
                assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()
        finally:
            engine.dispose()
    lane.careful = 1 if careful else 0
    link.arm(at="COMMIT", sql_holds=WRITERS, **cut)
    jobs = [(outbox.recording(q.issue), (low,)), (outbox.recording(q.issue), (low,)), (issue_then_refuse, (low,))]
    jobs += [(issue_as_other_kind, ("high", high)), (issue_as_other_kind, ("low", low))]
    results = together(writer, queue.site, jobs)
    assert link.cuts == 1
    assert writer.lost_at_start == (1 if end_session else 0)
    return results


def the_lost_commits_warning(caplog) -> str:
    return next(r.getMessage() for r in caplog.records if "lost once its COMMIT was sent" in r.getMessage())


@pytest.mark.parametrize("careful", [False, True], ids=["gathered", "one-at-a-time"])
def test_actions_put_off_or_refused_in_a_batch_whose_commit_postgresql_could_not_tell_of_are_not_told_it(
    make_queue, config, migrated_pg_url, pg_group_writer, link, careful, caplog
):
    """A batch cut once its COMMIT reached PostgreSQL, which cannot then be asked about it: only the
    callers whose writes were in that transaction hear it may have been done (503
    ``database_outcome_unknown``). Actions refused in it or put off to the next batch (undone before the
    COMMIT, or not yet run: nothing of them in it) run in the next batch, each once: numbers gap-free,
    none twice; the refused one, refused again there, hears its refusal."""
    queue = make_queue(config, migrated_pg_url.replace(":5432/", f":{link.port}/"))
    writer = pg_group_writer(queue.engine, lanes=1)
    results = a_batch_cut_at_its_commit_with_refused_and_put_off_actions(
        queue, writer, link, careful, when="after", then_cut="pg_xact_status"
    )
    assert isinstance(results[2], QueueError) and results[2].code == "closed", results
    low, high = sorted(queue.site.service_ids, key=queue.site.service_ids.get)[:2]
    written = [0, 1, 3] if careful else [3]  # (in the transaction whose COMMIT was cut)
    for index in written:
        assert isinstance(results[index], DBAPIError) and outcome_unknown(results[index]), (index, results)
    ran_again = [index for index in (0, 1, 4) if index not in written]
    for index in ran_again:
        assert isinstance(results[index], q.Outcome), (index, results)
    assert writer.lost_commits == {UNKNOWN: 1}
    start = queue.site.config.service(low).numbers.start
    found = numbers_by_service(queue)
    assert found == {low: list(range(start, start + 4)), high: [queue.site.config.service(high).numbers.start]}
    # each one put off got a number of its own, after the cut batch's (those of the lower service it wrote)
    assert sorted(results[index].ticket["number"] for index in ran_again) == found[low][4 - len(ran_again) :]
    told = f"its callers: {len(written)} told the outcome is unknown (it may have been written); "
    told += f"{len(ran_again) + 1} run again in the next batch (nothing of theirs was written)"
    assert told in the_lost_commits_warning(caplog)


@pytest.mark.parametrize("when", ["after", "before"])
def test_actions_put_off_in_a_batch_cut_at_its_commit_after_their_callers_gave_up_are_told_nothing_was_written(
    make_queue, config, migrated_pg_url, pg_group_writer, link, monkeypatch, when, caplog
):
    """As above, once the callers have likely given up (``RUN_AGAIN_SECONDS``): the actions refused or put
    off do not run again, their callers hear 503 ``database_busy`` (nothing of them was written; a
    refusal may rest on writes that never were), whether PostgreSQL could not tell of the COMMIT
    (``after``: those in it told it may have been done) or said it rolled back (``before``: all told
    busy)."""
    monkeypatch.setattr(pg_writer, "RUN_AGAIN_SECONDS", 0.0)
    queue = make_queue(config, migrated_pg_url.replace(":5432/", f":{link.port}/"))
    writer = pg_group_writer(queue.engine, lanes=1)
    results = a_batch_cut_at_its_commit_with_refused_and_put_off_actions(
        queue, writer, link, False, when=when, then_cut="pg_xact_status" if when == "after" else ""
    )
    low = min(queue.site.service_ids, key=queue.site.service_ids.get)
    busy = [0, 1, 2, 4] if when == "after" else [0, 1, 2, 3, 4]
    for index in busy:
        error = results[index]
        assert isinstance(error, DBAPIError) and not outcome_unknown(error), (index, results)
        assert faults.kind_of(error) == "database_busy", (index, results)
    if when == "after":
        assert outcome_unknown(results[3]), results
    assert writer.lost_commits == {UNKNOWN if when == "after" else ROLLED_BACK: 1}
    start = queue.site.config.service(low).numbers.start
    assert numbers_by_service(queue)[low] == [start]  # (the warm-up's: none of those put off ran)
    told = "1 told the outcome is unknown (it may have been written); 4" if when == "after" else "5"
    assert f"its callers: {told} told the database is busy (nothing was written)" in the_lost_commits_warning(caplog)


def test_actions_refused_or_put_off_in_a_batch_rolled_back_too_late_to_run_again_run_in_the_next_batch_while_fresh(
    make_queue, config, migrated_pg_url, pg_group_writer, link, monkeypatch, caplog
):
    """A batch found lost at its start runs again once (``may_run_again`` no more); that run's COMMIT cut
    before it reached PostgreSQL, which says it rolled back: too late to run again as a whole (its one
    run again spent), the action written in it hears the database is busy. Those refused or put off in
    it, whose callers came less than ``RUN_AGAIN_SECONDS`` ago (pg_writer._fresh), run in the lane's
    next batch, each once: numbers gap-free, none twice; the refused one, refused again there, hears its
    refusal. No timing: the callers stay fresh a minute."""
    monkeypatch.setattr(pg_writer, "RUN_AGAIN_SECONDS", 60.0)
    queue = make_queue(config, migrated_pg_url.replace(":5432/", f":{link.port}/"))
    writer = pg_group_writer(queue.engine, lanes=1)
    results = a_batch_cut_at_its_commit_with_refused_and_put_off_actions(
        queue, writer, link, False, end_session=migrated_pg_url, when="before"
    )
    assert isinstance(results[2], QueueError) and results[2].code == "closed", results
    assert all(isinstance(results[index], q.Outcome) for index in (0, 1, 4)), results
    assert isinstance(results[3], DBAPIError) and faults.kind_of(results[3]) == "database_busy", results
    assert not outcome_unknown(results[3]) and writer.lost_commits == {ROLLED_BACK: 1}
    low, high = sorted(queue.site.service_ids, key=queue.site.service_ids.get)[:2]
    start = queue.site.config.service(low).numbers.start
    assert numbers_by_service(queue) == {low: list(range(start, start + 4))}  # (the higher's: rolled back)
    said = "PostgreSQL says it rolled back: its callers: 1 told the database is busy (nothing was written); "
    said += "4 run again in the next batch (nothing of theirs was written)"
    assert said in the_lost_commits_warning(caplog)


def test_a_refusal_resting_on_a_write_of_its_batch_is_found_again_when_that_write_may_never_have_been(
    make_queue, make_config, config_data, migrated_pg_url, pg_group_writer, link, monkeypatch
):
    """The review's daily-limit case: a service of ``daily_limit`` 2 whose first number is taken, and a
    batch with a savepoint at every action. A takes the second place (its write kept in the
    transaction); B is refused ``daily_limit_reached``, counted with A's write, and undone, its undoing
    carrying the COMMIT. The COMMIT is cut before it reached PostgreSQL (which rolls back), and the
    question about it too (outcome unknown). A's caller hears it may have been done. B's refusal rested
    on A's write, which never was: B runs again in the next batch and gets the second place. Told its
    refusal instead, B's citizen would have heard "daily limit reached" (429 until the next opening)
    while a place was free. (B's caller stays fresh a minute: no timing.)"""
    monkeypatch.setattr(pg_writer, "RUN_AGAIN_SECONDS", 60.0)
    config_data["services"][0]["daily_limit"] = 2
    queue = make_queue(
        make_config(services=config_data["services"]), migrated_pg_url.replace(":5432/", f":{link.port}/")
    )
    writer = pg_group_writer(queue.engine, lanes=1)
    (lane,) = writer._lanes
    code = config_data["services"][0]["code"]
    assert isinstance(together(writer, queue.site, [(q.issue, (code,))])[0], q.Outcome)  # (the first place)
    lane.careful = 1
    link.arm("before", WRITERS, then_cut="pg_xact_status")
    results = together(writer, queue.site, [(q.issue, (code,)), (q.issue, (code,))])
    assert link.cuts == 1 and writer.lost_commits == {UNKNOWN: 1}
    assert isinstance(results[0], DBAPIError) and outcome_unknown(results[0]), results
    start = queue.site.config.service(code).numbers.start
    assert isinstance(results[1], q.Outcome) and results[1].ticket["number"] == start + 1, results
    assert numbers_by_service(queue)[code] == [start, start + 1]


def test_postgresql_is_asked_what_became_of_a_transaction_and_ends_a_session_still_holding_it(pg_url):
    """commit_outcome on the machine's PostgreSQL: a committed transaction is said committed; one still
    open in a session PostgreSQL has not seen end (its client gone without a word) has that session
    ended, and is said rolled back; told the server started at another time (restarted, or a replica
    promoted: a transaction id is only its server's), nothing is said."""
    psycopg = pytest.importorskip("psycopg")
    engine = create_db_engine(pg_url)
    holder = psycopg.connect(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE pgcommit_t (v int)"))
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO pgcommit_t VALUES (1)"))
            done = (*conn.execute(text(XACT)).one(), conn.execute(text(SERVER)).scalar())
        assert commit_outcome(engine, *done) == COMMITTED

        holder.execute("INSERT INTO pgcommit_t VALUES (2)")  # (its transaction left open)
        held = (*holder.execute(XACT).fetchone(), holder.execute(SERVER).fetchone()[0])
        assert commit_outcome(engine, *held) == ROLLED_BACK
        with pytest.raises(psycopg.OperationalError):  # (its session was ended)
            holder.execute("SELECT 1")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT array_agg(v) FROM pgcommit_t")).scalar() == [1]

        xid, backend, started = done
        elsewhere = started.replace(started[:4], str(int(started[:4]) - 1), 1)  # (a year before)
        assert commit_outcome(engine, xid, backend, elsewhere) == UNKNOWN
    finally:
        holder.close()
        engine.dispose()


def test_an_id_postgresql_does_not_know_or_a_server_reinitialised_since_gives_unknown_at_once(pg_url):
    """A crash-restart (a backend killed: the postmaster reinitialises, its start time kept) gives again
    the ids that left nothing on disk: asked then, PostgreSQL says the id is "in the future" (22023), and
    once given again, it may say another transaction's outcome. So an error of the question is "unknown"
    at once, never asked again; and the server is known by its shared statistics' reset time too, which
    the crash-restart resets (checked by hand on PostgreSQL 15, docs/deployment.md)."""
    engine = create_db_engine(pg_url)
    try:
        with engine.begin() as conn:
            done = (*conn.execute(text(XACT)).one(), conn.execute(text(SERVER)).scalar())
            now = conn.execute(
                text("SELECT pg_postmaster_start_time()::text, pg_stat_get_bgwriter_stat_reset_time()::text")
            ).one()
        xid, backend, server = done
        assert server == f"{now[0]} {now[1]}"
        began = time.monotonic()
        assert commit_outcome(engine, str(int(xid) + 10**6), backend, server) == UNKNOWN  # (in the future)
        reset_since = f"{now[0]} {now[1].replace(now[1][:4], str(int(now[1][:4]) + 1), 1)}"
        assert commit_outcome(engine, xid, backend, reset_since) == UNKNOWN
        assert time.monotonic() - began < 1.5  # (not asked again for ASK_SECONDS)
        assert commit_outcome(engine, *done) == COMMITTED
    finally:
        engine.dispose()


def test_postgresql_out_of_reach_is_asked_a_few_seconds_then_nothing_is_said(pg_url):
    link = CuttableLink()
    engine = create_db_engine(pg_url.replace(":5432/", f":{link.port}/"))
    try:
        with engine.begin() as conn:
            done = (*conn.execute(text(XACT)).one(), conn.execute(text(SERVER)).scalar())
        link.cut()
        began = time.monotonic()
        assert commit_outcome(engine, *done, seconds=1.5) == UNKNOWN
        assert 1.5 <= time.monotonic() - began < 5
        link.mend()
        assert commit_outcome(engine, *done) == COMMITTED
    finally:
        engine.dispose()
        link.close()


def test_an_answer_had_stands_when_the_connection_that_asked_is_lost_as_it_closes(pg_url):
    """PostgreSQL answered, then the connection that asked is lost before it is closed (whose closing
    would end its transaction on the wire): the answer stands, never an error of the closing (its
    callers would hear "nothing was changed" for a batch that committed)."""
    link = CuttableLink()
    engine = create_db_engine(pg_url.replace(":5432/", f":{link.port}/"))

    def cut_once_answered(conn, cursor, statement, *_args):
        if "pg_xact_status" in statement:
            link.cut()

    try:
        with engine.begin() as conn:
            done = (*conn.execute(text(XACT)).one(), conn.execute(text(SERVER)).scalar())
        event.listen(engine, "after_cursor_execute", cut_once_answered)
        assert commit_outcome(engine, *done) == COMMITTED
    finally:
        event.remove(engine, "after_cursor_execute", cut_once_answered)
        engine.dispose()
        link.close()
