"""Addresses kept for channels a site does not offer: one mechanism over every table that holds them.

A citizen's address is kept only while something can still be sent to it (Decree 13/2023). When a
site stops offering a channel (an admin turned it, or all, off: ``end`` at the change, in its
transaction), or holds addresses on one it never heard of (taken by another process whose setup it
had not read yet, or turned off before this was done at the change: the delivery worker's sweep, when
``held`` finds any), they go: the tickets' subscriptions end (address erased, pending notices
dropped), the bookings' opt-ins are erased, and the centre's cancel notices not sent yet are dropped
(server/core/cancel_notices.py), their addresses erased.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, delete, false, or_, select, true, update

from . import models as m

S = m.notification_subscriptions
BO = m.booking_opt_ins
B = m.bookings
C = m.cancel_notices


def offered_only(table, offered: dict[str, Iterable[str]] | None):
    """The condition on ``table``'s rows (each with a ``site_id`` and a ``channel``) of a channel their
    site offers by ``offered`` (each site's channels, as this process knows its setup; a site not in it
    offers none; None: every row). The delivery worker picks the notices due by it: one on a channel not
    offered (yet, or any more) is not even read, so any number of them never hold the others back; it
    waits, its address kept, until its site offers the channel or the sweep ends it (``end``)."""
    if offered is None:
        return true()
    return or_(
        false(),
        *(and_(table.c.site_id == site, table.c.channel.in_(list(channels))) for site, channels in offered.items()),
    )


def _conditions(site, channels=None) -> tuple[tuple, tuple, tuple]:
    """The conditions on ``site``'s ticket subscriptions, its bookings' opt-ins and its cancel notices
    of the channels it does not offer (``channels``, else its setup's)."""
    offered = list(site.config.notifications.channels if channels is None else channels)
    of_site = select(B.c.id).where(B.c.site_id == site.id)
    return (
        (S.c.site_id == site.id, S.c.channel.not_in(offered)),
        (BO.c.booking_id.in_(of_site), BO.c.channel.not_in(offered)),
        (C.c.site_id == site.id, C.c.address_sealed.is_not(None), C.c.channel.not_in(offered)),
    )


def held(conn, site) -> bool:
    """Whether ``site`` holds addresses on channels it does not offer (``end``'s to erase)."""
    tickets, bookings, notices = _conditions(site)
    return any(
        conn.execute(select(column).where(*which).limit(1)).first() is not None
        for column, which in (
            (S.c.id, (*tickets, S.c.ended_at.is_(None))),
            (BO.c.id, bookings),
            (C.c.id, notices),
        )
    )


def end(conn, site, channels=None) -> int:
    """The addresses ``site`` holds on channels it does not offer (``channels``, else its setup's) erased:
    its tickets' subscriptions end, its bookings' opt-ins go, its cancel notices not sent yet are
    dropped. How many."""
    from .notifications import _end_subscriptions  # (not at the top: notifications.py imports offered_only)

    tickets, bookings, notices = _conditions(site, channels)
    ended = _end_subscriptions(conn, tickets, "channel turned off")
    ended += conn.execute(delete(BO).where(*bookings)).rowcount
    dropped = update(C).where(*notices, C.c.status.in_(("pending", "sending")))
    return (
        ended
        + conn.execute(dropped.values(status="dropped", address_sealed=None, last_error="channel turned off")).rowcount
    )
