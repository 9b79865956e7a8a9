"""Many centres on one installation (issue 16): two sites served by one server, on a real server over
HTTP and Socket.IO. Each site numbers its tickets and keeps its business day in its own time zone;
nothing of one site (tickets, events, rooms) reaches the other; a token or user of one site is
refused at the other, an installation-wide one may act at both, and ``province`` reads both and
changes nothing. The single-site paths stay the first site's.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import secrets
import time
import wave
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import server_db
import socketio
import yaml
from api_helpers import assert_error, issue
from faked_clock import faketime_env, on_a_working_morning
from site_helpers import FAR, FAR_ZONE, SiteClient, add_site

from queuekiosk.server.core import auth

FIRST = "phuc-la"  # the repo's config.yaml: the site the single-site paths serve
FIRST_NAME, FAR_NAME = "UBND phường Phúc La - Bộ phận Một cửa", f"Xã {FAR}"  # (added as "Xã {id}", below)
PASSWORD = "mật-khẩu-hai-điểm"


@pytest.fixture
def site_client(live_server):
    clients = []

    def connect(srv, site: str | None, auth=None, headers=None) -> SiteClient:
        client = SiteClient(srv.url, site)
        clients.append(client)
        return client.connect(auth=auth, headers=headers)

    yield connect
    for client in clients:
        client.close()


@pytest.fixture(scope="module")
def two_sites(module_live_server, tmp_path_factory):
    """The repo's centre (phuc-la, Asia/Ho_Chi_Minh) and a commune centre far away, on one server whose
    clock starts at 09:00 on a working day in Ho Chi Minh City, 15:00 the day before at the far site
    (tests/faked_clock.py): neither site's midnight (17:00 and 11:00 UTC) comes while the module's
    tests issue and call, whatever the hour they run at."""
    srv = module_live_server(env=on_a_working_morning(tmp_path_factory.mktemp("clock")))
    add_site(srv)
    return srv


def token_of(srv, role: str, site: str | None, counter: int | None = None) -> str:
    name = f"{role} of {site or 'every site'}"
    return server_db._write(srv.database_url, lambda db: auth.create_token(db, role, name, counter, site_id=site))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def local_days(zone: str, around: dt.datetime) -> set[str]:
    """The local date in ``zone`` a moment before and after ``around`` (a test may cross midnight)."""
    return {(around + dt.timedelta(seconds=s)).astimezone(ZoneInfo(zone)).date().isoformat() for s in (-60, 0, 60)}


def test_each_site_numbers_its_own_tickets_in_its_own_business_day(two_sites):
    srv = two_sites
    http = srv.session()
    now = email.utils.parsedate_to_datetime(http.get("/healthz").headers["Date"])  # the server's clock
    here = [issue(http, "HT") for _ in range(3)]
    there_answer = http.post(f"/api/v1/sites/{FAR}/tickets", json={"service": "HT"})
    assert there_answer.status_code == 201, there_answer.text
    there = there_answer.json()
    assert [t["number"] for t in here] == [1001, 1002, 1003]
    assert there["number"] == 1001  # the same service's range, counted apart
    assert here[0]["business_day"] in local_days("Asia/Ho_Chi_Minh", now)
    assert there["business_day"] in local_days(FAR_ZONE, now)
    if local_days("Asia/Ho_Chi_Minh", now).isdisjoint(local_days(FAR_ZONE, now)):
        assert here[0]["business_day"] != there["business_day"]  # 18 hours apart: most hours, two dates
    # the ticket's own page and track address are its site's; the other site does not know it
    assert there["track_url"].endswith(f"/s/{FAR}/t/{there['id']}")
    assert http.get(f"/api/v1/sites/{FAR}/tickets/{there['id']}").json()["number"] == 1001
    assert_error(http.get(f"/api/v1/tickets/{there['id']}"), 404, "unknown_ticket")
    assert_error(http.get(f"/api/v1/sites/{FAR}/tickets/{here[0]['id']}"), 404, "unknown_ticket")
    assert http.get(f"/s/{FAR}/t/{there['id']}").status_code == 200
    # each site's queue counts its own
    waiting_here = http.get("/api/v1/queue").json()
    waiting_there = http.get(f"/api/v1/sites/{FAR}/queue").json()
    assert (waiting_here["site"]["id"], waiting_there["site"]["id"]) == (FIRST, FAR)
    ht = {q["site"]["id"]: next(s for s in q["services"] if s["code"] == "HT") for q in (waiting_here, waiting_there)}
    assert ht[FIRST] != ht[FAR], ht


def test_an_unknown_site_is_a_404_naming_it(two_sites, site_client):
    srv = two_sites
    http = srv.session()
    error = assert_error(http.get("/api/v1/sites/no-such-site/queue"), 404, "site_unknown")
    assert "no-such-site" in error["message"]
    page = http.get("/s/no-such-site/display/lobby", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "no-such-site" in page.text
    refused = SiteClient(srv.url, "no-such-site")
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused.connect()
    [reason] = refused.refusals
    assert reason["data"]["code"] == "site_unknown" and "no-such-site" in reason["message"]
    # a browser gets the not-found page, whose links (home, its stylesheet) lead out of the unknown
    # prefix to the installation's own pages, not to more 404s under /s/no-such-site/
    assert page.headers["Content-Type"].startswith("text/html"), page.text
    assert "/s/no-such-site/" not in page.text
    home = re.search(r'<a href="([^"]*)">', page.text).group(1)
    style = re.search(r'<link rel="stylesheet" href="([^"]*)">', page.text).group(1)
    assert home == "/" and http.get(home).status_code == 200
    assert http.get(style).status_code == 200
    # a known site's unknown page still leads home to that site's pages
    missing = http.get(f"/s/{FAR}/no-such-page", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and f'<a href="/s/{FAR}/">' in missing.text
    assert f"/s/{FAR}/no-such-page" in missing.text  # the address as it was asked for
    error = assert_error(http.get(f"/api/v1/sites/{FAR}/tìm-hồ-sơ"), 404, "not_found")
    assert f"/api/v1/sites/{FAR}/tìm-hồ-sơ" in error["message"], error  # (its Vietnamese letters too)
    # the site's pages are under its prefix, with their links (scripts, styles) there too
    display = http.get(f"/s/{FAR}/display/lobby")
    assert display.status_code == 200 and f"/s/{FAR}/static/" in display.text


def test_no_call_crosses_sites(two_sites, site_client):
    """A call at one site reaches that site's display and dashboard only; the other hears nothing."""
    srv = two_sites
    admin = srv.token("admin")
    here_display, far_display = site_client(srv, None), site_client(srv, FAR)
    far_dashboard = site_client(srv, FAR, auth={"token": admin})
    here_dashboard = site_client(srv, None, auth={"token": admin})
    for client, room in (
        (here_display, {"display": "lobby"}),
        (far_display, {"display": "lobby"}),
        (far_dashboard, {"dashboard": True}),
        (here_dashboard, {"dashboard": True}),
    ):
        assert client.subscribe(room) == {"ok": True}
    assert far_display.wait_for("state")["site"]["id"] == FAR
    assert here_display.wait_for("state")["site"]["id"] != FAR

    http = srv.session()
    marks = {id(c): c.mark() for c in (here_display, far_display, far_dashboard, here_dashboard)}
    ticket = http.post(f"/api/v1/sites/{FAR}/tickets", json={"service": "CT"}).json()
    called = http.post(f"/api/v1/sites/{FAR}/counters/3/next", headers=bearer(admin))
    assert called.status_code == 200 and called.json()["id"] == ticket["id"], called.text
    heard = far_display.wait_for(
        "ticket.called", lambda e: e["ticket"]["id"] == ticket["id"], since=marks[id(far_display)]
    )
    assert heard["counter"] == 3
    far_dashboard.wait_for("ticket.called", lambda e: e["ticket"]["id"] == ticket["id"], since=marks[id(far_dashboard)])
    here_display.assert_silent(marks[id(here_display)], duration=0.5)
    here_dashboard.assert_silent(marks[id(here_dashboard)], duration=0.1)

    # and the other way round: the first site's call stays there
    marks = {id(c): c.mark() for c in (here_display, far_display)}
    own = issue(http, "CT")
    assert http.post("/api/v1/counters/3/next", headers=bearer(admin)).json()["id"] == own["id"]
    here_display.wait_for("ticket.called", lambda e: e["ticket"]["id"] == own["id"], since=marks[id(here_display)])
    far_display.assert_silent(marks[id(far_display)], duration=0.5)


