"""`queuekiosk kiosk-agent` against the real server: a kiosk PC printing its kiosk's tickets.

The agent runs as its own process with a kiosk token and prints to a network test printer
on 127.0.0.1 (the same transport code as USB and serial, through python-escpos).
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import time

import pytest
from agent_helpers import Agent, Answering, StopsAtHandshake
from api_helpers import ALL_DAY_HOURS, issue, printers, wait_job
from printer_sim import PrinterSim, decode


@pytest.fixture
def agent_config(config_variant) -> dict:
    config = config_variant()
    config["printers"] = [
        {"id": "kiosk-1", "driver": "agent", "check_seconds": 0.5, "retry_seconds": 0.3, "form": "compact"}
    ]
    return config


@pytest.fixture
def agent_server(live_server, agent_config):
    return live_server(agent_config)


@pytest.fixture
def agent(agent_server, printer, tmp_path):
    running = Agent(agent_server, printer, tmp_path).start()
    yield running
    running.stop()


def printed_urls(printer: PrinterSim, count: int, agent: Agent) -> list[str]:
    """The QR codes of the first ``count`` tickets printed; with a failure to print them, the agent's log."""
    try:
        jobs = printer.wait_for_jobs(count, timeout=15)
    except AssertionError as failure:
        raise AssertionError(f"{failure}; the agent's log:\n{agent.log()}") from None
    return [decode(job).qr_codes[0] for job in jobs]


def assert_printed_once_in_order(http, printer: PrinterSim, tickets: list[dict], agent: Agent) -> None:
    assert printed_urls(printer, len(tickets), agent) == [t["track_url"] for t in tickets]
    for ticket in tickets:
        wait_job(http, ticket["id"], "printed")
    time.sleep(1)  # time enough for a second copy, were one coming
    assert len(printer.jobs) == len(tickets), agent.log()


def wait_printer_state(srv, state: str, timeout: float = 10, site: str | None = None) -> dict:
    http = srv.session()
    token = srv.token("admin" if site else "supervisor")
    deadline = time.monotonic() + timeout
    while True:
        now = printers(http, token, site)["kiosk-1"]
        if now["state"] == state:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"the agent's printer did not become {state!r}: {now}")
        time.sleep(0.1)


def test_the_agent_prints_the_kiosks_tickets_in_order(agent_server, agent, printer):
    http = agent_server.session()
    wait_printer_state(agent_server, "ready")  # the agent has reported its printer
    tickets = [issue(http, service, kiosk="kiosk-1") for service in ("HT", "CT", "DC", "HT")]
    assert_printed_once_in_order(http, printer, tickets, agent)


def test_no_ticket_is_lost_or_printed_twice_across_a_server_restart(agent_server, agent, printer):
    http = agent_server.session()
    before = [issue(http, "HT", kiosk="kiosk-1") for _ in range(2)]
    printed_urls(printer, 2, agent)
    agent_server.stop()
    agent.wait_log("cannot reach")  # the agent noticed and keeps trying
    agent_server.start()
    http = agent_server.session()
    after = [issue(http, "CT", kiosk="kiosk-1") for _ in range(3)]
    assert_printed_once_in_order(http, printer, before + after, agent)


def test_tickets_issued_while_the_agent_was_away_print_when_it_is_back(agent_server, printer, tmp_path):
    http = agent_server.session()
    tickets = [issue(http, "VH", kiosk="kiosk-1") for _ in range(3)]
    assert wait_printer_state(agent_server, "offline")["detail"] == "no kiosk agent is connected"
    running = Agent(agent_server, printer, tmp_path).start()
    try:
        assert printed_urls(printer, 3, running) == [t["track_url"] for t in tickets]
        for ticket in tickets:  # the agent reports each job after the printer took it
            wait_job(http, ticket["id"], "printed")
        wait_printer_state(agent_server, "ready")
    finally:
        running.stop()
    assert wait_printer_state(agent_server, "offline")["pending"] == 0


def test_a_ticket_taken_just_after_the_server_was_killed_and_started_again_prints_at_once(agent_server, agent, printer):
    """The server is held still (SIGSTOP) while the agent asks it for jobs, then killed and started again;
    the next ticket prints within seconds. The question put to the dead server waited out its whole
    10 s (python-socketio's call does, on a dropped connection): the ticket came out 7-9 s late."""
    wait_printer_state(agent_server, "ready")
    agent_server.proc.send_signal(signal.SIGSTOP)
    time.sleep(1)  # the agent asks for jobs every 0.5 s (check_seconds): a question is left unanswered
    agent_server.stop(graceful=False)
    agent_server.start()
    http = agent_server.session()
    ticket = issue(http, "HT", kiosk="kiosk-1")
    printed = printer.wait_for_jobs(1, timeout=5)  # the agent is back within about a second of the start
    assert [decode(job).qr_codes[0] for job in printed] == [ticket["track_url"]], agent.log()
    wait_job(http, ticket["id"], "printed")


