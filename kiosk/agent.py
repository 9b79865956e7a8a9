"""The kiosk agent: prints a kiosk's tickets on a printer attached to the kiosk PC (USB, serial).

``queuekiosk kiosk-agent --server URL --token T --printer SPEC`` connects to the server over
Socket.IO with a kiosk token, says which kiosk it prints for (``agent.hello``), then fetches
that kiosk's print jobs oldest first (``print.fetch``), prints each after checking the
printer's status, and reports it done (``print.done``). The server nudges it when a job is
added (``print.wake``); it also looks every ``check_seconds`` while idle, and reports the
printer's state on every change (``printer.report``).

Nothing is printed twice: a job is written to the state file as printed before the server
is told, and a job the server did not confirm is reported again in the next ``agent.hello``
(after a server restart, say), or after a pause with back-off (a ``print.done`` the server did not take:
its database refusing writes), instead of being printed again. Nothing is lost: jobs stay in
the server's database until printed, so the ones issued while the agent was away print when
it is back. It reconnects by itself: about every 0.5 s while nothing answers at the server's address (for
30 s from the first such try: a restart), then with back-off. It keeps within what the server lets one
connection send, also while it catches up a backlog on a printer that takes each ticket at once.

``--server`` may name a site of the installation (``http://host:8000/s/SITE``): the agent
connects to ``/s/SITE/socket.io`` as that site's pages do. A site the server does not have
(removed, or a wrong address) is said once, and asked for again every 30 s (it may be added
again); a token the server refuses for good (revoked, of another site, not a kiosk's: ``PERMANENT``)
stops the agent with exit code 2. Anything else (a busy database, a dropped connection) is tried again
with back-off, also after a connection that dropped soon after it was made.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import tempfile
import threading
import time
from pathlib import Path

import socketio

from ..printers.drivers import OFFLINE, PrinterDriver, PrintFailed, PrintTask, Status
from ..printers.registry import driver_for
from ..printers.ticket import TicketContent, preview
from ..server.core.config import Printer
from ..server.core.env_values import AGENT_BACKOFF, seconds_schedule
from ..server.core.site_address import say, socketio_address
from ..server.core.socket_limits import EVENTS_BURST, EVENTS_PER_SECOND, Allowance
from .socketio_client import InOrderClient

log = logging.getLogger("queuekiosk.kiosk_agent")

BACKOFF_SECONDS = (0.5, 1, 2, 5, 10, 20, 30)  # between tries to connect; QUEUEKIOSK_AGENT_BACKOFF_SECONDS
# while nothing answers at the server's address (it is stopped: a restart), tried about this often (the
# back-off's first step if longer; each wait 0.7 to 1.3 times it, so that the kiosks of a province do not
# ask in step), for as long as the back-off's longest wait (30 s) from the first such try, then with
# back-off: back within half a second of its start, where the back-off had reached 2 to 10 s by then
UNANSWERED_TRY_SECONDS = 0.5
UNANSWERED_JITTER = (0.7, 1.3)
SITE_ASKED_SECONDS = 30  # a site the server does not have is asked for again this often
REMEMBERED = 500  # printed jobs kept in the state file
STEADY_SECONDS = 30  # a connection that lasted less is a failure: the next connect waits (back-off)
PRINT_SECONDS = 60  # stop() waits this long for a ticket being printed to finish
ANSWER_SECONDS = 10  # the longest wait for the server's answer to one call
CONNECT_SECONDS = 10  # the longest wait for the server to take (or refuse) a connection
DROP_CHECK_SECONDS = 0.1  # while waiting for an answer, how often the connection is looked at
LINK_CHECK_SECONDS = 1.0  # while connected and idle, how often the connection is looked at
# said of a connection that dropped before the server took it: one made as the server stopped (a restart),
# tried again about every 0.5 s as a refused one
DROPPED_UNTAKEN = "the connection dropped before the server took it"
# refusals that do not fix themselves (exit code 2): a wrong, revoked or other site's token, a wrong kiosk
PERMANENT = {
    "bad_token",
    "unauthorized",
    "forbidden_site",
    "forbidden_role",
    "forbidden_kiosk",
    "kiosk_token_unbound",
    "unknown_kiosk",
    "site_retired_account",
    "invalid_field",
}
# the share of the server's allowance of one connection (its agent.hello answer says it; else these) the
# agent uses: a margin
PACE_BURST_SHARE = 0.75
PACE_RATE_SHARE = 0.8
# a failed connect that nothing answered: the connection refused (nothing listens there), or nginx in front
# saying its server refused it (502). Not a 504: a server that did not answer in time is up but slow, and
# is not asked faster
_UNANSWERED = re.compile(rf"Connection refused|status code 502\b|{DROPPED_UNTAKEN}")


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


def backoff_seconds() -> tuple[float, ...]:
    """The waits between tries: ``QUEUEKIOSK_AGENT_BACKOFF_SECONDS`` (e.g. ``0.5,1,2,5``: the last is
    repeated; one written wrong stops the command at its start, server/core/env_values.py), else
    ``BACKOFF_SECONDS``. The tests of reconnects shorten it."""
    return seconds_schedule(os.environ.get(AGENT_BACKOFF, "").strip()) or BACKOFF_SECONDS


class Pace:
    """The events sent on one connection, kept within a share of what the server lets one connection send
    (``Allowance``: at once, then a second): 30 at once, then 4 a second, with its numbers as they are
    today. A printer that takes each ticket at once made a catch-up of 45 tickets or more send more than
    that (a ``print.done`` each): it was disconnected as a flood, and connected again. A real printer
    takes longer a ticket than the pace gives it."""

    def __init__(self):
        self._lock = threading.Lock()  # the greeting and the printing thread both send
        self._allowance = self._share(EVENTS_BURST, EVENTS_PER_SECOND)

    @staticmethod
    def _share(burst, per_second) -> Allowance:
        if not all(isinstance(n, (int, float)) and not isinstance(n, bool) and n > 0 for n in (burst, per_second)):
            burst, per_second = EVENTS_BURST, EVENTS_PER_SECOND  # a server that does not say them
        return Allowance(max(1, int(burst * PACE_BURST_SHARE)), per_second * PACE_RATE_SHARE)

    def follow(self, burst, per_second) -> None:
        """The server's allowance as its ``agent.hello`` answer says it (one that does not: the numbers this
        agent was shipped with). What was sent on the connection stays counted."""
        fresh = self._share(burst, per_second)
        with self._lock:
            fresh.tokens = min(fresh.tokens, self._allowance.tokens)
            self._allowance = fresh

    def restart(self) -> None:
        """A new connection: the server's allowance for it is whole."""
        with self._lock:
            self._allowance = Allowance(self._allowance.burst, self._allowance.per_second)

    def wait(self) -> None:
        """Until one more event may be sent (it is then counted)."""
        while True:
            with self._lock:
                if self._allowance.take():
                    return
                short = self._allowance.seconds_until_next()
            time.sleep(short)


