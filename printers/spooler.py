"""The print spooler: one greenlet per printer the server drives itself, printing its jobs in order.

A ticket is committed (with its print job) before anything here runs, so printing never
blocks or fails issuing. For each job the spooler asks the printer's status first (DLE EOT:
online? paper?), prints only to a printer that can, and otherwise waits with back-off (a new
job or a reprint wakes it early). A job not printed within the printer's ``give_up_minutes``
ends ``failed`` with the reason. Every change of a printer's state is reported through
``on_status`` (the server turns it into a ``printer.status`` event).

Printers of ``driver: agent`` are printed by a kiosk agent (kiosk/agent.py), which fetches
their jobs and reports their state (``report``); the spooler only gives up their jobs in time.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import gevent
from gevent.event import Event

from ..server.core import engine as q
from ..server.core import faults
from . import jobs, states
from .content import TicketContent
from .drivers import OFFLINE, UNKNOWN, PrinterDriver, PrintFailed, PrintTask, Status

log = logging.getLogger(__name__)

NO_AGENT = "no kiosk agent is connected"

BACKOFF_SECONDS = (0.5, 1, 2, 5, 10, 20, 30)  # between tries of a printer that cannot print,
# capped by the printer's retry_seconds; an idle printer is still asked every check_seconds,
# so an empty paper tray shows on the kiosk and dashboard before the next citizen comes


class Spooler:
    def __init__(
        self,
        site,
        make_driver: Callable[[object], PrinterDriver | None],
        write: Callable,
        read: Callable,
        on_status: Callable[[str, Status], None],
        lease: Callable,
        spawn: Callable = gevent.spawn,
    ):
        """``make_driver(printer)`` gives the driver of a printer of the setup (None: a kiosk agent
        prints it); ``write(action, *args)`` runs ``action(conn, site, *args)`` in a committed
        transaction; ``read(action, *args)`` the same for reading; ``lease(printer_id)`` gives a
        server/core/lease.py Lease whose ``try_take()`` is true in one server process only: that one drives
        the printer, until ``lost()`` says PostgreSQL dropped it;
        ``spawn(run, *args)`` starts a printer's greenlet (the server's: one of its site's own, ended
        when the site is removed)."""
        self.site = site
        self._spawn = spawn
        # its lines name its site, wherever its greenlets run (printer ids repeat from commune to commune)
        self._log = logging.LoggerAdapter(log, {"site": site.id})
        self._lease = lease
        self._make_driver = make_driver
        self.statuses: dict[str, Status] = {}
        self._write = write
        self._read = read
        self._on_status = on_status
        self._wakeups: dict[str, Event] = {}
        self._running: set[str] = set()  # printers with a greenlet of their own
        self._started = False
        # why the last job failed on a printer whose status query still says it can print (it took
        # the job's bytes, then stopped): shown instead of that status until a job prints, so the
        # state does not flip between ready and not responding at every retry
        self._stalled: dict[str, Status] = {}
        self._printed: set[int] = set()  # jobs on paper whose "printed" the database has not taken yet
        # the printers whose state this process knows and saves (printers/states.py): it drives
        # them, or their kiosk agent is connected here; other processes read what it saved
        self._sources: set[str] = set()
        # the printers whose last state the database did not take (a write refused, or its COMMIT lost):
        # saved again at their next report, or the other processes would show the old one until it changed
        self._unsaved: set[str] = set()

    @property
    def agent_printers(self) -> list[str]:
        return [p.id for p in self.site.config.printers if p.driver == "agent"]

    def start(self) -> None:
        self._started = True
        self.use_site(self.site)

    def use_site(self, site) -> None:
        """Follow a saved setup: a new printer gets its greenlet; a changed one its new driver, a
        removed one stops (both at their next look, ``_serve``)."""
        self.site = site
        if not self._started:
            return
        for printer in site.config.printers:
            if printer.id in self._running:
                continue
            self._running.add(printer.id)
            if printer.driver == "agent":
                self.statuses.setdefault(printer.id, Status(OFFLINE, NO_AGENT))
                self._spawn(self._expire, printer.id)
            else:
                self.statuses.setdefault(printer.id, Status(UNKNOWN))
                self._wakeups[printer.id] = Event()
                self._spawn(self._serve, printer.id)
            self.wake(printer.id)
        for printer_id in self._running - {p.id for p in site.config.printers}:
            self.wake(printer_id)  # it stops at once rather than after its back-off

    def report(self, printer_id: str, status: Status) -> None:
        """A printer's state, from its driver or its kiosk agent, in the process that drives it or
        hosts the agent; saved for the other processes, and the clients hear of it, when it changed
        (or first comes from this process); saved again while the database has not taken it."""
        first = printer_id not in self._sources
        self._sources.add(printer_id)
        changed = status != self.statuses.get(printer_id) or first
        if not changed and printer_id not in self._unsaved:
            return
        self.statuses[printer_id] = status
        if self._save(states.save, printer_id, status):
            self._unsaved.discard(printer_id)
        else:
            self._unsaved.add(printer_id)
        if changed:
            self._on_status(printer_id, status)

    def agent_gone(self, printer_id: str) -> None:
        """The last kiosk agent of this printer left this process; it may be with another one already,
        so the saved state changes only if this process saved it."""
        self._sources.discard(printer_id)
        self._unsaved.discard(printer_id)  # (no longer this process's to save)
        status = Status(OFFLINE, NO_AGENT)
        self.statuses[printer_id] = status
        if self._save(states.save_if_ours, printer_id, status):
            self._on_status(printer_id, status)

    def status_of(self, printer_id: str, saved) -> Status:
        """A printer's state as this process shows it: its own if it knows it, else the row
        ``saved`` (printers/states.py) by the process that does."""
        if printer_id in self._sources or saved is None:
            return self.statuses.get(printer_id, Status(UNKNOWN))
        if printer_id in self.agent_printers:  # that process keeps the row fresh while the agent is there
            check = self.site.config.printer(printer_id).check_seconds
            if q.utcnow() - saved.updated_at > dt.timedelta(seconds=3 * check + 10):
                return Status(OFFLINE, NO_AGENT)
        return Status(saved.state, saved.detail)

    def _fault(self, error: Exception, where: str, reading: bool = False) -> None:
        """A database fault of a printer's loop: a line a minute of its own, beside the requests'."""
        faults.report(error, where, reading, loop_at=self.site.id)

    def _save(self, action, printer_id: str, status: Status) -> bool:
        """``action`` (printers/states.py) in a transaction of its own; whether it saved."""
        try:
            return self._write(action, printer_id, status.state, status.detail)
        except faults.DATABASE_ERRORS as error:  # the clients still hear of it; the other processes lag
            self._fault(error, f"printer {printer_id} state")
            return False

    def task_for(self, printer, job) -> PrintTask:
        """A job's bytes for this printer's form and paper, and its picture on demand."""
        from .ticket import preview, render  # Pillow and python-escpos: loaded at the first print

        content = TicketContent.from_json(job.content)
        return PrintTask(
            data=render(content, printer.form, printer.width_dots, printer.profile),
            name=f"{content.number}-job{job.id}",
            preview=lambda: preview(content, printer.width_dots),
        )

    def wake(self, printer_id: str) -> None:
        """A job was added for this printer: look now rather than after the back-off."""
        if printer_id in self._wakeups:
            self._wakeups[printer_id].set()

    # --- one printer ----------------------------------------------------------------------

    def _current(self, printer_id: str, printer, driver):
        """The printer as the setup has it now, and its driver (a new one when its settings changed);
        None when it left the setup or became a kiosk agent's."""
        now = self.site.config.printer(printer_id)
        if now is None or now.driver == "agent":
            self._running.discard(printer_id)
            return None, None
        if now != printer:
            if printer is not None:
                self._log.info("printer %s: settings changed, using the new ones", printer_id)
            return now, self._make_driver(now)
        return printer, driver

    def _serve(self, printer_id: str) -> None:
        printer, driver = self._current(printer_id, None, None)
        lease = self._lease(printer_id)
        while printer is not None:
            while printer is not None and not self._took(printer_id, lease.try_take):  # another process drives
                gevent.sleep(printer.check_seconds)  # it, or the database is out of reach: stand by
                printer, driver = self._current(printer_id, printer, driver)
            if printer is not None:
                printer, driver = self._drive(printer_id, printer, driver, lease)

    def _drive(self, printer_id: str, printer, driver, lease):
        """Print while this process holds the printer's lease; (None, None) once the printer is gone
        (the lease ends with the greenlet), or the printer when PostgreSQL dropped the lease (a restart):
        another process may have taken it, so this one stands by again rather than print beside it."""
        failures = 0
        while True:
            printer, driver = self._current(printer_id, printer, driver)
            if printer is None:
                return None, None
            try:
                if lease.lost():
                    self._log.warning("printer %s: its lease was lost with its connection; standing by", printer_id)
                    return printer, driver
                job = self._read(jobs.next_pending, printer_id)
                if job is None:
                    self._stalled.pop(printer_id, None)  # nothing to print: its status query is all we know
                    self._check(printer_id, driver)
                    self._sleep(printer_id, printer.check_seconds)
                    failures = 0
                    continue
                if job.id in self._printed:  # on paper, but the database did not take it (full?): record only
                    self._record_printed(job.id)
                    continue
                if self._given_up(printer, job):
                    continue
                status = self._check(printer_id, driver)
                if status.can_print and self._print(printer, driver, job, status):
                    failures = 0
                    continue
            except faults.DATABASE_ERRORS as error:  # a full, busy or damaged database: printing goes on
                self._fault(error, f"printer {printer_id}")
            except Exception:
                self._log.exception("printer %s: the spooler hit an error; retrying", printer_id)
            self._sleep(
                printer_id, min(printer.retry_seconds, BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)])
            )
            failures += 1

    def _took(self, printer_id: str, try_take) -> bool:
        """Whether this process took the printer's lease (on PostgreSQL a connection of its own)."""
        try:
            return try_take()
        except faults.DATABASE_ERRORS as error:
            self._fault(error, f"printer {printer_id} lease", reading=True)
            return False

    def _expire(self, printer_id: str) -> None:
        """An agent's printer: end jobs nobody printed in time (the agent itself prints the rest), and
        while its agent is connected here, keep the saved state fresh (``status_of``), saved again if the
        database did not take it."""
        while True:
            printer = self.site.config.printer(printer_id)
            if printer is None or printer.driver != "agent":
                self._running.discard(printer_id)
                return
            try:
                if printer_id in self._unsaved:  # its agent says a state once: saved again here until taken
                    self.report(printer_id, self.statuses[printer_id])
                elif printer_id in self._sources:
                    self._write(states.touch, printer_id)
                job = self._read(jobs.next_pending, printer_id)
                if job is not None and self._given_up(printer, job):
                    continue
            except faults.DATABASE_ERRORS as error:  # said as for requests: one line a minute
                self._fault(error, f"printer {printer_id}", reading=True)
            except Exception:
                self._log.exception("printer %s: checking for jobs to give up failed; retrying", printer_id)
            gevent.sleep(printer.check_seconds)

    def _check(self, printer_id: str, driver: PrinterDriver) -> Status:
        """The printer's answer to a status query; what is shown may be why its last job failed."""
        status = driver.status()
        self._show(printer_id, self._stalled.get(printer_id, status) if status.can_print else status)
        return status

    def _show(self, printer_id: str, status: Status) -> None:
        if status != self.statuses.get(printer_id):
            self._log.log(
                logging.INFO if status.can_print else logging.WARNING,
                "printer %s: %s%s",
                printer_id,
                status.state,
                f" ({status.detail})" if status.detail else "",
            )
        self.report(printer_id, status)

    def _print(self, printer, driver: PrinterDriver, job, status: Status) -> bool:
        task = self.task_for(printer, job)
        try:
            driver.print(task)
        except PrintFailed as error:
            self._log.warning("printer %s: job %s not printed: %s", printer.id, task.name, error)
            self._stalled[printer.id] = Status(OFFLINE, str(error))
            self._show(printer.id, self._stalled[printer.id])
            self._write(jobs.note_attempt, job.id, str(error))
            return False
        self._printed.add(job.id)
        if self._stalled.pop(printer.id, None) is not None:
            self._show(printer.id, status)  # it printed: back to what its status query said
        self._record_printed(job.id)
        return True

    def _record_printed(self, job_id: int) -> None:
        self._write(jobs.finish, job_id, True)
        self._printed.discard(job_id)

    def _given_up(self, printer, job) -> bool:
        if q.utcnow() - job.created_at < dt.timedelta(minutes=printer.give_up_minutes):
            return False
        status = self.statuses.get(printer.id)
        reason = f"not printed within {printer.give_up_minutes:g} minutes; printer {status.state}"
        if status.detail:
            reason += f": {status.detail}"
        self._write(jobs.finish, job.id, False, reason)
        self._log.warning("printer %s: job %d given up: %s", printer.id, job.id, reason)
        return True

    def _sleep(self, printer_id: str, seconds: float) -> None:
        wakeup = self._wakeups[printer_id]
        wakeup.wait(seconds)
        wakeup.clear()
