"""Print jobs in the database: made with the ticket, then printed, failed, or made again (reprint).

Plain functions over a connection, like the queue engine: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import func, insert, select, update

from ..server.core import engine as q
from ..server.core import models as m
from ..server.core.i18n import translate
from .content import TicketContent, local_stamp

J = m.print_jobs
T = m.tickets


def printer_of_kiosk(site, kiosk: str | None) -> str | None:
    kiosk_cfg = site.config.kiosk(kiosk) if kiosk else None
    return kiosk_cfg.printer if kiosk_cfg else None


def ticket_content(site, ticket: dict, tracking_url: str, config_dir: Path) -> TicketContent:
    """What the paper says for an engine ticket view (one with ``waiting_ahead`` and ``eta_minutes``)."""
    config = site.config
    service = config.service(ticket["service"])
    priority = next((p for p in config.priorities if p.code == ticket["priority"]), None)
    # its time: when it joined the queue, a remote number's check-in (not the phone request)
    issued = dt.datetime.fromisoformat((ticket.get("queued_at") or ticket["issued_at"]).removesuffix("Z"))
    logo = config.ticket.logo
    serving = [c.number for c in config.counters if ticket["service"] in config.counter_services(c)]
    return TicketContent(
        centre=config.site.name,
        number=ticket["display"],
        service=service.name.vi,
        service_en=service.name.en,
        priority=priority.name.vi if priority else None,
        issued_at=local_stamp(q.local_time(site, issued)),
        people_ahead=ticket["waiting_ahead"],
        eta_minutes=ticket["eta_minutes"],
        eta_range=ticket.get("eta_range"),
        tracking_url=tracking_url,
        footer=config.ticket.footer,
        logo=str(config_dir / logo) if logo else None,
        counters=serving or None,
    )


def enqueue(
    conn, site, printer_id: str, ticket_public_id: str, content: TicketContent, now: dt.datetime | None = None
) -> int:
    """A pending job for ``printer_id``; in the caller's transaction, so it exists iff the ticket does."""
    ticket_id = select(T.c.id).where(T.c.public_id == ticket_public_id).scalar_subquery()
    return _insert(conn, site, printer_id, ticket_id, content, now or q.utcnow())


def _insert(conn, site, printer_id: str, ticket_id, content: TicketContent, now: dt.datetime) -> int:
    return conn.execute(
        insert(J)
        .values(
            site_id=site.id,
            printer_id=printer_id,
            ticket_id=ticket_id,
            status="pending",
            content=content.to_json(),
            created_at=now,
            attempts=0,
        )
        .returning(J.c.id)
    ).scalar_one()


def enqueue_test(conn, site, printer_id: str, tracking_url: str, now: dt.datetime | None = None) -> dict:
    """A test print: a ticket-shaped page with no ticket behind it, printed like any job (status
    first, retried, given up in time) by whichever process drives the printer."""
    now = now or q.utcnow()
    config = site.config
    content = TicketContent(
        centre=config.site.name,
        number="0000",
        service=translate("admin_test_print", "vi").upper(),  # "IN THỬ"
        service_en=translate("admin_test_print", "en"),
        issued_at=local_stamp(q.local_time(site, now)),
        people_ahead=0,
        tracking_url=tracking_url,
        footer=config.ticket.footer,
    )
    job_id = _insert(conn, site, printer_id, None, content, now)
    return job_view(conn.execute(select(J).where(J.c.id == job_id)).one())


def next_pending(conn, site, printer_id: str):
    """The oldest job still to print on this printer (jobs print in the order tickets were issued)."""
    jobs = oldest_pending(conn, site, printer_id, 1)
    return jobs[0] if jobs else None


def oldest_pending(conn, site, printer_id: str, limit: int) -> list:
    """Each with its ticket's ``public_id`` (None for a test print), for its ``job_key``."""
    return list(
        conn.execute(
            _keyed()
            .where(J.c.site_id == site.id, J.c.printer_id == printer_id, J.c.status == "pending")
            .order_by(J.c.id)
            .limit(limit)
        )
    )


def _keyed():
    return select(J, T.c.public_id).outerjoin(T, T.c.id == J.c.ticket_id)


def job_key(row) -> str:
    """A job's name that no other job has, on this server or any other, before or after a restore (which
    brings the id counter back, so that new jobs get old jobs' ids): its id with its ticket's random
    public id ("t" for a test print) and the moment it was made (a reprint after a restore may get an
    old reprint's id for the same ticket). A kiosk agent's journal keeps these."""
    return f"{row.id}-{row.created_at:%Y%m%d%H%M%S%f}-{row.public_id or 't'}"


