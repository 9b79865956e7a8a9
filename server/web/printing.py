"""Printing as the server sees it: a kiosk's ticket gets a print job in the same transaction,
the spooler (printers/spooler.py) prints it, and printers' states go out as ``printer.status``.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from ...printers import jobs, states
from ...printers.drivers import UNKNOWN, Status
from ...printers.registry import driver_for
from ...printers.spooler import Spooler
from ..core import engine as q
from ..core.i18n import translate
from ..core.lease import Lease
from .extensions import socketio

log = logging.getLogger("queuekiosk.printing")


def issue_with_print(
    conn, site, service: str, *, printer: str | None, track_base: str, config_dir: Path, **kwargs
) -> q.Outcome:
    """Issue a ticket and, when its kiosk has a printer, queue its print job: both or neither."""
    outcome = q.issue(conn, site, service, **kwargs)
    if printer is not None:
        ticket = outcome.ticket
        content = jobs.ticket_content(site, ticket, track_url(track_base, ticket["id"]), config_dir)
        jobs.enqueue(conn, site, printer, ticket["id"], content)
    return outcome


def track_url(base: str, ticket_id: str) -> str:
    return f"{base.rstrip('/')}/t/{ticket_id}"


def track_urls(app) -> Callable[[str], str]:
    """The ticket id -> its ``track_url`` now, for the kiosk's pages (kiosk/web.py ``TRACK_URL``)."""
    return lambda ticket_id: track_url(tracking_base(app), ticket_id)


SERVER_URL = "QUEUEKIOSK_SERVER_URL"  # app.config key: the address the server was started on
FALLBACK_SERVER_URL = "http://127.0.0.1:8000"  # `queuekiosk serve`'s default address
# the environment's, and the app.config key (server/web/first_start.py): every site's address, unless it sets its own
TRACKING_URL = "QUEUEKIOSK_TRACKING_URL"


def tracking_base(app, site=None) -> str:
    """Where phones reach the server, for a ticket's track_url and QR code: the site's
    ``ticket.tracking_url``, else the installation's (QUEUEKIOSK_TRACKING_URL), else the address the
    server was started on. Never the request's Host or X-Forwarded-Host header: anyone can send those
    and would put their own site on the tickets. ``site``: the site worked for (``state.site``), where
    the caller already looked it up."""
    state = app.extensions["queuekiosk"]
    if site is None:
        site = state.site
    configured = site.config.ticket.tracking_url
    base = configured or app.config.get(TRACKING_URL) or app.config.get(SERVER_URL, FALLBACK_SERVER_URL)
    site_id = site.id  # a site other than the first is reached under /s/{site}/ (server/web/app.py)
    if site_id != state.first_site_id and not base.rstrip("/").endswith(f"/s/{site_id}"):
        base = f"{base.rstrip('/')}/s/{site_id}"
    return base


def _loopback(address: str) -> bool:
    host = urlsplit(address).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# app.config: the process is reached through a reverse proxy (gunicorn, or QUEUEKIOSK_PROXIES set),
# whose address phones use, not the process's own
BEHIND_PROXY = "QUEUEKIOSK_BEHIND_PROXY"


def unreachable_tracking(app) -> str | None:
    """The catalog's sentence (a key, its {address} the tracking address) while no phone can open the
    tickets' QR codes, else None: behind a reverse proxy with no address set (the process's own, firewalled
    or loopback), or reached directly at an address on this machine's loopback."""
    base = tracking_base(app)
    own = app.extensions["queuekiosk"].site.config.ticket.tracking_url
    if _loopback(base) and (own or app.config.get(TRACKING_URL)):  # a loopback address, set as it is
        return "admin_tracking_site_loopback" if own else "admin_tracking_env_loopback"
    if app.config.get(BEHIND_PROXY):
        return None if own or app.config.get(TRACKING_URL) else "admin_tracking_proxy"
    return "admin_tracking_loopback" if _loopback(base) else None


