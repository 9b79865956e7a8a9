"""After the message queue was down, every screen takes a fresh snapshot.

With several processes, an event reaches the clients of other processes only through Redis: a
call made while Redis is down is shown on the screens of its own process only, and the others
would keep showing a stale number even after Redis returns. So each process watches Redis
itself and, when it answers again, tells its own clients ``resync``; they subscribe again and
redraw from the ``state`` snapshot, which always comes from the database.
"""

from __future__ import annotations

import logging

from .extensions import socketio

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.5


def tell_own_clients(event: str, payload: dict, site_id: str | None = None) -> None:
    """``event`` to every client of this process (or those connected for ``site_id``), and to
    nobody through the message queue."""
    from .realtime import process_room

    socketio.emit(event, payload, to=process_room(site_id), ignore_queue=True)


def watch_message_queue(url: str) -> None:
    import gevent
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    reachable = True
    while True:
        gevent.sleep(CHECK_SECONDS)
        try:
            client.ping()
            now = True
        except redis.RedisError:
            now = False
        if now and not reachable:
            log.warning("the message queue answers again: every screen of this process takes a fresh state")
            tell_own_clients("resync", {"reason": "message_queue"})
        elif reachable and not now:
            log.warning(
                "the message queue (%s) does not answer: events of other processes do not reach "
                "this process's screens until it returns",
                url.split("@")[-1],
            )
        reachable = now
