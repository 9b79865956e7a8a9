"""The report by procedure (issue 15, the dossier link): over a period, per service and procedure
picked at the counter (server/core/dossiers.py), the tickets served, how many carried a dossier
code, and their average service time. Tickets served without a procedure are one line of their
service (``procedure`` None), so the lines add up to all served."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import case, null, select
from sqlalchemy.engine import Connection

from .. import models as m
from ..db import SiteRuntime
from .tickets import finished_untimed

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = m.tickets


def procedure_figures(conn: Session | Connection, site: SiteRuntime, first_day: dt.date, last_day: dt.date) -> dict:
    conn = conn if isinstance(conn, Connection) else conn.connection()
    timed = case((finished_untimed(), null()), else_=T.c.started_at).label("started_at")
    rows = conn.execute(
        select(T.c.service_id, T.c.procedure, T.c.dossier_code, timed, T.c.finished_at).where(
            T.c.site_id == site.id,
            T.c.business_day >= first_day,
            T.c.business_day <= last_day,
            T.c.status == "done",
        )
    )
    lines: dict[tuple, dict] = {}
    for row in rows:
        service = site.service_codes.get(row.service_id)
        line = lines.setdefault(
            (service, row.procedure), {"served": 0, "with_dossier": 0, "timed": 0, "service_seconds": 0.0}
        )
        line["served"] += 1
        line["with_dossier"] += row.dossier_code is not None
        if row.started_at is not None and row.finished_at is not None:
            line["timed"] += 1
            line["service_seconds"] += (row.finished_at - row.started_at).total_seconds()
    result = []
    for (service, procedure), line in sorted(lines.items(), key=lambda item: (item[0][0] or "", item[0][1] or "~")):
        config = site.config.service(service) if service else None
        names = {p.code: p.name for p in (config.procedures if config else [])}
        name = names.get(procedure)
        result.append(
            {
                "service": service,
                "procedure": procedure,
                "name": name.vi if name else None,
                "name_en": name.en if name else None,
                "served": line["served"],
                "with_dossier": line["with_dossier"],
                "average_service_minutes": round(line["service_seconds"] / line["timed"] / 60, 1)
                if line["timed"]
                else None,
            }
        )
    return {
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
        "procedures": result,
        "totals": {
            "served": sum(x["served"] for x in result),
            "with_procedure": sum(x["served"] for x in result if x["procedure"] is not None),
            "with_dossier": sum(x["with_dossier"] for x in result),
        },
    }
