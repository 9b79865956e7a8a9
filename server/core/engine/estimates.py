"""Where a waiting ticket stands: how many are ahead of it, and the wait the kiosk promises."""

from __future__ import annotations

import math

from sqlalchemy import and_, func, or_, select, text

from ..db import SiteRuntime
from .records import T
from .views import ticket_view

_SERVICE_PACE = text(
    "SELECT s.avg_service_seconds, (SELECT count(*) FROM counters c "
    "JOIN counter_services cs ON cs.counter_id = c.id "
    "WHERE cs.service_id = s.id AND c.state = 'open' AND c.active) FROM services s WHERE s.id = :service"
)


def estimate_minutes(conn, site: SiteRuntime, service_id: int, ahead: int, pace=None) -> int | None:
    """Average service time x people ahead / open counters serving the service; None when no
    open counter serves it (closed or paused), whoever is ahead.

    The average is the service's moving average of finished tickets, or the configured
    default while there is no history. ``pace`` is (average seconds, open counters) when
    the caller already has them.
    """
    avg_seconds, open_counters = pace or conn.execute(_SERVICE_PACE, {"service": service_id}).one()
    if not open_counters:
        return None  # nobody serves it now: no promise (the kiosk says so)
    if ahead <= 0:
        return 0
    per_ticket = avg_seconds / 60 if avg_seconds else \
        site.config.service(site.service_codes[service_id]).default_service_minutes
    return math.ceil(per_ticket * ahead / max(1, open_counters))


def waiting_ahead(conn, row) -> int:
    """Waiting tickets of the same queue that came before; a priority ticket counts only priority ones."""
    query = select(func.count()).where(
        T.c.site_id == row.site_id, T.c.business_day == row.business_day,
        T.c.status == "waiting", T.c.service_id == row.service_id, T.c.id != row.id,
        or_(T.c.issued_at < row.issued_at, and_(T.c.issued_at == row.issued_at, T.c.id < row.id)),
    )
    if row.priority_id is not None:
        query = query.where(T.c.priority_id.is_not(None))
    return conn.execute(query).scalar_one()


def with_position(conn, site, row) -> dict:
    """The ticket's view with ``waiting_ahead`` and ``eta_minutes`` (both 0 once it is called)."""
    view = ticket_view(site, row)
    if row.status == "waiting":
        ahead = waiting_ahead(conn, row)
        view["waiting_ahead"] = ahead
        view["eta_minutes"] = estimate_minutes(conn, site, row.service_id, ahead)
    else:
        view["waiting_ahead"] = 0
        view["eta_minutes"] = 0
    return view
