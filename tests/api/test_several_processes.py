"""Several server processes on one PostgreSQL database and one Redis message queue (issue 7):
what a centre behind a load balancer relies on. Uses the PostgreSQL (127.0.0.1:5432) and Redis
of a test's own (the ``redis_url`` fixture, tests/api/conftest.py); skipped when either is missing.
"""

from __future__ import annotations

import secrets
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from api_helpers import issue, print_jobs, printers, wait_job
from printer_sim import decode

from queuekiosk.server.web.printing import lease_name

pytestmark = pytest.mark.postgres


@pytest.fixture
def start_two(request, redis_url, live_server, config_variant):
    """``start_two(printer, new_database=False)`` -> servers A and B: one database, one message queue,
    one session key; ``printer`` is the config of the one printer, ``kiosk-1``'s. The database is at
    the newest schema (``migrated_pg_url``), or with ``new_database`` empty (``pg_url``): then both
    processes migrate it as they start."""

    def start(printer: dict, new_database: bool = False) -> list:
        config = config_variant()
        config["printers"] = [{"id": "kiosk-1", "retry_seconds": 0.3, "check_seconds": 0.3, **printer}]
        env = {
            "QUEUEKIOSK_DATABASE_URL": request.getfixturevalue("pg_url" if new_database else "migrated_pg_url"),
            "QUEUEKIOSK_MESSAGE_QUEUE": redis_url,
            "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(16),
        }
        with ThreadPoolExecutor(2) as pool:  # both start at once, as a service manager does
            return list(pool.map(lambda _: live_server(config, env=env), range(2)))

    return start


def _network_printer(printer) -> dict:
    return {"driver": "network", "host": "127.0.0.1", "port": printer.port, "timeout_seconds": 1}


@pytest.fixture
def two_processes(start_two, printer):
    """Servers A and B sharing one network printer."""
    return start_two(_network_printer(printer))


def test_a_display_on_one_process_hears_a_call_made_on_the_other(two_processes, sio_client):
    a, b = two_processes
    display = sio_client(a)
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    ticket = issue(b.session(), "HT")
    called = b.session().post("/api/v1/counters/1/next", headers={"Authorization": f"Bearer {b.token('counter', 1)}"})
    assert called.status_code == 200, called.text
    heard = display.wait_for("ticket.called", lambda e: e["ticket"]["id"] == ticket["id"])
    assert heard["counter"] == 1
    # a token made against the shared database works on either process
    assert a.session().get("/api/v1/counters/1", headers={"Authorization": f"Bearer {b.token('counter', 1)}"}).ok


def test_two_centres_sharing_one_redis_do_not_hear_each_other(redis_url, live_server, config_variant, sio_client):
    """Every server on one Redis gets every message (one channel), but the rooms carry the site id:
    a centre's displays hear only its own calls (two servers of one site id do share them)."""
    servers = {}
    for site in ("phuong-a", "phuong-b"):
        config = config_variant()
        config["site"]["id"] = site
        servers[site] = live_server(config, env={"QUEUEKIOSK_MESSAGE_QUEUE": redis_url})  # each its own SQLite
    a, b = servers["phuong-a"], servers["phuong-b"]
    own, other = sio_client(a), sio_client(b)
    assert own.subscribe({"display": "lobby"}) == {"ok": True} and other.subscribe({"display": "lobby"}) == {"ok": True}
    issue(a.session(), "HT")
    called = a.session().post("/api/v1/counters/1/next", headers={"Authorization": f"Bearer {a.token('counter', 1)}"})
    assert called.status_code == 200, called.text
    own.wait_for("ticket.called", lambda e: e["ticket"]["id"] == called.json()["id"])
    other.assert_silent(0, prefixes=("ticket.",), duration=1.0)


def test_issuing_through_both_processes_stays_gap_free(start_two, printer):
    """On a new database, which both processes migrate as they start at once."""
    a, b = start_two(_network_printer(printer), new_database=True)
    sessions = [a.session(), b.session()]
    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(lambda i: issue(sessions[i % 2], "CT")["number"], range(60)))
    assert sorted(numbers) == list(range(2001, 2061))


def test_each_ticket_prints_once_although_both_processes_have_a_spooler(two_processes, printer):
    a, b = two_processes
    tickets = [issue(server.session(), "HT", kiosk="kiosk-1") for server in (a, b) * 4]
    jobs = printer.wait_for_jobs(8)
    for ticket in tickets:
        wait_job(a.session(), ticket["id"], "printed")
    time.sleep(1.5)
    assert len(printer.jobs) == 8
    assert sorted(decode(job).qr_codes[0].rsplit("/", 1)[1] for job in jobs) == sorted(t["id"] for t in tickets)
    assert all(len(print_jobs(b.session(), t["id"])) == 1 for t in tickets)


def printer_everywhere(sio_client, servers, state: str, detail: str | None = None, timeout: float = 10) -> None:
    """Each process shows the printer in ``state``: GET /api/v1/printers, and the snapshots a
    dashboard and the kiosk get when they (re)subscribe."""
    deadline = time.monotonic() + timeout
    for srv in servers:
        http, supervisor = srv.session(), srv.token("supervisor")
        while (listed := printers(http, supervisor)["kiosk-1"])["state"] != state:
            assert time.monotonic() < deadline, f"{srv}: the printer is {listed}, not {state!r}"
            time.sleep(0.1)
        assert listed["detail"] == detail, listed
        dashboard = sio_client(srv, auth={"token": supervisor})
        assert dashboard.subscribe({"dashboard": True}) == {"ok": True}
        snapshot = dashboard.wait_for("state")
        assert [(p["state"], p["detail"]) for p in snapshot["overview"]["printers"]] == [(state, detail)]
        kiosk = sio_client(srv)
        assert kiosk.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
        assert kiosk.wait_for("state")["kiosk"]["printer"]["state"] == state
        dashboard.close()
        kiosk.close()