# seconds from the restarted server's first answer to the first ticket printed: a retry about every 0.5 s
# (at most 0.65 s), the connect and the printing; the agent's back-off (10 s here) is far past it
RESTART_BOUND = 3.0


def test_the_first_ticket_after_a_server_restart_prints_within_seconds_of_its_start(agent_server, printer, tmp_path):
    """systemctl restart with the agent's back-off at a long step (10 s here; by default it had reached 2 to
    10 s after a restart's few seconds): the agent waited it out though the server was back, the kiosk said
    its printer could not print meanwhile, and the first ticket after the restart came out that late. While
    nothing answers at the server's address the agent tries about every 0.5 s, for as long as its back-off's
    longest wait (10 s here, 30 s by default) from the first such try."""
    running = Agent(agent_server, printer, tmp_path, backoff="0.5,10").start()
    try:
        wait_printer_state(agent_server, "ready")
        agent_server.stop()
        time.sleep(1.5)  # the stop and start of a restart: the agent's first tries find nothing listening
        agent_server.start()
        answered = time.monotonic()
        ticket = issue(agent_server.session(), "HT", kiosk="kiosk-1")
        printed = printer.wait_for_jobs(1, timeout=20)
        took = time.monotonic() - answered
        assert [decode(job).qr_codes[0] for job in printed] == [ticket["track_url"]], running.log()
        assert took < RESTART_BOUND, f"printed {took:.1f} s after the server answered again:\n{running.log()}"
    finally:
        running.stop()


def test_behind_nginx_whose_server_is_away_the_agent_tries_often_at_uneven_times_then_backs_off(
    agent_server, printer, tmp_path
):
    """nginx answering 502 (its server refused the connection: stopped, as in a restart) is tried about every
    0.5 s (0.35 to 0.65 s: the kiosks of a province tried in step, 2 a second each), for as long as the
    back-off's longest wait (5 s here, 30 s by default: it was 30 s whatever the back-off said), then with
    back-off from its first step."""
    nginx = Answering(502)
    running = Agent(agent_server, printer, tmp_path, backoff="0.2,5", url=nginx.url).start()
    try:
        log = running.wait_log("trying again in 5.0 s", timeout=20)
    finally:
        running.stop()
        nginx.close()
    assert log.count("trying again about every 0.5 s for 5 s, then with back-off") == 1, log
    assert log.index("about every") < log.index("trying again in 0.2 s") < log.index("trying again in 5.0 s"), log
    fast = nginx.gaps()[:-1]  # the last: the back-off's first step
    assert len(fast) >= 5 and max(fast) < 1.0, (fast, log)
    assert max(fast) - min(fast) > 0.1, f"the tries came in step: {fast}"


@pytest.mark.parametrize("status", [503, 504])
def test_a_server_that_answers_an_error_is_tried_with_back_off_from_the_first_try(
    agent_server, printer, tmp_path, status
):
    """A 503, or nginx's 504 (its server is up but did not answer in time: busy), is a server that answers:
    it is asked with back-off from the first try, not every 0.5 s (a 504 was, as a stopped server: a
    struggling server got two requests a second from each kiosk)."""
    nginx = Answering(status)
    running = Agent(agent_server, printer, tmp_path, backoff="0.2,0.5,1", url=nginx.url).start()
    try:
        log = running.wait_log("trying again in 1.0 s")
    finally:
        running.stop()
        nginx.close()
    assert "about every" not in log, log
    assert f"status code {status}" in log, log
    assert log.index("trying again in 0.2 s") < log.index("trying again in 0.5 s"), log


def test_a_server_that_stops_as_the_agent_reaches_it_is_tried_again_within_two_seconds(agent_server, printer, tmp_path):
    """The server answers the agent's handshake and stops before it takes the connection (a restart's SIGTERM
    as the agent reached it): the agent tries again about every 0.5 s, as while nothing answers (the check
    allows 2 s a try, for a loaded machine). It waited python-socketio's whole 10 s for the server to take
    the connection, then its back-off: once in 40 loaded restarts, the ticket taken after the restart came
    out 9-11 s late. ``agent_server`` gives the agent its token and settings only: it never reaches it."""
    stopping = StopsAtHandshake()
    running = Agent(agent_server, printer, tmp_path, backoff="0.2,5", url=stopping.url).start()
    try:
        deadline = time.monotonic() + 15
        while len(stopping.times) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        running.stop()
        stopping.close()
    gaps = stopping.gaps()
    assert len(gaps) >= 3 and max(gaps[:3]) < 2.0, f"tries {gaps} s apart:\n{running.log()}"
    said = "(the connection dropped before the server took it); trying again about every 0.5 s for 5 s"
    assert said in running.log(), running.log()