def finish_reported(conn, site, job: int | str, printer_id: str) -> bool:
    """A job a kiosk agent printed without hearing it confirmed, marked printed: by its ``job_key`` (a
    job with that id and another key is another job: not printed), or by its id alone (an agent of
    before job keys)."""
    if isinstance(job, str):
        job_id = job.partition("-")[0]
        row = (
            conn.execute(_keyed().where(J.c.site_id == site.id, J.c.id == int(job_id))).first()
            if re.fullmatch(r"[0-9]{1,10}", job_id) and int(job_id) <= 2**31 - 1  # an int of the database
            else None  # a damaged entry: ignored (never an unanswered hello)
        )
        if row is None or job_key(row) != job:
            return False
        job = row.id
    return finish(conn, site, job, True, printer_id=printer_id)


def finish(
    conn,
    site,
    job_id: int,
    printed: bool,
    reason: str | None = None,
    now: dt.datetime | None = None,
    printer_id: str | None = None,
) -> bool:
    """Mark a pending job printed or failed; False if it was done already.

    A job given up may still be reported printed (a kiosk agent printed it late): paper is paper.
    """
    open_states = ("pending", "failed") if printed else ("pending",)
    result = conn.execute(
        update(J)
        .where(
            J.c.site_id == site.id,
            J.c.id == job_id,
            J.c.status.in_(open_states),
            J.c.printer_id == printer_id if printer_id else True,
        )
        .values(
            status="printed" if printed else "failed",
            finished_at=now or q.utcnow(),
            attempts=J.c.attempts + (1 if printed else 0),
            last_error=None if printed else (reason or "")[:500],
        )
    )
    return result.rowcount == 1


def note_attempt(conn, site, job_id: int, error: str, printer_id: str | None = None) -> None:
    conn.execute(
        update(J)
        .where(J.c.site_id == site.id, J.c.id == job_id, J.c.printer_id == printer_id if printer_id else True)
        .values(attempts=J.c.attempts + 1, last_error=error[:500])
    )


def reprint(conn, site, ticket_public_id: str, printer_id: str | None, now: dt.datetime | None = None) -> dict:
    """A new job with the content of the ticket's last job (its number, issue time and QR code)."""
    last = conn.execute(
        select(J.c.printer_id, J.c.content)
        .join(T, T.c.id == J.c.ticket_id)
        .where(T.c.site_id == site.id, T.c.public_id == ticket_public_id)
        .order_by(J.c.id.desc())
        .limit(1)
    ).first()
    if last is None:
        q.ticket_status(conn, site, ticket_public_id)  # unknown ticket: its own clear 404
        raise q.QueueError("never_printed", ticket=ticket_public_id)
    printer_id = printer_id or last.printer_id
    if site.config.printer(printer_id) is None:
        raise q.NotFound("unknown_printer", printer=printer_id)
    job_id = enqueue(conn, site, printer_id, ticket_public_id, TicketContent.from_json(last.content), now)
    return job_view(conn.execute(select(J).where(J.c.id == job_id)).one())


def jobs_of_ticket(conn, site, ticket_public_id: str) -> list[dict]:
    rows = conn.execute(
        select(J)
        .join(T, T.c.id == J.c.ticket_id)
        .where(T.c.site_id == site.id, T.c.public_id == ticket_public_id)
        .order_by(J.c.id)
    )
    return [job_view(row) for row in rows]


def counts(conn, site) -> dict[str, dict[str, int]]:
    """Per printer: how many jobs wait, and how many failed since the site's local midnight."""
    midnight = q.local_time(site, q.utcnow()).replace(hour=0, minute=0, second=0, microsecond=0)
    since = midnight.astimezone(dt.UTC).replace(tzinfo=None)
    out: dict[str, dict[str, int]] = {}
    rows = conn.execute(
        select(J.c.printer_id, J.c.status, func.count())
        .where(
            J.c.site_id == site.id,
            (J.c.status == "pending") | ((J.c.status == "failed") & (J.c.finished_at >= since)),
        )
        .group_by(J.c.printer_id, J.c.status)
    )
    for printer_id, status, n in rows:
        out.setdefault(printer_id, {"pending": 0, "failed": 0})[status] = n
    return out


def job_view(row) -> dict:
    return {
        "id": row.id,
        "printer": row.printer_id,
        "status": row.status,
        "attempts": row.attempts,
        "error": row.last_error,
        "created_at": q._iso(row.created_at),
        "finished_at": q._iso(row.finished_at),
        "number": row.content.get("number"),
    }