def test_a_sites_webhook_hears_only_its_sites_events(two_sites):
    """A webhook registered at the far site (by an installation admin, under its prefix) is posted
    that site's tickets only; the first site's webhook only the first site's."""
    from webhook_receiver import Receiver

    srv = two_sites
    admin = bearer(srv.token("admin"))
    http = srv.session()
    far_hook, first_hook = Receiver(), Receiver()
    far_hook.answers = [500]  # not accepted the first time: the log line about it names the far site
    try:
        hooks = {}
        for prefix, receiver in ((f"/api/v1/sites/{FAR}", far_hook), ("/api/v1", first_hook)):
            made = http.post(
                f"{prefix}/admin/webhooks", json={"url": receiver.url, "events": ["ticket.issued"]}, headers=admin
            )
            assert made.status_code == 201, made.text
            hooks[receiver] = made.json()["id"]
        far = http.post(f"/api/v1/sites/{FAR}/tickets", json={"service": "DC"}).json()
        first = issue(http, "DC")
        [heard_far] = far_hook.wait_for(1)
        [heard_first] = first_hook.wait_for(1)
        assert (heard_far.json["site"], heard_far.json["data"]["ticket"]["id"]) == (FAR, far["id"])
        assert (heard_first.json["site"], heard_first.json["data"]["ticket"]["id"]) == (FIRST, first["id"])
        far_hook.stays_at(1, seconds=1.0)
        first_hook.stays_at(1, seconds=0.2)
        warned = f"webhook {hooks[far_hook]}: delivery {heard_far.delivery}"
        [line] = [line for line in srv.wait_log(warned, 10).splitlines() if warned in line]
        assert f"[{FAR}" in line and f"[{FIRST}" not in line, line
    finally:
        far_hook.close()
        first_hook.close()