def test_the_server_tells_an_agent_what_one_connection_may_send(agent_server, sio_client):
    """The allowance of one connection is in the answer to agent.hello (40 events at once, then 5 a second):
    the agent keeps within the server's own, so an agent older than a server that lowers it does not flood it
    (it kept within the numbers it was shipped with)."""
    agent = sio_client(agent_server, auth={"token": agent_server.kiosk_token()})
    hello = agent.sio.call("agent.hello", {"kiosk": "kiosk-1", "printed": []}, timeout=5)
    assert (hello.get("events_burst"), hello.get("events_per_second")) == (40, 5), hello


def test_an_agent_catching_up_fifty_tickets_stays_connected_and_prints_each_once(agent_server, printer, tmp_path):
    """Fifty tickets taken while the agent was away, then the agent starts with a printer that takes each at
    once: it printed them faster than the server lets one connection send events (40 at once, then 5 a
    second), was disconnected as a flood (a warning in the server's log, the printer offline on the
    dashboard) and connected again. It now keeps within that allowance."""
    http = agent_server.session()
    tickets = [issue(http, "HT", kiosk="kiosk-1") for _ in range(50)]
    running = Agent(agent_server, printer, tmp_path).start()
    try:
        assert_printed_once_in_order(http, printer, tickets, running)
    finally:
        running.stop()
    assert "lost the connection" not in running.log(), running.log()
    assert "events in a burst" not in agent_server.log(), agent_server.log()[-3000:]


def test_paper_out_at_the_kiosk_shows_on_the_server_and_prints_later(agent_server, agent, printer):
    http = agent_server.session()
    wait_printer_state(agent_server, "ready")
    printer.set_state("paper_out")
    wait_printer_state(agent_server, "paper_out")  # reported by the agent while idle
    ticket = issue(http, "HT", kiosk="kiosk-1")
    time.sleep(1)
    assert printer.jobs == [] and printer.lost == []
    assert print_state(http, ticket) == "pending"
    printer.set_state("ready")
    assert printed_urls(printer, 1, agent) == [ticket["track_url"]]
    wait_job(http, ticket["id"], "printed")


def test_a_printer_hanging_mid_job_stays_not_responding_and_prints_once_when_back(
    agent_server, agent, printer, sio_client
):
    http = agent_server.session()
    wait_printer_state(agent_server, "ready")
    kiosk = sio_client(agent_server)
    assert kiosk.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
    printer.set_state("hang")  # answers its status query, stops reading part-way through a ticket
    ticket = issue(http, "HT", kiosk="kiosk-1")
    hung = wait_printer_state(agent_server, "offline", timeout=15)
    assert hung["detail"].startswith("not responding: it stopped taking the ticket part-way"), hung
    mark = kiosk.mark()
    time.sleep(6)  # the agent tries again (its driver waits 5 s for an answer): no flip to ready between
    assert print_state(http, ticket) == "pending"
    # offline it stays: on a loaded machine the retry's status query may time out too, which the
    # agent reports with that reason, but never as ready
    assert {e["state"] for e in kiosk.received("printer.status", since=mark)} <= {"offline"}
    printer.set_state("ready")
    assert printed_urls(printer, 1, agent) == [ticket["track_url"]]
    wait_job(http, ticket["id"], "printed")
    wait_printer_state(agent_server, "ready")
    time.sleep(1)
    assert len(printer.jobs) == 1


def print_state(http, ticket) -> str:
    return http.get(f"/api/v1/tickets/{ticket['id']}/print-jobs").json()["jobs"][-1]["status"]


def test_an_agent_with_a_display_token_is_refused_and_stops(agent_server, printer, tmp_path):
    running = Agent(agent_server, printer, tmp_path, token=agent_server.token("display")).start()
    try:
        assert running.proc.wait(20) == 2
    finally:
        running.stop()
    assert "forbidden" in running.log().lower() or "không được phép" in running.log()


# --- an agent of another site of the installation, and what becomes of it when its site or token goes


SITE = "xa-ben-kia"


def admin_http(srv):
    http = srv.session()
    http.headers["Authorization"] = f"Bearer {srv.token('admin')}"
    return http


def add_site_with_agent_kiosk(srv) -> None:
    """Site SITE (added while the server runs), its kiosk-1 printing through a kiosk agent."""
    add_site(srv)
    give_kiosk_an_agent_printer(srv)


def add_site(srv) -> None:
    """Site SITE, added while the server runs (its setup copied, with no printers)."""
    added = admin_http(srv).post("/api/v1/admin/sites", json={"id": SITE, "name": "Xã Bến Kia", "hours": ALL_DAY_HOURS})
    assert added.status_code == 201, added.text


