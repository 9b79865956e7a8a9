"""What a removed site leaves behind in a running server, on real servers over HTTP and Socket.IO: its
open pages are told that it is gone (404 ``site_unknown``, in Vietnamese then English), nothing of it
reaches the first site, its own greenlets end in every process, and a site added again under its id at
once is served anew by every process (two processes on PostgreSQL and Redis).
"""

from __future__ import annotations

import random
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import socketio
from api_helpers import ALL_DAY_HOURS as HOURS
from site_helpers import SiteClient, bearer, until

GONE = "xa-nham"
SAID = {"vi": f"Không có điểm phục vụ mã “{GONE}”.", "en": f"There is no site “{GONE}”."}


@pytest.fixture
def clients():
    """``clients(server, site, auth=None)`` -> a connected SiteClient, closed at the end of the test."""
    made: list[SiteClient] = []

    def connect(server, site: str | None, auth=None) -> SiteClient:
        client = SiteClient(server.url, site)
        made.append(client)
        return client.connect(auth=auth)

    yield connect
    for client in made:
        client.close()


def told_it_is_gone(client: SiteClient) -> None:
    """The client is disconnected from the removed site; connecting again (a browser's page does so by
    itself), it hears why it may not: the HTTP API's refusal, Vietnamese and English."""
    until(lambda: client.disconnects >= 1)
    deadline = time.monotonic() + 15
    while not client.refusals:
        try:
            client.connect()
        except socketio.exceptions.ConnectionError:
            break  # refused, as expected
        except ValueError:  # its transport still closing, or already connecting again by itself (python-
            # socketio's reconnection, as a page's, waits 1-1.5 s, then 2-3 s, between tries)
            assert time.monotonic() < deadline, "neither refused nor able to connect again"
            time.sleep(0.1)
        else:
            raise AssertionError("a client of the removed site connected again")
    refusal = client.refusals[-1]
    assert refusal["data"]["code"] == "site_unknown" and refusal["message"] == SAID["vi"], refusal
    assert {lang: said["message"] for lang, said in refusal["data"]["translations"].items()} == SAID, refusal


def test_a_removed_sites_open_pages_are_told_and_the_first_site_is_left_alone(live_server, clients):
    """A kiosk page and a kiosk agent (an installation admin's token) of the removed site are told it is
    gone; the agent leaving does not mark the first site's printer of the same id as without its agent
    (its handler took the first site's spooler for the removed site's)."""
    server = live_server()
    admin = server.token("admin")
    http = bearer(server, admin)
    assert (
        http.post("/api/v1/admin/sites", json={"id": GONE, "name": "Xã Thêm Nhầm", "hours": HOURS}).status_code == 201
    )
    here = f"/api/v1/sites/{GONE}/admin"
    assert http.post(f"{here}/printers", json={"id": "kiosk-1", "driver": "agent"}).status_code == 201
    assert http.patch(f"{here}/kiosks/kiosk-1", json={"printer": "kiosk-1"}).status_code == 200

    first_kiosk = clients(server, None)  # the first site's kiosk-1, whose printer kiosk-1 the server drives

    def first_printer_ready() -> bool:
        assert first_kiosk.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
        return first_kiosk.received("state")[-1]["kiosk"]["printer"]["state"] == "ready"

    until(first_printer_ready)  # (its state saved by this process)
    page = clients(server, GONE)
    assert page.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
    agent = clients(server, GONE, auth={"token": admin})
    assert agent.sio.call("agent.hello", {"kiosk": "kiosk-1"}, timeout=5)["printer"] == "kiosk-1"
    assert agent.sio.call("printer.report", {"state": "ready"}, timeout=5) == {"ok": True}
    mark = first_kiosk.mark()

    assert http.delete(f"/api/v1/admin/sites/{GONE}").status_code == 204
    for client in (page, agent):
        told_it_is_gone(client)
    time.sleep(0.5)
    assert [s for s in first_kiosk.received("printer.status", since=mark) if s["state"] != "ready"] == []
    assert "Traceback" not in server.log(), server.log()


def two_processes(live_server, pg_url: str, redis_url: str) -> tuple:
    """Servers A and B: one PostgreSQL database, one Redis message queue, one session key."""
    env = {
        "QUEUEKIOSK_DATABASE_URL": pg_url,
        "QUEUEKIOSK_MESSAGE_QUEUE": redis_url,
        "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(16),
    }
    return live_server(None, env=env), live_server(None, env=env)


