"""Ticket links come only from configured addresses (issue 20, point 6): a Host or
X-Forwarded-Host header cannot put another site in a ticket's track_url or its printed QR code,
and a server whose tracking address is loopback says at start which setting to set.
"""

from __future__ import annotations

from api_helpers import issue
from printer_sim import decode


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