def warn_if_phones_cannot_reach(app, served_directly: bool) -> None:
    """At start: the tickets' QR codes at an address no phone can open, and what to do, which depends
    on how phones reach the server: ``served_directly`` (``serve`` with no QUEUEKIOSK_PROXIES) at its
    own address, else through a reverse proxy (nginx), whose address only the settings can give."""
    app.config[BEHIND_PROXY] = not served_directly
    listening = app.config.get(SERVER_URL, FALLBACK_SERVER_URL)
    installation = app.config.get(TRACKING_URL)
    problem = unreachable_tracking(app)
    if problem is not None:
        log.warning("%s", translate(problem, "en", address=tracking_base(app)))
    elif served_directly and installation and not _loopback(installation) and _loopback(listening):
        log.warning(
            "Tickets' QR codes and track_url point to %s (QUEUEKIOSK_TRACKING_URL), but this server listens on "
            "%s only, which phones cannot open: serve on the LAN address as well (--host 0.0.0.0), or put a "
            "reverse proxy at that address (then QUEUEKIOSK_PROXIES=1).",
            installation,
            listening,
        )


def tracking_notes(app) -> list[dict]:
    """For the supervisor's dashboard: the same warning while phones cannot open the tickets' QR codes."""
    problem = unreachable_tracking(app)
    if problem is None:
        return []
    base = tracking_base(app)
    return [
        {
            "item": "tracking_url",
            "message": translate(problem, "vi", address=base),
            "message_en": translate(problem, "en", address=base),
            "detail": None,
        }
    ]


def job_added(state, printer_id: str) -> None:
    """After the commit of a new job: the spooler, or the printer's kiosk agent, takes it now."""
    if state.spooler is None:
        return
    if printer_id in state.spooler.agent_printers:
        socketio.emit("print.wake", {"printer": printer_id}, to=agent_room(state.site, printer_id))
    else:
        state.spooler.wake(printer_id)


def agent_room(site, printer_id: str) -> str:
    return f"{site.id}:agent:{printer_id}"


def make_spooler(state, site_id: str) -> Spooler:
    """The spooler of one site's printers: its greenlets write, read and tell for that site only."""
    return Spooler(
        state.sites[site_id],
        lambda printer: driver_for(printer, state.config_dir),
        write=lambda action, *args, **kwargs: state.write_at(site_id, action, *args, **kwargs),
        read=lambda action, *args, **kwargs: state.read_at(site_id, action, *args, **kwargs),
        on_status=lambda printer_id, status: publish_status(state.sites[site_id], printer_id, status),
        lease=lambda printer_id: Lease(state.engine, state.instance_dir, lease_name(site_id, printer_id)),
        spawn=lambda run, *args: state.spawn_for(site_id, run, *args),  # stopped when the site is removed
    )


def lease_name(site_id: str, printer_id: str) -> str:
    """One name per site's printer: "." is in neither a site's id nor a printer's, so site "xa" with
    printer "tan-1" and site "xa-tan" with printer "1" do not share one lease (one would never print)."""
    return f"printer-{site_id}.{printer_id}"


def kiosks_of(site, printer_id: str) -> list[str]:
    return [k.id for k in site.config.kiosks if k.printer == printer_id]


def status_view(site, printer_id: str, status: Status) -> dict:
    return {
        "printer": printer_id,
        "state": status.state,
        "detail": status.detail,
        "kiosks": kiosks_of(site, printer_id),
    }


def publish_status(site, printer_id: str, status: Status) -> None:
    payload = status_view(site, printer_id, status)
    for room in [f"{site.id}:dashboard", *(f"{site.id}:kiosk:{k}" for k in payload["kiosks"])]:
        socketio.emit("printer.status", payload, to=room)


def current_status(state, printer_id: str, db, saved: dict | None = None) -> Status:
    """The printer's state here, or as the process that drives it (or hosts its agent) saved it."""
    if state.spooler is None:
        return Status(UNKNOWN)
    saved = states.load(db, state.site) if saved is None else saved
    return state.spooler.status_of(printer_id, saved.get(printer_id))


def printers_view(state, db) -> list[dict]:
    """Every printer of config with its state and its jobs waiting or failed today."""
    site = state.site
    counts = jobs.counts(db, site)
    saved = states.load(db, site)
    return [
        {
            **status_view(site, p.id, current_status(state, p.id, db, saved)),
            "driver": p.driver,
            **counts.get(p.id, {"pending": 0, "failed": 0}),
        }
        for p in site.config.printers
    ]
