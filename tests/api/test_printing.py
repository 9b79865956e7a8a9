"""Printing through the real server to a network printer on 127.0.0.1 that answers status queries.

The server issues the ticket first (the kiosk gets its answer at once), then its spooler
asks the printer's status and prints. What the printer receives is decoded back into what
the paper shows: the QR code must lead to the ticket's tracking page.
"""

from __future__ import annotations

import time

import pytest
import zxingcpp
from api_helpers import FAST_PRINTER, assert_error, issue, print_jobs, printers, wait_job
from printer_sim import decode


def config_with_printer(config_variant, port: int, **settings) -> dict:
    config = config_variant()
    config["printers"] = [
        {"id": "kiosk-1", "driver": "network", "host": "127.0.0.1", "port": port, **FAST_PRINTER, **settings}
    ]
    config["ticket"] = {"footer": "Sự hài lòng của người dân là thước đo chất lượng phục vụ"}
    return config


def wait_kiosk_printer(client, state: str, timeout: float = 5) -> None:
    """The kiosk page learns its printer's state: from the snapshot, or a later ``printer.status``."""
    deadline = time.monotonic() + timeout
    while True:
        states = [
            data["kiosk"]["printer"]["state"] if event == "state" else data["state"]
            for event, data in list(client.events)
            if event in ("state", "printer.status")
        ]
        if states and states[-1] == state:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the kiosk's printer did not become {state!r}: {states}")
        time.sleep(0.05)


def test_a_kiosk_ticket_prints_with_a_qr_code_to_its_tracking_page(live_server, config_variant, printer):
    srv = live_server(config_with_printer(config_variant, printer.port, form="image"))
    http = srv.session()
    ticket = issue(http, "HT", kiosk="kiosk-1", priority="elderly")

    [job] = printer.wait_for_jobs(1)
    paper = decode(job)
    assert paper.cut
    assert len(paper.images) >= 1 and all(image.width <= 576 for image in paper.images)
    sheet = paper.whole_image()
    assert sheet.width == 576 and 400 < sheet.height < 1400, sheet.size  # one 80 mm ticket, not a roll
    codes = [code.text for code in zxingcpp.read_barcodes(sheet)]
    assert codes == [ticket["track_url"]]
    assert http.get(codes[0]).status_code == 200  # the phone lands on the tracking page
    assert wait_job(http, ticket["id"], "printed")["number"] == "1001"


def test_the_compact_form_uses_the_printers_own_digits_and_qr_code(live_server, config_variant, printer):
    srv = live_server(config_with_printer(config_variant, printer.port, form="compact"))
    ticket = issue(srv.session(), "CT", kiosk="kiosk-1")

    [job] = printer.wait_for_jobs(1)
    paper = decode(job)
    assert paper.qr_codes == [ticket["track_url"]]
    assert paper.text.split()[0] == ticket["display"]  # the big number, in the printer's font
    assert len(job) <= 12 * 1024, len(job)  # SPEC: the usual ticket is at most 12 KB
    assert all(image.width <= 576 for image in paper.images)


def test_a_ticket_without_a_kiosk_printer_prints_nothing(live_server, config_variant, printer):
    srv = live_server(config_with_printer(config_variant, printer.port))
    http = srv.session()
    ticket = issue(http, "HT")  # e.g. issued through the API by a receptionist: no kiosk, no paper
    assert print_jobs(http, ticket["id"]) == []
    time.sleep(0.5)
    assert printer.jobs == []


def test_paper_out_issues_the_ticket_and_prints_it_once_paper_is_back(live_server, config_variant, printer, sio_client):
    printer.set_state("paper_out")
    srv = live_server(config_with_printer(config_variant, printer.port))
    http = srv.session()
    kiosk = sio_client(srv)
    assert kiosk.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
    wait_kiosk_printer(kiosk, "paper_out")

    started = time.monotonic()
    ticket = issue(http, "HT", kiosk="kiosk-1")
    assert time.monotonic() - started < 1  # the citizen is not kept waiting by the printer
    printer.wait_for_queries(printer.queries + 6)  # three more of the spooler's checks (online? paper?)
    assert printer.jobs == [] and printer.lost == []  # nothing was sent to a printer without paper
    job = print_jobs(http, ticket["id"])[0]
    assert job["status"] == "pending"
    supervisor = srv.token("supervisor")
    assert printers(http, supervisor)["kiosk-1"]["state"] == "paper_out"
    assert printers(http, supervisor)["kiosk-1"]["pending"] == 1

    printer.set_state("ready")
    [printed] = printer.wait_for_jobs(1)
    wait_kiosk_printer(kiosk, "ready")
    assert wait_job(http, ticket["id"], "printed")["id"] == job["id"]
    time.sleep(0.7)
    assert len(printer.jobs) == 1  # once, not once per try
    assert decode(printed).qr_codes == [ticket["track_url"]]


def test_a_printer_that_never_answers_keeps_the_ticket_and_shows_the_failure(live_server, config_variant, printer):
    printer.set_state("silent")
    srv = live_server(config_with_printer(config_variant, printer.port, give_up_minutes=0.05))
    http = srv.session()
    ticket = issue(http, "DC", kiosk="kiosk-1")
    assert http.get(f"/api/v1/tickets/{ticket['id']}").json()["status"] == "waiting"  # the ticket stands

    failed = wait_job(http, ticket["id"], "failed", timeout=15)
    assert "offline" in failed["error"] and "not printed within" in failed["error"]
    state = printers(http, srv.token("admin"))["kiosk-1"]
    assert state["state"] == "offline" and state["failed"] == 1 and state["pending"] == 0
    assert printer.jobs == []

    printer.set_state("ready")  # switched on again: a reprint on request prints it
    response = http.post(
        f"/api/v1/tickets/{ticket['id']}/reprint", json={}, headers={"Authorization": f"Bearer {srv.kiosk_token()}"}
    )
    assert response.status_code == 202, response.text
    [job] = printer.wait_for_jobs(1)
    assert decode(job).qr_codes == [ticket["track_url"]]
    wait_job(http, ticket["id"], "printed")
    assert [j["status"] for j in print_jobs(http, ticket["id"])] == ["failed", "printed"]


