"""The server processes of an installation running now: every one holds the RUNNING lease, shared
(installation.py), for its lifetime. Commands that must not run beside them refuse, naming each
(server/commands/running.py); a server started without the message queue they would share is told."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from sqlalchemy.engine import Engine


def servers_running(engine: Engine, instance_dir: Path) -> list[str]:
    """The processes holding the installation's RUNNING lease, each named, but this one (a server asking
    holds it too, on a connection of its own: named as installation.hold_running names it)."""
    from .installation import RUNNING, Lease  # (the lease of installation.hold_running, wherever it is defined)

    me = f"queuekiosk {socket.gethostname()} pid {os.getpid()}"
    held = Lease(engine, instance_dir, RUNNING).holders()
    return [name for name in held if name != me and not name.startswith(me + " (")]