def test_a_printers_state_is_the_same_on_every_process(two_processes, printer, sio_client):
    """Only the process holding the printer's lease asks it; the other shows what it saved."""
    a, b = two_processes
    printer_everywhere(sio_client, (a, b), "ready")
    printer.set_state("paper_out")
    printer_everywhere(sio_client, (a, b), "paper_out")
    drivers = [srv for srv in (a, b) if "printer kiosk-1: paper_out" in srv.log()]
    assert len(drivers) == 1, "one process drives the printer"
    reader = b if drivers == [a] else a
    issue(reader.session(), "HT", kiosk="kiosk-1")  # taken on the other process: kept until paper is back
    printer.set_state("ready")
    printer.wait_for_jobs(1)
    printer_everywhere(sio_client, (a, b), "ready")

    drivers[0].stop()  # the other process takes the printer over, and says so
    printer.set_state("near_end")
    printer_everywhere(sio_client, (reader,), "paper_near_end", timeout=15)


def test_a_kiosk_agents_printer_state_is_the_same_on_every_process(start_two, printer, tmp_path, sio_client):
    from agent_helpers import Agent

    a, b = start_two({"driver": "agent"})
    agent = Agent(a, printer, tmp_path).start()  # connected to A only
    try:
        printer_everywhere(sio_client, (a, b), "ready", timeout=15)
        printer.set_state("paper_out")
        printer_everywhere(sio_client, (a, b), "paper_out")
    finally:
        agent.stop()
    printer_everywhere(sio_client, (a, b), "offline", "no kiosk agent is connected")


def test_a_setup_change_saved_on_one_process_reaches_the_screens_of_the_other(two_processes, sio_client):
    """The admin saves on B; a lobby display and a kiosk connected to A hear config.changed once, within
    2 s, and A already serves the new setup when they ask for it again."""
    a, b = two_processes
    display, kiosk = sio_client(a), sio_client(a)
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    assert kiosk.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
    marks = display.mark(), kiosk.mark()
    admin = b.session()
    admin.headers["Authorization"] = f"Bearer {b.token('admin')}"
    added = admin.post(
        "/api/v1/admin/services",
        json={"code": "MT", "name": {"vi": "Môi trường"}, "numbers": {"start": 7001, "end": 7999}},
    )
    assert added.status_code == 201, added.text
    started = time.monotonic()  # the save whose version is awaited (the first's answer took 1 s under load)
    renamed = admin.patch("/api/v1/admin/counters/1", json={"name": "Quầy Hộ tịch", "services": ["HT", "MT"]})
    assert renamed.status_code == 200, renamed.text
    version = renamed.json()["version"]
    for client, mark in zip((display, kiosk), marks):
        client.wait_for("config.changed", lambda e: e["version"] == version, since=mark, timeout=2)
    assert time.monotonic() - started < 2.5
    time.sleep(0.3)
    heard = [e["version"] for e in display.received("config.changed", since=marks[0])]
    assert len(heard) == len(set(heard)), f"config.changed heard twice: {heard}"

    display.subscribe({"display": "lobby"})
    assert {c["number"]: c["name"] for c in display.received("state")[-1]["counters"]}[1] == "Quầy Hộ tịch"
    assert issue(a.session(), "MT")["number"] == 7001  # A issues for the service saved on B


def test_a_printer_lease_postgresql_dropped_is_given_up_not_printed_beside_the_other(two_processes, printer, _pg_admin):
    """PostgreSQL ends the driving process's printer lease (a restart, pg_terminate_backend): the other
    process takes the printer; the first stands by instead of printing beside it (each ticket twice)."""
    a, b = two_processes
    issue(a.session(), "HT", kiosk="kiosk-1")
    printer.wait_for_jobs(1)
    database = a.env["QUEUEKIOSK_DATABASE_URL"].rsplit("/", 1)[1]
    site_id = yaml.safe_load(a.config_path.read_text(encoding="utf-8"))["site"]["id"]
    held = (  # the printer's lease: held alone
        "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory'"
        " AND l.objid = %s AND l.mode = 'ExclusiveLock' AND l.granted AND d.datname = %s"
    )
    key = zlib.crc32(lease_name(site_id, "kiosk-1").encode())
    ((holder,),) = _pg_admin.execute(held, (key, database)).fetchall()
    _pg_admin.execute("SELECT pg_terminate_backend(%s)", (holder,))
    gave_up = "printer kiosk-1: its lease was lost with its connection; standing by"
    deadline = time.monotonic() + 10
    while not any(gave_up in srv.log() for srv in (a, b)):
        assert time.monotonic() < deadline, "the process that lost the printer's lease went on driving it"
        time.sleep(0.1)
    tickets = [issue(srv.session(), "HT", kiosk="kiosk-1") for srv in (a, b, a, b)]
    for ticket in tickets:
        wait_job(a.session(), ticket["id"], "printed")
    time.sleep(1.5)
    assert len(printer.jobs) == 5  # each once
    assert len([srv for srv in (a, b) if gave_up in srv.log()]) == 1