def test_a_sites_printer_prints_only_its_sites_tickets(live_server, printer):
    """Both sites have a kiosk-1 with a printer called kiosk-1 (the far one's on the network, set up
    under its prefix): each ticket is printed by its own site's printer only, with its own QR code."""
    from printer_sim import decode

    srv = live_server()
    add_site(srv)
    http = srv.session()
    admin = bearer(srv.token("admin"))
    far = f"/api/v1/sites/{FAR}"
    added = http.post(
        f"{far}/admin/printers",
        json={"id": "kiosk-1", "driver": "network", "host": "127.0.0.1", "port": printer.port, "retry_seconds": 0.3},
        headers=admin,
    )
    assert added.status_code == 201, added.text
    assert http.patch(f"{far}/admin/kiosks/kiosk-1", json={"printer": "kiosk-1"}, headers=admin).status_code == 200
    here = issue(http, "HT", kiosk="kiosk-1")
    there = http.post(f"{far}/tickets", json={"service": "HT", "kiosk": "kiosk-1"}).json()
    [job] = printer.wait_for_jobs(1)
    assert decode(job).qr_codes == [there["track_url"]] and f"/s/{FAR}/t/" in there["track_url"]
    for prefix, ticket in (("/api/v1", here), (far, there)):  # each marked printed at its own site
        deadline = time.monotonic() + 10
        while http.get(f"{prefix}/tickets/{ticket['id']}/print-jobs").json()["jobs"][-1]["status"] != "printed":
            assert time.monotonic() < deadline, f"{ticket['id']} was not printed by its own site's printer"
            time.sleep(0.05)
    time.sleep(0.5)
    assert len(printer.jobs) == 1, "the first site's ticket went to the other site's printer"

    # its printer's lines name its site: "kiosk-1" is a printer of every commune
    printer.set_state("paper_out")
    http.post(f"{far}/tickets", json={"service": "HT", "kiosk": "kiosk-1"})
    srv.wait_log(f"WARNING queuekiosk.printers.spooler [{FAR}]: printer kiosk-1: ", 10)
    # nor is the log filled by python-escpos's two INFO lines at every status check
    assert "Network printer enabled" not in srv.log()


