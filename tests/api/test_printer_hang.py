"""A network printer that hangs mid-job (issue 7, reliability): it takes the connection and answers
its status query, then stops reading part-way through a ticket (tests/printer_sim.py ``hang``).
The OS takes a whole ticket into its buffers, so only the driver's status query after the job
can tell. The printer must show as not responding (with why) on the kiosk and the dashboard
without flipping back to ready at each retry; the job stays pending and prints once when the
printer is back; issuing and the other printer carry on meanwhile.
"""

from __future__ import annotations

import time

from api_helpers import FAST_PRINTER, issue, print_jobs, printers, wait_job
from printer_sim import HANG_AFTER, PrinterSim, decode


def test_a_printer_hanging_mid_job_is_shown_retried_and_prints_once_when_back(
    live_server, config_variant, printer, sio_client
):
    other = PrinterSim()
    try:
        config = config_variant()
        config["printers"] = [
            {"id": "kiosk-1", "driver": "network", "host": "127.0.0.1", "port": printer.port, **FAST_PRINTER},
            {"id": "kiosk-2", "driver": "network", "host": "127.0.0.1", "port": other.port, **FAST_PRINTER},
        ]
        config["kiosks"] = [
            {"id": "kiosk-1", "printer": "kiosk-1", "services": "all"},
            {"id": "kiosk-2", "printer": "kiosk-2", "services": "all"},
        ]
        printer.set_state("hang")
        srv = live_server(config)
        http = srv.session()
        kiosk = sio_client(srv)
        assert kiosk.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
        dashboard = sio_client(srv, auth={"token": srv.token("supervisor")})
        assert dashboard.subscribe({"dashboard": True}) == {"ok": True}

        started = time.monotonic()
        ticket = issue(http, "HT", kiosk="kiosk-1")
        assert time.monotonic() - started < 1  # the citizen is not kept waiting by the printer

        def hung(event):
            return (
                event["printer"] == "kiosk-1"
                and event["state"] == "offline"
                and "not responding: it stopped taking the ticket part-way (no answer within 1 s)" in event["detail"]
            )

        mark = kiosk.mark()
        kiosk.wait_for("printer.status", hung, timeout=10)
        dashboard.wait_for("printer.status", hung, timeout=5)
        job = print_jobs(http, ticket["id"])[0]
        assert job["status"] == "pending" and "not responding" in job["error"]
        state = printers(http, srv.token("supervisor"))["kiosk-1"]
        assert state["state"] == "offline" and "part-way" in state["detail"] and state["pending"] == 1

        # meanwhile: issuing stays quick and the other kiosk's printer prints
        started = time.monotonic()
        elsewhere = [issue(http, "CT", kiosk="kiosk-2") for _ in range(3)]
        assert time.monotonic() - started < 2
        assert [decode(j).qr_codes[0] for j in other.wait_for_jobs(3)] == [t["track_url"] for t in elsewhere]

        # two more retries, each hanging again (the second begun: the first's whole try is past): the state
        # must not flip to ready and back
        printer.wait_for_jobs_begun(printer.begun + 2)
        seen = [e["state"] for e in kiosk.received("printer.status", since=mark) if e["printer"] == "kiosk-1"]
        assert seen and set(seen) == {"offline"}, seen
        assert printer.jobs == []
        assert print_jobs(http, ticket["id"])[0]["attempts"] >= 2

        printer.set_state("ready")  # back: the ticket prints once, whole, and the state is ready again
        [printed] = printer.wait_for_jobs(1)
        assert decode(printed).qr_codes == [ticket["track_url"]]
        assert wait_job(http, ticket["id"], "printed")["id"] == job["id"]
        kiosk.wait_for("printer.status", lambda e: e["printer"] == "kiosk-1" and e["state"] == "ready", since=mark)
        time.sleep(1)
        assert len(printer.jobs) == 1
        assert len(printer.lost) >= 2 and all(len(part) <= HANG_AFTER for part in printer.lost)  # the hung tries
        assert "printer kiosk-1: offline (not responding: it stopped taking the ticket part-way" in srv.log()
    finally:
        other.close()
