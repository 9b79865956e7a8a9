"""The kiosk agent: prints a kiosk's tickets on a printer attached to the kiosk PC (USB, serial).

``queuekiosk kiosk-agent --server URL --token T --printer SPEC`` connects to the server over
Socket.IO with a kiosk token, says which kiosk it prints for (``agent.hello``), then fetches
that kiosk's print jobs oldest first (``print.fetch``), prints each after checking the
printer's status, and reports it done (``print.done``). The server nudges it when a job is
added (``print.wake``); it also looks every ``check_seconds`` while idle, and reports the
printer's state on every change (``printer.report``).

Nothing is printed twice: a job is written to the state file as printed before the server
is told, and a job the server did not confirm is reported again in the next ``agent.hello``
(after a server restart, say) instead of being printed again. Nothing is lost: jobs stay in
the server's database until printed, so the ones issued while the agent was away print when
it is back. It reconnects by itself with back-off.

``--server`` may name a site of the installation (``http://host:8000/s/SITE``): the agent
connects to ``/s/SITE/socket.io`` as that site's pages do. A site the server does not have
(removed, or a wrong address) is said once, and asked for again every 30 s (it may be added
again); a token the server refuses (revoked, of another site) stops the agent with exit code 2.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import socketio

from ..printers.drivers import OFFLINE, PrinterDriver, PrintFailed, PrintTask, Status
from ..printers.registry import driver_for
from ..printers.ticket import TicketContent, preview
from ..server.core.config import Printer

log = logging.getLogger("queuekiosk.kiosk_agent")

BACKOFF_SECONDS = (0.5, 1, 2, 5, 10, 20, 30)
REMEMBERED = 500  # printed job ids kept in the state file


def printer_from_spec(spec: str) -> Printer:
    """``network:192.168.1.50:9100`` and the like, as a printer entry of config.yaml."""
    kind, _, rest = spec.partition(":")
    parts = rest.split(":") if rest else []
    keys: dict = {"id": "local", "driver": kind}
    try:
        if kind == "network" and 1 <= len(parts) <= 2:
            keys.update(host=parts[0], **({"port": int(parts[1])} if len(parts) == 2 else {}))
        elif kind == "usb" and len(parts) == 2:
            keys.update(vendor_id=int(parts[0], 0), product_id=int(parts[1], 0))
        elif kind == "serial" and 1 <= len(parts) <= 2:
            keys.update(device=parts[0], **({"baudrate": int(parts[1])} if len(parts) == 2 else {}))
        elif kind in ("device", "cups", "file") and rest:
            keys[{"device": "device", "cups": "queue", "file": "path"}[kind]] = rest
        else:
            raise ValueError
        return Printer(**keys)
    except (ValueError, TypeError):
        raise ValueError(
            f"not a printer: {spec!r}; write network:HOST[:PORT], usb:VENDOR:PRODUCT, "
            "serial:DEVICE[:BAUD], device:PATH, cups:QUEUE or file:FOLDER"
        ) from None


class Journal:
    """Job ids printed here (the last few hundred), and which of them the server has not confirmed.

    Written to disk (atomically) before the server is told, so a crash or a lost answer never
    leads to a second print.
    """

    def __init__(self, path: Path):
        self.path = path
        data = json.loads(path.read_text()) if path.exists() else {}
        self.printed: list[int] = data.get("printed", [])
        self.unconfirmed: list[int] = data.get("unconfirmed", [])

    def mark_printed(self, job_id: int) -> None:
        self.printed = (self.printed + [job_id])[-REMEMBERED:]
        self.unconfirmed.append(job_id)
        self._save()

    def confirmed(self, job_ids: list[int]) -> None:
        self.unconfirmed = [j for j in self.unconfirmed if j not in job_ids]
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".part")
        with open(partial, "w") as f:
            json.dump({"printed": self.printed, "unconfirmed": self.unconfirmed}, f)
            f.flush()
            os.fsync(f.fileno())
        partial.replace(self.path)


def socketio_address(server: str) -> tuple[str, str]:
    """The server's address and its Socket.IO path: ``http://h:8000/s/xa-a`` -> ``("http://h:8000",
    "/s/xa-a/socket.io")``, a site's connection as its pages open it (python-socketio keeps only the
    scheme and host of the address it is given: a site's path was dropped, and the first site served)."""
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, "", "", "")), parts.path.rstrip("/") + "/socket.io"