# --- who may act where -----------------------------------------------------------------------------

TOKEN_CASES = (  # (role, counter): one token of each role
    ("admin", None),
    ("supervisor", None),
    ("counter", 1),
    ("kiosk", None),
    ("display", None),
    ("rating", 1),
    ("integration", None),
    ("province", None),
)
READERS = ("admin", "supervisor", "province")  # GET /printers: a supervisor's read
REPRINTERS = ("admin", "supervisor", "counter")  # POST /tickets/by-number/N/reprint (a write)


def expected_read(role: str, own: str | None, at: str):
    if own is not None and own != at:
        return 403, "forbidden_site"
    return None if role in READERS else (403, "forbidden_role")


def expected_write(role: str, own: str | None, at: str):
    if own is not None and own != at:
        return 403, "forbidden_site"
    if role == "province":
        return 403, "province_read_only"
    return None if role in REPRINTERS else (403, "forbidden_role")


def check(response, refusal, what: str, wrong: list) -> None:
    if refusal is None:
        if response.status_code in (401, 403) or response.status_code >= 500:
            wrong.append(f"{what}: expected to be let in, got {response.status_code} {response.text[:160]}")
        return
    body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else {}
    code = (body.get("error") or {}).get("code")
    if (response.status_code, code) != refusal:
        wrong.append(f"{what}: expected {refusal}, got {response.status_code} {code}")
    elif code == "forbidden_site" and refusal[1] == "forbidden_site":
        message = body["error"]["message"]  # each site by its name as people know it, not its id
        if f"“{FAR_NAME}”" not in message or f"“{FIRST_NAME}”" not in message:
            wrong.append(f"{what}: the refusal does not name both sites: {message}")


def test_every_role_at_every_site(two_sites, site_client):
    """Every token role and every user role, of the first site, of the far one, and of the whole
    installation, reads and writes at both sites: refused at the other site (403 naming it), let in
    by role at its own, the province reading everywhere and changing nothing."""
    srv = two_sites
    first, sites = FIRST, (FIRST, FAR)
    http = srv.session()
    wrong: list[str] = []

    prefix = {first: "/api/v1", FAR: f"/api/v1/sites/{FAR}"}
    for role, counter in TOKEN_CASES:
        for own in (*sites, None):
            token = token_of(srv, role, own, counter)
            for at in sites:
                what = f"{role} token of {own or 'every site'} at {at}"
                read = http.get(f"{prefix[at]}/printers", headers=bearer(token))
                check(read, expected_read(role, own, at), f"GET printers as {what}", wrong)
                write = http.post(f"{prefix[at]}/tickets/by-number/9999/reprint", json={}, headers=bearer(token))
                check(write, expected_write(role, own, at), f"POST reprint as {what}", wrong)
                # over Socket.IO: a device of another site is refused at connect; the dashboard is a read
                client = SiteClient(srv.url, None if at == first else at)
                try:
                    client.connect(auth={"token": token})
                except socketio.exceptions.ConnectionError:
                    if own in (None, at):
                        wrong.append(f"Socket.IO connect as {what}: refused")
                    elif [r.get("data", {}).get("code") for r in client.refusals] != ["forbidden_site"]:
                        wrong.append(f"Socket.IO connect as {what}: refused for {client.refusals}")
                    continue
                if own not in (None, at):
                    wrong.append(f"Socket.IO connect as {what}: let in")
                ack = client.subscribe({"dashboard": True})
                refused = ack.get("error", {}).get("code") if isinstance(ack, dict) else None
                if (refused is None) != (role in READERS):
                    wrong.append(f"subscribe dashboard as {what}: {ack}")
                client.close()

    users = [("admin", None), ("supervisor", None), ("clerk", 1), ("province", None)]
    for role, counter in users:
        for own in (*sites, None):
            name = f"{role}-{own or 'all'}"
            server_db._write(
                srv.database_url,
                lambda db, spec=(name, PASSWORD, role, counter), site=own: auth.add_user(db, *spec, site_id=site),
            )
            for at in sites:
                what = f"user {role} of {own or 'every site'} logging in at {at}"
                page = srv.session()
                login = page.post(f"{prefix[at]}/auth/login", json={"username": name, "password": PASSWORD})
                if own not in (None, at):
                    check(login, (403, "forbidden_site"), what, wrong)
                    continue
                check(login, None, what, wrong)
                if login.status_code != 200:
                    continue
                csrf = {"X-CSRFToken": login.json()["csrf_token"]}
                for elsewhere in sites:  # the session, used at both sites: a site's account is signed in there only
                    label = f"{what}, its session at {elsewhere}"
                    signed_out = (401, "unauthorized") if own is not None and elsewhere != at else None
                    read = page.get(f"{prefix[elsewhere]}/printers")
                    check(read, signed_out or expected_read(role, own, elsewhere), f"GET printers, {label}", wrong)
                    write = page.post(f"{prefix[elsewhere]}/tickets/by-number/9999/reprint", json={}, headers=csrf)
                    write_refusal = signed_out or expected_write("counter" if role == "clerk" else role, own, elsewhere)
                    check(write, write_refusal, f"POST reprint, {label}", wrong)
                page.post(f"{prefix[at]}/auth/logout", headers=csrf)
    assert not wrong, f"{len(wrong)} answers wrong:\n" + "\n".join(wrong)