def give_kiosk_an_agent_printer(srv) -> None:
    """SITE's kiosk-1 given a printer driven by a kiosk agent, at its admin page."""
    http = admin_http(srv)
    here = f"/api/v1/sites/{SITE}/admin"
    printer = {"id": "kiosk-1", "driver": "agent", "check_seconds": 0.5, "retry_seconds": 0.3}
    assert http.post(f"{here}/printers", json=printer).status_code == 201
    assert http.patch(f"{here}/kiosks/kiosk-1", json={"printer": "kiosk-1"}).status_code == 200


def issue_at_site(srv) -> dict:
    taken = srv.session().post(f"/api/v1/sites/{SITE}/tickets", json={"service": "HT", "kiosk": "kiosk-1"})
    assert taken.status_code == 201, taken.text
    return taken.json()


def kiosk_token_of(srv, site: str | None) -> dict:
    """A kiosk token of ``site`` bound to kiosk-1, made by its admin: ``{"id", "token", ...}``."""
    where = f"/api/v1/sites/{site}" if site else "/api/v1"
    made = admin_http(srv).post(f"{where}/admin/tokens", json={"role": "kiosk", "kiosk": "kiosk-1"})
    assert made.status_code == 201, made.text
    return made.json()


def test_an_agent_of_a_second_site_prints_that_sites_tickets(agent_server, printer, tmp_path):
    """``--server http://host/s/SITE`` with a kiosk token of SITE: the agent prints SITE's kiosk's tickets
    (python-socketio dropped the /s/SITE path: the agent reached the first site, which refused SITE's
    token, and it printed nothing, for ever). The first site's kiosk-1 tickets are not its own."""
    add_site_with_agent_kiosk(agent_server)
    token = kiosk_token_of(agent_server, SITE)["token"]
    running = Agent(agent_server, printer, tmp_path, token=token, site=SITE).start()
    try:
        citizen = agent_server.session()
        first = issue(citizen, "HT", kiosk="kiosk-1")  # the first site's kiosk-1: not this agent's printer
        taken = citizen.post(f"/api/v1/sites/{SITE}/tickets", json={"service": "HT", "kiosk": "kiosk-1"})
        assert taken.status_code == 201, taken.text
        ticket = taken.json()
        assert printed_urls(printer, 1, running) == [ticket["track_url"]], running.log()
        time.sleep(1)
        assert len(printer.jobs) == 1 and print_state(citizen, first) == "pending"
        assert "printing for kiosk kiosk-1" in running.log()
    finally:
        running.stop()


def test_a_print_done_for_a_site_removed_meanwhile_is_answered_as_at_an_unknown_site(agent_server, printer, tmp_path):
    """A ``print.done`` whose write fails as its site was removed on its way (its rows gone: a foreign key
    fails; here the site's row deleted by hand and a trigger failing the write) is refused as at any
    unknown site, as an HTTP request is: its connection dropped, to be told so as it connects again; not
    answered as a fault of the server (``internal``, a traceback in the server's log)."""
    add_site_with_agent_kiosk(agent_server)
    token = kiosk_token_of(agent_server, SITE)["token"]
    taken = agent_server.session().post(f"/api/v1/sites/{SITE}/tickets", json={"service": "HT", "kiosk": "kiosk-1"})
    assert taken.status_code == 201, taken.text
    db = sqlite3.connect(agent_server.instance / "queuekiosk.db", isolation_level=None)
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute(
        "CREATE TRIGGER as_a_foreign_key BEFORE UPDATE OF status ON print_jobs"
        " BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END"
    )
    db.execute("DELETE FROM sites WHERE id = ?", (SITE,))
    running = Agent(agent_server, printer, tmp_path, token=token, site=SITE).start()
    try:
        said = running.wait_log("lost the connection to the server")
        assert "printed 1001-job1" in said, said
        assert "A fault of the server, not of the database (print.done)" not in agent_server.log()
    finally:
        running.stop()
        db.close()


def test_an_agent_whose_token_is_revoked_says_so_and_stops(agent_server, printer, tmp_path):
    """The kiosk's token revoked while the agent prints: it ends with exit code 2 and one sentence saying
    what to do (it stayed disconnected, saying nothing, for ever)."""
    made = kiosk_token_of(agent_server, None)
    running = Agent(agent_server, printer, tmp_path, token=made["token"]).start()
    try:
        wait_printer_state(agent_server, "ready")
        assert admin_http(agent_server).delete(f"/api/v1/admin/tokens/{made['id']}").status_code in (200, 204)
        assert running.proc.wait(20) == 2, running.log()
    finally:
        running.stop()
    said = [line for line in running.log().splitlines() if "refused this agent's token" in line]
    assert len(said) == 1 and "token create --role kiosk" in said[0], running.log()


