"""Ticket links come only from configured addresses (issue 20, point 6): a Host or
X-Forwarded-Host header cannot put another site in a ticket's track_url or its printed QR code,
and a server whose tracking address is loopback says at start which setting to set. An installation's
address (QUEUEKIOSK_TRACKING_URL) is every site's that does not set its own.
"""

from __future__ import annotations

import pytest
from api_helpers import issue
from printer_sim import decode
from site_helpers import add_site

COMMUNE = "xa-tan-phu"


def kiosk_printer_config(config_variant, port: int, tracking_url: str | None = None) -> dict:
    config = config_variant()
    config["printers"] = [
        {
            "id": "kiosk-1",
            "driver": "network",
            "host": "127.0.0.1",
            "port": port,
            "retry_seconds": 0.3,
            "check_seconds": 0.3,
            "timeout_seconds": 1,
            "form": "compact",
        }
    ]
    config["ticket"] = {"tracking_url": tracking_url} if tracking_url else {}
    return config


def test_a_forged_host_header_never_reaches_the_ticket_or_its_qr_code(live_server, config_variant, printer):
    srv = live_server(kiosk_printer_config(config_variant, printer.port), env={"QUEUEKIOSK_PROXIES": "1"})
    http = srv.session()
    forged = [{"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}]
    tickets = [
        http.post("/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-1"}, headers=h).json() for h in forged
    ]
    for ticket in tickets:
        assert ticket["track_url"] == f"{srv.url}/t/{ticket['id']}", ticket
    assert http.get(f"/api/v1/tickets/{tickets[0]['id']}", headers=forged[0]).json()["track_url"].startswith(srv.url)
    printed = [decode(job).qr_codes for job in printer.wait_for_jobs(2)]
    assert printed == [[t["track_url"]] for t in tickets]
    log = srv.log()
    assert "ticket.tracking_url" in log and "phones cannot open" in log  # 127.0.0.1 reaches no phone


def test_a_configured_tracking_address_is_used_and_no_warning_given(live_server, config_variant, printer):
    srv = live_server(kiosk_printer_config(config_variant, printer.port, "http://192.168.1.10:8000"))
    ticket = issue(srv.session(), "HT", kiosk="kiosk-1")
    assert ticket["track_url"] == f"http://192.168.1.10:8000/t/{ticket['id']}"
    assert decode(printer.wait_for_jobs(1)[0]).qr_codes == [ticket["track_url"]]
    assert "phones cannot open" not in srv.log()


@pytest.mark.parametrize("proxies", ["0", "1"])
def test_the_loopback_warning_says_what_to_set_for_how_phones_reach_the_server(live_server, proxies):
    srv = live_server(env={"QUEUEKIOSK_PROXIES": proxies})
    [warning] = [line for line in srv.log().splitlines() if "phones cannot open" in line]
    assert f"point to {srv.url}," in warning, warning
    if proxies == "0":  # `serve` reached directly: its own address, on the LAN, and a name as well
        assert "The server must listen on the LAN address (queuekiosk serve --host 0.0.0.0" in warning, warning
        assert "and where phones reach it at another address (a name, a NAT address), fill that in as well" in warning
        assert "(ticket.tracking_url)" in warning and "(QUEUEKIOSK_TRACKING_URL)" in warning
    else:  # behind nginx: neither --host nor this process's port is anything phones reach
        assert "--host" not in warning and "192.168.1.10" not in warning, warning
        assert "set QUEUEKIOSK_TRACKING_URL to the address phones reach the proxy at (e.g. https://queue.exa" in warning
        assert "or fill in this site's own in" in warning


def test_an_installation_address_while_serve_listens_on_loopback_says_serve_on_the_lan_too(live_server):
    """The address alone puts it on the tickets, but nothing listens there for a phone."""
    srv = live_server(start=False)
    srv.env["QUEUEKIOSK_TRACKING_URL"] = f"http://192.0.2.2:{srv.port}"
    srv.start()
    [warning] = [line for line in srv.log().splitlines() if "phones cannot open" in line]
    assert f"point to http://192.0.2.2:{srv.port} (QUEUEKIOSK_TRACKING_URL), but this server listens on" in warning
    assert f"{srv.url} only" in warning and "serve on the LAN address as well (--host 0.0.0.0)" in warning, warning


def test_behind_a_proxy_a_process_on_its_lan_address_is_no_address_for_phones_either(live_server):
    """QUEUEKIOSK_PROXIES set and no address phones reach: the tickets would name the backend (firewalled,
    plain http), whatever address it listens on; the log, /admin and the dashboard say so."""
    srv = live_server(flags=("--ignore-hours", "--host", "0.0.0.0"), env={"QUEUEKIOSK_PROXIES": "1"})
    [warning] = [line for line in srv.log().splitlines() if "phones cannot open" in line]
    assert "this server process's own address behind the reverse proxy (nginx)" in warning, warning
    assert "127.0.0.1" not in warning  # the machine's LAN address, which is no loopback one
    tracking = srv.session().get("/api/v1/admin/site", headers={"Authorization": f"Bearer {srv.token('admin')}"})
    assert tracking.json()["tracking"]["unreachable"] == "admin_tracking_proxy", tracking.text


INSTALLATION = "https://queue.example.vn"  # QUEUEKIOSK_TRACKING_URL: the province's nginx, for every site


def test_every_site_without_its_own_address_prints_the_installations(live_server, config_variant, printer):
    """A province moving to https sets one variable, not each of its sites' ticket.tracking_url;
    a site's own setting still wins."""
    behind_nginx = {"QUEUEKIOSK_TRACKING_URL": INSTALLATION, "QUEUEKIOSK_PROXIES": "1"}
    srv = live_server(kiosk_printer_config(config_variant, printer.port), env=behind_nginx)
    http = srv.session()
    here = issue(http, "HT", kiosk="kiosk-1")
    assert here["track_url"] == f"{INSTALLATION}/t/{here['id']}"
    assert decode(printer.wait_for_jobs(1)[0]).qr_codes == [here["track_url"]]  # the ticket's printed QR code
    add_site(srv, COMMUNE, "Asia/Ho_Chi_Minh")
    there = http.post(f"/api/v1/sites/{COMMUNE}/tickets", json={"service": "HT"}).json()
    assert there["track_url"] == f"{INSTALLATION}/s/{COMMUNE}/t/{there['id']}"
    own = {"ticket": {"tracking_url": "http://10.20.0.5"}}  # the commune's own address
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    assert http.patch(f"/api/v1/sites/{COMMUNE}/admin/site", json=own, headers=admin).status_code == 200
    again = http.post(f"/api/v1/sites/{COMMUNE}/tickets", json={"service": "HT"}).json()
    assert again["track_url"] == f"http://10.20.0.5/s/{COMMUNE}/t/{again['id']}"
    assert issue(http, "HT")["track_url"].startswith(f"{INSTALLATION}/t/")  # the first site's unchanged
    assert "phones cannot open" not in srv.log()


# not an address at all, a comment systemd kept, a port that is none, and a query or fragment, which would
# swallow the /t/ID joined after them (the phone opens the home page)
NO_BASE = [
    "queue.example.vn",
    "https://queue.example.vn   # a comment systemd keeps",
    "https://queue.example.vn:abc",
    "https://queue.example.vn:99999",
    "https://queue.example.vn?x=1",
    "https://queue.example.vn#top",
]


@pytest.mark.parametrize("value", NO_BASE)
def test_an_installation_address_that_is_no_web_address_is_refused_at_start(live_server, value):
    srv = live_server(start=False, env={"QUEUEKIOSK_TRACKING_URL": value})
    with pytest.raises(RuntimeError) as refused:
        srv.start()
    said = str(refused.value)
    assert f"QUEUEKIOSK_TRACKING_URL is not a web address phones can be sent to: “{value}” (it must be" in said, said
    assert "QUEUEKIOSK_TRACKING_URL không phải một địa chỉ web" in said and "nothing was started" in said


def test_a_sites_address_is_checked_as_the_installations(server):
    """One rule for both (a webhook's too, but for the query): /admin refuses what a start refuses."""
    http = server.session()
    http.headers["Authorization"] = f"Bearer {server.token('admin')}"
    for value in NO_BASE[2:]:
        refused = http.patch("/api/v1/admin/site", json={"ticket": {"tracking_url": value}})
        assert refused.status_code == 422 and "ticket.tracking_url" in refused.text, (value, refused.text)
        assert "no query (?) or fragment (#)" in refused.text or "không có phần ? hay #" in refused.text


def test_a_second_sites_pairing_qr_code_opens_its_kiosk_page(live_server):
    """The pair path carries /s/{site}, and so does the site's tracking address: once, not twice (404)."""
    srv = live_server()
    add_site(srv, COMMUNE, "Asia/Ho_Chi_Minh")
    http = srv.session()
    http.headers["Authorization"] = f"Bearer {srv.token('admin')}"
    made = http.post(f"/api/v1/sites/{COMMUNE}/admin/tokens", json={"role": "kiosk", "kiosk": "kiosk-1"}).json()
    assert made["pair_path"].startswith(f"/s/{COMMUNE}/kiosk/kiosk-1#token="), made
    qr = http.post(f"/s/{COMMUNE}/admin/pair-qr", json={"path": made["pair_path"]})
    assert qr.status_code == 200, qr.text
    assert qr.json()["url"] == f"{srv.url}{made['pair_path']}"
    assert http.get(qr.json()["url"].partition("#")[0]).status_code == 200