@pytest.mark.postgres
def test_a_removed_sites_own_greenlets_end_in_every_process(migrated_pg_url, redis_url, live_server, clients):
    """Removed through A, the site's day-end loop (it slept until its midnight) ends at once in A and in
    B, which learns of the removal by its poll; B's open page of it is told it is gone too."""
    a, b = two_processes(live_server, migrated_pg_url, redis_url)
    http = bearer(a, a.token("admin"))
    assert (
        http.post("/api/v1/admin/sites", json={"id": GONE, "name": "Xã Thêm Nhầm", "hours": HOURS}).status_code == 201
    )
    page = clients(b, GONE)  # B serves the site A added (the connection looks it up)
    assert page.subscribe({"display": "lobby"}) == {"ok": True}
    time.sleep(0.2)  # each process's day-end loop of the site has had its first look

    assert http.delete(f"/api/v1/admin/sites/{GONE}").status_code == 204
    stopped = f"[{GONE}]: site removed: its day-end loop stopped"
    until(lambda: stopped in a.log() and stopped in b.log())
    told_it_is_gone(page)


@pytest.mark.postgres
def test_a_site_removed_and_added_again_at_once_is_served_anew_by_every_process(
    migrated_pg_url, redis_url, live_server
):
    """A removes the site and adds it again under its id, quicker than B's poll (0.5 s) may notice the gap:
    B takes up the new site's setup all the same (its version is past the removed one's), and gives its
    numbers; it had kept the removed site's setup, whose services are gone."""
    a, b = two_processes(live_server, migrated_pg_url, redis_url)
    http = bearer(a, a.token("admin"))
    citizen = b.session()

    def served_by_b() -> str:
        return citizen.get(f"/api/v1/sites/{GONE}/queue").json()["site"]["name"]

    for round_ in range(4):
        name = f"Xã Thêm Lần {round_ + 1}"
        if round_:
            assert http.delete(f"/api/v1/admin/sites/{GONE}").status_code == 204
        added = http.post("/api/v1/admin/sites", json={"id": GONE, "name": name, "hours": HOURS})
        assert added.status_code == 201, added.text
        until(lambda name=name: served_by_b() == name, 3)
    ticket = citizen.post(f"/api/v1/sites/{GONE}/tickets", json={"service": "HT"})
    assert ticket.status_code == 201 and ticket.json()["number"] == 1001, ticket.text


def test_the_installations_loops_go_on_when_a_site_is_removed_under_them(live_server):
    """Sites added and removed at once while the lapse loop (every 0.5 s) works for each site in turn: a
    site removed while its write waits is passed by in one line, and the loop goes on for the others (it
    used to end the process's lapse loop with a traceback until a restart). A site's own day-end loop,
    resumed before its kill arrives, ends quietly too (it went on to retrain a site no longer served,
    and failed with tracebacks). Races: given 20 s."""
    server = live_server(env={"QUEUEKIOSK_LAPSE_SECONDS": "0.5"})
    http = bearer(server, server.token("admin"))
    sites = [f"xa-vang-{n}" for n in range(4)]

    def add_and_remove(site: str) -> None:
        added = http.post("/api/v1/admin/sites", json={"id": site, "name": site, "hours": HOURS})
        assert added.status_code == 201, added.text
        # the removal lands at another moment of the lapse loop's round each time, or as the site's own
        # day-end loop makes its first look
        time.sleep(random.choice([0, random.random() / 2]))
        assert http.delete(f"/api/v1/admin/sites/{site}").status_code == 204

    deadline = time.monotonic() + 20
    with ThreadPoolExecutor(len(sites)) as pool:
        while time.monotonic() < deadline and "Traceback" not in server.log():
            list(pool.map(add_and_remove, sites))
    assert "Traceback" not in server.log(), server.log()[-4000:]


@pytest.mark.postgres
def test_a_new_site_asked_for_by_many_at_once_is_started_once(migrated_pg_url, redis_url, live_server):
    """A adds sites; B hears of each from a dozen requests at once (its pages opening), before its poll:
    B starts each site once, so one day-end loop ends at its removal (each request used to start it,
    with its own day-end loop and spooler)."""
    a, b = two_processes(live_server, migrated_pg_url, redis_url)
    http = bearer(a, a.token("admin"))
    pages = [b.session() for _ in range(12)]
    sites = [f"xa-dong-{n}" for n in range(3)]
    with ThreadPoolExecutor(len(pages)) as pool:
        for site in sites:
            assert http.post("/api/v1/admin/sites", json={"id": site, "name": site, "hours": HOURS}).status_code == 201
            asked = pool.map(lambda page, site=site: page.get(f"/api/v1/sites/{site}/queue").status_code, pages)
            assert set(asked) == {200}
    for site in sites:
        assert http.delete(f"/api/v1/admin/sites/{site}").status_code == 204
    until(lambda: all(f"site {site}: removed, no longer served" in b.log() for site in sites))
    time.sleep(0.2)
    log = b.log()
    started = [log.count(f"site {site}: served from now on") for site in sites]
    stopped = [log.count(f"[{site}]: site removed: its day-end loop stopped") for site in sites]
    assert started == stopped == [1] * len(sites), (started, stopped)