def test_an_agent_whose_site_is_removed_says_so_once_and_keeps_asking_slowly(
    live_server, agent_config, printer, tmp_path
):
    """SITE removed while its agent (an installation admin's token) is connected: the agent says once that
    the server has no such site and what to do, and keeps running, asking again every 30 s only (it
    retried silently): the server's access log shows no new connection of it for 5 s. Started with SITE's
    address after the removal, it says the same."""
    srv = live_server(agent_config, flags=("--ignore-hours", "--access-log"))
    add_site_with_agent_kiosk(srv)
    running = Agent(srv, printer, tmp_path, token=srv.token("admin"), site=SITE).start()
    later = None
    try:
        wait_printer_state(srv, "ready", site=SITE)
        assert admin_http(srv).delete(f"/api/v1/admin/sites/{SITE}").status_code == 204
        gone = re.compile(rf"Máy chủ không có điểm phục vụ {SITE} .* / The server has no site {SITE} .*every 30 s")
        deadline = time.monotonic() + 10
        while not gone.search(running.log()):
            assert time.monotonic() < deadline, running.log()
            time.sleep(0.2)
        asked = len(handshakes(srv))
        (tmp_path / "later").mkdir()
        later = Agent(srv, printer, tmp_path / "later", token=srv.token("admin"), site=SITE).start()
        deadline = time.monotonic() + 30  # (an agent's start, a Python process, is slow on a loaded machine)
        while not gone.search(later.log()):
            assert time.monotonic() < deadline and later.proc.poll() is None, later.log()
            time.sleep(0.2)
        time.sleep(5)
        assert len(handshakes(srv)) - asked <= 2, handshakes(srv)  # the later agent's first, and one retry at most
        for agent in (running, later):
            assert agent.proc.poll() is None, agent.log()  # still there: the site may be added again
            assert len(gone.findall(agent.log())) == 1, agent.log()
            assert "cannot reach" not in agent.log(), agent.log()
    finally:
        running.stop()
        if later is not None:
            later.stop()


def handshakes(srv) -> list[str]:
    """The new Engine.IO connections asked for at SITE's address (the access log's handshakes)."""
    return [line for line in srv.log().splitlines() if f"/s/{SITE}/socket.io/?" in line and "sid=" not in line]


def test_an_agent_of_one_site_at_anothers_address_is_told_its_own_address(agent_server, printer, tmp_path):
    """A kiosk token of SITE with the first site's address: the agent stops with exit code 2 and says to
    start it with --server .../s/SITE (it said to make a new token, which would fail alike)."""
    add_site_with_agent_kiosk(agent_server)
    running = Agent(agent_server, printer, tmp_path, token=kiosk_token_of(agent_server, SITE)["token"]).start()
    try:
        assert running.proc.wait(20) == 2, running.log()
    finally:
        running.stop()
    assert f"--server {agent_server.url}/s/{SITE} " in running.log(), running.log()  # its id, ready to use


def test_a_crash_of_the_printing_ends_the_agent_for_systemd_to_start_it_again(agent_server, agent, printer):
    """The printing fails on something unexpected (here its state file cannot be written: a folder stands
    in its place): the agent ends with exit code 1 and the traceback in its log (its printing thread
    died and it stayed connected, printing nothing, for ever)."""
    wait_printer_state(agent_server, "ready")
    agent.state_file.unlink(missing_ok=True)
    agent.state_file.mkdir()
    (agent.state_file / "in-the-way").write_text("")
    issue(agent_server.session(), "HT", kiosk="kiosk-1")
    assert agent.proc.wait(20) == 1, agent.log()
    assert "the printing stopped on an unexpected error" in agent.log() and "Traceback" in agent.log()