def test_the_province_reads_every_site_and_changes_nothing(two_sites):
    srv = two_sites
    province = bearer(token_of(srv, "province", None))
    http = srv.session()
    for prefix in ("/api/v1", f"/api/v1/sites/{FAR}"):
        live = http.get(f"{prefix}/reports/live", headers=province)
        assert live.status_code == 200, live.text
        assert http.get(f"{prefix}/admin/setup", headers=province).status_code == 200
        assert_error(http.post(f"{prefix}/counters/1/next", headers=province), 403, "province_read_only")
        assert_error(http.post(f"{prefix}/counters/1/open", headers=province), 403, "province_read_only")
        # even what anyone may do: a province account issues no ticket
        assert_error(
            http.post(f"{prefix}/tickets", json={"service": "HT"}, headers=province), 403, "province_read_only"
        )
        assert_error(
            http.patch(f"{prefix}/admin/services/HT", json={"target_wait_minutes": 5}, headers=province),
            403,
            "province_read_only",
        )
        assert_error(http.get(f"{prefix}/admin/tokens", headers=province), 403, "forbidden_role")


# --- sites added while the server runs, on several processes ------------------------------------


@pytest.mark.postgres
def test_two_processes_on_postgresql_and_redis_serve_every_site(migrated_pg_url, redis_url, live_server, site_client):
    """Two server processes, one PostgreSQL, one Redis. Sites added through one process are served by
    the other; a call made on one process reaches that site's displays on both processes, and no
    display of another site anywhere."""
    env = {
        "QUEUEKIOSK_DATABASE_URL": migrated_pg_url,
        "QUEUEKIOSK_MESSAGE_QUEUE": redis_url,
        "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(16),
    }
    a = live_server(None, env=env)
    b = live_server(None, env=env)
    add_site(a, "xa-mot", "Asia/Bangkok")
    add_site(a, FAR, FAR_ZONE)
    displays = {(server.port, site): site_client(server, site) for server in (a, b) for site in (None, "xa-mot", FAR)}
    for client in displays.values():  # process B finds the sites A added (a request naming one looks)
        assert client.subscribe({"display": "lobby"}) == {"ok": True}
    marks = {key: client.mark() for key, client in displays.items()}

    admin = b.token("admin")
    http = b.session()
    ticket = http.post(f"/api/v1/sites/{FAR}/tickets", json={"service": "HT"}).json()
    assert ticket["number"] == 1001
    called = http.post(f"/api/v1/sites/{FAR}/counters/1/next", headers=bearer(admin))
    assert called.status_code == 200 and called.json()["id"] == ticket["id"], called.text
    for server in (a, b):
        displays[(server.port, FAR)].wait_for(
            "ticket.called", lambda e: e["ticket"]["id"] == ticket["id"], since=marks[(server.port, FAR)]
        )
    for (port, site), client in displays.items():
        if site != FAR:
            client.assert_silent(marks[(port, site)], prefixes=("ticket.",), duration=0.3)

    # numbers of one site stay gap-free across both processes, apart from the other sites'
    numbers = [
        server.session().post("/api/v1/sites/xa-mot/tickets", json={"service": "HT"}).json()["number"]
        for server in (a, b, a, b)
    ]
    assert numbers == [1001, 1002, 1003, 1004]