def job_key(job: dict) -> int | str:
    """What the journal knows a job by: the server's key for it, unique across servers and restores
    (printers/jobs.py job_key), or its id from a server that sends none. A restored database numbers new
    jobs with old jobs' ids: by id alone, those would be taken for printed and never come out."""
    return job.get("key") or job["id"]


class Journal:
    """Jobs printed here (the last few hundred, by ``job_key``), and which of them the server has not
    confirmed.

    Written to disk (atomically) before the server is told, so a crash or a lost answer never
    leads to a second print. A state file of before job keys (ids only) is read as it is: its ids
    match only jobs from a server that sends no key, and its unconfirmed ids are reported as before.
    """

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()  # the greeting and the printing thread both write it
        data = json.loads(path.read_text()) if path.exists() else {}
        self.printed: list[int | str] = data.get("printed", [])
        self.unconfirmed: list[int | str] = data.get("unconfirmed", [])

    def has_printed(self, job: dict) -> bool:
        """A job with a key by its key; one without (a server of before job keys) also by any key of its id:
        such a server may be serving this agent after one that sent keys (a rollback, two machines
        behind a proxy upgraded one at a time), and sends again a job printed by its key."""
        key = job_key(job)
        if key in self.printed:
            return True
        prefix = f"{job['id']}-"
        return "key" not in job and any(isinstance(k, str) and k.startswith(prefix) for k in self.printed)

    def mark_printed(self, key: int | str) -> None:
        with self._lock:
            self.printed = (self.printed + [key])[-REMEMBERED:]
            self.unconfirmed = self.unconfirmed + [key]
            self._save()

    def confirmed(self, job_ids: list[int | str]) -> None:
        with self._lock:
            self.unconfirmed = [j for j in self.unconfirmed if j not in job_ids]
            self._save()

    def reported(self, sent: list[int | str], keys: bool) -> None:
        """``sent`` reported at a hello the server took. A server of before job keys (no ``"keys": true`` in
        its answer) drops the keys: they stay unconfirmed, reported again until a server that takes them,
        and its jobs are known printed by their ids (``has_printed``)."""
        self.confirmed(sent if keys else [j for j in sent if isinstance(j, int)])

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=self.path.name, suffix=".part", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump({"printed": self.printed, "unconfirmed": self.unconfirmed}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, self.path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise


class Link:
    """One connection: its client, set when it drops, set when the server took or refused it."""

    def __init__(self, sio: socketio.Client):
        self.sio = sio
        self.dropped = threading.Event()
        self.answered = threading.Event()
        self.taken = False

    def gone(self) -> bool:
        """Whether the connection has dropped, also where python-engineio's client has not said so yet
        (``closed_unsaid``)."""
        if self.dropped.is_set() or getattr(self.sio.eio, "state", "connected") != "connected":
            return True
        return self.closed_unsaid()

    def closed_unsaid(self) -> bool:
        """Whether the WebSocket is closed while python-engineio still says "connected": its reader, finding
        the WebSocket closed, tells its writer to end and waits for it; a writer that takes that word together
        with a packet still to send (a print.fetch sent as the server stopped) sends the packet and waits for
        the next one, for up to 15 s (a restart's ticket came out 15-20 s late). Library fields, read with
        fallbacks: should a release rename one, this says False and the library's own state decides (as
        before this check); tests/test_kiosk_agent_link.py fails on such a release."""
        eio = self.sio.eio
        if getattr(eio, "current_transport", None) != "websocket":
            return False
        return getattr(getattr(eio, "ws", None), "connected", True) is False

    def wake_stuck_writer(self) -> None:
        """python-engineio's writer told (again) to end: one stuck as ``closed_unsaid`` says ends, its reader
        with it, and the library's own disconnect runs (``dropped`` is set). A release without this queue
        (renamed): its writer ends on its own timeout, as before this."""
        packets = getattr(self.sio.eio, "queue", None)
        if packets is not None:
            packets.put(None)  # python-engineio's word for its writer to end

    def end(self) -> None:
        """What is left of the connection ended, without waiting for its reader (which may be waiting for
        its writer: ``closed_unsaid``): they end by themselves, saying nothing more."""
        self.sio.eio.disconnect(abort=True)
        self.wake_stuck_writer()  # (disconnect emptied the queue its writer waits on)


class KioskAgent:
    def __init__(self, server: str, token: str, driver: PrinterDriver, journal: Journal, kiosk: str | None = None):
        self.server = server
        self.address, self.path, self.site = socketio_address(server)
        self.driver = driver
        self.journal = journal
        self.kiosk = kiosk
        self.check_seconds = 30.0
        self.retry_seconds = 30.0
        self.backoff = backoff_seconds()
        self._token = token
        self._wake = threading.Event()
        self._ready = threading.Event()  # connected and greeted
        self._reported: Status | None = None
        self._stalled: Status | None = None  # why the last job failed, while the printer says it can print
        self._refusal: dict | None = None  # why the server refused the last connect, as it said it
        self._site_gone = False  # said once until the site is served again
        self._printing = threading.Lock()  # held from a ticket's first byte until it is in the journal
        self._pace = Pace()
        self._link = self._new_client()

    @property
    def sio(self) -> socketio.Client:
        return self._link.sio

    # --- connection -----------------------------------------------------------------------

    def stop(self, key: str, **params) -> None:
        """A refusal that does not fix itself: said, and the agent ends with exit code 2 (a systemd unit
        with ``RestartPreventExitStatus=2`` stays stopped, the reason in its journal). A ticket being
        printed is finished and written to the journal first (never half a ticket, never one twice)."""
        log.error("%s", say(key, **params))
        self._printing.acquire(timeout=PRINT_SECONDS)
        logging.shutdown()
        os._exit(2)

    def run(self) -> None:
        """Print for ever, connected (again) whenever the connection drops: about every
        ``UNANSWERED_TRY_SECONDS`` while nothing answers at the server's address (for the back-off's longest
        wait from the first such try), else with back-off."""
        threading.Thread(target=self._print_forever, daemon=True, name="printing").start()
        failures = 0  # tries in a row that failed, and connections that dropped soon: the back-off's step
        unanswered: float | None = None  # since when nothing has answered at the server's address
        while True:
            self._refusal = None
            link = self._link
            try:
                self._connect(link)
            except socketio.exceptions.ConnectionError as error:
                now = time.monotonic()
                if self._refusal is not None or not _UNANSWERED.search(str(error)):
                    unanswered = None  # it answered (a refusal, an error): not asked again at once
                elif unanswered is None:
                    unanswered = now
                soon = unanswered is not None and now - unanswered < max(self.backoff)
                time.sleep(self._not_connected(error, failures, soon=soon, first=soon and unanswered == now))
                failures += 0 if soon else 1
                self._link = self._new_client()
                continue
            unanswered = None
            began = time.monotonic()
            if self._site_gone:
                self._site_gone = False
                log.warning("%s", say("kiosk_agent_site_back", site=self.site))
            while not link.gone():  # (a drop python-socketio or python-engineio says nothing of, too)
                link.dropped.wait(LINK_CHECK_SECONDS)
            link.end()
            if time.monotonic() - began > STEADY_SECONDS:
                failures = 0
            else:  # dropped soon after it was made (a flood's disconnect, a proxy): not at once again
                time.sleep(self._backoff(failures))
                failures += 1
            self._link = self._new_client()

    def _connect(self, link: Link) -> None:
        """Connected, the server having taken the connection (the kiosk's token), or ``ConnectionError``.
        python-socketio's own wait for that (connect's ``wait_timeout``) does not end when the connection
        drops meanwhile: one made as the server stopped (a restart) held the agent 10 s after the server was
        back, and the ticket a citizen had just taken came out that much later."""
        link.sio.connect(self.address, socketio_path=self.path, auth={"token": self._token}, wait=False)
        deadline = time.monotonic() + CONNECT_SECONDS
        while not link.answered.wait(DROP_CHECK_SECONDS):
            dropped = link.gone()
            if dropped or time.monotonic() > deadline:
                link.end()
                raise socketio.exceptions.ConnectionError(
                    DROPPED_UNTAKEN if dropped else f"not taken within {CONNECT_SECONDS} s"
                )
        if not link.taken:  # refused (self._refusal: why, as the server said it)
            link.sio.disconnect()
            raise socketio.exceptions.ConnectionError("One or more namespaces failed to connect: /")

    def _new_client(self) -> Link:
        """A client for one connection, with its events. Reconnecting is run()'s, each
        time with a new client: python-socketio's own reconnection does not come back from the server's
        disconnect (a revoked token) and says nothing of a refusal (a removed site); and a dropped
        client may take up to 15 s to end its threads (its packet queue's wait), in which it cannot
        connect again."""
        link = Link(InOrderClient(reconnection=False, handle_sigint=False))

        def taken():
            link.taken = True
            link.answered.set()
            self._on_connect()

        link.sio.on("connect", taken)
        link.sio.on("connect_error", lambda data=None: (self._on_connect_error(data), link.answered.set()))
        link.sio.on("disconnect", lambda *_reason: (self._on_disconnect(), link.dropped.set()))
        link.sio.on("print.wake", lambda *_: self._wake.set())
        return link

    def _not_connected(self, error, failures: int, soon: bool = False, first: bool = False) -> float:
        """Why the last connect failed, said; the seconds until the next. ``soon``: nothing answered, within
        the back-off's longest wait of the first such try (said at the ``first`` of those tries only)."""
        refusal = self._refusal or {}
        code = refusal.get("code")
        if code == "site_unknown":
            self._site_unknown(refusal)
            return SITE_ASKED_SECONDS
        self._refused_for_good(refusal)
        if soon:
            every = max(UNANSWERED_TRY_SECONDS, self.backoff[0])  # never faster than the operator's first step
            if first:
                log.warning(
                    "cannot reach %s (%s); trying again about every %g s for %g s, then with back-off",
                    self.server,
                    error,
                    every,
                    max(self.backoff),
                )
            return every * random.uniform(*UNANSWERED_JITTER)
        delay = self._backoff(failures)
        log.warning("cannot reach %s (%s); trying again in %.1f s", self.server, error, delay)
        return delay

    def _backoff(self, failures: int) -> float:
        """The wait after ``failures`` tries in a row that failed."""
        return self.backoff[min(failures, len(self.backoff) - 1)]

    def _site_unknown(self, refusal: dict) -> None:
        if not self._site_gone:
            self._site_gone = True
            said = say("kiosk_agent_site_gone", site=self.site or "/", reason=refusal, seconds=SITE_ASKED_SECONDS)
            log.error("%s", said)

    def _refused_for_good(self, refusal: dict) -> None:
        """Stop on a refusal that does not fix itself; anything else is tried again."""
        code = refusal.get("code")
        if code == "forbidden_site":
            own = refusal.get("own_site")  # (a server before 2026-12-06 named it in its sentence only)
            if isinstance(own, str) and own:
                self.stop("kiosk_agent_own_site", reason=refusal, base=self.address, site=own)
            self.stop("kiosk_agent_other_site", reason=refusal, base=self.address)
        if code in PERMANENT:
            self.stop("kiosk_agent_token_refused", reason=refusal, site=f" --site {self.site}" if self.site else "")

    def _on_connect_error(self, data=None):
        refusal = data.get("data") if isinstance(data, dict) else None
        if isinstance(refusal, dict):
            self._refusal = refusal

    def _on_connect(self):
        self._reported = None  # tell a (possibly restarted) server the printer's state again
        self._pace.restart()
        threading.Thread(target=self._greet, daemon=True).start()  # never block the client's event loop

    def _on_disconnect(self, *_reason):
        self._ready.clear()
        log.warning("lost the connection to the server; reconnecting")

    def _greet(self) -> None:
        link, sent = self._link, list(self.journal.unconfirmed)
        try:
            answer = self._call("agent.hello", {"kiosk": self.kiosk, "printed": sent}, link)
        except socketio.exceptions.SocketIOError as error:
            answer = {"error": {"message": f"no answer: {error}"}}
        error = answer.get("error") if isinstance(answer, dict) else {"message": f"answer {answer!r}"}
        if error is not None:
            if error.get("code") == "site_unknown":
                self._site_unknown(error)
            else:  # a wrong kiosk or token does not fix itself: stop so that it gets noticed
                self._refused_for_good(error)
                log.warning("%s", say("kiosk_agent_hello_refused", reason=error))
            link.sio.disconnect()  # run() connects again, with back-off
            return
        self.journal.reported(sent, keys=answer.get("keys") is True)
        self.kiosk = answer["kiosk"]
        self.check_seconds = answer["check_seconds"]
        self.retry_seconds = answer["retry_seconds"]
        self._pace.follow(answer.get("events_burst"), answer.get("events_per_second"))
        log.info("printing for kiosk %s (printer %s)", self.kiosk, answer["printer"])
        self._ready.set()
        self._wake.set()

    def _call(self, event: str, data: dict, link: Link | None = None):
        """The server's answer to ``event`` on this connection (``link``: the one being greeted), or
        ``TimeoutError`` once it drops. python-socketio's ``call`` waits out its whole timeout on a dropped
        connection: a fetch sent as the server stopped held the printing for 10 s after the restart, and
        the ticket a citizen had just taken came out that much later."""
        link = link or self._link
        self._pace.wait()
        answered = threading.Event()
        answers: list[tuple] = []
        link.sio.emit(event, data, callback=lambda *args: (answers.append(args), answered.set()))
        deadline = time.monotonic() + ANSWER_SECONDS
        while not answered.wait(DROP_CHECK_SECONDS):
            if link.gone() or time.monotonic() > deadline:
                if link.closed_unsaid():
                    link.wake_stuck_writer()  # the library's disconnect then wakes run(), not its next look
                raise socketio.exceptions.TimeoutError()
        return answers[0][0] if answers[0] else None

    # --- printing -------------------------------------------------------------------------

    def _print_forever(self) -> None:
        try:
            self._print_jobs()
        except Exception:  # noqa: BLE001 - printing stopped: end, and be started again (systemd's Restart=always)
            log.exception("the printing stopped on an unexpected error; the agent ends (exit code 1)")
            logging.shutdown()
            os._exit(1)

    def _print_jobs(self) -> None:
        failures = 0
        while True:
            self._ready.wait()
            if self._print_waiting_jobs():
                failures = 0
                wait = self.check_seconds  # idle: the printer is asked again after this
            else:
                wait = min(self.retry_seconds, self._backoff(failures))
                failures += 1
            self._wake.wait(wait)
            self._wake.clear()

    def _print_waiting_jobs(self) -> bool:
        """Print every job the server has for this kiosk; False when the printer cannot go on, or the server
        did not take a job's ``print.done`` (the loop then waits, with back-off, before asking again)."""
        while True:
            status = self.driver.status()
            # a printer whose last job stopped part-way still answers its status query: it stays
            # reported as not responding until a job prints, rather than flipping at every retry
            self._report(self._stalled if self._stalled and status.can_print else status)
            if not status.can_print:
                return False
            try:
                answer = self._call("print.fetch", {})
            except socketio.exceptions.SocketIOError:
                return False
            if not isinstance(answer, dict) or "error" in answer:  # not answered (a dropped allowance), refused
                return False
            if not answer.get("jobs"):
                self._stalled = None  # nothing to print: its status query is all there is to know
                self._report(status)
                return True
            told = True
            for job in answer["jobs"]:
                if not self._print_one(job, status):
                    return False
                told = self._tell({"job": job["id"], "printed": True}, job_key(job)) and told
            if not told:  # (its database refusing the write, say): not fetched again at once, which gave
                # back the same jobs, each skipped as printed and reported again, about twice a second
                return False

    def _print_one(self, job: dict, status: Status) -> bool:
        """``job`` printed, now or before (the journal has it); False when it could not be."""
        if not self.journal.has_printed(job):
            content = TicketContent.from_json(job["content"])
            task = PrintTask(data=job["data"], name=job["name"], preview=lambda: preview(content))
            with self._printing:  # stop() waits for it: never half a ticket, never one printed twice
                try:
                    self.driver.print(task)
                except PrintFailed as error:
                    failed = error
                else:
                    failed = None
                    self.journal.mark_printed(job_key(job))
            if failed is not None:
                log.warning("job %s not printed: %s", job["name"], failed)
                self._stalled = Status(OFFLINE, str(failed))
                self._report(self._stalled)
                self._tell({"job": job["id"], "printed": False, "error": str(failed)})
                return False
            log.info("printed %s", job["name"])
            self._stalled = None
            self._report(status)
        return True

    def _tell(self, done: dict, key: int | str | None = None) -> bool:
        """``print.done``; True once the server took it (``key``, a printed job's, is then confirmed in the
        journal). A job not taken stays unconfirmed: it is reported again by the next fetch's turn, or
        the next ``agent.hello``, never printed again."""
        try:
            answer = self._call("print.done", done)
        except socketio.exceptions.SocketIOError:
            return False
        if isinstance(answer, dict) and "ok" in answer:
            if key is not None:
                self.journal.confirmed([key])
            return True
        error = answer.get("error") if isinstance(answer, dict) else None
        log.warning(
            "the server did not take print.done for job %s (%s); it is reported again later",
            done["job"],
            error.get("message") if isinstance(error, dict) else f"answer {answer!r}",
        )
        return False

    def _report(self, status: Status) -> Status:
        if status != self._reported:
            try:
                self._call("printer.report", {"state": status.state, "detail": status.detail})
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