def test_a_busy_database_at_the_agents_hello_is_tried_again(agent_server, printer, tmp_path):
    """Another program holds SQLite's write lock while the agent says hello with a job it printed
    unconfirmed: the server answers database_busy (it did not answer, and the agent stayed connected and
    idle for ever); the agent connects again and prints once the lock is gone."""
    ticket = issue(agent_server.session(), "HT", kiosk="kiosk-1")
    running = Agent(agent_server, printer, tmp_path)
    running.state_file.write_text(json.dumps({"printed": [999999], "unconfirmed": [999999]}))
    other = sqlite3.connect(agent_server.instance / "queuekiosk.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        running.start()
        deadline = time.monotonic() + 20
        while "Cơ sở dữ liệu đang bận" not in running.log():
            assert time.monotonic() < deadline and running.proc.poll() is None, running.log()
            time.sleep(0.2)
    finally:
        other.execute("ROLLBACK")
        other.close()
    try:
        assert printed_urls(printer, 1, running) == [ticket["track_url"]], running.log()
        wait_job(agent_server.session(), ticket["id"], "printed")
    finally:
        running.stop()


def test_a_print_done_the_database_refuses_is_reported_again_with_back_off_and_nothing_prints_twice(
    live_server, config_variant, printer, tmp_path
):
    """The server's database refuses print.done's write while its reads work (here a trigger fails a job's
    update to printed; in life a full disk, a lock held for long): the agent reports the job again with
    back-off (it fetched the same job back at once, skipped it as printed and reported it again, about
    twice a second: a status query, a fetch and a failing write a turn, for as long as the fault lasted),
    prints a ticket issued meanwhile, and prints nothing twice; the jobs are marked printed once the
    database takes the write."""
    config = config_variant()
    config["printers"] = [
        {"id": "kiosk-1", "driver": "agent", "check_seconds": 30, "retry_seconds": 5, "form": "compact"}
    ]
    srv = live_server(config)
    http = srv.session()
    db = sqlite3.connect(srv.instance / "queuekiosk.db", isolation_level=None)
    db.execute(
        "CREATE TRIGGER refuse_printed BEFORE UPDATE OF status ON print_jobs WHEN NEW.status = 'printed'"
        " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    )
    running = Agent(srv, printer, tmp_path, backoff="1,3").start()
    try:
        wait_printer_state(srv, "ready")
        first = issue(http, "HT", kiosk="kiosk-1")
        assert printed_urls(printer, 1, running) == [first["track_url"]]
        srv.wait_log("(print.done)", 10)  # (the write refused: a fault of the server, to its log)
        asked = printer.queries
        time.sleep(5)
        # asked 1 s, then 3 s apart (two queries a time: online? paper?); before: about 28 queries
        assert printer.queries - asked <= 2 * 2, running.log()
        second = issue(http, "CT", kiosk="kiosk-1")
        assert printed_urls(printer, 2, running)[1] == second["track_url"]
        db.execute("DROP TRIGGER refuse_printed")
        for ticket in (first, second):
            wait_job(http, ticket["id"], "printed")
        time.sleep(1)  # time enough for a second copy, were one coming
        assert len(printer.jobs) == 2, running.log()
        assert "the server did not take print.done" in running.log()
    finally:
        running.stop()
        db.close()


def test_a_token_revoked_while_a_ticket_prints_ends_the_agent_after_it(agent_server, printer, tmp_path):
    """The kiosk's token revoked while a long ticket prints: the agent ends (exit code 2) only once the
    ticket is printed and in its state file; an agent started again with a new token does not print it
    again (it ended mid-ticket, the ticket not in its state file, and the next start printed it twice)."""
    made = kiosk_token_of(agent_server, None)
    running = Agent(agent_server, printer, tmp_path, token=made["token"]).start()
    try:
        wait_printer_state(agent_server, "ready")
        printer.set_state("slow")  # each ticket takes 4 s
        ticket = issue(agent_server.session(), "HT", kiosk="kiosk-1")
        printer.wait_for_jobs_begun(1)  # the agent has fetched the job and sent its first bytes: the printer is at it
        assert admin_http(agent_server).delete(f"/api/v1/admin/tokens/{made['id']}").status_code in (200, 204)
        assert running.proc.wait(20) == 2, running.log()
    finally:
        running.stop()
    assert len(printer.jobs) == 1 and printer.lost == [], running.log()
    printer.set_state("ready")
    again = Agent(agent_server, printer, tmp_path, token=kiosk_token_of(agent_server, None)["token"]).start()
    try:
        wait_job(agent_server.session(), ticket["id"], "printed")
        time.sleep(1.5)  # time enough for a second copy, were one coming
        assert len(printer.jobs) == 1, again.log()
    finally:
        again.stop()


def database_files(srv) -> list:
    database = srv.instance / "queuekiosk.db"
    return [database.with_name(database.name + end) for end in ("", "-wal", "-shm")]


def back_up(srv) -> dict:
    """A copy of the database files, taken with the server stopped; the server started again."""
    srv.stop()
    backup = {file: file.read_bytes() for file in database_files(srv) if file.exists()}
    srv.start()
    return backup


def restore(srv, backup: dict) -> None:
    """The copy put back while the server is stopped; the server started again."""
    srv.stop()
    for file in database_files(srv):
        file.unlink(missing_ok=True)
        if file in backup:
            file.write_bytes(backup[file])
    srv.start()


def test_tickets_after_a_database_restore_print_though_their_jobs_have_printed_jobs_ids(agent_server, agent, printer):
    """A copy of the database taken earlier is put back while the server is stopped (a restore): its id
    counters go back, so the next tickets' print jobs get the ids of jobs the agent has printed since the
    copy. They all print (the agent, keeping job ids, took them for printed, printed nothing and reported
    them done: the server said "printed", no paper came out)."""
    wait_printer_state(agent_server, "ready")
    backup = back_up(agent_server)
    http = agent_server.session()
    before = [issue(http, "HT", kiosk="kiosk-1") for _ in range(3)]
    assert_printed_once_in_order(http, printer, before, agent)
    printed_ids = job_ids(http, before)
    restore(agent_server, backup)
    http = agent_server.session()
    after = [issue(http, "CT", kiosk="kiosk-1") for _ in range(3)]
    assert job_ids(http, after) == printed_ids  # the restore's situation: the same job ids again
    assert printed_urls(printer, 6, agent) == [t["track_url"] for t in before + after], agent.log()
    for ticket in after:
        wait_job(http, ticket["id"], "printed")
    time.sleep(1)  # time enough for a second copy, were one coming
    assert len(printer.jobs) == 6, agent.log()


def job_ids(http, tickets: list[dict]) -> list[int]:
    return [job["id"] for t in tickets for job in http.get(f"/api/v1/tickets/{t['id']}/print-jobs").json()["jobs"]]


def assert_only_the_next_ticket_prints(http, printer: PrinterSim, running: Agent) -> None:
    later = issue(http, "CT", kiosk="kiosk-1")
    assert printed_urls(printer, 1, running) == [later["track_url"]], running.log()
    time.sleep(1)  # time enough for a second copy, were one coming
    assert len(printer.jobs) == 1, running.log()


def test_an_agent_upgraded_with_a_state_file_of_job_ids_does_not_print_its_unconfirmed_job_again(
    agent_server, printer, tmp_path
):
    """A state file written before job keys (ids only), with a job printed but not confirmed: the upgraded
    agent reports it printed and does not print it again; the next ticket prints. A compatibility guard
    (it passes without job keys too)."""
    http = agent_server.session()
    printed = issue(http, "HT", kiosk="kiosk-1")
    job_id = http.get(f"/api/v1/tickets/{printed['id']}/print-jobs").json()["jobs"][0]["id"]
    running = Agent(agent_server, printer, tmp_path)
    running.state_file.write_text(json.dumps({"printed": [job_id], "unconfirmed": [job_id]}))
    running.start()
    try:
        wait_job(http, printed["id"], "printed")
        assert_only_the_next_ticket_prints(http, printer, running)
    finally:
        running.stop()


def test_a_reprint_after_a_restore_prints_though_it_has_the_id_of_a_reprint_of_that_ticket(
    agent_server, agent, printer
):
    """A ticket in the backup is reprinted after it; the database is restored and the ticket reprinted
    again: the new reprint gets the first reprint's job id, for the same ticket. It prints (its key was
    the job id with the ticket's public id, the same as the first reprint's: the agent skipped it and
    reported it done, the server said "printed", no paper came out)."""
    http = agent_server.session()
    ticket = issue(http, "HT", kiosk="kiosk-1")
    assert_printed_once_in_order(http, printer, [ticket], agent)
    backup = back_up(agent_server)
    kiosk = {"Authorization": f"Bearer {agent_server.kiosk_token()}"}
    first = agent_server.session().post(f"/api/v1/tickets/{ticket['id']}/reprint", json={}, headers=kiosk)
    assert first.status_code == 202, first.text
    assert printed_urls(printer, 2, agent) == [ticket["track_url"]] * 2, agent.log()
    restore(agent_server, backup)
    again = agent_server.session().post(f"/api/v1/tickets/{ticket['id']}/reprint", json={}, headers=kiosk)
    assert again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"]  # the restore's situation: the same job, ticket and id
    assert printed_urls(printer, 3, agent) == [ticket["track_url"]] * 3, agent.log()


def stored_key(srv, job_id: int) -> str:
    """The job's key as the server makes it (printers/jobs.py job_key), read from the database file."""
    with sqlite3.connect(srv.instance / "queuekiosk.db") as db:
        made, public_id = db.execute(
            "SELECT j.created_at, t.public_id FROM print_jobs j LEFT JOIN tickets t ON t.id = j.ticket_id"
            " WHERE j.id = ?",
            (job_id,),
        ).fetchone()
    return f"{job_id}-{re.sub(r'[^0-9]', '', made)}-{public_id or 't'}"


def test_a_job_printed_unconfirmed_and_reported_by_its_key_at_hello_is_marked_printed(agent_server, printer, tmp_path):
    """The normal case of a lost print.done answer: the agent's state file has the job's key, unconfirmed.
    At its hello the server marks that job printed, while the printer is out of paper (so the agent fetches
    nothing: only the hello can mark it); nothing is printed twice, and the next ticket prints. Guards
    finish_reported's key comparison (were it broken, the job would stay pending here)."""
    http = agent_server.session()
    ticket = issue(http, "HT", kiosk="kiosk-1")
    key = stored_key(agent_server, job_ids(http, [ticket])[0])
    printer.set_state("paper_out")
    running = Agent(agent_server, printer, tmp_path)
    running.state_file.write_text(json.dumps({"printed": [key], "unconfirmed": [key]}))
    running.start()
    try:
        wait_job(http, ticket["id"], "printed")
        deadline = time.monotonic() + 10  # the agent forgets the key once the hello's answer says "keys"
        while json.loads(running.state_file.read_text())["unconfirmed"]:
            assert time.monotonic() < deadline, running.log()
            time.sleep(0.1)
        printer.set_state("ready")
        assert_only_the_next_ticket_prints(http, printer, running)
    finally:
        running.stop()


def test_damaged_entries_of_the_state_file_are_ignored_and_the_agent_prints(agent_server, printer, tmp_path):
    """A hand-edited or damaged state file: keys whose id is not a database id ('²' counts as a digit to
    str.isdigit, an id past 2**31 - 1) and an int too large for the database. The hello is answered and the
    ticket prints (the hello went unanswered: the agent reconnected and sent them again, for ever)."""
    ticket = issue(agent_server.session(), "HT", kiosk="kiosk-1")
    damaged = ["²-x", "2147483648-x", "99999999999-x", 2**70]
    running = Agent(agent_server, printer, tmp_path)
    running.state_file.write_text(json.dumps({"printed": [], "unconfirmed": damaged}))
    running.start()
    try:
        assert printed_urls(printer, 1, running) == [ticket["track_url"]], running.log()
        wait_job(agent_server.session(), ticket["id"], "printed")
    finally:
        running.stop()


def test_an_unconfirmed_job_of_before_a_restore_does_not_mark_the_new_job_with_its_id_printed(
    agent_server, printer, tmp_path
):
    """The agent printed a job and lost the server's answer; then the database was restored and a new
    ticket's job got that id. The agent's report of its old job (by key) does not mark the new one
    printed: it prints. A guard only: this passes without job keys too (a server of before keys drops
    string entries, an agent of before keys prints by id); it fails if finish_reported matched by id."""
    http = agent_server.session()
    ticket = issue(http, "HT", kiosk="kiosk-1")
    job_id = job_ids(http, [ticket])[0]
    running = Agent(agent_server, printer, tmp_path)
    old = f"{job_id}-20200101000000000000-aaaaaaaaaaaa"  # the key of a job of before the restore
    running.state_file.write_text(json.dumps({"printed": [old], "unconfirmed": [old]}))
    running.start()
    try:
        assert printed_urls(printer, 1, running) == [ticket["track_url"]], running.log()
        wait_job(http, ticket["id"], "printed")
    finally:
        running.stop()


def test_an_agent_of_a_new_site_without_a_printer_is_told_where_to_add_it_and_then_prints(
    agent_server, printer, tmp_path
):
    """A new site (its setup copied with no printers) and its kiosk's agent: the agent says, Vietnamese then
    English, that kiosk-1 has no printer and where to add one (it said "did not take agent.hello", in
    English only, and spoke of a driver setting); once the printer is added it prints by itself. Its token
    revoked, it says how to make another for that site (--site SITE: without it, the first site's)."""
    add_site(agent_server)
    made = kiosk_token_of(agent_server, SITE)
    running = Agent(agent_server, printer, tmp_path, token=made["token"], site=SITE).start()
    try:
        told = re.compile(
            rf"Máy chủ không nhận lời chào agent.hello \(Ki-ốt “kiosk-1” chưa có máy in .*chưa chọn máy in nào cho ki-ốt.*"
            rf"Ở /s/{SITE}/admin, thẻ “Máy in”.* / The server did not take agent.hello .*At /s/{SITE}/admin"
        )
        deadline = time.monotonic() + 15
        while not told.search(running.log()):
            assert time.monotonic() < deadline and running.proc.poll() is None, running.log()
            time.sleep(0.2)
        give_kiosk_an_agent_printer(agent_server)
        ticket = issue_at_site(agent_server)
        assert printed_urls(printer, 1, running) == [ticket["track_url"]], running.log()
        revoked = admin_http(agent_server).delete(f"/api/v1/sites/{SITE}/admin/tokens/{made['id']}")
        assert revoked.status_code in (200, 204)
        assert running.proc.wait(20) == 2, running.log()
    finally:
        running.stop()
    assert f"token create --role kiosk --kiosk ID --site {SITE}," in running.log(), running.log()


def test_an_agent_naming_no_kiosk_at_a_site_without_agent_printers_keeps_asking_and_then_prints(
    agent_server, printer, tmp_path
):
    """An admin's token (no kiosk of its own) at a new site where no kiosk has an agent printer: the agent
    is told where to add one and keeps asking (it stopped with exit code 2, told to make a kiosk token);
    once the printer is added it prints by itself."""
    add_site(agent_server)
    running = Agent(agent_server, printer, tmp_path, token=agent_server.token("admin"), site=SITE).start()
    try:
        told = f"Chưa ki-ốt nào có máy in do phần mềm ki-ốt điều khiển. Ở /s/{SITE}/admin"
        deadline = time.monotonic() + 15
        while running.log().count(told) < 2:  # said, and asked again
            assert time.monotonic() < deadline and running.proc.poll() is None, running.log()
            time.sleep(0.2)
        give_kiosk_an_agent_printer(agent_server)
        ticket = issue_at_site(agent_server)
        assert printed_urls(printer, 1, running) == [ticket["track_url"]], running.log()
    finally:
        running.stop()