def test_each_site_ends_its_day_at_its_own_midnight(live_server, site_client):
    """Under a faked clock just before midnight in Ho Chi Minh City: the first site's and a site in
    the same zone's waiting tickets expire at that midnight; the far site's (05:59 in the morning
    there) wait on, and it keeps numbering the same day."""
    srv = live_server()
    add_site(srv, "xa-cung-gio", "Asia/Bangkok")  # UTC+7, as Ho Chi Minh City
    add_site(srv, FAR, FAR_ZONE)
    # the clock faked from the restart on: the 20 s before midnight are for starting and three tickets
    # only (adding the sites first took them all at load 20, and a ticket fell on the next day)
    srv.env.update(faketime_env("2026-11-23 23:59:40"))
    srv.restart()
    http = srv.session()
    waiting = {
        site: http.post(f"/api/v1{'' if site is None else f'/sites/{site}'}/tickets", json={"service": "HT"}).json()
        for site in (None, "xa-cung-gio", FAR)
    }
    assert {t["business_day"] for t in waiting.values()} == {"2026-11-23"}, waiting
    phones = {}
    for site, ticket in waiting.items():
        phones[site] = site_client(srv, site)
        assert phones[site].subscribe({"ticket": ticket["id"]}) == {"ok": True}
    for site in (None, "xa-cung-gio"):
        expired = phones[site].wait_for("ticket.expired", timeout=60)
        assert expired["ticket"]["id"] == waiting[site]["id"]
    assert http.get(f"/api/v1/sites/{FAR}/tickets/{waiting[FAR]['id']}").json()["status"] == "waiting"
    phones[FAR].assert_silent(0, prefixes=("ticket.expired",), duration=0.2)
    new_day = issue(http, "HT")
    assert (new_day["number"], new_day["business_day"]) == (1001, "2026-11-24")
    far = http.post(f"/api/v1/sites/{FAR}/tickets", json={"service": "HT"}).json()
    assert (far["number"], far["business_day"]) == (1002, "2026-11-23")
    # the log says whose day ended
    assert "[xa-cung-gio]: end of the business day: 1 waiting ticket(s) expired" in srv.log()
    assert f"[{FAR}]: end of the business day" not in srv.log()


def test_each_site_counts_issuing_against_its_own_limits(live_server, config_variant):
    """A site added from the first one and then given a limit of its own: the first site's setup
    (no limit per address) no longer applies there, and the far site's (2 a minute) not here."""
    config = config_variant()
    config["limits"] = {"tickets_per_address": "2/minute", "tickets_per_kiosk": None, "exempt_addresses": []}
    srv = live_server(config)
    add_site(srv)  # its setup a copy of the first site's: 2 a minute
    unlimited = {**config, "limits": {**config["limits"], "tickets_per_address": None}}
    setup = srv.workdir / "unlimited.yaml"
    setup.write_text(yaml.safe_dump(unlimited, allow_unicode=True, sort_keys=False), encoding="utf-8")
    imported = srv.run("config", "import", str(setup), "--config", str(srv.config_path))  # the first site only
    assert imported.returncode == 0, imported.stderr
    srv.restart()
    http = srv.session()
    assert [issue(http, "HT")["number"] for _ in range(3)] == [1001, 1002, 1003]  # no limit here
    far = f"/api/v1/sites/{FAR}/tickets"
    assert [http.post(far, json={"service": "HT"}).status_code for _ in range(2)] == [201, 201]
    assert_error(http.post(far, json={"service": "HT"}), 429, "too_many_tickets")
    assert issue(http, "HT")["number"] == 1004  # the far site's count is not this site's


