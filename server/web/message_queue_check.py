"""A process started without QUEUEKIOSK_MESSAGE_QUEUE while other server processes of the installation
run on the same database: the calls made through it never reach the screens connected to the others
(Socket.IO's events go through the message queue), nor theirs its own. Said once in the log, at start or
when the dashboard first finds them, and among the dashboard's alerts while it lasts."""

from __future__ import annotations

import logging
import os
import time

from ..core.i18n import translate
from ..core.running import servers_running

log = logging.getLogger("queuekiosk.realtime")
MESSAGE_QUEUE = "QUEUEKIOSK_MESSAGE_QUEUE"
CHECKED = "queuekiosk_others_without_queue"  # app.extensions: [when last looked, the others found, said]
AGAIN_SECONDS = 60.0  # the dashboard looks again at most this often (one query of pg_locks)


def others_unreached(app) -> list[str]:
    """The other server processes running, when this one has no message queue to reach them (PostgreSQL:
    the processes of one SQLite file share a machine, and its docs say to run one there); else []."""
    state = app.extensions["queuekiosk"]
    if os.environ.get(MESSAGE_QUEUE) or state.engine.dialect.name != "postgresql":
        return []
    checked = app.extensions.setdefault(CHECKED, [float("-inf"), [], False])
    if time.monotonic() - checked[0] >= AGAIN_SECONDS:
        try:
            checked[1] = servers_running(state.engine, state.instance_dir)
        except Exception:  # noqa: BLE001 - the database away: its own alerts say so
            log.debug("the running servers could not be listed", exc_info=True)
        checked[0] = time.monotonic()
    if checked[1] and not checked[2]:
        log.warning("%s", translate("setup_message_queue_missing", "en", processes="; ".join(checked[1])))
        checked[2] = True
    return checked[1]


def notes(app) -> list[dict]:
    """For the supervisor's dashboard, while this process cannot reach the others."""
    others = others_unreached(app)
    if not others:
        return []
    said = {"processes": "; ".join(others)}
    return [
        {
            "item": "message_queue",
            "message": translate("setup_message_queue_missing", "vi", **said),
            "message_en": translate("setup_message_queue_missing", "en", **said),
            "detail": None,
        }
    ]
