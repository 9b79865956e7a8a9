"""After the message queue was down, every screen takes a fresh snapshot.

With several processes, an event reaches the clients of other processes only through Redis: a
call made while Redis is down is shown on the screens of its own process only, and the others
would keep showing a stale number even after Redis returns. So each process's listener, once it
is subscribed again, tells its own clients ``resync`` (server/web/message_queue.py); they subscribe
again and redraw from the ``state`` snapshot, which always comes from the database. This watcher
pings Redis: when it stops answering, the listener's connection is ended (a Redis that went silent
would keep it waiting for ever), and when it answers again, messages this process could not send
make every screen of every process take a fresh state.
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


def disconnect_own_clients(site_id: str) -> None:
    """Close this process's connections of ``site_id`` (a removed site: they may not watch its rooms).
    Each client connects again by itself and is refused, 404 ``site_unknown``: its page says the site
    is gone (queuekiosk.js) rather than waiting for a connection."""
    from .realtime import process_room

    if socketio.server is None:
        return
    for _sid, eio_sid in list(socketio.server.manager.get_participants("/", process_room(site_id))):
        socketio.server.eio.disconnect(eio_sid)


def watch_message_queue(url: str) -> None:
    import gevent
    import redis

    from .message_queue import TIMEOUT_SECONDS, redis_client

    client = redis_client(url, socket_timeout=TIMEOUT_SECONDS)  # one try of at most a second a ping
    reachable = True
    while True:
        gevent.sleep(CHECK_SECONDS)
        try:
            client.ping()
            now = True
        except redis.RedisError:
            now = False
        manager = socketio.server.manager if socketio.server is not None else None
        if now and not reachable:
            log.warning("the message queue answers again")
        if now and getattr(manager, "dropped", 0):  # messages were dropped and nothing published since
            manager.resync_everyone()  # (a hang shorter than a ping's wait is never seen as an outage here)
        if reachable and not now:
            log.warning(
                "the message queue (%s) does not answer: events of other processes do not reach "
                "this process's screens until it returns",
                url.split("@")[-1],
            )
            if hasattr(manager, "drop_listener"):
                manager.drop_listener()  # it subscribes again, then tells this process's screens resync
        reachable = now
