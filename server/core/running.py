"""The server processes of an installation running now: every one holds the RUNNING lease, shared
(installation.py), for its lifetime, or has said in the installation table that it could not take it again. Commands that must not run beside them refuse, naming each
(server/commands/running.py); a server started without the message queue they would share is told."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine


def servers_running(engine: Engine, instance_dir: Path) -> list[str]:
    """The processes holding the installation's RUNNING lease, each named, but this one (a server asking
    holds it too, on a connection of its own: named as installation.hold_running names it)."""
    from .installation import RUNNING, Lease, running_label, unleased_servers

    me = running_label()[:63]  # as PostgreSQL keeps a connection's name (a long host name is cut)
    held = Lease(engine, instance_dir, RUNNING).holders()
    # and those whose lease PostgreSQL dropped (a restart) and that cannot take it again yet
    return [name for name in held if name != me and not name.startswith(me + " (")] + unleased_servers(engine)