def test_a_switched_off_printer_gets_its_jobs_in_order_after_a_server_restart(live_server, config_variant, printer):
    printer.set_state("off")
    srv = live_server(config_with_printer(config_variant, printer.port))
    http = srv.session()
    tickets = [issue(http, service, kiosk="kiosk-1") for service in ("HT", "CT", "HT")]
    srv.restart()  # the jobs were only in the database
    printer.set_state("ready")
    jobs = printer.wait_for_jobs(3)
    assert [decode(job).qr_codes[0] for job in jobs] == [t["track_url"] for t in tickets]
    time.sleep(0.7)
    assert len(printer.jobs) == 3


def test_reprint_needs_a_signed_in_role_and_a_known_ticket(live_server, config_variant, printer):
    srv = live_server(config_with_printer(config_variant, printer.port))
    http = srv.session()
    ticket = issue(http, "HT", kiosk="kiosk-1")
    printer.wait_for_jobs(1)
    url = f"/api/v1/tickets/{ticket['id']}/reprint"
    assert_error(http.post(url, json={}), 401, "unauthorized")
    display = {"Authorization": f"Bearer {srv.token('display')}"}
    assert_error(http.post(url, json={}, headers=display), 403, "forbidden_role")
    clerk = {"Authorization": f"Bearer {srv.token('counter', 1)}"}
    assert_error(http.post("/api/v1/tickets/nope/reprint", json={}, headers=clerk), 404, "unknown_ticket")
    assert_error(http.post(url, json={"printer": "nope"}, headers=clerk), 404, "unknown_printer")
    assert_error(http.post(url, json={"copies": 2}, headers=clerk), 422, "invalid_field", field="copies")
    unprinted = issue(http, "HT")
    assert_error(http.post(f"/api/v1/tickets/{unprinted['id']}/reprint", json={}, headers=clerk), 409, "never_printed")
    assert http.post(url, json={}, headers=clerk).status_code == 202
    assert len(printer.wait_for_jobs(2)) == 2
    assert_error(http.get("/api/v1/printers", headers=clerk), 403, "forbidden_role")


def test_the_demo_file_printer_writes_the_bytes_and_a_png_preview(live_server):
    srv = live_server()  # the repo's config.yaml: driver file, folder instance/printed beside it
    http = srv.session()
    ticket = issue(http, "VH", kiosk="kiosk-1")
    wait_job(http, ticket["id"], "printed")
    folder = srv.workdir / "instance" / "printed"
    data = (folder / f"{ticket['display']}-job1.bin").read_bytes()
    assert decode(data).qr_codes == [ticket["track_url"]]
    from PIL import Image

    with Image.open(folder / f"{ticket['display']}-job1.png") as preview:
        assert preview.width == 576
        assert [c.text for c in zxingcpp.read_barcodes(preview)] == [ticket["track_url"]]


def test_staff_reprint_todays_ticket_by_its_number(live_server, config_variant, printer):
    """A citizen lost the paper and says the number: the clerk or supervisor reprints it from the
    number alone, on the printer of the kiosk that issued it."""
    srv = live_server(config_with_printer(config_variant, printer.port))
    http = srv.session()
    ticket = issue(http, "CT", kiosk="kiosk-1")
    printer.wait_for_jobs(1)
    clerk = {"Authorization": f"Bearer {srv.token('counter', 2)}"}
    again = http.post(f"/api/v1/tickets/by-number/{ticket['number']}/reprint", json={}, headers=clerk)
    assert again.status_code == 202, again.text
    _, second = printer.wait_for_jobs(2)
    assert decode(second).qr_codes == [ticket["track_url"]]
    assert_error(http.post("/api/v1/tickets/by-number/2999/reprint", json={}, headers=clerk), 404, "unknown_number")
    assert_error(http.post(f"/api/v1/tickets/by-number/{2**70}/reprint", json={}, headers=clerk), 404, "not_found")
    assert_error(http.post(f"/api/v1/tickets/by-number/{ticket['number']}/reprint", json={}), 401, "unauthorized")


def test_a_printer_profile_python_escpos_does_not_know_is_refused(live_server, config_variant, printer):
    """In config.yaml the server does not start and names the key; through the admin API the
    change is refused and names the field."""
    with pytest.raises(RuntimeError, match=r"printers\[0\]\.profile: unknown printer profile 'TM-XYZ'"):
        live_server(config_with_printer(config_variant, printer.port, profile="TM-XYZ"))
    srv = live_server(config_with_printer(config_variant, printer.port))
    http = srv.session()
    http.headers["Authorization"] = f"Bearer {srv.token('admin')}"
    error = assert_error(
        http.patch("/api/v1/admin/printers/kiosk-1", json={"profile": "TM-XYZ"}), 422, "invalid_field", "profile"
    )
    assert "không có mẫu máy in “TM-XYZ”" in error["message"], error
    assert http.patch("/api/v1/admin/printers/kiosk-1", json={"profile": "TM-T88V"}).status_code == 200
