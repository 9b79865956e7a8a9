"""Printers' last known states in the database (table ``printer_states``), one row per printer.

Only one server process knows a printer's state: the one that drives it (it holds the
printer's lease) or the one its kiosk agent is connected to. That process saves each change
here, and every other process reads it (GET /api/v1/printers, the dashboard's and a kiosk's
snapshot); the ``printer.status`` events themselves reach every process's clients through the
message queue. Plain functions over a connection; the caller owns the transaction.
"""

from __future__ import annotations

import os
import secrets
import socket

from sqlalchemy import select, text, update

from ..server.core import engine as q
from ..server.core import models as m

PS = m.printer_states


def _this_process() -> str:
    """This process, in the rows it saves: host and pid, and a random part for a pid used again."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[:100]


PROCESS = _this_process()


def _forked() -> None:
    global PROCESS
    PROCESS = _this_process()


os.register_at_fork(after_in_child=_forked)  # a process forked after the import (gunicorn --preload) is another

_SAVE = text(
    "INSERT INTO printer_states (site_id, printer_id, state, detail, reported_by, updated_at) "
    "VALUES (:site, :printer, :state, :detail, :by, :now) "
    "ON CONFLICT (site_id, printer_id) DO UPDATE SET state = excluded.state, detail = excluded.detail, "
    "reported_by = excluded.reported_by, updated_at = excluded.updated_at"
)


def save(conn, site, printer_id: str, state: str, detail: str | None) -> bool:
    conn.execute(
        _SAVE,
        {
            "site": site.id,
            "printer": printer_id,
            "state": state,
            "detail": detail[:300] if detail else None,
            "by": PROCESS,
            "now": q.utcnow(),
        },
    )
    return True


def save_if_ours(conn, site, printer_id: str, state: str, detail: str | None) -> bool:
    """Save only over a row this process saved: a kiosk agent gone from here may be with another one now."""
    result = conn.execute(
        update(PS)
        .where(PS.c.site_id == site.id, PS.c.printer_id == printer_id, PS.c.reported_by == PROCESS)
        .values(state=state, detail=detail[:300] if detail else None, updated_at=q.utcnow())
    )
    return result.rowcount == 1


def touch(conn, site, printer_id: str) -> None:
    """The state still holds (the agent is still connected here): readers can tell a row nobody keeps."""
    conn.execute(
        update(PS)
        .where(PS.c.site_id == site.id, PS.c.printer_id == printer_id, PS.c.reported_by == PROCESS)
        .values(updated_at=q.utcnow())
    )


def load(conn, site) -> dict[str, object]:
    """Every saved row of the site, by printer id."""
    return {row.printer_id: row for row in conn.execute(select(PS).where(PS.c.site_id == site.id))}