def _write_chime(folder: Path, sample: bytes) -> bytes:
    """A recordings folder holding the centre's own chime (0.1 s of one 16-bit sample, mono): its bytes."""
    folder.mkdir()
    with wave.open(str(folder / "chime.wav"), "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(22050)
        clip.writeframes(sample * 2205)
    return (folder / "chime.wav").read_bytes()


def test_each_site_speaks_with_its_own_sounds(live_server, config_variant):
    """The first site's recordings folder holds the centre's own chime; a site added before that
    (its sounds a copy: the default folder, empty) keeps the shipped chime."""
    srv = live_server(config_variant())
    add_site(srv)
    recordings = srv.workdir / "own-recordings"
    own = _write_chime(recordings, b"\x10\x00")
    config = {**config_variant(), "sounds": {"recordings": str(recordings)}}
    setup = srv.workdir / "own-sounds.yaml"
    setup.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    imported = srv.run("config", "import", str(setup), "--config", str(srv.config_path))  # the first site only
    assert imported.returncode == 0, imported.stderr
    srv.restart()
    http = srv.session()
    here = http.get("/api/v1/announcements/forms/chime.wav", params={"display": "lobby"})
    there = http.get(f"/api/v1/sites/{FAR}/announcements/forms/chime.wav", params={"display": "lobby"})
    assert here.status_code == there.status_code == 200
    assert here.content == own
    assert there.content != own and there.content.startswith(b"RIFF")  # the shipped chime


def test_a_sites_voice_is_changed_through_its_admin_api_and_heard_at_that_site_only(live_server, site_client):
    """An admin changes the far site's display voice under its prefix, as the first site's is changed
    under /api/v1/admin/: the far site's calls are said in it (its own phrase, Southern numbers, the
    English sentence after), with their own audio; the first site's display keeps its voice and hears
    nothing of the far site, neither the change nor its calls."""
    srv = live_server()
    add_site(srv)  # its setup a copy of the first site's: the same lobby voice
    admin = bearer(srv.token("admin"))
    http = srv.session()
    here, far = site_client(srv, None), site_client(srv, FAR)
    for display in (here, far):
        assert display.subscribe({"display": "lobby"}) == {"ok": True}
    marks = {id(c): c.mark() for c in (here, far)}

    voice = {"language": "vi+en", "region": "south", "phrase": "Xin mời số {number} tới quầy {counter}"}
    changed = http.patch(f"/api/v1/sites/{FAR}/admin/displays/lobby", json={"voice": voice}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["voice"] | voice == changed.json()["voice"]
    far.wait_for("config.changed", lambda e: e["site"] == FAR, since=marks[id(far)])
    here.assert_silent(marks[id(here)], prefixes=("config.", "ticket."), duration=0.3)
    [first_lobby] = [d for d in http.get("/api/v1/admin/displays", headers=admin).json() if d["id"] == "lobby"]
    assert (first_lobby["voice"]["language"], first_lobby["voice"]["region"]) == ("vi", "north")
    assert first_lobby["voice"]["phrase"] != voice["phrase"]

    # a call at the far site: said in its new voice there, and not on the first site's display
    marks = {id(c): c.mark() for c in (here, far)}
    ticket = http.post(f"/api/v1/sites/{FAR}/tickets", json={"service": "HT"}).json()
    called = http.post(f"/api/v1/sites/{FAR}/counters/1/next", headers=admin)
    assert called.status_code == 200 and called.json()["id"] == ticket["id"], called.text
    there = far.wait_for("ticket.called", lambda e: e["ticket"]["id"] == ticket["id"], since=marks[id(far)])
    assert there["announcement"]["text"] == "Xin mời số một ngàn không trăm lẻ một tới quầy một"
    assert there["announcement"]["text_en"].startswith("Ticket number one thousand and one")
    here.assert_silent(marks[id(here)], duration=0.5)
    preview = {"number": ticket["number"], "counter": 1, "display": "lobby"}
    previewed = http.get(f"/api/v1/sites/{FAR}/announcements/preview", params=preview).json()
    assert previewed["text"] == there["announcement"]["text"]

    # the same number at the same counter at the first site: its own voice, its own audio
    marks = {id(c): c.mark() for c in (here, far)}
    own = issue(http, "HT")
    assert http.post("/api/v1/counters/1/next", headers=admin).json()["id"] == own["id"]
    heard = here.wait_for("ticket.called", lambda e: e["ticket"]["id"] == own["id"], since=marks[id(here)])
    assert own["number"] == ticket["number"]
    assert heard["announcement"]["text"] == "Mời công dân có số thứ tự một nghìn không trăm linh một đến quầy số một"
    assert "text_en" not in heard["announcement"]
    far.assert_silent(marks[id(far)], duration=0.5)
    audio = {}
    for name, event in (("far", there), ("first", heard)):
        answer = http.get(event["announcement"]["audio_url"])
        assert answer.status_code == 200 and answer.content.startswith(b"RIFF"), (name, answer.status_code)
        audio[name] = answer.content
    assert audio["far"] != audio["first"]


def test_each_sites_dashboard_tells_of_its_own_voice(live_server, config_variant, site_client):
    """The first site's recordings folder holds a recorded set that lacks its clips: its supervisor's
    dashboard says so; the far site, whose sounds are its own (no recorded set), has no such note."""
    import json

    srv = live_server(config_variant())
    add_site(srv)
    recordings = srv.workdir / "set-recordings"
    recordings.mkdir()
    (recordings / "voice-set.json").write_text(
        json.dumps({"format": 1, "name": "Giọng chị Lan", "languages": ["vi"]}), encoding="utf-8"
    )
    config = {**config_variant(), "sounds": {"recordings": str(recordings)}}
    setup = srv.workdir / "set-sounds.yaml"
    setup.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    imported = srv.run("config", "import", str(setup), "--config", str(srv.config_path))  # the first site only
    assert imported.returncode == 0, imported.stderr
    srv.restart()
    admin = {"token": srv.token("admin")}
    notes = {}
    for site in (None, FAR):
        dashboard = site_client(srv, site, auth=admin)
        assert dashboard.subscribe({"dashboard": True}) == {"ok": True}
        notes[site] = {note["item"]: note for note in dashboard.wait_for("state")["system"]}
    assert "Giọng chị Lan" in notes[None]["voice_set"]["message"]
    assert "voice_set" not in notes[FAR], notes[FAR]


def test_a_sites_sounds_are_exported_and_imported_under_its_id(live_server, config_variant):
    """`config export --site` and `config import --site` change the far site's setup as they change the
    first site's: given recordings of its own (the centre's chime), the far site's displays play that
    chime once the running server takes the setup up, without a restart; the first site keeps the
    shipped one. The far site's file imported as the first site's is refused."""
    srv = live_server(config_variant())
    add_site(srv)
    recordings = srv.workdir / "far-recordings"
    own = _write_chime(recordings, b"\x20\x00")
    first_before = srv.cli("config", "export").stdout
    document = yaml.safe_load(srv.cli("config", "export", "--site", FAR).stdout)
    assert document["site"]["id"] == FAR
    document["sounds"] = {"recordings": str(recordings)}
    setup = srv.workdir / "far-sounds.yaml"
    setup.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    refused = srv.cli("config", "import", str(setup), check=False)  # without --site: the first site's
    assert refused.returncode != 0 and "site.id" in refused.stderr, refused.stderr
    srv.cli("config", "import", str(setup), "--site", FAR)
    assert yaml.safe_load(srv.cli("config", "export", "--site", FAR).stdout)["sounds"]["recordings"] == str(recordings)

    http = srv.session()
    chime = {"display": "lobby"}
    deadline = time.monotonic() + 60  # the server takes a saved setup up within a second or so
    while (there := http.get(f"/api/v1/sites/{FAR}/announcements/forms/chime.wav", params=chime)).content != own:
        assert there.status_code == 200, there.text
        assert time.monotonic() < deadline, "the far site's own chime was not taken up"
        time.sleep(0.2)
    here = http.get("/api/v1/announcements/forms/chime.wav", params=chime)
    assert here.status_code == 200 and here.content != own and here.content.startswith(b"RIFF")
    assert srv.cli("config", "export").stdout == first_before  # the first site's setup: unchanged
