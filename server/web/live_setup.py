"""Every process serves the setup saved last, and every open screen shows it within 2 s.

The saved setup has a version (``site_setups.version``). The process that saves a change takes
the new runtime at once; every other process (gunicorn workers, other machines) notices the new
version within ``POLL_SECONDS`` by one small query. Each process, once it holds the new setup,
tells its own Socket.IO clients ``config.changed``; they subscribe again and redraw from the
fresh snapshot. A process tells only its own clients (``realtime.process_room``), so no client
asks before the process it is connected to has the new setup, and none hears it twice.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from ..core import models as m
from ..core.db import site_setup
from .resync import tell_own_clients

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


def adopt(state, runtime) -> None:
    """Serve ``runtime`` from now on, and tell this process's clients."""
    if runtime.version <= state.site.version:
        return
    state.site = runtime
    if state.spooler is not None:
        state.spooler.use_site(runtime)  # printers added, changed or removed
    log.info("site %s: setup version %d in use", runtime.id, runtime.version)
    tell_own_clients("config.changed", {"site": runtime.id, "version": runtime.version})


def saved_version(state) -> int | None:
    with state.Session() as db:
        return db.scalar(select(m.SiteSetup.version).where(m.SiteSetup.site_id == state.site.id))


def reload_if_changed(state) -> None:
    version = saved_version(state)
    if version is not None and version > state.site.version:
        with state.Session() as db:
            adopt(state, site_setup(db, state.config_dir, state.site.id))


def follow_saved_setup(state) -> None:
    import gevent

    failing = False
    while True:
        gevent.sleep(POLL_SECONDS)
        try:
            reload_if_changed(state)
            failing = False
        except Exception as error:  # a busy or unreachable database: try again next time (said once)
            if not failing:
                log.warning("could not check the saved setup (trying again every %.1f s): %s", POLL_SECONDS, error)
            failing = True
