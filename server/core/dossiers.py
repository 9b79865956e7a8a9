"""The dossier link (issue 15): at the counter the clerk types or scans the dossier code ("mã hồ
sơ", the code the public-service portal gives a file, e.g. ``000.00.12.H26-241203-0001``) and picks
the procedure actually served from the service's ``procedures``. Both are kept on the ticket, go out
with its later events (ticket.started, ticket.finished: server/core/outbox.py) and the webhooks, and
the report by procedure counts them (server/core/reports/procedures.py).

A dossier code is not personal data: it names a file, not a person.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from . import engine as q
from . import models as m
from .db import SiteRuntime
from .engine.views import ticket_view
from .errors import Invalid, NotFound, QueueError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = m.tickets

CODE_MAX = 40
# letters, digits and the separators the portals use; a scanner's trailing newline is stripped first
DOSSIER_CODE = re.compile(rf"^[A-Z0-9][A-Z0-9.\-_/]{{0,{CODE_MAX - 1}}}$")


def normal_code(raw: str | None) -> str | None:
    """The dossier code as kept (upper case, no spaces around); None for none. 422 naming
    ``dossier_code`` for anything else than letters, digits and . - _ /."""
    if raw is None:
        return None
    code = raw.strip().upper()
    if not code:
        return None
    if not DOSSIER_CODE.match(code):
        raise Invalid("invalid_dossier_code", field="dossier_code", max=CODE_MAX)
    return code


def procedures_of(site: SiteRuntime, service: str) -> dict:
    """The service's procedures, code -> names."""
    config = site.config.service(service)
    return {p.code: p.name for p in (config.procedures if config else [])}


def record(
    conn: Session | Connection,
    site: SiteRuntime,
    counter: int,
    dossier_code: str | None,
    procedure: str | None,
    now: dt.datetime | None = None,
    actor: q.Actor | None = None,
) -> q.Outcome:
    """Set (or, with None, clear) the dossier code and the procedure of the ticket ``counter`` holds."""
    conn = conn if isinstance(conn, Connection) else conn.connection()
    if counter not in site.counter_ids:
        raise NotFound("unknown_counter", counter=counter)
    code = normal_code(dossier_code)
    row = conn.execute(
        select(T).where(
            T.c.site_id == site.id, T.c.counter_id == site.counter_ids[counter], T.c.status.in_(m.HELD_STATES)
        )
    ).first()
    if row is None:
        raise QueueError("no_current_ticket", counter=counter)
    service = site.service_codes.get(row.service_id)
    known = procedures_of(site, service)
    if procedure is not None and procedure not in known:
        raise Invalid(
            "unknown_procedure", field="procedure", procedure=procedure, service=service, known=", ".join(known) or "-"
        )
    conn.execute(update(T).where(T.c.id == row.id).values(dossier_code=code, procedure=procedure))
    return q.Outcome(ticket_view(site, conn.execute(select(T).where(T.c.id == row.id)).one()), [])