def stop(message: str, *args) -> None:
    """A refusal that does not fix itself: said, and the agent ends with exit code 2 (a systemd unit
    with ``RestartPreventExitStatus=2`` stays stopped, the reason in its journal)."""
    log.error(message, *args)
    logging.shutdown()
    os._exit(2)


class KioskAgent:
    def __init__(self, server: str, token: str, driver: PrinterDriver, journal: Journal, kiosk: str | None = None):
        self.server = server
        self.site = server.rstrip("/").rpartition("/s/")[2] if "/s/" in urlsplit(server).path else None
        self.driver = driver
        self.journal = journal
        self.kiosk = kiosk
        self.check_seconds = 30.0
        self.retry_seconds = 30.0
        self._token = token
        self._wake = threading.Event()
        self._ready = threading.Event()  # connected and greeted
        self._reported: Status | None = None
        self._stalled: Status | None = None  # why the last job failed, while the printer says it can print
        self._refusal: dict | None = None  # why the server refused the last connect, as it said it
        self._site_gone = False  # said once until the site is served again
        self.sio, self._dropped = self._new_client()

    # --- connection -----------------------------------------------------------------------

    def run(self) -> None:
        """Print for ever, connected (again) whenever the connection drops, with back-off."""
        threading.Thread(target=self._print_forever, daemon=True, name="printing").start()
        address, path = socketio_address(self.server)
        failures = 0
        while True:
            self._refusal = None
            try:
                self.sio.connect(address, socketio_path=path, auth={"token": self._token}, wait_timeout=10)
            except socketio.exceptions.ConnectionError as error:
                time.sleep(self._not_connected(error, failures))
                failures += 1
                self.sio, self._dropped = self._new_client()
                continue
            failures = 0
            if self._site_gone:
                self._site_gone = False
                log.warning("the server serves site %s again: printing for it", self.site)
            self._dropped.wait()
            self.sio, self._dropped = self._new_client()

    def _new_client(self) -> tuple[socketio.Client, threading.Event]:
        """A client for one connection, and the event set when it drops. Reconnecting is run()'s, each
        time with a new client: python-socketio's own reconnection does not come back from the server's
        disconnect (a revoked token) and says nothing of a refusal (a removed site); and a dropped
        client may take up to 15 s to end its threads (its packet queue's wait), in which it cannot
        connect again."""
        sio = socketio.Client(reconnection=False, handle_sigint=False)
        dropped = threading.Event()
        sio.on("connect", self._on_connect)
        sio.on("connect_error", self._on_connect_error)
        sio.on("disconnect", lambda *_reason: (self._on_disconnect(), dropped.set()))
        sio.on("print.wake", lambda *_: self._wake.set())
        return sio, dropped

    def _not_connected(self, error, failures: int) -> float:
        """Why the last connect failed, said; the seconds until the next."""
        refusal = self._refusal or {}
        code = refusal.get("code")
        if code == "site_unknown":
            if not self._site_gone:
                self._site_gone = True
                log.error(
                    "the server has no site %s (%s): it was removed, or --server names a wrong site. Nothing "
                    "prints until an admin adds the site again or the agent is given its site's address; "
                    "asking again every %d s",
                    self.site or "",
                    refusal.get("message"),
                    BACKOFF_SECONDS[-1],
                )
            return BACKOFF_SECONDS[-1]
        if code is not None:  # the server answered, and refused this agent's token
            stop(
                "the server refused this agent's token: %s. Make a kiosk token for its kiosk "
                "(queuekiosk token create --role kiosk --kiosk ID) and start the agent with it",
                refusal.get("message"),
            )
        delay = BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)]
        log.warning("cannot reach %s (%s); trying again in %.1f s", self.server, error, delay)
        return delay

    def _on_connect_error(self, data=None):
        refusal = data.get("data") if isinstance(data, dict) else None
        if isinstance(refusal, dict):
            self._refusal = refusal

    def _on_connect(self):
        self._reported = None  # tell a (possibly restarted) server the printer's state again
        threading.Thread(target=self._greet, daemon=True).start()  # never block the client's event loop

    def _on_disconnect(self, *_reason):
        self._ready.clear()
        log.warning("lost the connection to the server; reconnecting")

    def _greet(self) -> None:
        try:
            answer = self.sio.call(
                "agent.hello", {"kiosk": self.kiosk, "printed": self.journal.unconfirmed}, timeout=10
            )
        except socketio.exceptions.SocketIOError as error:
            log.warning("the server did not answer agent.hello: %s", error)
            return
        if "error" in answer:  # a wrong kiosk or token does not fix itself: stop so that it gets noticed
            stop("the server refused this agent: %s", answer["error"]["message"])
        self.journal.confirmed(self.journal.unconfirmed)
        self.kiosk = answer["kiosk"]
        self.check_seconds = answer["check_seconds"]
        self.retry_seconds = answer["retry_seconds"]
        log.info("printing for kiosk %s (printer %s)", self.kiosk, answer["printer"])
        self._ready.set()
        self._wake.set()

    # --- printing -------------------------------------------------------------------------

    def _print_forever(self) -> None:
        failures = 0
        while True:
            self._ready.wait()
            if self._print_waiting_jobs():
                failures = 0
                wait = self.check_seconds  # idle: the printer is asked again after this
            else:
                wait = min(self.retry_seconds, BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)])
                failures += 1
            self._wake.wait(wait)
            self._wake.clear()

    def _print_waiting_jobs(self) -> bool:
        """Print every job the server has for this kiosk; False when the printer cannot go on."""
        while True:
            status = self.driver.status()
            # a printer whose last job stopped part-way still answers its status query: it stays
            # reported as not responding until a job prints, rather than flipping at every retry
            self._report(self._stalled if self._stalled and status.can_print else status)
            if not status.can_print:
                return False
            try:
                answer = self.sio.call("print.fetch", {}, timeout=10)
            except socketio.exceptions.SocketIOError:
                return False
            if not answer.get("jobs"):
                self._stalled = None  # nothing to print: its status query is all there is to know
                self._report(status)
                return True
            for job in answer["jobs"]:
                if not self._print_one(job, status):
                    return False

    def _print_one(self, job: dict, status: Status) -> bool:
        if job["id"] not in self.journal.printed:
            content = TicketContent.from_json(job["content"])
            task = PrintTask(data=job["data"], name=job["name"], preview=lambda: preview(content))
            try:
                self.driver.print(task)
            except PrintFailed as error:
                log.warning("job %s not printed: %s", job["name"], error)
                self._stalled = Status(OFFLINE, str(error))
                self._report(self._stalled)
                self._tell({"job": job["id"], "printed": False, "error": str(error)})
                return False
            self.journal.mark_printed(job["id"])
            log.info("printed %s", job["name"])
            self._stalled = None
            self._report(status)
        if self._tell({"job": job["id"], "printed": True}):
            self.journal.confirmed([job["id"]])
        return True

    def _tell(self, done: dict) -> bool:
        try:
            return "ok" in self.sio.call("print.done", done, timeout=10)
        except socketio.exceptions.SocketIOError:
            return False  # reported again in the next agent.hello

    def _report(self, status: Status) -> Status:
        if status != self._reported:
            try:
                self.sio.call("printer.report", {"state": status.state, "detail": status.detail}, timeout=10)
                self._reported = status
                log.log(
                    logging.INFO if status.can_print else logging.WARNING,
                    "printer: %s%s",
                    status.state,
                    f" ({status.detail})" if status.detail else "",
                )
            except socketio.exceptions.SocketIOError:
                pass
        return status


def make_agent(server: str, token: str, printer_spec: str, kiosk: str | None, state_file: Path) -> KioskAgent:
    driver = driver_for(printer_from_spec(printer_spec), Path.cwd())
    return KioskAgent(server, token, driver, Journal(state_file), kiosk)
